// The sign-in guard's arithmetic with time passed in: free failures, doubling lockouts capped,
// per-name and per-address counts, success and an admin's unlock, a bounded table.
#include "server/sign_in_guard.h"

#include <gtest/gtest.h>

namespace kiln::server {
namespace {

using namespace std::chrono_literals;
using Clock = SignInGuard::Clock;

TEST(SignInGuardTest, FreeFailuresThenDoublingLockoutsUpToTheCap) {
  SignInGuard guard({/*free_user_failures=*/3, /*free_address_failures=*/100, 1s, 8s, 1000});
  Clock::time_point t{};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(guard.Wait("eve", "192.0.2.1", t), Clock::duration::zero());
    EXPECT_FALSE(guard.Failed("eve", "192.0.2.1", t));
  }
  EXPECT_TRUE(guard.Failed("eve", "192.0.2.1", t));
  EXPECT_EQ(guard.Wait("eve", "192.0.2.1", t), 1s);
  EXPECT_EQ(guard.Wait("eve", "198.51.100.9", t), 1s) << "the name is locked from anywhere";
  EXPECT_EQ(guard.Wait("bob", "192.0.2.1", t), Clock::duration::zero());
  t += 1s;
  EXPECT_EQ(guard.Wait("eve", "192.0.2.1", t), Clock::duration::zero());
  guard.Failed("eve", "192.0.2.1", t);
  EXPECT_EQ(guard.Wait("eve", "192.0.2.1", t), 2s);
  guard.Failed("eve", "192.0.2.1", t += 2s);
  EXPECT_EQ(guard.Wait("eve", "192.0.2.1", t), 4s);
  guard.Failed("eve", "192.0.2.1", t += 4s);
  EXPECT_EQ(guard.Wait("eve", "192.0.2.1", t), 8s);
  guard.Failed("eve", "192.0.2.1", t += 8s);
  EXPECT_EQ(guard.Wait("eve", "192.0.2.1", t), 8s) << "capped";
  EXPECT_EQ(guard.failures(), 8u);
  EXPECT_EQ(guard.lockouts(), 5u);
}

TEST(SignInGuardTest, AnAddressGuessingManyNamesIsLockedOut) {
  SignInGuard guard({100, /*free_address_failures=*/4, 1s, 900s, 1000});
  Clock::time_point t{};
  for (int i = 0; i < 4; ++i) guard.Failed("user" + std::to_string(i), "203.0.113.5", t);
  EXPECT_TRUE(guard.Failed("user4", "203.0.113.5", t));
  EXPECT_EQ(guard.Wait("anyone", "203.0.113.5", t), 1s);
  EXPECT_EQ(guard.Wait("anyone", "203.0.113.6", t), Clock::duration::zero());
}

TEST(SignInGuardTest, SuccessAndUnlockForgetTheUsersFailures) {
  SignInGuard guard({1, 100, 60s, 900s, 1000});
  Clock::time_point t{};
  guard.Failed("carol", "192.0.2.1", t);
  guard.Succeeded("carol");
  EXPECT_FALSE(guard.Failed("carol", "192.0.2.1", t)) << "counting starts again";
  EXPECT_TRUE(guard.Failed("carol", "192.0.2.1", t));
  EXPECT_EQ(guard.Wait("carol", "192.0.2.1", t), 60s);
  EXPECT_TRUE(guard.Clear("carol"));
  EXPECT_EQ(guard.Wait("carol", "192.0.2.1", t), Clock::duration::zero());
  EXPECT_FALSE(guard.Clear("carol")) << "nothing left to forget";
}

TEST(SignInGuardTest, TheTableStaysBounded) {
  SignInGuard guard({5, 5, 1s, 900s, /*max_entries=*/100});
  Clock::time_point t{};
  for (int i = 0; i < 10000; ++i) {
    guard.Failed("name" + std::to_string(i), "192.0.2." + std::to_string(i % 200), t += 1ms);
  }
  EXPECT_EQ(guard.failures(), 10000u);
  EXPECT_LE(guard.tracked(), 102u) << "a name and an address per failure, at most 100 kept";
  EXPECT_GE(guard.tracked(), 50u);
}

}  // namespace
}  // namespace kiln::server
