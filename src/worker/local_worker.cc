#include "worker/local_worker.h"

#include <chrono>

#include "worker/job_runner.h"

namespace kiln::worker {
using Clock = std::chrono::steady_clock;

LocalWorker::LocalWorker(protocol::WorkerLink& link, LocalWorkerOptions options)
    : link_(link), options_(std::move(options)) {}

LocalWorker::~LocalWorker() { Stop(); }

void LocalWorker::Start() {
  protocol::WorkerInfo w;
  w.id = options_.id;
  w.arches = options_.arches;
  w.releases = options_.releases;
  w.types = options_.types;
  w.version = KILN_VERSION;
  w.capacity = 1;
  link_.Register(w);
  thread_ = std::thread([this] { Loop(); });
}

void LocalWorker::Stop() {
  stop_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
}

void LocalWorker::Wake() {
  MutexLock lock(mu_);
  woken_ = true;
  wake_.NotifyAll();
}

void LocalWorker::Loop() {
  protocol::WorkerCaps caps{options_.id, options_.arches, options_.releases, options_.types};
  Clock::time_point next_alive = Clock::now();
  while (!stop_) {
    std::optional<protocol::JobTicket> ticket;
    try {
      if (Clock::now() >= next_alive) {
        link_.Alive(options_.id);
        next_alive = Clock::now() + std::chrono::seconds(10);
      }
      ticket = link_.ClaimNext(caps, options_.lease.count());
    } catch (const std::exception&) {
      // The store failed (disk full, locked): try again after the idle pause.
    }
    if (ticket) {
      RunJob(*ticket);
      continue;
    }
    MutexLock lock(mu_);
    wake_.WaitFor(mu_, options_.idle_poll,
                  [this]() KILN_REQUIRES(mu_) { return woken_ || stop_.load(); });
    woken_ = false;
  }
}

void LocalWorker::RunJob(const protocol::JobTicket& ticket) {
  RunnerOptions ro;
  ro.worker_id = options_.id;
  ro.kiln_binary = options_.kiln_binary;
  ro.cache_dir = options_.cache_dir;
  ro.cache_max_gib = options_.cache_max_gib;
  ro.limits = options_.limits;
  ro.lease = options_.lease;
  ro.heartbeat = options_.heartbeat;
  ro.kill_grace = options_.kill_grace;
  // On a server stop the build is handed back at once: the next start runs it again.
  RunAttempt(link_, ro, ticket, stop_);
}

}  // namespace kiln::worker
