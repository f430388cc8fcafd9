// The worker protocol over HTTP (libcurl), for `kiln worker` on a build host: the routes of
// /api/v1/worker/ with a worker token. Connections are kept alive and reused, one per
// calling thread at a time. Artifacts are uploaded streamed from the file, resumed from
// what the master already has after a dropped connection, and checked by SHA-256 there.
// Claims and results that several job threads send at the same time travel together in
// one request (/claims, /results), answered in one transaction on the master.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "protocol/worker_link.h"
#include "worker/coalescer.h"

namespace kiln::worker {

// The master could not be reached or failed (5xx): the call may be tried again.
class LinkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpLink : public protocol::WorkerLink {
 public:
  // `work_dir`: where attempts write their outputs on this host.
  HttpLink(std::string master_url, std::string token, std::string worker_id,
           std::filesystem::path work_dir);
  ~HttpLink() override;

  void Register(const protocol::WorkerInfo& worker) override;
  void Alive(const std::string& worker) override;
  std::optional<protocol::JobTicket> ClaimNext(const protocol::WorkerCaps& caps,
                                               int64_t lease_ms) override;
  std::optional<protocol::JobTicket> ClaimBuild(int64_t id, const protocol::WorkerCaps& caps,
                                                int64_t lease_ms) override;
  protocol::LeaseStatus Heartbeat(int64_t id, int attempt, const std::string& worker,
                                  int64_t lease_ms) override;
  bool Report(int64_t id, int attempt, const std::vector<protocol::Event>& events,
              const std::optional<protocol::Progress>& latest) override;
  Status AddArtifact(int64_t id, int attempt, const std::filesystem::path& file) override;
  bool Finish(int64_t id, int attempt, const std::string& worker, const protocol::JobResult& result,
              const std::vector<protocol::Event>& last_events) override;
  bool HandBack(int64_t id, int attempt, const std::string& worker) override;
  std::filesystem::path AttemptDir(int64_t id, int attempt) override;

  struct Reply {
    long status = 0;
    std::string body;
  };

 private:
  class Handle;  // a pooled curl easy handle
  Reply Post(const std::string& path, const std::string& json_body);
  // One PUT of the file from `offset`; throws LinkError if the transfer broke.
  Reply Put(const std::string& path, const std::filesystem::path& file, uint64_t offset,
            uint64_t size, const std::string& sha256);
  std::unique_ptr<Handle> Take();
  void Give(std::unique_ptr<Handle> handle);

  static constexpr std::chrono::microseconds kLinger{300};
  struct ClaimCall {
    int64_t id = 0;
    protocol::WorkerCaps caps;
    int64_t lease_ms = 0;
  };
  struct ResultCall {
    int64_t id = 0;
    int attempt = 0;
    std::string worker;
    const protocol::JobResult* result = nullptr;
    const std::vector<protocol::Event>* last_events = nullptr;
  };
  std::vector<std::optional<protocol::JobTicket>> SendClaims(
      const std::vector<const ClaimCall*>& calls);
  std::vector<bool> SendResults(const std::vector<const ResultCall*>& calls);

  std::string master_url_, token_, worker_id_;
  Coalescer<ClaimCall, std::optional<protocol::JobTicket>> claims_{64, kLinger};
  Coalescer<ResultCall, bool> results_{64, kLinger};
  std::filesystem::path work_dir_;
  Mutex pool_mu_;
  std::vector<std::unique_ptr<Handle>> pool_ KILN_GUARDED_BY(pool_mu_);
};

}  // namespace kiln::worker
