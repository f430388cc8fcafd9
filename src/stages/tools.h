// Running the image tools (mkfs, sfdisk, grub-mkimage, mtools, xorriso, ...) from a stage:
// their output goes to the build log, a failure becomes a StageFailure that names the stage
// and the tool (disk-full when the disk filled up), and cancel stops them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/executor.h"

namespace kiln::stages {

struct ToolRun {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::string what;  // "writing the root file system", for the failure message
  int timeout_minutes = 30;
};

// Runs one tool. On failure fills `failure` (code `tool-failed` or `disk-full`).
bool RunTool(const engine::StageContext& ctx, const std::string& stage, const ToolRun& tool,
             engine::StageFailure& failure);

// Copies `from` into `to` at byte `offset`, leaving all-zero blocks as holes so a sparse
// image stays sparse. `to` must already be large enough.
Status SpliceFile(const std::filesystem::path& from, const std::filesystem::path& to,
                  uint64_t offset);

// Bytes a tree needs on a file system: file blocks rounded to 4 KiB plus one block per inode.
uint64_t BytesOnFilesystem(const std::filesystem::path& root);

// The first line of `tool --version` (or "unknown"), for cache inputs and provenance.
std::string ToolVersion(const std::vector<std::string>& argv);

}  // namespace kiln::stages
