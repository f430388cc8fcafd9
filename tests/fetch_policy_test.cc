// The address policy of the server's fetches, on addresses as a socket would see them, and
// the JSON depth check: every internal range and spelling refused, public addresses and
// opened ranges allowed.
#include "spec/fetch_policy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <nlohmann/json.hpp>

namespace kiln::spec {
namespace {

// The policy's answer for an address literal ("" = allowed).
std::string Refusal(const AddressPolicy& policy, const std::string& address) {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    return policy.Refusal(reinterpret_cast<sockaddr*>(&v4));
  }
  EXPECT_EQ(inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr), 1) << address;
  v6.sin6_family = AF_INET6;
  return policy.Refusal(reinterpret_cast<sockaddr*>(&v6));
}

TEST(FetchPolicyTest, InternalAddressesAreRefusedInEverySpelling) {
  AddressPolicy policy;
  for (const char* address : {"127.0.0.1",
                              "127.8.9.10",
                              "0.0.0.0",
                              "10.1.2.3",
                              "172.16.0.1",
                              "172.31.255.255",
                              "192.168.1.1",
                              "169.254.169.254",
                              "100.64.0.1",
                              "224.0.0.1",
                              "255.255.255.255",
                              "240.0.0.1",
                              "192.0.2.1",
                              "::1",
                              "::",
                              "fe80::1",
                              "fd00::1",
                              "fc00::2",
                              "ff02::1",
                              "::ffff:127.0.0.1",
                              "::ffff:10.0.0.1",
                              "64:ff9b::a9fe:a9fe",
                              "2001:db8::1"}) {
    EXPECT_NE(Refusal(policy, address), "") << address << " must be refused";
  }
  EXPECT_EQ(Refusal(policy, "169.254.169.254"), "link-local");
  EXPECT_EQ(Refusal(policy, "::ffff:127.0.0.1"), "loopback") << "judged as the IPv4 it reaches";
}

TEST(FetchPolicyTest, PublicAddressesAndOpenedRangesAreAllowed) {
  AddressPolicy policy(*ParseIpRanges("10.1.2.0/24, 127.0.0.1 fd12::/16"));
  for (const char* address : {"151.101.2.132", "1.1.1.1", "2a04:4e42::644", "10.1.2.200",
                              "127.0.0.1", "fd12:3456::1", "172.15.255.255", "100.128.0.1"}) {
    EXPECT_EQ(Refusal(policy, address), "") << address;
  }
  EXPECT_NE(Refusal(policy, "10.1.3.1"), "") << "outside the opened /24";
  EXPECT_NE(Refusal(policy, "127.0.0.2"), "") << "only 127.0.0.1 was opened";
}

TEST(FetchPolicyTest, RangesParseOrSayWhich) {
  Result<std::vector<IpRange>> bad = ParseIpRanges("10.0.0.0/8, example.org");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("'example.org'"), std::string::npos) << bad.message();
  EXPECT_FALSE(ParseIpRanges("10.0.0.0/33").ok());
  EXPECT_FALSE(ParseIpRanges("10.0.0.0/").ok());
  EXPECT_TRUE(ParseIpRanges("")->empty());
  std::optional<IpRange> r = ParseIpRange("192.168.0.0/16");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->prefix, 16);
}

}  // namespace
}  // namespace kiln::spec
