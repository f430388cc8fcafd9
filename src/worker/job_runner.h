// One claimed attempt, run to its end for any worker (a thread of `kiln serve --workers N` or
// a slot of `kiln worker`): the build runs in its own `kiln job` child process (a dry run is
// planned in this process: it only reads), its events and log lines go to the master in
// batches, the lease is kept by heartbeats that also carry cancel requests back, and the
// artifacts and result are delivered by phase: once the image exists, a failing upload or an
// unreachable master is retried without building again, for as long as the lease holds.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "worker/worker_link.h"

namespace kiln::worker {

struct RunnerOptions {
  std::string worker_id;
  std::filesystem::path kiln_binary;  // the `kiln` to run `kiln job` with
  std::filesystem::path cache_dir;    // stage and package cache
  double cache_max_gib = 20;
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds kill_grace{10000};  // SIGTERM to SIGKILL: the job cleans up
  // How long an artifact or the result is retried while the master fails it (not while it
  // is unreachable: that ends with the lease).
  std::chrono::milliseconds deliver_for{std::chrono::minutes(15)};
  // Where the runner says what the worker's operator should know (a failed delivery that is
  // being retried); nothing when unset.
  std::function<void(const std::string&)> log;
};

enum class AttemptEnd {
  kRecorded,    // the master has the result
  kLost,        // the attempt is no longer this worker's (lease ran out, canceled elsewhere)
  kHandedBack,  // stopped by `stop` and given back to the queue
};

// `stop` (the worker is shutting down) stops the build and hands the attempt back.
AttemptEnd RunAttempt(WorkerLink& link, const RunnerOptions& options,
                      const server::JobTicket& ticket, const std::atomic<bool>& stop);

}  // namespace kiln::worker
