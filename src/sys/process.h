// Running a program as a build step: its output streamed line by line, a time limit, a
// cancel flag, and the whole process group killed when it times out, is canceled, or exits
// leaving background children behind. Nothing started here outlives the call.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::sys {

struct RunOptions {
  std::vector<std::string> argv;                         // argv[0] is looked up in PATH
  std::vector<std::pair<std::string, std::string>> env;  // added to the inherited environment
  bool clean_env = false;                // true: the program gets only `env`, nothing of ours
  std::string cwd;                       // "" = the current directory
  std::chrono::milliseconds timeout{0};  // 0 = no limit
  // Checked while the program runs; when it becomes true the program is stopped.
  const std::atomic<bool>* cancel = nullptr;
  // Asked about every 50 ms while the program runs: true stops it as cancel does (the result
  // is kCanceled; the caller knows why). For limits only the caller can measure.
  std::function<bool()> stop_when;
  // Every line the program writes to stdout or stderr (merged), without the newline.
  std::function<void(std::string_view line)> on_line;
  size_t tail_lines = 40;  // how many last lines RunResult keeps
  // How long a stopped program gets between SIGTERM and SIGKILL.
  std::chrono::milliseconds kill_grace{2000};
  // What the program gets if the thread that started it dies (the whole process killed):
  // SIGKILL by default; SIGTERM for a program that must clean up after itself (a build job).
  int parent_death_signal = 9;
  // If set, runs in the child in place of execvpe (the sandbox does its namespace set-up
  // there): only async-signal-safe code, everything it needs prepared before the call. It
  // execs argv itself; if it returns, or cannot start the program, it writes an errno to
  // `start_error_fd`, which any process of its own that lives on must close.
  std::function<void(char* const* argv, char* const* envp, int start_error_fd)> exec_in_child;
};

enum class ExitKind {
  kExited,         // exited by itself; see code
  kSignaled,       // killed by a signal it did not get from us; see signal
  kTimedOut,       // stopped because the time limit passed
  kCanceled,       // stopped because the cancel flag was set
  kFailedToStart,  // could not be started; see error
};

struct RunResult {
  ExitKind kind = ExitKind::kFailedToStart;
  int code = -1;                  // exit code for kExited
  int signal = 0;                 // for kSignaled
  std::string error;              // for kFailedToStart: why (e.g. "No such file or directory")
  std::vector<std::string> tail;  // the last output lines, oldest first
  std::chrono::milliseconds elapsed{0};

  bool ok() const { return kind == ExitKind::kExited && code == 0; }
  // "exit code 3", "killed by signal 9", "timed out after 30 s", ...
  std::string Describe() const;
};

// Runs `options.argv` to completion (or until stopped) and reports how it ended.
RunResult RunProcess(const RunOptions& options);

}  // namespace kiln::sys
