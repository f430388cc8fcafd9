// Where a worker's processes come from: the real RunProcess, or a test's fake
// (src/testing/fake_process_runner.h) that plays a job's output without forking.
#pragma once

#include "sys/process.h"

namespace kiln::sys {

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // As RunProcess: runs `options.argv` to its end (or until stopped).
  virtual RunResult Run(const RunOptions& options) = 0;
};

// The runner that starts real processes (RunProcess).
ProcessRunner& SystemProcessRunner();

}  // namespace kiln::sys
