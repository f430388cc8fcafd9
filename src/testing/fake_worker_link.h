// A master in memory, as a worker sees it through protocol::WorkerLink: it answers with what
// the test scripted (the lease, refusals, failures to reach it) and records what the worker
// sent (events, progress, artifacts with their contents, the result, hand-backs). Safe to
// call from the worker's job and heartbeat threads at once.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "protocol/worker_link.h"

namespace kiln::testing {

class FakeWorkerLink : public protocol::WorkerLink {
 public:
  explicit FakeWorkerLink(std::filesystem::path work_dir) : work_dir_(std::move(work_dir)) {}

  // ---- What the master answers (set before or while the worker runs).
  void SetLease(protocol::LeaseStatus lease) {
    MutexLock lock(mu_);
    lease_ = lease;
  }
  // The next `n` calls of the kind throw, as a master that cannot be reached.
  void FailFinishes(int n) {
    MutexLock lock(mu_);
    failing_finishes_ = n;
  }
  void FailArtifacts(int n) {
    MutexLock lock(mu_);
    failing_artifacts_ = n;
  }
  // The master refuses artifacts (after any failures to reach it) with `why`.
  void RefuseArtifacts(std::string why) {
    MutexLock lock(mu_);
    artifact_refusal_ = std::move(why);
  }

  // ---- What the worker sent.
  struct Sent {
    std::vector<protocol::WorkerInfo> registered;
    std::vector<protocol::Event> events;  // reported, then the result's last events
    std::optional<protocol::Progress> progress;
    std::map<std::string, std::string> artifacts;  // name → content
    std::optional<protocol::JobResult> result;
    int heartbeats = 0;
    int hand_backs = 0;
    int finish_calls = 0;  // also those that failed
  };
  Sent sent() {
    MutexLock lock(mu_);
    return sent_;
  }

  // ---- protocol::WorkerLink
  void Register(const protocol::WorkerInfo& worker) override {
    MutexLock lock(mu_);
    sent_.registered.push_back(worker);
  }
  void Alive(const std::string&) override {}
  std::optional<protocol::JobTicket> ClaimNext(const protocol::WorkerCaps&, int64_t) override {
    return std::nullopt;
  }
  std::optional<protocol::JobTicket> ClaimBuild(int64_t, const protocol::WorkerCaps&,
                                                int64_t) override {
    return std::nullopt;
  }
  protocol::LeaseStatus Heartbeat(int64_t, int, const std::string&, int64_t) override {
    MutexLock lock(mu_);
    ++sent_.heartbeats;
    return lease_;
  }
  bool Report(int64_t, int, const std::vector<protocol::Event>& events,
              const std::optional<protocol::Progress>& latest) override {
    MutexLock lock(mu_);
    sent_.events.insert(sent_.events.end(), events.begin(), events.end());
    if (latest) sent_.progress = latest;
    return lease_ != protocol::LeaseStatus::kLost;
  }
  Status AddArtifact(int64_t, int, const std::filesystem::path& file) override {
    MutexLock lock(mu_);
    if (failing_artifacts_ > 0) {
      --failing_artifacts_;
      throw std::runtime_error("the master is not answering");
    }
    if (!artifact_refusal_.empty()) return Status::Error(artifact_refusal_);
    std::ifstream in(file, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    sent_.artifacts[file.filename().string()] = content.str();
    return Status::Ok();
  }
  bool Finish(int64_t, int, const std::string&, const protocol::JobResult& result,
              const std::vector<protocol::Event>& last_events) override {
    MutexLock lock(mu_);
    ++sent_.finish_calls;
    if (failing_finishes_ > 0) {
      --failing_finishes_;
      throw std::runtime_error("the master is not answering");
    }
    if (lease_ == protocol::LeaseStatus::kLost) return false;
    sent_.events.insert(sent_.events.end(), last_events.begin(), last_events.end());
    sent_.result = result;
    return true;
  }
  bool HandBack(int64_t, int, const std::string&) override {
    MutexLock lock(mu_);
    ++sent_.hand_backs;
    return lease_ != protocol::LeaseStatus::kLost;
  }
  std::filesystem::path AttemptDir(int64_t id, int attempt) override {
    return work_dir_ / (std::to_string(id) + "-" + std::to_string(attempt));
  }

 private:
  const std::filesystem::path work_dir_;
  Mutex mu_;
  protocol::LeaseStatus lease_ KILN_GUARDED_BY(mu_) = protocol::LeaseStatus::kHeld;
  int failing_finishes_ KILN_GUARDED_BY(mu_) = 0;
  int failing_artifacts_ KILN_GUARDED_BY(mu_) = 0;
  std::string artifact_refusal_ KILN_GUARDED_BY(mu_);
  Sent sent_ KILN_GUARDED_BY(mu_);
};

}  // namespace kiln::testing
