// Building an image from a BuildSpec on this machine: plan the stages for the spec's type,
// run them through the stage cache, and write the image with its checksums, manifest,
// flattened kickstart and log into the output directory. This is `kiln build` (local mode)
// and what every worker will run.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/build_spec.h"
#include "engine/executor.h"
#include "stages/build_limits.h"

namespace kiln::stages {

struct BuildOptions {
  std::filesystem::path output_dir;  // created if missing
  std::filesystem::path cache_dir;   // stage cache and shared package downloads
  uint64_t cache_max_bytes = 20ull << 30;
  const std::atomic<bool>* cancel = nullptr;
  std::string mirror_override_root = "/";  // where to read apt sources from (tests)
  BuildLimits limits;
};

struct BuildOutcome {
  bool ok = false;
  std::string failed_stage;
  engine::StageFailure failure;
  std::filesystem::path image;  // in the output directory
  std::string image_sha256;
};

// Builds `spec`. Progress goes to `reporter` and, with every log line, to build.log in the
// output directory.
BuildOutcome BuildImage(const BuildSpec& spec, const BuildOptions& options,
                        engine::Reporter& reporter);

// A dry run's answer: the stages a build of the spec would run and, for each, whether the
// stage cache has its result and why not.
struct PlannedStage {
  std::string name;
  std::string key;
  bool cached = false;
  std::string why;  // "cache hit", or "miss because ..."
};
struct BuildPlan {
  bool ok = false;
  std::string failed_stage;  // when !ok: the request cannot be built ("plan", "resolve")
  engine::StageFailure failure;
  std::vector<PlannedStage> stages;
  std::string image_name;
  std::vector<std::string> notes;  // what the plan cannot know
};

// Plans `spec` against the cache without building, downloading packages or changing the
// cache (the mirror's release file is read, or reused if read in the last minute).
BuildPlan PlanImage(const BuildSpec& spec, const BuildOptions& options, engine::Reporter& reporter);

}  // namespace kiln::stages
