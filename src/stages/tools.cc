#include "stages/tools.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "sys/process.h"

namespace kiln::stages {
namespace fs = std::filesystem;

bool RunTool(const engine::StageContext& ctx, const std::string& stage, const ToolRun& tool,
             engine::StageFailure& failure) {
  sys::RunOptions run;
  run.argv = tool.argv;
  run.env = tool.env;
  run.cancel = ctx.cancel;
  run.timeout = std::chrono::minutes(tool.timeout_minutes);
  run.on_line = [&](std::string_view line) { ctx.reporter->Log(line); };
  sys::RunResult r = sys::RunProcess(run);
  if (r.ok()) return true;
  bool full = false;
  for (const std::string& l : r.tail) {
    full = full || l.find("No space left") != std::string::npos ||
           l.find("Could not allocate block") != std::string::npos;
  }
  if (r.kind == sys::ExitKind::kCanceled) {
    failure = {engine::FailureClass::kCanceled, "canceled", stage + ": canceled", ""};
  } else if (r.kind == sys::ExitKind::kTimedOut) {
    failure = {engine::FailureClass::kTimeout, "timeout",
               stage + ": " + tool.what + " took longer than " +
                   std::to_string(tool.timeout_minutes) + " minutes",
               "see build.log"};
  } else if (full) {
    failure = {engine::FailureClass::kResource, "disk-full",
               stage + ": the disk is full while " + tool.what,
               "free space in the cache and output directories"};
  } else {
    failure = {engine::FailureClass::kInternal, "tool-failed",
               stage + ": " + tool.what + ": " + tool.argv[0] + " " + r.Describe() +
                   (r.tail.empty() ? "" : ": " + r.tail.back()),
               "see build.log"};
  }
  return false;
}

Status SpliceFile(const fs::path& from, const fs::path& to, uint64_t offset) {
  int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::Error("cannot open " + from.string() + ": " + std::strerror(errno));
  int out = open(to.c_str(), O_WRONLY | O_CLOEXEC);
  if (out < 0) {
    Status failed = Status::Error("cannot open " + to.string() + ": " + std::strerror(errno));
    close(in);
    return failed;
  }
  std::string error;
  std::vector<char> buf(1 << 20);
  uint64_t pos = 0;
  bool ok = true;
  while (ok) {
    ssize_t n = read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "reading " + from.string() + ": " + std::strerror(errno);
      ok = false;
      break;
    }
    if (n == 0) break;
    // Write only the 4 KiB blocks that hold data; the destination's holes already read as 0.
    for (ssize_t b = 0; b < n && ok; b += 4096) {
      ssize_t len = std::min<ssize_t>(4096, n - b);
      bool zero = true;
      for (ssize_t i = 0; i < len && zero; ++i) zero = buf[b + i] == 0;
      if (zero) continue;
      if (pwrite(out, buf.data() + b, len, static_cast<off_t>(offset + pos + b)) != len) {
        error = "writing " + to.string() + ": " + std::strerror(errno);
        ok = false;
      }
    }
    pos += static_cast<uint64_t>(n);
  }
  if (close(out) != 0 && ok) {
    error = "writing " + to.string() + ": " + std::strerror(errno);
    ok = false;
  }
  close(in);
  return ok ? Status::Ok() : Status::Error(error);
}

uint64_t BytesOnFilesystem(const fs::path& root) {
  uint64_t total = 4096;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0) continue;
    total += 4096;
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) {
      total += (static_cast<uint64_t>(st.st_size) + 4095) / 4096 * 4096;
    }
  }
  return total;
}

std::string ToolVersion(const std::vector<std::string>& argv) {
  sys::RunOptions run;
  run.argv = argv;
  run.timeout = std::chrono::seconds(10);
  sys::RunResult r = sys::RunProcess(run);
  if (r.kind == sys::ExitKind::kFailedToStart || r.tail.empty()) return "unknown";
  return r.tail.front();
}

}  // namespace kiln::stages
