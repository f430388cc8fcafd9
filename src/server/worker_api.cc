#include "server/worker_api.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/grammar.h"
#include "core/text.h"
#include "core/untrusted_json.h"
#include "protocol/worker_messages.h"
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

// A protocol violation as the API's answer: 400 with the decoder's code.
HttpResponse BadRequest(const Status& status) {
  return ErrorReply(400, status.code(), status.message());
}

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
// worker name), the lease it asks for and, about a claimed build, the attempt.
struct WorkerCall {
  json body;
  protocol::CallHeader header;
  int64_t id = 0;  // the build, for /worker/{id}/...
  const std::string& worker() const { return header.worker; }
  store::WorkerCaps Caps() const {
    store::WorkerCaps caps = protocol::DecodeCaps(body);
    caps.worker = header.worker;
    return caps;
  }
};

std::optional<HttpResponse> ReadCall(RequestContext& ctx, WorkerCall& call) {
  if (std::optional<HttpResponse> bad = ParseBody(ctx.req, call.body)) return bad;
  Result<protocol::CallHeader> header = protocol::DecodeHeader(call.body, false);
  if (!header.ok()) return BadRequest(header.status());
  call.header = std::move(*header);
  call.header.worker = BoundWorkerId(ctx.WorkerName(), call.header.worker);
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
  Result<protocol::CallHeader> with_attempt = protocol::DecodeHeader(call.body, true);
  if (!with_attempt.ok()) return BadRequest(with_attempt.status());
  call.header.attempt = with_attempt->attempt;
  return std::nullopt;
}

HttpResponse StaleAttempt(const WorkerCall& call) {
  return ErrorReply(409, "attempt-not-current",
                    "attempt " + std::to_string(call.header.attempt) + " of build " +
                        std::to_string(call.id) + " is not running on " + call.worker(),
                    "stop working on it; it was canceled, finished or given to another worker");
}

}  // namespace

HttpResponse WorkerRegister(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return *bad;
  protocol::WorkerInfo w = protocol::DecodeRegister(call.body);
  w.id = call.worker();
  ctx.co.RegisterWorker(w);
  return JsonReply(200, {{"registered", call.worker()}});
}

HttpResponse WorkerAlive(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return *bad;
  ctx.co.WorkerAlive(call.worker());
  return JsonReply(200, {{"alive", call.worker()}});
}

HttpResponse WorkerClaimNext(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return *bad;
  std::optional<JobTicket> t = ctx.co.ClaimNext(call.Caps(), call.header.lease_ms);
  if (!t) {
    HttpResponse none;
    none.status = 204;  // nothing this worker can build is queued
    return none;
  }
  return JsonTextReply(200, protocol::EncodeTicket(*t, call.header.lease_ms));
}

HttpResponse WorkerClaimMany(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return *bad;
  Result<std::vector<int64_t>> ids = protocol::DecodeClaimIds(call.body);
  if (!ids.ok()) return BadRequest(ids.status());
  std::vector<std::optional<JobTicket>> tickets =
      ctx.co.ClaimMany(*ids, call.Caps(), call.header.lease_ms);
  return JsonTextReply(200, protocol::EncodeClaimsAnswer(*ids, tickets, call.header.lease_ms));
}

HttpResponse WorkerFinishMany(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadCall(ctx, call)) return *bad;
  Result<std::vector<Coordinator::AttemptResult>> results = protocol::DecodeResults(call.body);
  if (!results.ok()) return BadRequest(results.status());
  std::vector<bool> recorded = ctx.co.FinishMany(call.worker(), *results);
  return JsonTextReply(200, protocol::EncodeResultsAnswer(*results, recorded));
}

HttpResponse WorkerClaim(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call, /*attempt=*/false)) return *bad;
  std::optional<JobTicket> t = ctx.co.Claim(call.id, call.Caps(), call.header.lease_ms);
  if (!t) {
    return ErrorReply(409, "not-claimable",
                      "build " + std::to_string(call.id) +
                          " is not queued (running elsewhere, finished or canceled)",
                      "drop the message; the master knows where the build is");
  }
  return JsonTextReply(200, protocol::EncodeTicket(*t, call.header.lease_ms));
}

HttpResponse WorkerHeartbeat(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  store::LeaseStatus s =
      ctx.co.Heartbeat(call.id, call.header.attempt, call.worker(), call.header.lease_ms);
  return JsonTextReply(200, protocol::EncodeLeaseAnswer(s));
}

HttpResponse WorkerEvents(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  Result<std::vector<store::Store::NewEvent>> events = protocol::DecodeEvents(call.body);
  if (!events.ok()) return BadRequest(events.status());
  if (!ctx.co.Report(call.id, call.header.attempt, *events, protocol::DecodeProgress(call.body),
                     call.worker())) {
    return StaleAttempt(call);
  }
  return JsonReply(200, {{"accepted", events->size()}});
}

HttpResponse WorkerResult(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  // The attempt's last events may come with its result (a dry run's plan).
  Result<std::vector<store::Store::NewEvent>> events = protocol::DecodeEvents(call.body);
  if (!events.ok()) return BadRequest(events.status());
  Result<JobResult> result = protocol::DecodeResult(call.body);
  if (!result.ok()) return BadRequest(result.status());
  if (!ctx.co.Finish(call.id, call.header.attempt, call.worker(), *result, *events)) {
    return StaleAttempt(call);
  }
  return JsonReply(200, {{"recorded", ToString(result->state)}});
}

HttpResponse WorkerUploadStatus(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  std::string name = StringField(call.body, "name");
  if (!IsPlainFileName(name)) return ErrorReply(400, "bad-name", "no such artifact name");
  if (!ctx.co.HoldsAttempt(call.id, call.header.attempt, call.worker())) return StaleAttempt(call);
  return JsonTextReply(200,
                       protocol::EncodeUploadStatusAnswer(
                           name, ReceivedUploadBytes(ctx.co, call.id, call.header.attempt, name)));
}

HttpResponse WorkerHandBack(RequestContext& ctx) {
  WorkerCall call;
  if (std::optional<HttpResponse> bad = ReadBuildCall(ctx, call)) return *bad;
  if (!ctx.co.HandBack(call.id, call.header.attempt, call.worker())) return StaleAttempt(call);
  return JsonReply(200, {{"queued", true}});
}

}  // namespace kiln::server
