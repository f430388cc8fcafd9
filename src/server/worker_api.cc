#include "server/worker_api.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "server/json_reply.h"

namespace kiln::server {
using nlohmann::json;

namespace {

// The JSON object body, or an error answer.
std::optional<HttpResponse> ParseBody(const HttpRequest& req, json& body) {
  body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) return ErrorReply(400, "bad-json", "the body must be a JSON object");
  return std::nullopt;
}

std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

int64_t Int(const json& j, const char* key, int64_t fallback) {
  return j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : fallback;
}

constexpr int64_t kDefaultLeaseMs = 30'000;
constexpr int64_t kMaxLeaseMs = 600'000;

}  // namespace

std::optional<HttpResponse> RouteWorkerApi(Coordinator& co, const HttpRequest& req) {
  std::vector<std::string_view> p;
  for (std::string_view rest = req.path; !rest.empty();) {
    size_t slash = rest.find('/');
    if (slash != 0) p.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (p.size() < 4 || p[0] != "api" || p[1] != "v1" || p[2] != "worker") return std::nullopt;
  if (req.method != "POST") {
    HttpResponse r = ErrorReply(405, "method-not-allowed", "worker routes take POST");
    r.Set("Allow", "POST");
    return r;
  }
  json body;
  if (std::optional<HttpResponse> bad = ParseBody(req, body)) return bad;
  std::string worker = Str(body, "worker");
  if (worker.empty() || worker.size() > 200) {
    return ErrorReply(400, "bad-worker", "every worker call names its worker id (\"worker\")");
  }
  int64_t lease_ms = std::clamp<int64_t>(Int(body, "lease_ms", kDefaultLeaseMs), 1000, kMaxLeaseMs);

  if (p.size() == 4 && p[3] == "register") {
    store::Worker w;
    w.id = worker;
    w.arches = Str(body, "arches");
    w.releases = Str(body, "releases");
    w.types = Str(body, "types");
    w.version = Str(body, "version");
    w.capacity = static_cast<int>(std::clamp<int64_t>(Int(body, "capacity", 1), 1, 64));
    co.RegisterWorker(w);
    return JsonReply(200, {{"registered", worker}});
  }
  if (p.size() == 4 && p[3] == "claim") {
    store::WorkerCaps caps{worker, Str(body, "arches"), Str(body, "releases"), Str(body, "types")};
    std::optional<JobTicket> t = co.ClaimNext(caps, lease_ms);
    if (!t) {
      HttpResponse none;
      none.status = 204;  // nothing this worker can build is queued
      return none;
    }
    return JsonReply(200, {{"build_id", t->build_id},
                           {"attempt", t->attempt},
                           {"spec", json::parse(t->spec_json, nullptr, false)},
                           {"lease_ms", lease_ms}});
  }
  if (p.size() != 5 || p[3].empty()) {
    return ErrorReply(404, "not-found", "no such worker route: " + req.path);
  }
  int64_t id = 0;
  auto [end, ec] = std::from_chars(p[3].data(), p[3].data() + p[3].size(), id);
  if (ec != std::errc() || end != p[3].data() + p[3].size() || id <= 0) {
    return ErrorReply(404, "not-found", "no build " + std::string(p[3]));
  }
  std::string_view action = p[4];
  if (action == "claim") {
    store::WorkerCaps caps{worker, Str(body, "arches"), Str(body, "releases"), Str(body, "types")};
    std::optional<JobTicket> t = co.Claim(id, caps, lease_ms);
    if (!t) {
      return ErrorReply(409, "not-claimable",
                        "build " + std::to_string(id) +
                            " is not queued (running elsewhere, "
                            "finished or canceled)",
                        "drop the message; the master knows where the build is");
    }
    return JsonReply(200, {{"build_id", t->build_id},
                           {"attempt", t->attempt},
                           {"spec", json::parse(t->spec_json, nullptr, false)},
                           {"lease_ms", lease_ms}});
  }
  int attempt = static_cast<int>(Int(body, "attempt", 0));
  if (attempt <= 0)
    return ErrorReply(400, "bad-attempt", "\"attempt\" must be the claimed attempt");
  auto stale = [&] {
    return ErrorReply(409, "attempt-not-current",
                      "attempt " + std::to_string(attempt) + " of build " + std::to_string(id) +
                          " is not running on " + worker,
                      "stop working on it; it was canceled, finished or given to another worker");
  };
  if (action == "heartbeat") {
    store::LeaseStatus s = co.Heartbeat(id, attempt, worker, lease_ms);
    const char* lease = s == store::LeaseStatus::kHeld              ? "held"
                        : s == store::LeaseStatus::kCancelRequested ? "cancel"
                                                                    : "lost";
    return JsonReply(200, {{"lease", lease}});
  }
  if (action == "events") {
    std::vector<store::Store::NewEvent> events;
    if (body.contains("events") && body["events"].is_array()) {
      for (const json& e : body["events"]) {
        if (!e.is_object() || !e.contains("kind") || !e["kind"].is_string() ||
            !e.contains("data") || !e["data"].is_object()) {
          return ErrorReply(400, "bad-event", "events are {\"kind\": string, \"data\": object}");
        }
        events.push_back({e["kind"].get<std::string>(), e["data"].dump()});
      }
    }
    std::optional<Coordinator::Progress> progress;
    if (body.contains("progress") && body["progress"].is_object()) {
      const json& pr = body["progress"];
      progress = Coordinator::Progress{Str(pr, "stage"),
                                       pr.contains("fraction") && pr["fraction"].is_number()
                                           ? std::clamp(pr["fraction"].get<double>(), 0.0, 1.0)
                                           : 0.0};
    }
    if (!co.Report(id, attempt, events, progress)) return stale();
    return JsonReply(200, {{"accepted", events.size()}});
  }
  if (action == "result") {
    JobResult result;
    std::optional<BuildState> state = ParseBuildState(Str(body, "state"));
    if (!state || !IsFinal(*state)) {
      return ErrorReply(400, "bad-state", "\"state\" must be succeeded, failed or canceled");
    }
    result.state = *state;
    result.error_code = Str(body, "error_code");
    result.error_class = Str(body, "error_class");
    result.error_message = Str(body, "error_message");
    result.error_hint = Str(body, "error_hint");
    if (!co.Finish(id, attempt, worker, result)) return stale();
    return JsonReply(200, {{"recorded", ToString(*state)}});
  }
  if (action == "handback") {
    if (!co.HandBack(id, attempt, worker)) return stale();
    return JsonReply(200, {{"queued", true}});
  }
  return ErrorReply(404, "not-found", "no such worker route: " + req.path);
}

}  // namespace kiln::server
