// The flags that set a build's limits (stages/build_limits.h), shared by `kiln build`,
// `kiln job`, `kiln serve` and `kiln worker`.
#pragma once

#include <CLI/CLI.hpp>

#include "stages/build_limits.h"

namespace kiln::cmd {

inline void AddLimitFlags(CLI::App* app, stages::BuildLimits& limits) {
  app->add_option(
         "--script-timeout", limits.script_timeout_s,
         "seconds each %post may run (default " + std::to_string(limits.script_timeout_s) + ")")
      ->check(CLI::PositiveNumber);
  app->add_option("--disk-budget-gib", limits.disk_budget_gib,
                  "how big %post may make the image tree, GiB; 0 = no budget (default " +
                      std::to_string(static_cast<int>(limits.disk_budget_gib)) + ")")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--max-processes", limits.max_processes,
                  "processes a sandbox may have at once (default " +
                      std::to_string(limits.max_processes) + ")")
      ->check(CLI::Range(16L, 1L << 22));
  app->add_option("--max-memory-gib", limits.max_memory_gib,
                  "address space of each sandboxed process, GiB; 0 = no bound (default " +
                      std::to_string(static_cast<int>(limits.max_memory_gib)) + ")")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--script-network", limits.script_network,
                  "what %post may reach: none (loopback only) or outbound (the internet through "
                  "slirp4netns, never this host's loopback) (default " +
                      limits.script_network + ")")
      ->check(CLI::IsMember({"none", "outbound"}));
}

}  // namespace kiln::cmd
