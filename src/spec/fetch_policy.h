// Where the server's fetches for a user may go. A URL in a request (kickstart_url, %include,
// %ksappend) is fetched by the master itself, so without a policy a user could read back the
// master's own services, a broker's management port, a cloud's metadata service or the LAN.
// The policy is checked on every address a fetch connects to (after each redirect, and after
// DNS, so a name that resolves to a refused address is caught however it resolves), and
// refuses loopback, unspecified, link-local, private, shared (CGNAT), multicast, reserved and
// documentation ranges and the master's own addresses, unless a range is opened by the
// server's admin ([fetch] allow).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::spec {

struct IpRange {
  int family = 0;                   // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // network byte order; IPv4 in the first 4
  int prefix = 0;                   // bits
  bool Contains(int address_family, const uint8_t* address) const;
};

// "10.0.0.0/8", "fd00::/8", or one address ("192.0.2.7" = /32); nullopt if not that.
std::optional<IpRange> ParseIpRange(std::string_view text);
// A comma- or space-separated list of them; fails naming the bad entry.
Result<std::vector<IpRange>> ParseIpRanges(std::string_view text);

class AddressPolicy {
 public:
  // `allow`: ranges the admin opened, even if private (an internal mirror of kickstarts).
  explicit AddressPolicy(std::vector<IpRange> allow = {});
  // "" if a fetch may connect to `address`; else which kind of address it is ("loopback",
  // "private", "the master's own", ...), for the server's log, never the user's answer.
  std::string Refusal(const sockaddr* address) const;

 private:
  std::vector<IpRange> allow_;
  std::vector<IpRange> own_;  // the host's own addresses
};

// What a libcurl transfer of the master's may connect to (a fetch, a webhook call, a staged
// copy): every socket it opens is checked against `policy` (so a name that resolves to a
// refused address is caught too), and no proxy stands between. A refused address gets no
// socket, which ends the transfer (CURLE_COULDNT_CONNECT) before a byte is sent; `refusal`
// then says which kind of address it was. `policy` null: anywhere (tests).
struct CurlAddressGuard {
  const AddressPolicy* policy = nullptr;
  std::string refusal;
};
// Puts `guard` (which must outlive the transfer) on the CURL handle `curl`.
void GuardConnections(void* curl, CurlAddressGuard& guard);

}  // namespace kiln::spec
