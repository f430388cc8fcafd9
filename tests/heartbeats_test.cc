// The worker's shared heartbeat thread (job_runner.h Heartbeats): every added beat is called
// over and over, a removed one never again, and removing a beat that is running waits for
// it (it uses its attempt's state, which goes right after).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "worker/job_runner.h"

namespace kiln::worker {
namespace {
using namespace std::chrono_literals;

template <typename F>
bool Eventually(F done, std::chrono::milliseconds within = 5s) {
  auto until = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(HeartbeatsTest, EveryBeatIsCalledAgainAndAgain) {
  Heartbeats heartbeats;
  std::atomic<int> a{0}, b{0};
  auto beat_a = heartbeats.Add([&] { ++a; });
  auto beat_b = heartbeats.Add([&] { ++b; });
  EXPECT_TRUE(Eventually([&] { return a >= 3 && b >= 3; }));
}

TEST(HeartbeatsTest, ARemovedBeatIsNotCalledAgain) {
  Heartbeats heartbeats;
  std::atomic<int> calls{0};
  auto beat = heartbeats.Add([&] { ++calls; });
  ASSERT_TRUE(Eventually([&] { return calls >= 1; }));
  beat.reset();
  int after = calls;
  std::this_thread::sleep_for(200ms);  // four rounds of the 50 ms loop
  EXPECT_EQ(calls, after);
}

TEST(HeartbeatsTest, RemovingARunningBeatWaitsForIt) {
  Heartbeats heartbeats;
  std::atomic<bool> inside{false}, finished{false};
  auto beat = heartbeats.Add([&] {
    if (finished) return;
    inside = true;
    std::this_thread::sleep_for(300ms);  // a slow heartbeat request
    finished = true;
  });
  ASSERT_TRUE(Eventually([&] { return inside.load(); }));
  beat.reset();
  EXPECT_TRUE(finished) << "the beat was removed while it ran";
}

TEST(HeartbeatsTest, ASlowBeatDelaysButDoesNotStopTheOthers) {
  Heartbeats heartbeats;
  std::atomic<int> quick{0};
  auto slow = heartbeats.Add([] { std::this_thread::sleep_for(100ms); });
  auto fast = heartbeats.Add([&] { ++quick; });
  EXPECT_TRUE(Eventually([&] { return quick >= 3; }));
}

}  // namespace
}  // namespace kiln::worker
