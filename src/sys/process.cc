#include "sys/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

namespace kiln::sys {
namespace {

using Clock = std::chrono::steady_clock;

// Splits the byte stream of the child's output into lines for on_line and the tail.
class LineSink {
 public:
  LineSink(const RunOptions& options, std::deque<std::string>& tail)
      : options_(options), tail_(tail) {}

  void Feed(const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        Emit();
      } else if (partial_.size() < kMaxLine) {
        partial_ += data[i];
      }
    }
  }
  void Flush() {
    if (!partial_.empty()) Emit();
  }

 private:
  static constexpr size_t kMaxLine = 64 * 1024;  // longer lines are cut, not buffered forever

  void Emit() {
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    if (options_.on_line) options_.on_line(partial_);
    if (options_.tail_lines > 0) {
      tail_.push_back(partial_);
      if (tail_.size() > options_.tail_lines) tail_.pop_front();
    }
    partial_.clear();
  }

  const RunOptions& options_;
  std::deque<std::string>& tail_;
  std::string partial_;
};

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void ExecChild(const RunOptions& options, const std::vector<char*>& argv,
                            const std::vector<char*>& envp, int out_fd, int err_report_fd) {
  setpgid(0, 0);  // its own process group, so that we can stop it with all its children
  prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(out_fd, STDERR_FILENO);
  // No other descriptor of ours reaches the program: tools that number their own pipes
  // (mmdebstrap's "cat >&11" in dash) break when stray inherited fds push numbers past 9.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  // Default signal dispositions and mask, whatever the parent had.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
    int e = errno;
    (void)!write(err_report_fd, &e, sizeof e);
    _exit(127);
  }
  if (options.exec_in_child) {
    options.exec_in_child(argv.data(), envp.data(), err_report_fd);
  } else {
    execvpe(argv[0], argv.data(), envp.data());
  }
  int e = errno;
  (void)!write(err_report_fd, &e, sizeof e);
  _exit(127);
}

void KillGroup(pid_t pgid, int sig) { kill(-pgid, sig); }

// What the child needs, prepared before fork: no allocation after it. The environment is
// built here, not set in ours, since other threads may be running builds. `envp` and `argv`
// point into `env_strings` and the options, so this lives until the fork is done.
struct ExecArgs {
  std::vector<std::string> env_strings;
  std::vector<char*> envp, argv;
};

// Fills `out` (in place: its pointers are to its own strings) for ExecChild.
void PrepareExec(const RunOptions& options, ExecArgs& out) {
  for (char** e = environ; !options.clean_env && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view key = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : options.env) overridden = overridden || k == key;
    if (!overridden) out.env_strings.emplace_back(entry);
  }
  for (const auto& [k, v] : options.env) out.env_strings.push_back(k + "=" + v);
  for (std::string& e : out.env_strings) out.envp.push_back(e.data());
  out.envp.push_back(nullptr);
  for (const std::string& a : options.argv) out.argv.push_back(const_cast<char*>(a.c_str()));
  out.argv.push_back(nullptr);
}

// How the child's run ended, as WatchChild saw it.
struct Watched {
  bool stopping = false;  // canceled or timed out, and stopped for it
  ExitKind stop_reason = ExitKind::kExited;
  int status = 0;  // waitpid's
};

