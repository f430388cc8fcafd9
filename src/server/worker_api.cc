#include "server/worker_api.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/grammar.h"
#include "core/text.h"
#include "core/untrusted_json.h"
#include "server/handlers.h"
#include "server/json_reply.h"
#include "sys/files.h"

namespace kiln::server {
using nlohmann::json;

namespace {

// The JSON object body, or an error answer.
std::optional<HttpResponse> ParseBody(const HttpRequest& req, json& body) {
  std::string error;
  body = ParseUntrustedJson(req.body, &error);
  if (body.is_discarded()) return ErrorReply(400, "bad-json", "the body is " + error);
  if (!body.is_object()) return ErrorReply(400, "bad-json", "the body must be a JSON object");
  return std::nullopt;
}

constexpr int64_t kDefaultLeaseMs = 30'000;
constexpr int64_t kMaxLeaseMs = 600'000;

// A claimed attempt as JSON text, its spec as the store holds it.
std::string TicketJson(const JobTicket& t, int64_t lease_ms) {
  return WithSpecText(
      json({{"build_id", t.build_id}, {"attempt", t.attempt}, {"lease_ms", lease_ms}}).dump(),
      t.spec_json.empty() ? "null" : t.spec_json);
}

// The kinds of event a worker reports (a `kiln job`'s lines, worker/job_runner.cc). State
// changes are the master's own: a worker cannot write them, nor a kind that would break a
// user's event stream.
constexpr std::string_view kWorkerEventKinds[] = {"log", "stage", "progress", "stage_done", "plan"};

// `j["events"]`, if there are any; an error answer if they are malformed.
std::optional<HttpResponse> ParseEvents(const json& j, std::vector<store::Store::NewEvent>& out) {
  if (!j.contains("events") || !j["events"].is_array()) return std::nullopt;
  for (const json& e : j["events"]) {
    if (!e.is_object() || !e.contains("kind") || !e["kind"].is_string() || !e.contains("data") ||
        !e["data"].is_object()) {
      return ErrorReply(400, "bad-event", "events are {\"kind\": string, \"data\": object}");
    }
    std::string kind = e["kind"].get<std::string>();
    if (std::find(std::begin(kWorkerEventKinds), std::end(kWorkerEventKinds), kind) ==
        std::end(kWorkerEventKinds)) {
      return ErrorReply(400, "bad-event",
                        "an event's kind is one of log, stage, progress, stage_done, plan");
    }
    out.push_back({std::move(kind), e["data"].dump()});
  }
  return std::nullopt;
}

// An attempt's result: its final state and, if it failed, why.
std::optional<HttpResponse> ParseResult(const json& j, JobResult& result) {
  std::optional<BuildState> state = ParseBuildState(StringField(j, "state"));
  if (!state || !IsFinal(*state)) {
    return ErrorReply(400, "bad-state", "\"state\" must be succeeded, failed or canceled");
  }
  result.state = *state;
  result.error_code = StringField(j, "error_code");
  result.error_class = StringField(j, "error_class");
  result.error_message = StringField(j, "error_message");
  result.error_hint = StringField(j, "error_hint");
  return std::nullopt;
}

// The most claims or results one batched worker call carries.
constexpr size_t kMaxWorkerBatch = 256;

}  // namespace

std::string BoundWorkerId(const std::string& token_worker, const std::string& claimed) {
  if (token_worker.empty() || claimed == token_worker ||
      claimed.rfind(token_worker + "/", 0) == 0) {
    return claimed;
  }
  return token_worker + "/" + claimed;
}

namespace {

// What every worker call carries: its JSON body, the worker it acts as (bound to the token's
// worker name) and the lease it asks for.
struct WorkerCall {
  json body;
  std::string worker;
  int64_t lease_ms = kDefaultLeaseMs;
  int64_t id = 0;   // the build, for /worker/{id}/...
  int attempt = 0;  // the attempt, for the calls about a claimed one
  store::WorkerCaps Caps() const {
    return {worker, StringField(body, "arches"), StringField(body, "releases"),
            StringField(body, "types")};
  }
};

std::optional<HttpResponse> ReadCall(RequestContext& ctx, WorkerCall& call) {
  if (std::optional<HttpResponse> bad = ParseBody(ctx.req, call.body)) return bad;
  std::string given = StringField(call.body, "worker");
  if (given.empty() || given.size() > 200) {
    return ErrorReply(400, "bad-worker", "every worker call names its worker id (\"worker\")");
  }
  call.worker = BoundWorkerId(ctx.WorkerName(), given);
  call.lease_ms =
      std::clamp<int64_t>(IntField(call.body, "lease_ms", kDefaultLeaseMs), 1000, kMaxLeaseMs);
  return std::nullopt;
}

// A call about build {id}: with `attempt`, about the attempt the worker claimed.
std::optional<HttpResponse> ReadBuildCall(RequestContext& ctx, WorkerCall& call,
                                          bool attempt = true) {
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return bad;
  std::optional<int64_t> id = ParseId(ctx.id);
  if (!id) return ErrorReply(404, "not-found", "no build " + std::string(ctx.id));
  call.id = *id;
  if (!attempt) return std::nullopt;
  call.attempt = static_cast<int>(IntField(call.body, "attempt", 0));
  if (call.attempt <= 0) {
    return ErrorReply(400, "bad-attempt", "\"attempt\" must be the claimed attempt");
  }
  return std::nullopt;
}

// Batched calls: a worker running several builds at once sends the claims (or results) that
// came together as one request, answered in one transaction. `list`: the body's array.
std::optional<HttpResponse> ReadBatch(RequestContext& ctx, WorkerCall& call, const char* list) {
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return bad;
  const json& items = call.body.contains(list) ? call.body[list] : json();
  if (!items.is_array() || items.empty() || items.size() > kMaxWorkerBatch) {
    return ErrorReply(400, "bad-batch",
                      std::string("\"") + list + "\" must be a list of 1 to " +
                          std::to_string(kMaxWorkerBatch) + " items");
  }
  return std::nullopt;
}

HttpResponse StaleAttempt(const WorkerCall& call) {
  return ErrorReply(409, "attempt-not-current",
                    "attempt " + std::to_string(call.attempt) + " of build " +
                        std::to_string(call.id) + " is not running on " + call.worker,
                    "stop working on it; it was canceled, finished or given to another worker");
}

}  // namespace

HttpResponse WorkerRegister(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return *bad;
  store::Worker w;
  w.id = call.worker;
  w.arches = StringField(call.body, "arches");
  w.releases = StringField(call.body, "releases");
  w.types = StringField(call.body, "types");
  w.version = StringField(call.body, "version");
  w.capacity = static_cast<int>(std::clamp<int64_t>(IntField(call.body, "capacity", 1), 1, 64));
  ctx.co.RegisterWorker(w);
  return JsonReply(200, {{"registered", call.worker}});
}

HttpResponse WorkerAlive(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return *bad;
  ctx.co.WorkerAlive(call.worker);
  return JsonReply(200, {{"alive", call.worker}});
}

HttpResponse WorkerClaimNext(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return *bad;
  std::optional<JobTicket> t = ctx.co.ClaimNext(call.Caps(), call.lease_ms);
  if (!t) {
    HttpResponse none;
    none.status = 204;  // nothing this worker can build is queued
    return none;
  }
  return JsonTextReply(200, TicketJson(*t, call.lease_ms));
}

HttpResponse WorkerClaimMany(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBatch(ctx, call, "builds")) return *bad;
  std::vector<int64_t> ids;
  for (const json& id : call.body["builds"]) {
    if (!id.is_number_integer() || id.get<int64_t>() <= 0) {
      return ErrorReply(400, "bad-batch", "\"builds\" lists build ids");
    }
    ids.push_back(id.get<int64_t>());
  }
  std::vector<std::optional<JobTicket>> tickets = ctx.co.ClaimMany(ids, call.Caps(), call.lease_ms);
  std::string claimed;
  json refused = json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (tickets[i]) {
      claimed += claimed.empty() ? "" : ",";
      claimed += TicketJson(*tickets[i], call.lease_ms);
    } else {
      refused.push_back(ids[i]);
    }
  }
  return JsonTextReply(200,
                       "{\"claimed\":[" + claimed + "],\"not_claimable\":" + refused.dump() + "}");
}

