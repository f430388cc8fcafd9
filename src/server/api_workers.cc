// What users see of the build hosts: the releases they serve and the workers page (the
// details that would map the service, such as host names and versions, are for admins).
#include <algorithm>

#include "core/text.h"
#include "server/handlers.h"

namespace kiln::server {
using nlohmann::json;

// What can be built: each known release with the online workers that serve it.
HttpResponse Releases(RequestContext& ctx) {
  std::vector<store::Worker> workers = ctx.api.OnlineWorkers();
  json releases = json::array();
  json types = json::array();
  for (ImageType t : kBuildableTypes) types.push_back(ToString(t));
  for (const ReleaseInfo& r : KnownReleases()) {
    json online = json::array();
    for (const store::Worker& w : workers) {
      if (CommaListAllows(w.releases, r.name)) {
        online.push_back(w.id);
      }
    }
    releases.push_back({{"name", r.name},
                        {"family", r.family},
                        {"version", r.version},
                        {"arches", {"x86_64", "i686"}},
                        {"types", types},
                        {"online_workers", online}});
  }
  return Json(200, {{"releases", releases}});
}

HttpResponse Workers(RequestContext& ctx) {
  std::vector<store::Worker> online = ctx.api.OnlineWorkers();
  json list = json::array();
  for (const store::Worker& w : ctx.store().ListWorkers()) {
    bool is_online = std::any_of(online.begin(), online.end(),
                                 [&](const store::Worker& o) { return o.id == w.id; });
    // Users see what explains a wait; host names, ids, versions and other users' builds are
    // for admins.
    json item = {{"online", is_online},
                 {"arches", w.arches},
                 {"releases", w.releases},
                 {"types", w.types},
                 {"capacity", w.capacity},
                 {"load", w.current_builds.size()},
                 {"last_heartbeat", TimeOrNull(w.last_seen_ms)}};
    if (ctx.caller->admin()) {
      item["id"] = w.id;
      item["version"] = w.version;
      item["current_builds"] = w.current_builds;
    } else {
      // A user sees which of their own builds a worker runs (the page links them).
      json mine = json::array();
      for (int64_t id : w.current_builds) {
        std::optional<store::Build> b = ctx.store().GetBuild(id);
        if (b && b->owner_id == ctx.caller->user.id) mine.push_back(id);
      }
      item["my_builds"] = mine;
    }
    list.push_back(std::move(item));
  }
  // The queue at a glance (counts only: whose builds they are is for admins).
  std::map<std::string, int64_t> by_state = ctx.store().CountByState();
  return Json(200, {{"workers", list},
                    {"queue", {{"queued", by_state["queued"]}, {"running", by_state["running"]}}}});
}

}  // namespace kiln::server
