#include "server/worker_api.h"

#include <algorithm>
#include <charconv>
#include <fstream>
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

bool ParseU64(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::filesystem::path PartialPath(Coordinator& co, int64_t id, int attempt,
                                  const std::string& name) {
  return co.AttemptDir(id, attempt) / "upload" / (name + ".part");
}

uint64_t FileSizeOr0(const std::filesystem::path& path) {
  std::error_code ec;
  uint64_t n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

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
  return JsonReply(200,
                   {{"name", name},
                    {"received", FileSizeOr0(PartialPath(ctx.co, call.id, call.attempt, name))}});
}

HttpResponse WorkerHandBack(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  if (!ctx.co.HandBack(call.id, call.attempt, call.worker)) return StaleAttempt(call);
  return JsonReply(200, {{"queued", true}});
}

HttpResponse WorkerUpload(RequestContext& ctx) {
  UploadPlan plan;
  if (std::optional<HttpResponse> refused =
          BeginWorkerUpload(ctx.co, ctx.req, ctx.WorkerName(), plan)) {
    return *refused;
  }
  if (ctx.req.body.size() != plan.length) {
    return ErrorReply(400, "bad-upload", "the body is not the Content-Length it announced");
  }
  std::ofstream out(plan.partial, std::ios::binary | std::ios::app);
  out.write(ctx.req.body.data(), static_cast<std::streamsize>(ctx.req.body.size()));
  out.close();
  if (!out) return ErrorReply(507, "upload-failed", "the master cannot store " + plan.name);
  return FinishWorkerUpload(ctx.co, plan, /*body_complete=*/true);
}

std::optional<HttpResponse> BeginWorkerUpload(Coordinator& co, const HttpRequest& head,
                                              const std::string& token_worker, UploadPlan& plan) {
  std::vector<std::string_view> p = SplitPath(head.path);
  // api v1 worker ID artifacts NAME
  uint64_t id = 0;
  if (p.size() != 6 || !ParseU64(p[3], id) || id == 0 || id > INT64_MAX) {
    return ErrorReply(404, "not-found", "no such upload route: " + head.path);
  }
  plan.build_id = static_cast<int64_t>(id);
  plan.name = std::string(p[5]);
  if (!IsPlainFileName(plan.name)) {
    return ErrorReply(
        400, "bad-name",
        "artifact names are letters, digits, '.', '-', '_' and '+' (not " + plan.name + ")");
  }
  std::string claimed = head.Query("worker").value_or("");
  plan.worker = BoundWorkerId(token_worker, claimed);
  uint64_t attempt = 0;
  if (claimed.empty() || !ParseU64(head.Query("attempt").value_or(""), attempt) || attempt == 0) {
    return ErrorReply(400, "bad-upload", "an upload names ?worker=ID&attempt=N");
  }
  plan.attempt = static_cast<int>(attempt);
  plan.sha256 = ToLower(head.Header("x-kiln-sha256"));
  if (plan.sha256.size() != 64 ||
      plan.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return ErrorReply(400, "bad-upload",
                      "X-Kiln-Sha256 must be the file's SHA-256 (64 hex digits)");
  }
  if (!head.Header("transfer-encoding").empty() ||
      !ParseU64(head.Header("content-length"), plan.length)) {
    return ErrorReply(411, "length-required", "an upload is sent with a Content-Length");
  }
  std::string_view range = head.Header("content-range");
  plan.offset = 0;
  plan.total = plan.length;
  if (!range.empty()) {
    // bytes START-END/TOTAL
    uint64_t start = 0, end = 0;
    size_t dash = range.find('-'), slash = range.find('/');
    if (range.substr(0, 6) != "bytes " || dash == std::string_view::npos ||
        slash == std::string_view::npos || slash < dash ||
        !ParseU64(range.substr(6, dash - 6), start) ||
        !ParseU64(range.substr(dash + 1, slash - dash - 1), end) ||
        !ParseU64(range.substr(slash + 1), plan.total) || end < start ||
        end - start + 1 != plan.length || end >= plan.total) {
      return ErrorReply(400, "bad-range",
                        "Content-Range must be 'bytes START-END/TOTAL' matching Content-Length");
    }
    plan.offset = start;
  }
  if (!co.HoldsAttempt(plan.build_id, plan.attempt, plan.worker)) {
    return ErrorReply(409, "attempt-not-current",
                      "attempt " + std::to_string(plan.attempt) + " of build " +
                          std::to_string(plan.build_id) + " is not running on " + plan.worker,
                      "stop working on it; it was canceled, finished or given to another worker");
  }
  plan.partial = PartialPath(co, plan.build_id, plan.attempt, plan.name);
  std::error_code ec;
  std::filesystem::create_directories(plan.partial.parent_path(), ec);
  uint64_t have = FileSizeOr0(plan.partial);
  if (plan.offset == 0 && have > 0) {
    std::filesystem::remove(plan.partial, ec);  // starting over
    have = 0;
  }
  if (plan.offset != have) {
    HttpResponse r = ErrorReply(
        416, "bad-offset",
        "the master has " + std::to_string(have) + " bytes of " + plan.name + "; send from there",
        "ask upload-status and resume from \"received\"");
    return r;
  }
  return std::nullopt;
}

HttpResponse FinishWorkerUpload(Coordinator& co, const UploadPlan& plan, bool body_complete) {
  uint64_t have = FileSizeOr0(plan.partial);
  if (!body_complete || have < plan.total) {
    return JsonReply(202, {{"name", plan.name}, {"received", have}, {"total", plan.total}});
  }
  std::error_code ec;
  std::string sha;
  if (have != plan.total || !sys::Sha256File(plan.partial, sha) || sha != plan.sha256) {
    std::filesystem::remove(plan.partial, ec);
    return ErrorReply(422, "checksum-mismatch",
                      plan.name + " arrived with " + std::to_string(have) + " bytes and SHA-256 " +
                          sha + ", not " + std::to_string(plan.total) + " bytes with " +
                          plan.sha256,
                      "send the whole file again");
  }
  std::filesystem::path final_path = plan.partial.parent_path() / plan.name;
  std::filesystem::rename(plan.partial, final_path, ec);
  std::string error;
  if (ec || !co.AddArtifact(plan.build_id, plan.attempt, final_path, error, sha)) {
    std::filesystem::remove(final_path, ec);
    return ErrorReply(409, "attempt-not-current", error.empty() ? ec.message() : error);
  }
  return JsonReply(201, {{"name", plan.name}, {"size", have}, {"sha256", sha}});
}

}  // namespace kiln::server
