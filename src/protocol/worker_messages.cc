#include "protocol/worker_messages.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/untrusted_json.h"

namespace kiln::protocol {
using nlohmann::json;

namespace {

// Text for the wire: a worker's log lines may hold bytes that are not UTF-8.
std::string Text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json Header(const CallHeader& call) {
  json j = {{"worker", call.worker}};
  if (call.attempt > 0) j["attempt"] = call.attempt;
  return j;
}

json EventsJson(const std::vector<Event>& events) {
  json list = json::array();
  for (const Event& e : events) {
    list.push_back({{"kind", e.kind}, {"data", json::parse(e.data, nullptr, false)}});
  }
  return list;
}

json ResultJson(const JobResult& result, const std::vector<Event>& last_events) {
  json j = {{"state", ToString(result.state)},
            {"error_code", result.error_code},
            {"error_class", result.error_class},
            {"error_message", result.error_message},
            {"error_hint", result.error_hint}};
  if (!last_events.empty()) j["events"] = EventsJson(last_events);
  return j;
}

json CapsJson(const WorkerCaps& caps, int64_t lease_ms) {
  return {{"worker", caps.worker},
          {"arches", caps.arches},
          {"releases", caps.releases},
          {"types", caps.types},
          {"lease_ms", lease_ms}};
}

bool IsWorkerEventKind(std::string_view kind) {
  return std::find(std::begin(kWorkerEventKinds), std::end(kWorkerEventKinds), kind) !=
         std::end(kWorkerEventKinds);
}

// `body[key]` when it is a list of 1..kMaxBatch items.
Result<const json*> BatchList(const json& body, const char* key) {
  if (body.is_object() && body.contains(key)) {
    const json& items = body[key];
    if (items.is_array() && !items.empty() && items.size() <= kMaxBatch) return &items;
  }
  return Status::Error(
      std::string("\"") + key + "\" must be a list of 1 to " + std::to_string(kMaxBatch) + " items",
      "bad-batch");
}

}  // namespace

Result<CallHeader> DecodeHeader(const json& body, bool about_attempt) {
  CallHeader call;
  call.worker = StringField(body, "worker");
  if (call.worker.empty() || call.worker.size() > 200) {
    return Status::Error("every worker call names its worker id (\"worker\")", "bad-worker");
  }
  call.lease_ms =
      std::clamp<int64_t>(IntField(body, "lease_ms", kDefaultLeaseMs), kMinLeaseMs, kMaxLeaseMs);
  if (about_attempt) {
    int64_t attempt = IntField(body, "attempt", 0);
    if (attempt <= 0 || attempt > 1'000'000) {
      return Status::Error("\"attempt\" must be the claimed attempt", "bad-attempt");
    }
    call.attempt = static_cast<int>(attempt);
  }
  return call;
}

std::string EncodeRegister(const WorkerInfo& w) {
  return Text({{"worker", w.id},
               {"arches", w.arches},
               {"releases", w.releases},
               {"types", w.types},
               {"version", w.version},
               {"capacity", w.capacity}});
}

WorkerInfo DecodeRegister(const json& body) {
  WorkerInfo w;
  w.arches = StringField(body, "arches");
  w.releases = StringField(body, "releases");
  w.types = StringField(body, "types");
  w.version = StringField(body, "version");
  w.capacity = static_cast<int>(std::clamp<int64_t>(IntField(body, "capacity", 1), 1, 64));
  return w;
}

std::string EncodeAlive(const std::string& worker) { return Text({{"worker", worker}}); }

std::string EncodeClaim(const WorkerCaps& caps, int64_t lease_ms) {
  return Text(CapsJson(caps, lease_ms));
}

WorkerCaps DecodeCaps(const json& body) {
  return {"", StringField(body, "arches"), StringField(body, "releases"),
          StringField(body, "types")};
}

std::string EncodeClaims(const WorkerCaps& caps, int64_t lease_ms,
                         const std::vector<int64_t>& builds) {
  json body = CapsJson(caps, lease_ms);
  body["builds"] = builds;
  return Text(body);
}

Result<std::vector<int64_t>> DecodeClaimIds(const json& body) {
  Result<const json*> list = BatchList(body, "builds");
  if (!list.ok()) return list.status();
  std::vector<int64_t> ids;
  for (const json& id : **list) {
    if (!id.is_number_integer() || id.get<int64_t>() <= 0) {
      return Status::Error("\"builds\" lists build ids", "bad-batch");
    }
    ids.push_back(id.get<int64_t>());
  }
  return ids;
}

std::string EncodeHeartbeat(const CallHeader& call) {
  json j = Header(call);
  j["lease_ms"] = call.lease_ms;
  return Text(j);
}

std::string EncodeEvents(const CallHeader& call, const std::vector<Event>& events,
                         const std::optional<Progress>& progress) {
  json body = Header(call);
  body["events"] = EventsJson(events);
  if (progress) body["progress"] = {{"stage", progress->stage}, {"fraction", progress->fraction}};
  return Text(body);
}

Result<std::vector<Event>> DecodeEvents(const json& body) {
  std::vector<Event> out;
  if (!body.is_object() || !body.contains("events") || !body["events"].is_array()) return out;
  for (const json& e : body["events"]) {
    if (!e.is_object() || !e.contains("kind") || !e["kind"].is_string() || !e.contains("data") ||
        !e["data"].is_object()) {
      return Status::Error("events are {\"kind\": string, \"data\": object}", "bad-event");
    }
    std::string kind = e["kind"].get<std::string>();
    if (!IsWorkerEventKind(kind)) {
      return Status::Error("an event's kind is one of log, stage, progress, stage_done, plan",
                           "bad-event");
    }
    out.push_back({std::move(kind), e["data"].dump()});
  }
  return out;
}

std::optional<Progress> DecodeProgress(const json& body) {
  if (!body.is_object() || !body.contains("progress") || !body["progress"].is_object()) {
    return std::nullopt;
  }
  const json& p = body["progress"];
  double fraction = p.contains("fraction") && p["fraction"].is_number()
                        ? std::clamp(p["fraction"].get<double>(), 0.0, 1.0)
                        : 0.0;
  return Progress{StringField(p, "stage"), fraction};
}

std::string EncodeResult(const CallHeader& call, const JobResult& result,
                         const std::vector<Event>& last_events) {
  json body = ResultJson(result, last_events);
  body.update(Header(call));
  return Text(body);
}

Result<JobResult> DecodeResult(const json& body) {
  std::optional<BuildState> state = ParseBuildState(StringField(body, "state"));
  if (!state || !IsFinal(*state)) {
    return Status::Error("\"state\" must be succeeded, failed or canceled", "bad-state");
  }
  JobResult result;
  result.state = *state;
  result.error_code = StringField(body, "error_code");
  result.error_class = StringField(body, "error_class");
  result.error_message = StringField(body, "error_message");
  result.error_hint = StringField(body, "error_hint");
  return result;
}

std::string EncodeResults(const std::string& worker, const std::vector<AttemptResult>& results) {
  json body = {{"worker", worker}, {"results", json::array()}};
  for (const AttemptResult& r : results) {
    json one = ResultJson(r.result, r.last_events);
    one["build_id"] = r.id;
    one["attempt"] = r.attempt;
    body["results"].push_back(std::move(one));
  }
  return Text(body);
}

Result<std::vector<AttemptResult>> DecodeResults(const json& body) {
  Result<const json*> list = BatchList(body, "results");
  if (!list.ok()) return list.status();
  std::vector<AttemptResult> results;
  for (const json& r : **list) {
    AttemptResult a;
    a.id = r.is_object() ? IntField(r, "build_id", 0) : 0;
    int64_t attempt = r.is_object() ? IntField(r, "attempt", 0) : 0;
    if (a.id <= 0 || attempt <= 0 || attempt > 1'000'000) {
      return Status::Error("each result names its \"build_id\" and \"attempt\"", "bad-batch");
    }
    a.attempt = static_cast<int>(attempt);
    Result<JobResult> result = DecodeResult(r);
    if (!result.ok()) return result.status();
    a.result = std::move(*result);
    Result<std::vector<Event>> events = DecodeEvents(r);
    if (!events.ok()) return events.status();
    a.last_events = std::move(*events);
    results.push_back(std::move(a));
  }
  return results;
}

std::string EncodeUploadStatus(const CallHeader& call, const std::string& name) {
  json j = Header(call);
  j["name"] = name;
  return Text(j);
}

std::string EncodeHandBack(const CallHeader& call) { return Text(Header(call)); }

std::string EncodeTicket(const JobTicket& t, int64_t lease_ms) {
  std::string text = Text({{"build_id", t.build_id},
                           {"attempt", t.attempt},
                           {"lease_ms", lease_ms},
                           {"dry_run", t.dry_run}});
  // The spec goes in as the store keeps it (it can be a 1 MiB kickstart): no parse, no dump.
  text.pop_back();
  text += ",\"spec\":";
  text += t.spec_json.empty() ? "null" : t.spec_json;
  text += '}';
  return text;
}

Result<JobTicket> DecodeTicket(const json& answer) {
  int64_t id = IntField(answer, "build_id", 0);
  int64_t attempt = IntField(answer, "attempt", 0);
  if (id <= 0 || attempt <= 0 || attempt > 1'000'000 || !answer.contains("spec") ||
      !answer["spec"].is_object()) {
    return Status::Error("the master's answer is not a ticket", "bad-ticket");
  }
  const json& spec = answer["spec"];
  // A master before the dry_run column said it only inside the spec.
  bool dry_run =
      answer.contains("dry_run") && answer["dry_run"].is_boolean()
          ? answer["dry_run"].get<bool>()
          : spec.contains("dry_run") && spec["dry_run"].is_boolean() && spec["dry_run"].get<bool>();
  return JobTicket{id, static_cast<int>(attempt), spec.dump(), dry_run};
}

std::string EncodeClaimsAnswer(const std::vector<int64_t>& asked,
                               const std::vector<std::optional<JobTicket>>& tickets,
                               int64_t lease_ms) {
  std::string claimed;
  json refused = json::array();
  for (size_t i = 0; i < asked.size(); ++i) {
    if (i < tickets.size() && tickets[i]) {
      claimed += claimed.empty() ? "" : ",";
      claimed += EncodeTicket(*tickets[i], lease_ms);
    } else {
      refused.push_back(asked[i]);
    }
  }
  return "{\"claimed\":[" + claimed + "],\"not_claimable\":" + refused.dump() + "}";
}

Result<std::vector<std::optional<JobTicket>>> DecodeClaimsAnswer(
    const json& answer, const std::vector<int64_t>& asked) {
  if (!answer.is_object() || !answer.contains("claimed") || !answer["claimed"].is_array()) {
    return Status::Error("the master's answer lists no claimed builds", "bad-ticket");
  }
  std::vector<std::optional<JobTicket>> tickets(asked.size());
  for (const json& t : answer["claimed"]) {
    Result<JobTicket> ticket = DecodeTicket(t);
    if (!ticket.ok()) return ticket.status();
    for (size_t i = 0; i < asked.size(); ++i) {
      if (asked[i] == ticket->build_id) tickets[i] = *ticket;
    }
  }
  return tickets;
}

std::string_view LeaseName(LeaseStatus lease) {
  switch (lease) {
    case LeaseStatus::kHeld:
      return "held";
    case LeaseStatus::kCancelRequested:
      return "cancel";
    case LeaseStatus::kLost:
      break;
  }
  return "lost";
}

std::string EncodeLeaseAnswer(LeaseStatus lease) {
  return "{\"lease\":\"" + std::string(LeaseName(lease)) + "\"}";
}

LeaseStatus DecodeLeaseAnswer(const json& answer) {
  std::string lease = StringField(answer, "lease");
  if (lease == LeaseName(LeaseStatus::kHeld)) return LeaseStatus::kHeld;
  if (lease == LeaseName(LeaseStatus::kCancelRequested)) return LeaseStatus::kCancelRequested;
  return LeaseStatus::kLost;
}

std::string EncodeResultsAnswer(const std::vector<AttemptResult>& results,
                                const std::vector<bool>& recorded) {
  json done = json::array(), stale = json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    (i < recorded.size() && recorded[i] ? done : stale).push_back(results[i].id);
  }
  return json({{"recorded", done}, {"stale", stale}}).dump();
}

Result<std::vector<bool>> DecodeResultsAnswer(const json& answer,
                                              const std::vector<int64_t>& sent) {
  if (!answer.is_object() || !answer.contains("recorded") || !answer["recorded"].is_array()) {
    return Status::Error("the master's answer says nothing of the results", "bad-answer");
  }
  std::vector<bool> recorded(sent.size(), false);
  for (const json& id : answer["recorded"]) {
    for (size_t i = 0; i < sent.size(); ++i) recorded[i] = recorded[i] || sent[i] == id;
  }
  return recorded;
}

std::string EncodeUploadStatusAnswer(const std::string& name, uint64_t received) {
  return Text({{"name", name}, {"received", received}});
}

uint64_t DecodeUploadStatusAnswer(const json& answer) {
  int64_t received = IntField(answer, "received", 0);
  return received > 0 ? static_cast<uint64_t>(received) : 0;
}

}  // namespace kiln::protocol
