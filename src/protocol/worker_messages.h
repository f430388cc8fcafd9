// The worker protocol of DESIGN §5 as values and their JSON: what a worker sends to
// /api/v1/worker/... and what the master answers. `server/worker_api.cc` decodes requests and
// encodes answers, `worker/http_link.cc` the other way round; both use these functions, so a
// field is named once. The in-process link passes the same values without JSON.
//
// Decoders read JSON that came from the other side (already parsed by ParseUntrustedJson):
// a missing or wrongly typed field gets its default, and what the protocol forbids is a
// failed Result whose code is the API error code the master answers with (400).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/build_state.h"
#include "core/status.h"

namespace kiln::protocol {

// What a worker can build, for claiming.
struct WorkerCaps {
  std::string worker;
  std::string arches, releases, types;  // comma-separated; "" = any
};

// A worker introducing itself (register).
struct WorkerInfo {
  std::string id;                       // unique per worker process ("local-1@host", ...)
  std::string arches, releases, types;  // comma-separated lists; "" = any
  std::string version;
  int capacity = 1;  // builds at once, 1..64
};

// One event of a running attempt: a `kiln job` line's kind and its data (JSON object text).
struct Event {
  std::string kind;
  std::string data;
};

// Where the attempt is: its stage and how far the whole build is, 0..1.
struct Progress {
  std::string stage;
  double fraction = 0;
};

// What a worker gets when it claims a build.
struct JobTicket {
  int64_t build_id = 0;
  int attempt = 0;
  std::string spec_json;
  bool dry_run = false;  // plan only
};

// How an attempt ended, as its worker reports it: its final state and, if it failed, why
// (`error_class` is the StageFailure's class: "disk-full", "package-not-found", ...).
struct JobResult {
  BuildState state = BuildState::kFailed;  // succeeded, failed or canceled
  std::string error_code, error_class, error_message, error_hint;
};

// One attempt's result in a batch of several.
struct AttemptResult {
  int64_t id = 0;
  int attempt = 0;
  JobResult result;
  std::vector<Event> last_events;  // sent with the result (a dry run's plan)
};

// What a heartbeat learns about the attempt.
enum class LeaseStatus {
  kHeld,             // keep going
  kCancelRequested,  // stop the build and report it canceled
  kLost,             // the attempt is no longer this worker's (requeued or finished)
};

// Leases a worker may ask for; the master clamps what it is asked.
constexpr int64_t kDefaultLeaseMs = 30'000;
constexpr int64_t kMinLeaseMs = 1'000;
constexpr int64_t kMaxLeaseMs = 600'000;
// The most claims or results one batched call carries.
constexpr size_t kMaxBatch = 256;
// The kinds of event a worker reports (a `kiln job`'s lines). State changes are the master's
// own: a worker cannot write them, nor a kind that would break a user's event stream.
constexpr std::string_view kWorkerEventKinds[] = {"log", "stage", "progress", "stage_done", "plan"};

// ---- What every call carries: the worker it acts as and, about a claimed build, the attempt.

struct CallHeader {
  std::string worker;
  int attempt = 0;                     // 0 in calls about no attempt (register, claim)
  int64_t lease_ms = kDefaultLeaseMs;  // claims and heartbeats
};
// The header of a call; `about_attempt` requires a positive "attempt". Codes: bad-worker,
// bad-attempt.
Result<CallHeader> DecodeHeader(const nlohmann::json& body, bool about_attempt);

// ---- Requests (worker → master): the JSON text of each.

std::string EncodeRegister(const WorkerInfo& worker);
WorkerInfo DecodeRegister(const nlohmann::json& body);  // its id is the header's worker
std::string EncodeAlive(const std::string& worker);

// POST /worker/claim and /worker/{id}/claim: what the worker can build.
std::string EncodeClaim(const WorkerCaps& caps, int64_t lease_ms);
WorkerCaps DecodeCaps(const nlohmann::json& body);  // its worker is the header's
// POST /worker/claims: several named builds at once. Code: bad-batch.
std::string EncodeClaims(const WorkerCaps& caps, int64_t lease_ms,
                         const std::vector<int64_t>& builds);
Result<std::vector<int64_t>> DecodeClaimIds(const nlohmann::json& body);

std::string EncodeHeartbeat(const CallHeader& call);

// POST /worker/{id}/events. Code: bad-event.
std::string EncodeEvents(const CallHeader& call, const std::vector<Event>& events,
                         const std::optional<Progress>& progress);
Result<std::vector<Event>> DecodeEvents(const nlohmann::json& body);
std::optional<Progress> DecodeProgress(const nlohmann::json& body);

// POST /worker/{id}/result: one result with the attempt's last events. Code: bad-state.
std::string EncodeResult(const CallHeader& call, const JobResult& result,
                         const std::vector<Event>& last_events);
Result<JobResult> DecodeResult(const nlohmann::json& body);
// POST /worker/results: several. Codes: bad-batch, bad-state, bad-event.
std::string EncodeResults(const std::string& worker, const std::vector<AttemptResult>& results);
Result<std::vector<AttemptResult>> DecodeResults(const nlohmann::json& body);

// POST /worker/{id}/upload-status: how much of artifact `name` the master has.
std::string EncodeUploadStatus(const CallHeader& call, const std::string& name);
std::string EncodeHandBack(const CallHeader& call);

// ---- Answers (master → worker).

// A claimed attempt; its spec as the store holds it (JSON text, put in as it is).
std::string EncodeTicket(const JobTicket& ticket, int64_t lease_ms);
// Code: bad-ticket.
Result<JobTicket> DecodeTicket(const nlohmann::json& answer);

// /worker/claims: the tickets of the builds claimed, the ids of those that were not.
std::string EncodeClaimsAnswer(const std::vector<int64_t>& asked,
                               const std::vector<std::optional<JobTicket>>& tickets,
                               int64_t lease_ms);
// The tickets in the order of `asked` (nullopt: not claimable). Code: bad-ticket.
Result<std::vector<std::optional<JobTicket>>> DecodeClaimsAnswer(const nlohmann::json& answer,
                                                                 const std::vector<int64_t>& asked);

std::string_view LeaseName(LeaseStatus lease);  // held, cancel, lost
std::string EncodeLeaseAnswer(LeaseStatus lease);
LeaseStatus DecodeLeaseAnswer(const nlohmann::json& answer);  // anything unknown: lost

// /worker/results: which of the results were recorded, which were stale.
std::string EncodeResultsAnswer(const std::vector<AttemptResult>& results,
                                const std::vector<bool>& recorded);
// Per result of `sent`, whether it was recorded. Code: bad-answer.
Result<std::vector<bool>> DecodeResultsAnswer(const nlohmann::json& answer,
                                              const std::vector<int64_t>& sent);

std::string EncodeUploadStatusAnswer(const std::string& name, uint64_t received);
uint64_t DecodeUploadStatusAnswer(const nlohmann::json& answer);  // 0 if it says nothing

}  // namespace kiln::protocol
