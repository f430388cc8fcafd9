// What a worker needs from the master: the worker protocol of DESIGN §5 (register, claim with
// a lease, heartbeat, event batches, artifacts, result, hand-back). A local worker speaks it
// to the Coordinator in-process (server/coordinator_link.h); a remote worker over HTTP
// (worker/http_link.h). Running an attempt (worker/job_runner.h) is the same either way, and
// tests/worker_link_test.cc holds both links to the same contract.
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

#include "protocol/worker_messages.h"

namespace kiln::protocol {

class WorkerLink {
 public:
  virtual ~WorkerLink() = default;
  virtual void Register(const WorkerInfo& worker) = 0;
  // An idle worker is still there.
  virtual void Alive(const std::string& worker) = 0;
  virtual std::optional<JobTicket> ClaimNext(const WorkerCaps& caps, int64_t lease_ms) = 0;
  // Claims the build a queue message named; nullopt if it is not queued (a redelivery).
  virtual std::optional<JobTicket> ClaimBuild(int64_t id, const WorkerCaps& caps,
                                              int64_t lease_ms) = 0;
  virtual LeaseStatus Heartbeat(int64_t id, int attempt, const std::string& worker,
                                int64_t lease_ms) = 0;
  // False when the attempt is no longer this worker's.
  virtual bool Report(int64_t id, int attempt, const std::vector<Event>& events,
                      const std::optional<Progress>& latest) = 0;
  // Hands a finished output file of the attempt to the master, which keeps it with its size
  // and SHA-256 as one of the build's artifacts.
  virtual Status AddArtifact(int64_t id, int attempt, const std::filesystem::path& file) = 0;
  // The result, with the attempt's last events (a dry run's whole answer) in the same call.
  virtual bool Finish(int64_t id, int attempt, const std::string& worker, const JobResult& result,
                      const std::vector<Event>& last_events) = 0;
  virtual bool HandBack(int64_t id, int attempt, const std::string& worker) = 0;
  // Where the attempt's build writes its outputs.
  virtual std::filesystem::path AttemptDir(int64_t id, int attempt) = 0;
};

}  // namespace kiln::protocol
