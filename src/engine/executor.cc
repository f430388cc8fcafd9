#include "engine/executor.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

namespace kiln::engine {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string_view ToString(StageOutcome outcome) {
  switch (outcome) {
    case StageOutcome::kBuilt:
      return "built";
    case StageOutcome::kCacheHit:
      return "cache hit";
    case StageOutcome::kFailed:
      return "failed";
    case StageOutcome::kCanceled:
      return "canceled";
  }
  return "unknown";
}

std::string StageStartedLine(int index, int count, std::string_view stage, std::string_view why) {
  return "stage " + std::to_string(index + 1) + "/" + std::to_string(count) + " " +
         std::string(stage) + ": " + std::string(why);
}

std::string StageFinishedLine(std::string_view stage, StageOutcome outcome,
                              std::chrono::milliseconds elapsed) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", static_cast<double>(elapsed.count()) / 1000.0);
  return "stage " + std::string(stage) + ": " + std::string(ToString(outcome)) + " in " + secs;
}

std::string_view ToString(FailureClass c) {
  switch (c) {
    case FailureClass::kInput:
      return "input";
    case FailureClass::kNetwork:
      return "network";
    case FailureClass::kResource:
      return "resource";
    case FailureClass::kTimeout:
      return "timeout";
    case FailureClass::kCanceled:
      return "canceled";
    case FailureClass::kInternal:
      return "internal";
  }
  return "internal";
}

PlanResult RunPlan(const std::vector<std::unique_ptr<Stage>>& stages, StageCache& cache,
                   Reporter& reporter, const std::atomic<bool>* cancel) {
  PlanResult result;
  std::string parent_key;
  fs::path input;
  int count = static_cast<int>(stages.size());
  for (int i = 0; i < count; ++i) {
    Stage& stage = *stages[static_cast<size_t>(i)];
    StageInputs inputs = stage.Inputs();
    inputs.parent_key = parent_key;
    std::string key = inputs.Key();
    result.keys.push_back(key);
    Clock::time_point start = Clock::now();
    auto elapsed = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    };
    if (cancel != nullptr && cancel->load()) {
      result.failure = {FailureClass::kCanceled, "canceled", "the build was canceled", ""};
      result.failed_stage = stage.name();
      return result;
    }
    if (std::optional<fs::path> hit = cache.Lookup(inputs)) {
      reporter.StageStarted(i, count, stage.name(), "cache hit");
      reporter.StageFinished(stage.name(), StageOutcome::kCacheHit, elapsed());
      input = *hit;
      parent_key = key;
      result.outputs.push_back(input);
      continue;
    }
    reporter.StageStarted(i, count, stage.name(), "miss because " + cache.ExplainMiss(inputs));
    StageContext ctx;
    ctx.input = input;
    ctx.output = cache.Prepare(inputs);
    ctx.scratch = ctx.output.parent_path() / "scratch";
    fs::create_directories(ctx.scratch);
    ctx.reporter = &reporter;
    ctx.cancel = cancel;
    StageFailure failure;
    bool ok = false;
    try {
      ok = stage.Run(ctx, failure);
    } catch (const std::exception& e) {
      // A stage's catch-all edge: an exception is our bug, reported as internal.
      failure = {FailureClass::kInternal, "internal-error",
                 stage.name() + ": internal error: " + e.what(), "report this as a kiln bug"};
    }
    std::error_code ec;
    fs::remove_all(ctx.scratch, ec);
    if (!ok) {
      bool canceled = cancel != nullptr && cancel->load();
      if (canceled) failure = {FailureClass::kCanceled, "canceled", "the build was canceled", ""};
      cache.Abandon(inputs);
      reporter.StageFinished(stage.name(),
                             canceled ? StageOutcome::kCanceled : StageOutcome::kFailed, elapsed());
      result.failure = failure;
      result.failed_stage = stage.name();
      return result;
    }
    input = cache.Commit(inputs);
    parent_key = key;
    result.outputs.push_back(input);
    reporter.StageFinished(stage.name(), StageOutcome::kBuilt, elapsed());
    std::set<std::string> keep(result.keys.begin(), result.keys.end());
    for (const CacheEntryInfo& gone : cache.Evict(keep)) {
      reporter.Log("cache: evicted " + gone.stage + " " + gone.key.substr(0, 12) + " (" +
                   std::to_string(gone.bytes >> 20) + " MiB)");
    }
  }
  result.ok = true;
  result.output = input;
  return result;
}

}  // namespace kiln::engine
