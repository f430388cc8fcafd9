// What a worker needs from the master: the worker protocol of DESIGN §5 (register, claim with
// a lease, heartbeat, event batches, artifacts, result, hand-back). A local worker speaks it
// to the Coordinator in-process (CoordinatorLink); a remote worker over HTTP (HttpLink).
// Running an attempt (job_runner.h) is the same either way.
//
// Answers: false / nullopt / kLost mean the master said no (the attempt is not this
// worker's, the build is not queued). A failure to reach the master — or a store error in
// process — throws, and the caller may try again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "server/coordinator.h"

namespace kiln::worker {

class WorkerLink {
 public:
  virtual ~WorkerLink() = default;
  virtual void Register(const store::Worker& worker) = 0;
  // An idle worker is still there.
  virtual void Alive(const std::string& worker) = 0;
  virtual std::optional<server::JobTicket> ClaimNext(const store::WorkerCaps& caps,
                                                     int64_t lease_ms) = 0;
  // Claims the build a queue message named; nullopt if it is not queued (a redelivery).
  virtual std::optional<server::JobTicket> ClaimBuild(int64_t id, const store::WorkerCaps& caps,
                                                      int64_t lease_ms) = 0;
  virtual store::LeaseStatus Heartbeat(int64_t id, int attempt, const std::string& worker,
                                       int64_t lease_ms) = 0;
  // False when the attempt is no longer this worker's.
  virtual bool Report(int64_t id, int attempt, const std::vector<store::Store::NewEvent>& events,
                      const std::optional<server::Coordinator::Progress>& latest) = 0;
  virtual bool AddArtifact(int64_t id, int attempt, const std::filesystem::path& file,
                           std::string& error) = 0;
  // The result, with the attempt's last events (a dry run's whole answer) in the same call.
  virtual bool Finish(int64_t id, int attempt, const std::string& worker,
                      const server::JobResult& result,
                      const std::vector<store::Store::NewEvent>& last_events) = 0;
  virtual bool HandBack(int64_t id, int attempt, const std::string& worker) = 0;
  // Where the attempt's build writes its outputs.
  virtual std::filesystem::path AttemptDir(int64_t id, int attempt) = 0;
};

// The in-process link of `kiln serve --workers N`: calls go straight to the Coordinator, and
// the outputs are written inside the master's data directory, so artifacts are renamed, not
// copied, into place.
class CoordinatorLink : public WorkerLink {
 public:
  explicit CoordinatorLink(server::Coordinator& coordinator) : co_(coordinator) {}
  void Register(const store::Worker& worker) override { co_.RegisterWorker(worker); }
  void Alive(const std::string& worker) override { co_.WorkerAlive(worker); }
  std::optional<server::JobTicket> ClaimNext(const store::WorkerCaps& caps,
                                             int64_t lease_ms) override {
    return co_.ClaimNext(caps, lease_ms);
  }
  std::optional<server::JobTicket> ClaimBuild(int64_t id, const store::WorkerCaps& caps,
                                              int64_t lease_ms) override {
    return co_.Claim(id, caps, lease_ms);
  }
  store::LeaseStatus Heartbeat(int64_t id, int attempt, const std::string& worker,
                               int64_t lease_ms) override {
    return co_.Heartbeat(id, attempt, worker, lease_ms);
  }
  bool Report(int64_t id, int attempt, const std::vector<store::Store::NewEvent>& events,
              const std::optional<server::Coordinator::Progress>& latest) override {
    return co_.Report(id, attempt, events, latest);
  }
  bool AddArtifact(int64_t id, int attempt, const std::filesystem::path& file,
                   std::string& error) override {
    return co_.AddArtifact(id, attempt, file, error);
  }
  bool Finish(int64_t id, int attempt, const std::string& worker, const server::JobResult& result,
              const std::vector<store::Store::NewEvent>& last_events) override {
    return co_.Finish(id, attempt, worker, result, last_events);
  }
  bool HandBack(int64_t id, int attempt, const std::string& worker) override {
    return co_.HandBack(id, attempt, worker);
  }
  std::filesystem::path AttemptDir(int64_t id, int attempt) override {
    return co_.AttemptDir(id, attempt);
  }

 private:
  server::Coordinator& co_;
};

}  // namespace kiln::worker
