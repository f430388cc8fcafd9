// Prometheus metrics: a user sees the counts of their own builds; an admin the service's
// (builds by state, queue depth, run times, sign-in failures, event streams, requests).
#include <iterator>
#include <map>

#include "server/handlers.h"

namespace kiln::server {

HttpResponse Metrics(RequestContext& ctx) {
  std::string out;
  out += "# HELP kiln_builds Builds by state.\n# TYPE kiln_builds gauge\n";
  if (!ctx.caller->admin()) {
    // A user's own numbers; the service's are for admins.
    for (const auto& [s, n] : ctx.co.store().CountByState(ctx.caller->user.id)) {
      out += "kiln_builds{state=\"" + s + "\"} " + std::to_string(n) + "\n";
    }
    HttpResponse r;
    r.Set("Content-Type", "text/plain; version=0.0.4");
    r.body = std::move(out);
    return r;
  }
  std::map<std::string, int64_t> by_state = ctx.co.store().CountByState();
  for (const auto& [s, n] : by_state) {
    out += "kiln_builds{state=\"" + s + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP kiln_queue_depth Builds waiting for a worker.\n# TYPE kiln_queue_depth gauge\n";
  out += "kiln_queue_depth " + std::to_string(by_state["queued"]) + "\n";
  out +=
      "# HELP kiln_deliveries E-mails and staged copies by kind and state (pending, delivered, "
      "failed: given up).\n# TYPE kiln_deliveries gauge\n";
  for (const auto& [kind_state, n] : ctx.co.store().CountDeliveries()) {
    out += "kiln_deliveries{kind=\"" + kind_state.first + "\",state=\"" + kind_state.second +
           "\"} " + std::to_string(n) + "\n";
  }
  // Run times of the last 10,000 finished builds, by type and final state.
  out +=
      "# HELP kiln_build_duration_seconds Run time of finished builds (the last 10000).\n"
      "# TYPE kiln_build_duration_seconds histogram\n";
  static constexpr double kBounds[] = {30, 60, 120, 300, 600, 1200, 1800, 3600};
  struct Series {
    std::vector<uint64_t> buckets = std::vector<uint64_t>(8, 0);
    uint64_t count = 0;
    double sum = 0;
  };
  std::map<std::pair<std::string, std::string>, Series> runs;
  for (const store::Store::FinishedRun& r : ctx.co.store().RecentRunTimes(10000)) {
    Series& series = runs[{r.type, r.state}];
    for (size_t i = 0; i < std::size(kBounds); ++i) series.buckets[i] += r.seconds <= kBounds[i];
    ++series.count;
    series.sum += r.seconds;
  }
  for (const auto& [key, series] : runs) {
    std::string labels = "type=\"" + key.first + "\",state=\"" + key.second + "\"";
    for (size_t i = 0; i < std::size(kBounds); ++i) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", kBounds[i]);
      out += "kiln_build_duration_seconds_bucket{" + labels + ",le=\"" + le + "\"} " +
             std::to_string(series.buckets[i]) + "\n";
    }
    out += "kiln_build_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
           std::to_string(series.count) + "\n";
    out += "kiln_build_duration_seconds_sum{" + labels + "} " + std::to_string(series.sum) + "\n";
    out +=
        "kiln_build_duration_seconds_count{" + labels + "} " + std::to_string(series.count) + "\n";
  }
  out +=
      "# HELP kiln_sign_in_failures_total Failed sign-ins (wrong password or unknown user).\n"
      "# TYPE kiln_sign_in_failures_total counter\n"
      "kiln_sign_in_failures_total " +
      std::to_string(ctx.api.sign_in_guard().failures()) +
      "\n# HELP kiln_sign_in_lockouts_total Failed sign-ins that locked a user or an address "
      "out.\n# TYPE kiln_sign_in_lockouts_total counter\nkiln_sign_in_lockouts_total " +
      std::to_string(ctx.api.sign_in_guard().lockouts()) + "\n";
  out += "# HELP kiln_event_watchers Open event streams.\n# TYPE kiln_event_watchers gauge\n";
  out += "kiln_event_watchers " + std::to_string(ctx.co.hub().Watchers()) + "\n";
  out +=
      "# HELP kiln_http_requests_total HTTP requests by route and status.\n"
      "# TYPE kiln_http_requests_total counter\n";
  for (const auto& [key, n] : ctx.api.RequestCounts()) {
    out += "kiln_http_requests_total{route=\"" + key.first + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  HttpResponse r;
  r.Set("Content-Type", "text/plain; version=0.0.4");
  r.body = std::move(out);
  return r;
}

}  // namespace kiln::server
