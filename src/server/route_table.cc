#include "server/route_table.h"

#include <vector>

#include "server/handlers.h"

namespace kiln::server {

namespace {

using enum Access;
using enum Runs;

// Reads (GET, HEAD) and the worker protocol only touch the store: they run on the I/O
// threads. What hashes a password, fetches URLs, deletes files or parses large bodies runs
// on the pool.
constexpr Route kRoutes[] = {
    {"GET", "/api/v1/health", kOpen, kOnIoThread, Health},
    {"POST", "/api/v1/session", kOpen, kOnPool, SignIn},
    {"GET", "/api/v1/session", kSignedIn, kOnIoThread, WhoAmI},
    {"DELETE", "/api/v1/session", kSignedIn, kOnPool, SignOut},
    {"POST", "/api/v1/tokens", kAdmin, kOnPool, CreateToken},
    {"GET", "/api/v1/tokens", kAdmin, kOnIoThread, ListTokens},
    {"DELETE", "/api/v1/tokens/{id}", kAdmin, kOnPool, RevokeToken},
    {"GET", "/api/v1/users", kAdmin, kOnIoThread, ListUsers},
    {"POST", "/api/v1/users", kAdmin, kOnPool, AddUser},
    {"DELETE", "/api/v1/users/{name}", kAdmin, kOnPool, DeleteUser},
    {"POST", "/api/v1/users/{name}/unlock", kAdmin, kOnPool, UnlockUser},
    {"POST", "/api/v1/users/{name}/disable", kAdmin, kOnPool, DisableUser},
    {"POST", "/api/v1/users/{name}/enable", kAdmin, kOnPool, EnableUser},
    {"GET", "/api/v1/webhook-secret", kSignedIn, kOnIoThread, WebhookSecret},
    {"GET", "/api/v1/settings", kSignedIn, kOnIoThread, GetSettings},
    {"PATCH", "/api/v1/settings", kSignedIn, kOnPool, UpdateSettings},
    {"GET", "/api/v1/releases", kSignedIn, kOnIoThread, Releases},
    {"GET", "/api/v1/workers", kSignedIn, kOnIoThread, Workers},
    {"POST", "/api/v1/kickstart/validate", kSignedIn, kOnPool, ValidateKickstart},
    {"GET", "/api/v1/builds", kSignedIn, kOnIoThread, ListBuilds},
    {"POST", "/api/v1/builds", kSignedIn, kOnIoThreadIfSmallJson, SubmitBuild},
    {"POST", "/api/v1/builds/batch", kSignedIn, kOnIoThreadIfSmallJson, SubmitBatch},
    {"GET", "/api/v1/builds/{id}", kSignedIn, kOnIoThread, GetBuild},
    {"DELETE", "/api/v1/builds/{id}", kSignedIn, kOnPool, DeleteBuild},
    {"POST", "/api/v1/builds/{id}/cancel", kSignedIn, kOnPool, CancelBuild},
    {"POST", "/api/v1/builds/{id}/retry", kSignedIn, kOnPool, RetryBuild},
    {"POST", "/api/v1/builds/{id}/deliver", kSignedIn, kOnPool, DeliverAgain},
    {"GET", "/api/v1/builds/{id}/log", kSignedIn, kOnIoThread, BuildLog},
    {"GET", "/api/v1/builds/{id}/events", kSignedIn, kOnIoThread, BuildEvents},
    {"GET", "/api/v1/builds/{id}/artifacts/{name}", kSignedIn, kOnIoThread, GetArtifact},
    {"HEAD", "/api/v1/builds/{id}/artifacts/{name}", kSignedIn, kOnIoThread, GetArtifact},
    {"GET", "/rest", kOpen, kOnIoThread, RestInfo},
    {"POST", "/rest", kSignedIn, kOnPool, SubmitRest},
    {"GET", "/metrics", kSignedIn, kOnIoThread, Metrics},
    // The web UI (web_ui.cc): pages for browsers, and their files.
    {"GET", "/", kPage, kOnIoThread, DashboardPage},
    {"GET", "/login", kOpen, kOnIoThread, LoginPage},
    {"GET", "/build", kPage, kOnIoThread, NewBuildPage},
    {"GET", "/builds/{id}", kPage, kOnIoThread, BuildPage},
    {"GET", "/workers", kPage, kOnIoThread, WorkersPage},
    {"GET", "/settings", kPage, kOnIoThread, SettingsPage},
    {"GET", "/admin", kPage, kOnIoThread, AdminPage},
    {"GET", "/static/{name}", kOpen, kOnIoThread, StaticFile},
    // The worker protocol (DESIGN §5): build hosts that are not the master.
    {"POST", "/api/v1/worker/register", kWorker, kOnIoThread, WorkerRegister},
    {"POST", "/api/v1/worker/alive", kWorker, kOnIoThread, WorkerAlive},
    {"POST", "/api/v1/worker/claim", kWorker, kOnIoThread, WorkerClaimNext},
    {"POST", "/api/v1/worker/claims", kWorker, kOnIoThread, WorkerClaimMany},
    {"POST", "/api/v1/worker/results", kWorker, kOnIoThread, WorkerFinishMany},
    {"POST", "/api/v1/worker/{id}/claim", kWorker, kOnIoThread, WorkerClaim},
    {"POST", "/api/v1/worker/{id}/heartbeat", kWorker, kOnIoThread, WorkerHeartbeat},
    {"POST", "/api/v1/worker/{id}/events", kWorker, kOnIoThread, WorkerEvents},
    {"POST", "/api/v1/worker/{id}/result", kWorker, kOnIoThread, WorkerResult},
    {"POST", "/api/v1/worker/{id}/upload-status", kWorker, kOnIoThread, WorkerUploadStatus},
    {"POST", "/api/v1/worker/{id}/handback", kWorker, kOnIoThread, WorkerHandBack},
    {"PUT", "/api/v1/worker/{id}/artifacts/{name}", kWorker, kOnPool, WorkerUpload,
     /*upload=*/true},
};

// How well `path` fits `pattern`: -1 if not at all, else its number of literal segments
// (the more, the more specific). Fills the {id} and {name} segments.
int Fit(const std::vector<std::string_view>& want, const std::vector<std::string_view>& path,
        std::string_view& id, std::string_view& name) {
  if (want.size() != path.size()) return -1;
  int literal = 0;
  std::string_view found_id, found_name;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "{id}") {
      found_id = path[i];
    } else if (want[i] == "{name}") {
      found_name = path[i];
    } else if (want[i] == path[i]) {
      ++literal;
    } else {
      return -1;
    }
  }
  id = found_id;
  name = found_name;
  return literal;
}

}  // namespace

std::span<const Route> Routes() { return kRoutes; }

RouteMatch MatchRoute(std::string_view method, std::string_view path) {
  // The patterns' segments, split once.
  static const std::vector<std::vector<std::string_view>> kPatterns = [] {
    std::vector<std::vector<std::string_view>> split;
    for (const Route& r : kRoutes) split.push_back(SplitPath(r.pattern));
    return split;
  }();
  std::vector<std::string_view> segments = SplitPath(path);
  RouteMatch m;
  int best = -1;
  for (size_t i = 0; i < std::size(kRoutes); ++i) {
    const Route& r = kRoutes[i];
    std::string_view id, name;
    int fit = Fit(kPatterns[i], segments, id, name);
    if (fit < 0 || fit < best) continue;
    if (fit > best) {  // a more specific pattern: forget the others
      best = fit;
      m = RouteMatch{nullptr, r.pattern, "", id, name};
    }
    if (r.pattern != m.pattern) continue;  // as specific, listed later: the first one wins
    m.allowed += m.allowed.empty() ? "" : ", ";
    m.allowed += r.method;
    if (r.method == method) m.route = &r;
  }
  return m;
}

}  // namespace kiln::server
