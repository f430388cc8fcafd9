// The lines a `kiln job` process writes to its worker: one JSON object a line — log lines,
// stage starts, progress, stage ends and, last, the result. Written by `kiln job`
// (cmd/cmd_job.cc) and read by the worker (worker/job_runner.cc) through this one codec.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::protocol {

struct JobLine {
  enum class Kind {
    kLog,        // text
    kStage,      // a stage starts: index of count, stage, why (the cache decision)
    kProgress,   // stage, fraction of it, message
    kStageDone,  // stage, outcome ("built", "cache hit", ...), ms
    kResult,     // the last line: ok with image and sha256, or the failure
    kForeign,    // not a job line (a tool wrote to stdout itself): text is the raw line
  };
  Kind kind = Kind::kLog;
  std::string text;
  std::string stage;
  int index = 0, count = 1;
  std::string why;
  double fraction = 0;
  std::string message;  // kProgress's message; a failed result's message
  std::string outcome;
  int64_t ms = 0;
  // kResult
  bool ok = false;
  std::string image, sha256;            // when ok
  std::string error_class, code, hint;  // when not: with `stage` and `message`

  bool operator==(const JobLine&) const = default;
};

// Each kind of line, made.
JobLine LogLine(std::string text);
JobLine StageLine(int index, int count, std::string stage, std::string why);
JobLine ProgressLine(std::string stage, double fraction, std::string message);
JobLine StageDoneLine(std::string stage, std::string outcome, int64_t ms);
JobLine SucceededLine(std::string image, std::string sha256);
JobLine FailedLine(std::string stage, std::string error_class, std::string code,
                   std::string message, std::string hint);

// One line, without its newline. Text that is not UTF-8 (tools' output) is replaced, not
// refused.
std::string EncodeJobLine(const JobLine& line);
// Never fails: what is not a job line comes back as kForeign with the raw text.
JobLine DecodeJobLine(std::string_view text);

}  // namespace kiln::protocol
