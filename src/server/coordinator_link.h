// The in-process worker link of `kiln serve --workers N`: a local worker's calls go straight
// to the Coordinator, and the outputs are written inside the master's data directory, so
// artifacts are renamed, not copied, into place.
#pragma once

#include "protocol/worker_link.h"
#include "server/coordinator.h"

namespace kiln::server {

class CoordinatorLink : public protocol::WorkerLink {
 public:
  explicit CoordinatorLink(Coordinator& coordinator) : co_(coordinator) {}
  void Register(const protocol::WorkerInfo& worker) override { co_.RegisterWorker(worker); }
  void Alive(const std::string& worker) override { co_.WorkerAlive(worker); }
  std::optional<JobTicket> ClaimNext(const store::WorkerCaps& caps, int64_t lease_ms) override {
    return co_.ClaimNext(caps, lease_ms);
  }
  std::optional<JobTicket> ClaimBuild(int64_t id, const store::WorkerCaps& caps,
                                      int64_t lease_ms) override {
    return co_.Claim(id, caps, lease_ms);
  }
  store::LeaseStatus Heartbeat(int64_t id, int attempt, const std::string& worker,
                               int64_t lease_ms) override {
    return co_.Heartbeat(id, attempt, worker, lease_ms);
  }
  bool Report(int64_t id, int attempt, const std::vector<protocol::Event>& events,
              const std::optional<protocol::Progress>& latest) override {
    return co_.Report(id, attempt, events, latest);
  }
  Status AddArtifact(int64_t id, int attempt, const std::filesystem::path& file) override {
    return co_.AddArtifact(id, attempt, file);
  }
  bool Finish(int64_t id, int attempt, const std::string& worker, const JobResult& result,
              const std::vector<protocol::Event>& last_events) override {
    return co_.Finish(id, attempt, worker, result, last_events);
  }
  bool HandBack(int64_t id, int attempt, const std::string& worker) override {
    return co_.HandBack(id, attempt, worker);
  }
  std::filesystem::path AttemptDir(int64_t id, int attempt) override {
    return co_.AttemptDir(id, attempt);
  }

 private:
  Coordinator& co_;
};

}  // namespace kiln::server
