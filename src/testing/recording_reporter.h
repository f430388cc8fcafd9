// A Reporter that keeps what a build told it, for tests to read back: stage starts and ends
// (also as one timeline), progress and log lines.
#pragma once

#include <string>
#include <vector>

#include "engine/reporter.h"

namespace kiln::testing {

struct RecordingReporter : engine::Reporter {
  std::vector<std::string> started;   // "stage: why"
  std::vector<std::string> finished;  // "stage built", "stage cache-hit", ...
  std::vector<std::string> timeline;  // "start 1/3 stage: why", "end stage: built", in order
  std::vector<std::string> progress;  // "stage 0.50 message"
  std::vector<std::string> log;

  void StageStarted(int index, int count, std::string_view stage, std::string_view why) override {
    started.push_back(std::string(stage) + ": " + std::string(why));
    timeline.push_back("start " + std::to_string(index + 1) + "/" + std::to_string(count) + " " +
                       std::string(stage) + ": " + std::string(why));
  }
  void StageProgress(std::string_view stage, double fraction, std::string_view message) override {
    char share[16];
    std::snprintf(share, sizeof(share), "%.2f", fraction);
    progress.push_back(std::string(stage) + " " + share + " " + std::string(message));
  }
  void StageFinished(std::string_view stage, engine::StageOutcome outcome,
                     std::chrono::milliseconds) override {
    finished.push_back(std::string(stage) + " " + std::string(engine::ToString(outcome)));
    timeline.push_back("end " + std::string(stage) + ": " + std::string(engine::ToString(outcome)));
  }
  void Log(std::string_view line) override { log.emplace_back(line); }

  // True if a log line contains `needle`.
  bool Logged(std::string_view needle) const {
    for (const std::string& line : log) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

}  // namespace kiln::testing