HttpResponse WorkerFinishMany(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBatch(ctx, call, "results")) return *bad;
  std::vector<Coordinator::AttemptResult> results;
  for (const json& r : call.body["results"]) {
    Coordinator::AttemptResult a;
    a.id = r.is_object() ? IntField(r, "build_id", 0) : 0;
    a.attempt = r.is_object() ? static_cast<int>(IntField(r, "attempt", 0)) : 0;
    if (a.id <= 0 || a.attempt <= 0) {
      return ErrorReply(400, "bad-batch", "each result names its \"build_id\" and \"attempt\"");
    }
    if (std::optional<HttpResponse> bad = ParseResult(r, a.result)) return *bad;
    if (std::optional<HttpResponse> bad = ParseEvents(r, a.last_events)) return *bad;
    results.push_back(std::move(a));
  }
  std::vector<bool> recorded = ctx.co.FinishMany(call.worker, results);
  json done = json::array(), stale = json::array();
  for (size_t i = 0; i < results.size(); ++i) (recorded[i] ? done : stale).push_back(results[i].id);
  return JsonReply(200, {{"recorded", done}, {"stale", stale}});
}

HttpResponse WorkerClaim(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call, /*attempt=*/false)) return *bad;
  std::optional<JobTicket> t = ctx.co.Claim(call.id, call.Caps(), call.lease_ms);
  if (!t) {
    return ErrorReply(409, "not-claimable",
                      "build " + std::to_string(call.id) +
                          " is not queued (running elsewhere, finished or canceled)",
                      "drop the message; the master knows where the build is");
  }
  return JsonTextReply(200, TicketJson(*t, call.lease_ms));
}

