// A user's builds: the list with its filters, one build (answered from a rendered cache
// while nothing changed), delete, cancel, retry, the log and the live event stream.
#include <charconv>
#include <fstream>

#include "core/text.h"
#include "server/handlers.h"

namespace kiln::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json ArtifactsJson(const store::Build& b, const std::vector<store::Artifact>& artifacts) {
  json out = json::array();
  if (b.artifacts_removed_ms > 0) return out;
  for (const store::Artifact& a : artifacts) {
    out.push_back({{"name", a.name},
                   {"size", a.size},
                   {"sha256", a.sha256},
                   {"url", "/api/v1/builds/" + std::to_string(b.id) + "/artifacts/" + a.name}});
  }
  return out;
}

// Why a queued build waits: its place, an estimate, or that nobody can build it.
json QueueJson(RequestContext& ctx, const store::Build& b,
               const store::Store::BuildExtras& extras) {
  json q = json::object();
  const store::QueuePlace& place = extras.place;
  q["position"] = place.position;
  q["queued"] = place.queued_total;
  std::vector<store::Worker> workers = ctx.api.OnlineWorkers();
  int able = 0, busy = 0;
  for (const store::Worker& w : workers) {
    if (CommaListAllows(w.arches, b.arch) && CommaListAllows(w.releases, b.release) &&
        CommaListAllows(w.types, b.type)) {
      ++able;
      if (static_cast<int>(w.current_builds.size()) >= w.capacity) ++busy;
    }
  }
  const std::optional<double>& typical = extras.typical_duration_s;
  if (typical) q["estimated_duration_s"] = *typical;
  if (able == 0) {
    q["waiting_for"] = "no online worker builds " + b.arch + " " + b.release + " " + b.type +
                       " images; it starts when one comes online";
  } else {
    q["waiting_for"] = busy >= able
                           ? "all " + std::to_string(able) + " workers that can build it are busy"
                           : "a worker to pick it up";
    if (typical) {
      double waves = static_cast<double>((place.position - 1) / able) + (busy >= able ? 0.5 : 0);
      q["estimated_start"] =
          IsoTimeMs(ctx.co.NowMs() + static_cast<int64_t>(waves * *typical * 1000));
    }
  }
  return q;
}

