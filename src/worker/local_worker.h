// A worker thread inside `kiln serve --workers N` (the seed's local mode): it polls the
// embedded queue through a WorkerLink (in-process: CoordinatorLink) and runs what it claims
// with RunAttempt (job_runner.h): each build in its own `kiln job` child process, so a
// crashing or killed build never takes the server down.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "core/mutex.h"
#include "protocol/worker_link.h"
#include "stages/build_limits.h"

namespace kiln::worker {

struct LocalWorkerOptions {
  std::string id;                     // "local/HOST/1": unique, and "local/" marks it local
  std::filesystem::path kiln_binary;  // the `kiln` to run `kiln job` with
  std::filesystem::path cache_dir;    // stage and package cache, shared by all local workers
  double cache_max_gib = 20;
  stages::BuildLimits limits = stages::ServiceLimits();
  std::string arches, releases, types;  // what it builds; "" = anything
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds idle_poll{1000};    // how often an idle worker looks for work
  std::chrono::milliseconds kill_grace{10000};  // SIGTERM to SIGKILL: the job cleans up
};

class LocalWorker {
 public:
  LocalWorker(protocol::WorkerLink& link, LocalWorkerOptions options);
  ~LocalWorker();  // stops and joins
  void Start();
  // Stops taking work. A running build is stopped and handed back to the queue (not failed),
  // so another worker, or this server after a restart, builds it.
  void Stop();
  // Wakes an idle worker at once (a build was submitted).
  void Wake();

 private:
  void Loop();
  void RunJob(const protocol::JobTicket& ticket);

  protocol::WorkerLink& link_;
  LocalWorkerOptions options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  Mutex mu_;
  CondVar wake_;
  bool woken_ KILN_GUARDED_BY(mu_) = false;
};

}  // namespace kiln::worker