HttpResponse WorkerHeartbeat(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  store::LeaseStatus s = ctx.co.Heartbeat(call.id, call.attempt, call.worker, call.lease_ms);
  const char* lease = s == store::LeaseStatus::kHeld              ? "held"
                      : s == store::LeaseStatus::kCancelRequested ? "cancel"
                                                                  : "lost";
  return JsonReply(200, {{"lease", lease}});
}

HttpResponse WorkerEvents(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  std::vector<store::Store::NewEvent> events;
  if (std::optional<HttpResponse> bad = ParseEvents(call.body, events)) return *bad;
  std::optional<Coordinator::Progress> progress;
  if (call.body.contains("progress") && call.body["progress"].is_object()) {
    const json& pr = call.body["progress"];
    progress = Coordinator::Progress{StringField(pr, "stage"),
                                     pr.contains("fraction") && pr["fraction"].is_number()
                                         ? std::clamp(pr["fraction"].get<double>(), 0.0, 1.0)
                                         : 0.0};
  }
  if (!ctx.co.Report(call.id, call.attempt, events, progress, call.worker)) {
    return StaleAttempt(call);
  }
  return JsonReply(200, {{"accepted", events.size()}});
}

HttpResponse WorkerResult(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  // The attempt's last events may come with its result (a dry run's plan).
  std::vector<store::Store::NewEvent> events;
  if (std::optional<HttpResponse> bad = ParseEvents(call.body, events)) return *bad;
  JobResult result;
  if (std::optional<HttpResponse> bad = ParseResult(call.body, result)) return *bad;
  if (!ctx.co.Finish(call.id, call.attempt, call.worker, result, events)) {
    return StaleAttempt(call);
  }
  return JsonReply(200, {{"recorded", ToString(result.state)}});
}

HttpResponse WorkerUploadStatus(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  std::string name = StringField(call.body, "name");
  if (!IsPlainFileName(name)) return ErrorReply(400, "bad-name", "no such artifact name");
  if (!ctx.co.HoldsAttempt(call.id, call.attempt, call.worker)) return StaleAttempt(call);
  return JsonReply(200, {{"name", name},
                         {"received", ReceivedUploadBytes(ctx.co, call.id, call.attempt, name)}});
}

HttpResponse WorkerHandBack(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  if (!ctx.co.HandBack(call.id, call.attempt, call.worker)) return StaleAttempt(call);
  return JsonReply(200, {{"queued", true}});
}

}  // namespace kiln::server