// Feeds the child's output to `sink` until the output closes and the child has ended; when
// canceled or past the timeout, stops its group (SIGTERM, SIGKILL after the grace period).
Watched WatchChild(const RunOptions& options, pid_t pid, int out_fd, LineSink& sink,
                   Clock::time_point start) {
  Watched w;
  Clock::time_point stop_at{};
  bool child_done = false;
  char buf[8192];
  bool eof = false;
  while (!(eof && child_done)) {
    if (!child_done) {
      pid_t waited = waitpid(pid, &w.status, WNOHANG);
      if (waited == pid) {
        child_done = true;
        // Background children left holding the output pipe must not keep us waiting.
        KillGroup(pid, SIGKILL);
      }
    }
    if (!w.stopping && !child_done) {
      bool canceled = (options.cancel != nullptr && options.cancel->load()) ||
                      (options.stop_when && options.stop_when());
      bool timed_out = options.timeout.count() > 0 && Clock::now() - start >= options.timeout;
      if (canceled || timed_out) {
        w.stopping = true;
        w.stop_reason = canceled ? ExitKind::kCanceled : ExitKind::kTimedOut;
        stop_at = Clock::now();
        KillGroup(pid, SIGTERM);
      }
    }
    if (w.stopping && !child_done && Clock::now() - stop_at >= options.kill_grace) {
      KillGroup(pid, SIGKILL);
    }
    if (eof) {
      // Output closed but the child still runs: wait for it in small steps.
      usleep(20000);
      continue;
    }
    pollfd pfd{out_fd, POLLIN, 0};
    int ready = poll(&pfd, 1, 50);
    if (ready > 0) {
      ssize_t n = read(out_fd, buf, sizeof buf);
      if (n > 0) {
        sink.Feed(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        eof = true;
      }
    }
  }
  return w;
}

// The result's kind from how the run ended: failed to start (the child reported an errno),
// stopped, exited or killed by a signal.
void SetOutcome(const Watched& w, bool start_failed, int start_errno, RunResult& result) {
  if (start_failed) {
    result.kind = ExitKind::kFailedToStart;
    result.error = std::strerror(start_errno);
    return;
  }
  if (w.stopping) {
    result.kind = w.stop_reason;
    return;
  }
  if (WIFEXITED(w.status)) {
    result.kind = ExitKind::kExited;
    result.code = WEXITSTATUS(w.status);
  } else if (WIFSIGNALED(w.status)) {
    result.kind = ExitKind::kSignaled;
    result.signal = WTERMSIG(w.status);
  }
}

}  // namespace

std::string RunResult::Describe() const {
  switch (kind) {
    case ExitKind::kExited:
      return "exit code " + std::to_string(code);
    case ExitKind::kSignaled:
      return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) +
             ")";
    case ExitKind::kTimedOut:
      return "timed out after " + std::to_string(elapsed.count() / 1000) + " s";
    case ExitKind::kCanceled:
      return "canceled";
    case ExitKind::kFailedToStart:
      return "could not start: " + error;
  }
  return "unknown";
}

RunResult RunProcess(const RunOptions& options) {
  RunResult result;
  Clock::time_point start = Clock::now();
  if (options.argv.empty()) {
    result.error = "no program given";
    return result;
  }
  // Orphans of a step are re-parented to this process instead of init, so they can be
  // reaped (and counted as gone) when the step ends. Idempotent and process-wide.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.error = std::strerror(errno);
    return result;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.error = std::strerror(errno);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return result;
  }
  // Everything the child needs is prepared before fork: no allocation after it.
  ExecArgs exec;
  PrepareExec(options, exec);
  pid_t pid = fork();
  if (pid == 0) ExecChild(options, exec.argv, exec.envp, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    result.error = std::strerror(errno);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return result;
  }
  setpgid(pid, pid);  // also here, so there is no race with the child's own call

  int start_errno = 0;
  ssize_t got = read(err_pipe[0], &start_errno, sizeof start_errno);
  close(err_pipe[0]);
  std::deque<std::string> tail;
  LineSink sink(options, tail);

  Watched watched = WatchChild(options, pid, out_pipe[0], sink, start);
  close(out_pipe[0]);
  sink.Flush();
  // Reap what is left of the group: we are a child subreaper, so the step's orphaned
  // children were handed to us and are waited for here, not left as zombies.
  KillGroup(pid, SIGKILL);
  while (waitpid(-pid, nullptr, 0) > 0) {
  }

  result.tail.assign(tail.begin(), tail.end());
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  SetOutcome(watched, got == static_cast<ssize_t>(sizeof start_errno), start_errno, result);
  return result;
}

}  // namespace kiln::sys
