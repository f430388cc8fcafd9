// How a build tells the world what it is doing. The engine never prints: it reports stage
// starts and ends, progress and log lines to a Reporter. The CLI draws bars or timestamped
// lines; the worker (later) sends events to the master; tests record them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace kiln::engine {

enum class StageOutcome {
  kBuilt,     // ran and succeeded (a cache miss)
  kCacheHit,  // served from the stage cache
  kFailed,    // ran and failed
  kCanceled,  // stopped by a cancel request
};

std::string_view ToString(StageOutcome outcome);

// The one wording of a stage's start and end in logs and on terminals:
// "stage 2/5 configure: miss because ..." and "stage configure: built in 1.3 s".
std::string StageStartedLine(int index, int count, std::string_view stage, std::string_view why);
std::string StageFinishedLine(std::string_view stage, StageOutcome outcome,
                              std::chrono::milliseconds elapsed);

class Reporter {
 public:
  virtual ~Reporter() = default;
  // A stage begins: its position among `count` stages; `why` says why it runs or hits
  // ("cache hit", "miss because packages changed").
  virtual void StageStarted(int index, int count, std::string_view stage, std::string_view why) = 0;
  // Progress within the running stage, 0..1, with a short message ("unpacking 120/400").
  virtual void StageProgress(std::string_view stage, double fraction, std::string_view message) = 0;
  virtual void StageFinished(std::string_view stage, StageOutcome outcome,
                             std::chrono::milliseconds elapsed) = 0;
  // One line of tool output or an engine note, for the build log.
  virtual void Log(std::string_view line) = 0;
};

}  // namespace kiln::engine
