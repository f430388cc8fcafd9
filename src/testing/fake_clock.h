// A clock a test moves by hand: leases expire, sessions end and retention ages builds in the
// time it takes to call Advance.
#pragma once

#include <atomic>
#include <chrono>

#include "core/clock.h"

namespace kiln::testing {

class FakeClock : public Clock {
 public:
  // 2027-01-15, any fixed time after the epoch: stored times stay positive and plausible.
  explicit FakeClock(int64_t start_ms = 1'800'000'000'000) : us_(start_ms * 1000) {}
  int64_t NowUs() const override { return us_.load(); }
  void Advance(std::chrono::microseconds by) { us_ += by.count(); }

 private:
  std::atomic<int64_t> us_;
};

}  // namespace kiln::testing
