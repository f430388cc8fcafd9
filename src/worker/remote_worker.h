// `kiln worker`: a build host of distributed mode. It consumes its arch's queues on the
// broker (one per release, prefetch = capacity), claims each named build from the master
// over HTTP before starting it (a redelivered message of a build that runs elsewhere is
// dropped), runs it with RunAttempt, and acknowledges the message only once the master has
// recorded the result — a worker that dies leaves its messages to be delivered again.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "stages/build_limits.h"

namespace kiln::worker {

struct RemoteWorkerOptions {
  std::string id;  // unique per worker process
  std::string master_url, token;
  std::string broker_url;
  std::string arch;
  std::vector<std::string> releases;
  int capacity = 1;
  std::filesystem::path data_dir;     // work/ (attempts)
  std::filesystem::path cache_dir;    // stages and packages ("" = data_dir/cache)
  std::filesystem::path kiln_binary;  // for `kiln job`
  double cache_max_gib = 20;
  stages::BuildLimits limits = stages::ServiceLimits();
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds kill_grace{10000};
  // After SIGTERM: how long running builds may go on before they are handed back.
  std::chrono::milliseconds stop_grace{300000};
};

class RemoteWorker {
 public:
  explicit RemoteWorker(RemoteWorkerOptions options);
  // Serves until `stop` is set; then takes no new builds, lets running ones finish within
  // the stop grace and hands back the rest. Returns the process exit status.
  int Run(const std::atomic<bool>& stop);

 private:
  RemoteWorkerOptions options_;
};

}  // namespace kiln::worker