// What the master sent out for the build, and what it still tries.
json DeliveriesJson(const std::vector<store::Delivery>& deliveries) {
  json out = json::array();
  for (const store::Delivery& d : deliveries) {
    json item = {{"kind", d.kind},
                 {"target", d.target},
                 {"what", d.what},
                 {"state", d.state},
                 {"attempts", d.attempts},
                 {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
                 {"next_try", d.state == "pending" ? TimeOrNull(d.next_ms) : json(nullptr)},
                 {"done_at", TimeOrNull(d.done_ms)}};
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

json BuildJson(RequestContext& ctx, const store::Build& b, bool detail, bool place) {
  json j = {{"id", b.id},
            {"url", "/api/v1/builds/" + std::to_string(b.id)},
            {"owner", b.owner},
            {"state", ToString(b.state)},
            {"type", b.type},
            {"arch", b.arch},
            {"release", b.release},
            {"name", b.name},
            {"priority", b.priority},
            {"attempt", b.attempt},
            {"worker", b.worker.empty() ? json(nullptr) : json(b.worker)},
            {"stage", b.stage.empty() ? json(nullptr) : json(b.stage)},
            {"progress", b.progress},
            {"cancel_requested", b.cancel_requested},
            {"created_at", TimeOrNull(b.created_ms)},
            {"queued_at", TimeOrNull(b.queued_ms)},
            {"started_at", TimeOrNull(b.started_ms)},
            {"finished_at", TimeOrNull(b.finished_ms)},
            {"spec_hash", b.spec_hash}};
  if (b.error_code.empty()) {
    j["error"] = nullptr;
  } else {
    j["error"] = {{"code", b.error_code},
                  {"class", b.error_class},
                  {"message", b.error_message},
                  {"hint", b.error_hint}};
  }
  if (detail) {
    store::Store::BuildExtras extras = ctx.store().ExtrasOf(b, place);
    j["artifacts"] = ArtifactsJson(b, extras.artifacts);
    if (b.artifacts_removed_ms > 0) j["artifacts_removed_at"] = IsoTimeMs(b.artifacts_removed_ms);
    j["log_url"] = "/api/v1/builds/" + std::to_string(b.id) + "/log";
    j["events_url"] = "/api/v1/builds/" + std::to_string(b.id) + "/events";
    if (b.state == BuildState::kQueued && place) j["queue"] = QueueJson(ctx, b, extras);
    j["deliveries"] = DeliveriesJson(ctx.store().DeliveriesOf(b.id));
  }
  return j;
}

HttpResponse ListBuilds(RequestContext& ctx) {
  store::BuildFilter f;
  if (auto v = ctx.req.Query("state")) {
    f.state = ParseBuildState(*v);
    if (!f.state) {
      return Error(400, "bad-filter", "unknown state '" + *v + "'",
                   "one of queued, running, succeeded, failed, canceled");
    }
  }
  if (auto v = ctx.req.Query("type")) {
    auto t = ParseImageType(*v);
    if (!t) return Error(400, "bad-filter", "unknown type '" + *v + "'");
    f.type = std::string(ToString(*t));
  }
  if (auto v = ctx.req.Query("arch")) {
    auto a = ParseArch(*v);
    if (!a) return Error(400, "bad-filter", "unknown arch '" + *v + "'");
    f.arch = std::string(ToString(*a));
  }
  if (auto v = ctx.req.Query("release")) f.release = *v;
  if (auto v = ctx.req.Query("q"); v && !v->empty()) {
    if (v->size() > 200) return Error(400, "bad-filter", "q is longer than 200 characters");
    f.text = *v;
  }
  if (auto v = ctx.req.Query("owner")) {
    std::optional<store::User> u = ctx.store().FindUser(*v);
    if (!u || (!ctx.caller->admin() && u->id != ctx.caller->user.id)) {
      return Json(200, {{"builds", json::array()}, {"next_cursor", nullptr}});
    }
    f.owner_id = u->id;
  }
  if (!ctx.caller->admin()) f.owner_id = ctx.caller->user.id;
  if (auto v = ctx.req.Query("cursor")) {
    std::optional<int64_t> c = ParseId(*v);
    if (!c) return Error(400, "bad-cursor", "cursor must be a build id from next_cursor");
    f.before_id = *c;
  }
  if (auto v = ctx.req.Query("limit")) {
    std::optional<int64_t> l = ParseId(*v);
    if (!l || *l > 500) return Error(400, "bad-limit", "limit must be 1..500");
    f.limit = static_cast<int>(*l);
  }
  std::vector<store::Build> builds = ctx.store().ListBuilds(f);
  json list = json::array();
  for (const store::Build& b : builds) list.push_back(BuildJson(ctx, b, false));
  json next = builds.size() == static_cast<size_t>(f.limit) ? json(std::to_string(builds.back().id))
                                                            : json(nullptr);
  return Json(200, {{"builds", list}, {"next_cursor", next}});
}

HttpResponse GetBuild(RequestContext& ctx) {
  // The most frequent call (clients polling a build): answered from the rendered cache
  // while nothing changed.
  if (std::optional<int64_t> id = ParseId(ctx.id)) {
    if (std::optional<HttpResponse> cached = ctx.api.CachedBuild(*id, *ctx.caller)) {
      return *cached;
    }
  }
  uint64_t version = ctx.co.Version();  // read before the store: never newer than it
  HttpResponse error;
  std::optional<store::Build> b = ctx.VisibleBuild(error, /*with_spec=*/true);
  if (!b) return error;
  HttpResponse r = WithSpec(Json(200, BuildJson(ctx, *b, true)), std::move(b->spec_json));
  ctx.api.KeepBuild(b->id, version, b->owner_id, r.body);
  return r;
}

// 409 for what only a finished build may do.
static HttpResponse StillActive(const store::Build& b, std::string hint) {
  return Error(409, "build-active",
               "build " + std::to_string(b.id) + " is " + std::string(ToString(b.state)),
               std::move(hint));
}

// A finished build's e-mails and staged copies sent again, without building again (a target
// that was down, a copy someone deleted). Files already there whole are not sent twice.
HttpResponse DeliverAgain(RequestContext& ctx) {
  HttpResponse error;
  std::optional<store::Build> b = ctx.VisibleBuild(error);
  if (!b) return error;
  if (!IsFinal(b->state)) return StillActive(*b, "its deliveries go when it ends");
  int queued = ctx.store().RedoDeliveries(b->id, ctx.co.NowMs());
  if (queued == 0) {
    bool pending = false;
    for (const store::Delivery& d : ctx.store().DeliveriesOf(b->id)) {
      pending = pending || d.state == "pending";
    }
    return Error(409, pending ? "deliveries-pending" : "nothing-to-deliver",
                 pending ? "its deliveries are still being tried"
                         : "build " + std::to_string(b->id) + " has no e-mail or staging target",
                 pending ? "see their next try in the build's deliveries" : "");
  }
  if (ctx.options.on_submit) ctx.options.on_submit();  // wakes the delivery thread
  return Json(202, {{"id", b->id}, {"queued", queued}});
}

HttpResponse DeleteBuild(RequestContext& ctx) {
  HttpResponse error;
  std::optional<store::Build> b = ctx.VisibleBuild(error);
  if (!b) return error;
  if (!IsFinal(b->state)) return StillActive(*b, "cancel it first");
  ctx.co.Delete(b->id);
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse CancelBuild(RequestContext& ctx) {
  HttpResponse error;
  std::optional<store::Build> b = ctx.VisibleBuild(error);
  if (!b) return error;
  if (!ctx.co.Cancel(b->id)) {
    return Error(
        409, "build-final",
        "build " + std::to_string(b->id) + " is already " + std::string(ToString(b->state)));
  }
  return Json(202, BuildJson(ctx, *ctx.store().GetBuild(b->id), false));
}

HttpResponse RetryBuild(RequestContext& ctx) {
  HttpResponse error;
  std::optional<store::Build> b = ctx.VisibleBuild(error);
  if (!b) return error;
  if (!ctx.co.Retry(b->id)) {
    return Error(409, "not-retryable",
                 "only failed or canceled builds can be retried; build " + std::to_string(b->id) +
                     " is " + std::string(ToString(b->state)));
  }
  if (ctx.options.on_submit) ctx.options.on_submit();
  return Json(202, BuildJson(ctx, *ctx.store().GetBuild(b->id), false));
}

// Server-Sent Events from Last-Event-ID (or ?after=): the server streams them.
HttpResponse BuildEvents(RequestContext& ctx) {
  HttpResponse error;
  std::optional<store::Build> b = ctx.VisibleBuild(error);
  if (!b) return error;
  int64_t after = 0;
  std::string_view last = ctx.req.Header("last-event-id");
  std::optional<std::string> q = ctx.req.Query("after");
  std::string_view from = !last.empty() ? last : q ? std::string_view(*q) : "";
  if (!from.empty()) {
    auto [ptr, ec] = std::from_chars(from.data(), from.data() + from.size(), after);
    if (ec != std::errc() || after < 0) {
      return Error(400, "bad-event-id", "Last-Event-ID must be an event number");
    }
  }
  HttpResponse r;
  r.Set("Content-Type", "text/event-stream");
  r.Set("Cache-Control", "no-cache");
  r.events = EventStreamReply{b->id, after};
  return r;
}

HttpResponse BuildLog(RequestContext& ctx) {
  HttpResponse error;
  std::optional<store::Build> b = ctx.VisibleBuild(error);
  if (!b) return error;
  uint64_t offset = 0;
  if (auto v = ctx.req.Query("offset")) {
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), offset);
    if (ec != std::errc() || p != v->data() + v->size()) {
      return Error(400, "bad-offset", "offset must be a byte count");
    }
  }
  fs::path path = ctx.co.LogPath(b->id);
  std::error_code ec;
  bool have_file = fs::exists(path, ec);
  uint64_t size = have_file ? fs::file_size(path, ec) : 0;
  // A build without a log file (a dry run keeps none) has its log in its "log" events.
  std::string from_events;
  if (!have_file) {
    for (const store::Event& e : ctx.store().EventsAfter(b->id, 0, 100000)) {
      if (e.kind != "log") continue;
      json data = json::parse(e.data, nullptr, false);
      if (data.is_object() && data.contains("line") && data["line"].is_string()) {
        from_events += data["line"].get<std::string>() + "\n";
      }
    }
    size = from_events.size();
  }
  if (offset > size) offset = size;
  std::string text;
  constexpr uint64_t kMax = 4u << 20;  // one answer; the client asks again from next_offset
  uint64_t n = std::min<uint64_t>(size - offset, kMax);
  if (n > 0 && !have_file) {
    text = from_events.substr(offset, n);
  } else if (n > 0) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    text.resize(n);
    in.read(text.data(), static_cast<std::streamsize>(n));
    text.resize(static_cast<size_t>(in.gcount()));
  }
  HttpResponse r;
  r.Set("Content-Type", "text/plain; charset=utf-8");
  r.Set("X-Log-Offset", std::to_string(offset));
  r.Set("X-Log-Next-Offset", std::to_string(offset + text.size()));
  r.Set("X-Log-Complete", IsFinal(b->state) && offset + text.size() >= size ? "true" : "false");
  r.body = std::move(text);
  return r;
}

}  // namespace kiln::server
