#include "sys/process_runner.h"

namespace kiln::sys {
namespace {

class SystemRunner : public ProcessRunner {
 public:
  RunResult Run(const RunOptions& options) override { return RunProcess(options); }
};

}  // namespace

ProcessRunner& SystemProcessRunner() {
  static SystemRunner runner;
  return runner;
}

}  // namespace kiln::sys
