// Time as kiln's master reads it: through a Clock, so that leases, retries, sessions and
// retention are tested on a fake one (src/testing/fake_clock.h) in milliseconds, not by
// sleeping through them.
#pragma once

#include <cstdint>

namespace kiln {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch: wall-clock time, because it is stored and shown.
  virtual int64_t NowUs() const = 0;
  int64_t NowMs() const { return NowUs() / 1000; }
};

// The system's wall clock.
const Clock& SystemClock();

}  // namespace kiln
