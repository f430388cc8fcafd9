// Runs a plan: an ordered list of stages, each building on the previous one's output. For
// every stage the executor computes its inputs' key, serves it from the StageCache when it
// can, and otherwise runs it into a fresh directory and commits the result. It times every
// stage and reports what happens.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/reporter.h"
#include "engine/stage_cache.h"

namespace kiln::engine {

// Why a build failed: a stable code, whose fault it is, and what to do about it.
enum class FailureClass {
  kInput,     // the request (a package that does not exist, a %post that fails): 4xx
  kNetwork,   // a repository or URL could not be reached
  kResource,  // disk full, out of memory
  kTimeout,
  kCanceled,
  kInternal,  // our fault: 5xx
};

std::string_view ToString(FailureClass c);

struct StageFailure {
  FailureClass cls = FailureClass::kInternal;
  std::string code;     // stable, e.g. "package-not-found", "script-failed"
  std::string message;  // one line, names the stage and what failed
  std::string hint;     // what to do about it
};

// Everything a running stage may use.
struct StageContext {
  std::filesystem::path input;    // the previous stage's output ("" for the first stage)
  std::filesystem::path output;   // an empty directory to fill
  std::filesystem::path scratch;  // a private temporary directory, removed afterwards
  Reporter* reporter = nullptr;
  const std::atomic<bool>* cancel = nullptr;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string name() const = 0;
  // What the result depends on, apart from the previous stage (the executor adds that).
  virtual StageInputs Inputs() const = 0;
  // Builds ctx.output from ctx.input. Returns false and fills `failure` when it cannot.
  virtual bool Run(const StageContext& ctx, StageFailure& failure) = 0;
};

struct PlanResult {
  bool ok = false;
  std::filesystem::path output;  // the last stage's output directory (in the cache)
  StageFailure failure;          // when !ok
  std::string failed_stage;
  std::vector<std::string> keys;               // each stage's key, in order
  std::vector<std::filesystem::path> outputs;  // each finished stage's output, in order
};

// Runs `stages` in order against `cache`. Stops at the first failure or when `cancel` is set.
PlanResult RunPlan(const std::vector<std::unique_ptr<Stage>>& stages, StageCache& cache,
                   Reporter& reporter, const std::atomic<bool>* cancel = nullptr);

}  // namespace kiln::engine
