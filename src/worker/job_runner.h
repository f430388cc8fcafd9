// One claimed attempt, run to its end for any worker (a thread of `kiln serve --workers N` or
// a slot of `kiln worker`): the build runs in its own `kiln job` child process (a dry run is
// planned in this process: it only reads), its events and log lines go to the master in
// batches, the lease is kept by heartbeats that also carry cancel requests back, and the
// artifacts and result are delivered by phase: once the image exists, a failing upload or an
// unreachable master is retried without building again, for as long as the lease holds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "core/mutex.h"
#include "protocol/worker_link.h"
#include "stages/build_limits.h"
#include "sys/process_runner.h"

namespace kiln::worker {

// One thread that keeps the leases of all of a worker's running attempts, instead of a
// thread per attempt: each attempt adds a beat, called about every 50 ms (it checks for a
// stop and sends its heartbeat when one is due) until its Beat handle goes.
class Heartbeats {
 public:
  Heartbeats();
  ~Heartbeats();
  Heartbeats(const Heartbeats&) = delete;
  Heartbeats& operator=(const Heartbeats&) = delete;

  class Beat {
   public:
    Beat(Heartbeats& owner, uint64_t id) : owner_(owner), id_(id) {}
    ~Beat() { owner_.Remove(id_); }  // waits while the beat runs: it uses the attempt's state
    Beat(const Beat&) = delete;
    Beat& operator=(const Beat&) = delete;

   private:
    Heartbeats& owner_;
    uint64_t id_;
  };
  std::unique_ptr<Beat> Add(std::function<void()> beat) KILN_EXCLUDES(mu_);

 private:
  void Loop() KILN_EXCLUDES(mu_);
  void Remove(uint64_t id) KILN_EXCLUDES(mu_);

  Mutex mu_;
  CondVar cv_;
  std::map<uint64_t, std::function<void()>> beats_ KILN_GUARDED_BY(mu_);
  uint64_t next_id_ KILN_GUARDED_BY(mu_) = 1;
  uint64_t running_ KILN_GUARDED_BY(mu_) = 0;  // the beat being called (0: none)
  bool stop_ KILN_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

struct RunnerOptions {
  std::string worker_id;
  std::filesystem::path kiln_binary;  // the `kiln` to run `kiln job` with
  std::filesystem::path cache_dir;    // stage and package cache
  double cache_max_gib = 20;
  stages::BuildLimits limits = stages::ServiceLimits();
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds kill_grace{10000};  // SIGTERM to SIGKILL: the job cleans up
  // How long an artifact or the result is retried while the master fails it (not while it
  // is unreachable: that ends with the lease).
  std::chrono::milliseconds deliver_for{std::chrono::minutes(15)};
  // Where the runner says what the worker's operator should know (a failed delivery that is
  // being retried); nothing when unset.
  std::function<void(const std::string&)> log;
  // The worker's shared heartbeat thread; unset: the attempt starts its own.
  Heartbeats* heartbeats = nullptr;
  // Where `kiln job` processes are started; unset: real ones (a test plays a job with a fake).
  sys::ProcessRunner* processes = nullptr;
};

enum class AttemptEnd {
  kRecorded,    // the master has the result
  kLost,        // the attempt is no longer this worker's (lease ran out, canceled elsewhere)
  kHandedBack,  // stopped by `stop` and given back to the queue
};

// `stop` (the worker is shutting down) stops the build and hands the attempt back.
AttemptEnd RunAttempt(protocol::WorkerLink& link, const RunnerOptions& options,
                      const protocol::JobTicket& ticket, const std::atomic<bool>& stop);

}  // namespace kiln::worker
