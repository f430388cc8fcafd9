// What a build's own code (its %post scripts, the image's tools run in the sandbox) may use,
// and how the limits travel from a worker to the `kiln job` it starts. `kiln build` has no
// budget by default; `kiln serve` and `kiln worker` use the service's (ServiceLimits).
#pragma once

#include <string>
#include <vector>

namespace kiln::stages {

struct BuildLimits {
  int script_timeout_s = 30 * 60;  // each %post
  double disk_budget_gib = 0;      // the image tree while scripts run; 0 = none
  long max_processes = 2048;       // per sandbox (a fork bomb fails fork, then the build)
  double max_memory_gib = 0;       // address space per process; 0 = none
  // What %post may reach: "none" (loopback only) or "outbound" (slirp4netns; never the
  // host's loopback). `kiln build` gives outbound; a service gives none unless its admin
  // says otherwise.
  std::string script_network = "outbound";
};

// The limits of a build service: strangers' kickstarts get a disk budget and a memory bound.
inline BuildLimits ServiceLimits() {
  BuildLimits l;
  l.disk_budget_gib = 32;
  l.max_memory_gib = 8;
  l.script_network = "none";
  return l;
}

// The `kiln job` flags that carry `limits`.
inline std::vector<std::string> LimitFlags(const BuildLimits& limits) {
  return {"--script-timeout",  std::to_string(limits.script_timeout_s),
          "--disk-budget-gib", std::to_string(limits.disk_budget_gib),
          "--max-processes",   std::to_string(limits.max_processes),
          "--max-memory-gib",  std::to_string(limits.max_memory_gib),
          "--script-network",  limits.script_network};
}

}  // namespace kiln::stages
