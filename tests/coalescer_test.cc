// Coalescer: overlapping calls go out as one batch, each caller gets its own outcome, and a
// failed send reaches every caller of its batch.
#include "worker/coalescer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace kiln::worker {
namespace {

using Batch = std::vector<const int*>;

TEST(CoalescerTest, ALoneCallIsSentAtOnceByItself) {
  Coalescer<int, int> c(8);
  std::vector<size_t> sizes;
  int out = c.Call(21, "k", [&](const Batch& items) {
    sizes.push_back(items.size());
    return std::vector<int>{*items[0] * 2};
  });
  EXPECT_EQ(out, 42);
  EXPECT_EQ(sizes, std::vector<size_t>{1});
}

TEST(CoalescerTest, CallsMadeWhileARequestIsInFlightGoTogetherInTheNext) {
  Coalescer<int, int> c(64);
  std::atomic<int> sends{0};
  std::atomic<bool> release{false};
  std::atomic<int> in_flight{0};
  std::vector<size_t> sizes;
  auto send = [&](const Batch& items) {
    if (sends++ == 0) {  // hold the first request until the others queued behind it
      in_flight = 1;
      while (!release) std::this_thread::yield();
    }
    sizes.push_back(items.size());
    std::vector<int> out;
    for (const int* i : items) out.push_back(*i + 1000);
    return out;
  };
  std::vector<int> results(9, 0);
  std::thread first([&] { results[0] = c.Call(0, "k", send); });
  while (in_flight == 0) std::this_thread::yield();
  std::vector<std::thread> others;
  for (int i = 1; i < 9; ++i) others.emplace_back([&, i] { results[i] = c.Call(i, "k", send); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let them all queue
  release = true;
  first.join();
  for (std::thread& t : others) t.join();
  for (int i = 0; i < 9; ++i) EXPECT_EQ(results[i], 1000 + i) << "each caller gets its own answer";
  ASSERT_EQ(sizes.size(), 2u) << "the eight that waited went in one request";
  EXPECT_EQ(sizes[0], 1u);
  EXPECT_EQ(sizes[1], 8u);
}

TEST(CoalescerTest, OnlyItemsOfOneKeyShareARequestAndBatchesAreBounded) {
  Coalescer<int, int> c(3);
  std::atomic<bool> release{false}, holding{false};
  std::atomic<int> sends{0};
  std::vector<std::vector<int>> batches;
  std::mutex mu;
  auto send = [&](const Batch& items) {
    if (sends++ == 0) {
      holding = true;
      while (!release) std::this_thread::yield();
    }
    std::vector<int> seen, out;
    for (const int* i : items) {
      seen.push_back(*i);
      out.push_back(*i);
    }
    std::lock_guard<std::mutex> lock(mu);
    batches.push_back(seen);
    return out;
  };
  std::thread first([&] { c.Call(0, "a", send); });
  while (!holding) std::this_thread::yield();
  std::vector<std::thread> others;
  for (int i = 1; i <= 6; ++i) {
    others.emplace_back([&, i] { EXPECT_EQ(c.Call(i, i % 2 ? "odd" : "even", send), i); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  release = true;
  first.join();
  for (std::thread& t : others) t.join();
  size_t items = 0;
  for (const std::vector<int>& b : batches) {
    EXPECT_LE(b.size(), 3u);
    for (int i : b) EXPECT_EQ(i % 2, b.front() % 2) << "keys never mix in one request";
    items += b.size();
  }
  EXPECT_EQ(items, 7u);
}

TEST(CoalescerTest, ALoneCallerNeverLingersOnlyCallsUnderLoadDo) {
  // A long linger: if a lone caller (after lone callers) waited for company, these calls
  // would take seconds each.
  Coalescer<int, int> c(8, std::chrono::seconds(5));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(c.Call(i, "k", [](const Batch& items) { return std::vector<int>{*items[0]}; }), i);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(CoalescerTest, AFailedSendReachesEveryCallerOfItsBatchAndTheNextCallWorks) {
  Coalescer<int, int> c(8);
  EXPECT_THROW(
      c.Call(1, "k",
             [](const Batch&) -> std::vector<int> { throw std::runtime_error("master away"); }),
      std::runtime_error);
  EXPECT_EQ(c.Call(2, "k", [](const Batch& items) { return std::vector<int>{*items[0]}; }), 2);
}

}  // namespace
}  // namespace kiln::worker
