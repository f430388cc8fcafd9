#include "spec/fetch_policy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>

namespace kiln::spec {
namespace {

struct Refused {
  const char* range;
  const char* why;
};

// Not the public internet: ranges from the IANA special-purpose registries.
constexpr Refused kRefusedV4[] = {
    {"0.0.0.0/8", "unspecified"},         {"10.0.0.0/8", "private"},
    {"100.64.0.0/10", "shared (CGNAT)"},  {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},     {"172.16.0.0/12", "private"},
    {"192.0.0.0/24", "reserved"},         {"192.0.2.0/24", "documentation"},
    {"192.168.0.0/16", "private"},        {"198.18.0.0/15", "benchmarking"},
    {"198.51.100.0/24", "documentation"}, {"203.0.113.0/24", "documentation"},
    {"224.0.0.0/4", "multicast"},         {"240.0.0.0/4", "reserved"},
};
constexpr Refused kRefusedV6[] = {
    {"::/128", "unspecified"},          {"::1/128", "loopback"},     {"fc00::/7", "private"},
    {"fe80::/10", "link-local"},        {"fec0::/10", "site-local"}, {"ff00::/8", "multicast"},
    {"2001:db8::/32", "documentation"}, {"100::/64", "discard"},
};

const std::vector<std::pair<IpRange, const char*>>& RefusedRanges() {
  static const std::vector<std::pair<IpRange, const char*>> ranges = [] {
    std::vector<std::pair<IpRange, const char*>> out;
    for (const Refused& r : kRefusedV4) out.emplace_back(*ParseIpRange(r.range), r.why);
    for (const Refused& r : kRefusedV6) out.emplace_back(*ParseIpRange(r.range), r.why);
    return out;
  }();
  return ranges;
}

// The IPv4 address an IPv6 one carries (::ffff:a.b.c.d, and NAT64's 64:ff9b::a.b.c.d), if any.
bool EmbeddedV4(const uint8_t* v6, uint8_t* v4) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(v6, kMapped, 12) != 0 && std::memcmp(v6, kNat64, 12) != 0) return false;
  std::memcpy(v4, v6 + 12, 4);
  return true;
}

}  // namespace

bool IpRange::Contains(int address_family, const uint8_t* address) const {
  if (address_family != family) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(bytes.data(), address, static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (bytes[static_cast<size_t>(full)] & mask) == (address[full] & mask);
}

std::optional<IpRange> ParseIpRange(std::string_view text) {
  std::string address(text.substr(0, text.find('/')));
  IpRange r;
  if (inet_pton(AF_INET, address.c_str(), r.bytes.data()) == 1) {
    r.family = AF_INET;
    r.prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), r.bytes.data()) == 1) {
    r.family = AF_INET6;
    r.prefix = 128;
  } else {
    return std::nullopt;
  }
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    int n = 0;
    if (bits.empty() || bits.size() > 3) return std::nullopt;
    for (char c : bits) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    if (n > r.prefix) return std::nullopt;
    r.prefix = n;
  }
  return r;
}

Result<std::vector<IpRange>> ParseIpRanges(std::string_view text) {
  std::vector<IpRange> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of(", \t", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    std::optional<IpRange> r = ParseIpRange(item);
    if (!r) {
      return Status::Error("'" + std::string(item) +
                           "' is not an address range such as 10.0.0.0/8");
    }
    out.push_back(*r);
  }
  return out;
}

AddressPolicy::AddressPolicy(std::vector<IpRange> allow) : allow_(std::move(allow)) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    IpRange own;
    if (a->ifa_addr->sa_family == AF_INET) {
      own.family = AF_INET;
      own.prefix = 32;
      std::memcpy(own.bytes.data(), &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      own.family = AF_INET6;
      own.prefix = 128;
      std::memcpy(own.bytes.data(), &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    own_.push_back(own);
  }
  freeifaddrs(list);
}

std::string AddressPolicy::Refusal(const sockaddr* address) const {
  int family = address->sa_family;
  uint8_t bytes[16] = {};
  if (family == AF_INET) {
    std::memcpy(bytes, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, 4);
  } else if (family == AF_INET6) {
    std::memcpy(bytes, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, 16);
    uint8_t v4[4];
    if (EmbeddedV4(bytes, v4)) {  // judged as the IPv4 address it reaches
      family = AF_INET;
      std::memset(bytes, 0, sizeof bytes);
      std::memcpy(bytes, v4, 4);
    }
  } else {
    return "not an IP address";
  }
  for (const IpRange& r : allow_) {
    if (r.Contains(family, bytes)) return "";
  }
  for (const auto& [range, why] : RefusedRanges()) {
    if (range.Contains(family, bytes)) return why;
  }
  for (const IpRange& r : own_) {
    if (r.Contains(family, bytes)) return "the master's own address";
  }
  if (family == AF_INET && bytes[0] == 255) return "broadcast";
  return "";
}

namespace {

curl_socket_t OpenAllowedSocket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* guard = static_cast<CurlAddressGuard*>(user);
  if (guard->policy != nullptr) {
    std::string why = guard->policy->Refusal(&address->addr);
    if (!why.empty()) {
      guard->refusal = why;
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace

void GuardConnections(void* curl, CurlAddressGuard& guard) {
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OpenAllowedSocket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &guard);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // the connection is to the URL's host itself
}

}  // namespace kiln::spec
