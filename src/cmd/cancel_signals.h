// Ctrl-C and SIGTERM for the long-running subcommands (build, boot-test): the first one sets a
// cancel flag the work polls, so child processes are stopped and cleaned up rather than
// orphaned; the command then exits with the shell's code for that signal.
#pragma once

#include <signal.h>

#include <atomic>

namespace kiln::cmd {

class CancelSignals {
 public:
  // Installs the handlers; the flag is set when SIGINT or SIGTERM arrives.
  static const std::atomic<bool>& Catch() {
    struct sigaction sa {};
    sa.sa_handler = [](int sig) {
      signal_ = sig;
      canceled_ = true;
    };
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return canceled_;
  }
  static bool canceled() { return canceled_.load(); }
  // 128 + the signal (130 for Ctrl-C, 143 for SIGTERM), as a shell reports it.
  static int ExitCode() { return 128 + signal_.load(); }

 private:
  static inline std::atomic<bool> canceled_{false};
  static inline std::atomic<int> signal_{0};
};

}  // namespace kiln::cmd
