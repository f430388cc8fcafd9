#include "server/api.h"

#include <iostream>

#include "auth/credentials.h"
#include "core/text.h"
#include "server/handlers.h"
#include "server/route_table.h"
#include "server/worker_api.h"
#include "store/sqlite.h"

namespace kiln::server {

Api::Api(Coordinator& coordinator, ApiOptions options)
    : coordinator_(coordinator),
      options_(std::move(options)),
      fetch_policy_(options_.fetch_allow) {}

const std::string& Api::DummyPasswordHash() {
  std::call_once(dummy_hash_once_, [this] { dummy_hash_ = auth::HashPassword(auth::NewSecret()); });
  return dummy_hash_;
}

bool Api::TakeUploadQuota(int64_t user_id, uint64_t bytes) {
  if (options_.upload_quota_bytes == 0) return true;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(upload_mu_);
  auto& recent = uploads_by_user_[user_id];
  while (!recent.empty() && now - recent.front().first > std::chrono::hours(24)) {
    recent.pop_front();
  }
  uint64_t used = 0;
  for (const auto& [when, n] : recent) used += n;
  if (used + bytes > options_.upload_quota_bytes) return false;
  recent.emplace_back(now, bytes);
  return true;
}

bool Api::TakeFetchSlot(int64_t user_id) {
  std::lock_guard<std::mutex> lock(fetch_mu_);
  int& mine = fetches_by_user_[user_id];
  if (fetches_ >= options_.fetches_total || mine >= options_.fetches_per_user) return false;
  ++mine;
  ++fetches_;
  return true;
}

void Api::ReturnFetchSlot(int64_t user_id) {
  std::lock_guard<std::mutex> lock(fetch_mu_);
  if (--fetches_by_user_[user_id] <= 0) fetches_by_user_.erase(user_id);
  --fetches_;
}

Api::~Api() = default;

std::optional<store::User> Api::TokenUser(const std::string& token) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = token_cache_.find(token);
    if (it != token_cache_.end() && it->second.until > now) return it->second.user;
  }
  std::optional<store::User> u =
      coordinator_.store().UserForToken(auth::SecretHash(token), coordinator_.NowMs());
  if (u) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (token_cache_.size() > 10000) token_cache_.clear();  // a bound, not an LRU: rare
    token_cache_[token] = {*u, now + std::chrono::milliseconds(1500)};
  }
  return u;
}

void Api::ForgetCachedTokens() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  token_cache_.clear();
}

std::vector<store::Worker> Api::OnlineWorkers() {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (now >= online_until_) {
    online_ = options_.online_workers ? options_.online_workers() : std::vector<store::Worker>{};
    online_until_ = now + std::chrono::seconds(1);
  }
  return online_;
}

std::optional<HttpResponse> Api::CachedBuild(int64_t id, const Caller& caller) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = rendered_.find(id);
  if (it == rendered_.end() || it->second.version != coordinator_.Version() ||
      it->second.until <= now) {
    return std::nullopt;
  }
  if (!caller.admin() && it->second.owner_id != caller.user.id) {
    return Error(404, "not-found", "no build " + std::to_string(id));
  }
  HttpResponse r;
  r.Set("Content-Type", "application/json");
  r.body = it->second.body;
  return r;
}

void Api::KeepBuild(int64_t id, uint64_t version, int64_t owner_id, const std::string& body) {
  // Expired answers stay until replaced or cleared: the cache is bounded by count and bytes,
  // and an answer with a large kickstart in it (read seldom) is not kept at all.
  constexpr size_t kRenderedBytes = 32 << 20, kLargestRendered = 64 << 10;
  if (body.size() > kLargestRendered) return;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (rendered_.size() >= 10000 || rendered_bytes_ + body.size() > kRenderedBytes) {
    rendered_.clear();
    rendered_bytes_ = 0;
  }
  RenderedBuild& kept = rendered_[id];
  rendered_bytes_ = rendered_bytes_ - kept.body.size() + body.size();
  kept = {version, std::chrono::steady_clock::now() + std::chrono::seconds(1), owner_id, body};
}

void Api::CountRequest(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(metrics_mu_);
  // A path that is no route is counted as "other": made-up paths must not grow the table.
  ++requests_[{status == 404 ? std::string("other") : route, status}];
}

std::string Api::RouteLabel(const HttpRequest& r) {
  std::string_view pattern = MatchRoute(r.method, r.path).pattern;
  return pattern.empty() ? "other" : std::string(pattern);
}

HttpResponse Api::Handle(HttpRequest& request) {
  try {
    return Dispatch(request);
  } catch (const store::StoreError& e) {
    return Error(503, "store-unavailable", std::string("the database failed: ") + e.what(),
                 "retry later; the server log has details");
  } catch (const std::exception& e) {
    return Error(500, "internal", std::string("internal error: ") + e.what());
  }
}

std::map<std::pair<std::string, int>, uint64_t> Api::RequestCounts() {
  std::lock_guard<std::mutex> lock(metrics_mu_);
  return requests_;
}

bool Api::IsUpload(const HttpRequest& head) {
  const kiln::server::Route* route = MatchRoute(head.method, head.path).route;
  return route != nullptr && route->upload;
}

bool Api::IsQuick(const HttpRequest& request) {
  const kiln::server::Route* route = MatchRoute(request.method, request.path).route;
  if (route == nullptr) return true;  // a 404 or 405: cheap
  switch (route->runs) {
    case Runs::kOnIoThread:
      return true;
    case Runs::kOnPool:
      return false;
    case Runs::kOnIoThreadIfSmallJson: {
      // A large body takes a while to parse: not on an I/O thread, where it would hold up
      // others. (A session's submit, or a multipart one, may be large: on the pool.)
      if (request.body.size() > (64u << 10)) return false;
      std::string_view type = request.Header("content-type");
      return StartsWith(ToLower(request.Header("authorization")), "bearer ") &&
             (type.empty() || StartsWith(type, "application/json"));
    }
  }
  return false;
}

std::optional<HttpResponse> Api::RefuseUnauthenticated(const HttpRequest& head) {
  try {
    RequestContext ctx{*this, coordinator_, options_, head, std::nullopt, nullptr, {}, {}};
    return ctx.Authenticate();
  } catch (const std::exception& e) {
    return Error(503, "store-unavailable", std::string("cannot check credentials: ") + e.what(),
                 "retry later");
  }
}

std::optional<HttpResponse> Api::BeginUpload(const HttpRequest& head, UploadPlan& plan) {
  try {
    RequestContext ctx{*this, coordinator_, options_, head, std::nullopt, nullptr, {}, {}};
    if (std::optional<HttpResponse> denied = ctx.Authenticate()) return *denied;
    if (ctx.caller->user.role != Role::kWorker && !ctx.admin()) {
      return Error(403, "forbidden", "uploads need a worker token",
                   "create one with `kiln token create --worker NAME`");
    }
    return BeginWorkerUpload(coordinator_, head, ctx.WorkerName(), plan);
  } catch (const std::exception& e) {
    return Error(503, "store-unavailable", std::string("the upload cannot start: ") + e.what(),
                 "retry later");
  }
}

HttpResponse Api::FinishUpload(const UploadPlan& plan, bool body_complete) {
  try {
    return FinishWorkerUpload(coordinator_, plan, body_complete);
  } catch (const std::exception& e) {
    return Error(500, "internal", std::string("storing the upload failed: ") + e.what(),
                 "retry the upload");
  }
}

namespace {

// A body too large for the route: any over the server's limit; a JSON one (parsed whole, at
// several times its size in memory) over a kickstart of the server's limit and a little more
// (a batch: a few of them). Multipart bodies, which carry .deb files, keep the body limit.
std::optional<HttpResponse> TooLarge(const HttpRequest& req, const ApiOptions& options,
                                     std::string_view pattern) {
  if (req.body.size() > options.body_limit) {
    return Error(
        413, "body-too-large",
        "the body is larger than the limit of " + std::to_string(options.body_limit) + " bytes");
  }
  if (StartsWith(req.Header("content-type"), "application/json") ||
      (req.method == "POST" && req.Header("content-type").empty())) {
    size_t json_limit = 2 * options.kickstart_limit + (64u << 10);
    if (pattern == "/api/v1/builds/batch") json_limit *= 8;
    if (req.body.size() > json_limit) {
      return Error(413, "body-too-large",
                   "the JSON body is " + std::to_string(req.body.size() >> 10) +
                       " KiB, more than this server reads (" + std::to_string(json_limit >> 10) +
                       " KiB: kickstarts up to " + std::to_string(options.kickstart_limit >> 10) +
                       " KiB)",
                   "send a smaller kickstart, or ask the server's admin (--max-kickstart-kib)");
    }
  }
  return std::nullopt;
}

// The caller's role against the route's: nullopt if it may call it.
std::optional<HttpResponse> Forbidden(const Api::Caller& caller, const RouteMatch& match,
                                      std::string_view path) {
  bool worker_path = StartsWith(path, "/api/v1/worker/");
  Access access = match.route != nullptr ? match.route->access
                  : worker_path          ? Access::kWorker
                                         : Access::kSignedIn;
  if (caller.user.role == Role::kWorker && access != Access::kWorker) {
    return Error(403, "forbidden", "a worker token is only for the worker routes");
  }
  if (access == Access::kWorker && caller.user.role != Role::kWorker && !caller.admin()) {
    return Error(403, "forbidden", "worker routes need a worker token",
                 "create one with `kiln token create --worker NAME`");
  }
  if (access == Access::kAdmin && !caller.admin()) {
    return Error(403, "forbidden",
                 "only admins may " + std::string(match.route->method) + " " +
                     std::string(match.route->pattern));
  }
  return std::nullopt;
}

}  // namespace

HttpResponse Api::Dispatch(HttpRequest& req) {
  RouteMatch match = MatchRoute(req.method, req.path);
  if (std::optional<HttpResponse> large = TooLarge(req, options_, match.pattern)) return *large;
  RequestContext ctx{*this, coordinator_, options_, req, std::nullopt, &req, match.id, match.name};
  bool open = match.route != nullptr && match.route->access == Access::kOpen;
  bool page = match.route != nullptr && match.route->access == Access::kPage;
  if (!open) {
    if (std::optional<HttpResponse> denied = ctx.Authenticate()) {
      return page && denied->status == 401 ? ToSignIn(req) : *denied;
    }
    if (std::optional<HttpResponse> denied = Forbidden(*ctx.caller, match, req.path)) {
      return *denied;
    }
  }
  if (match.route != nullptr) return match.route->handler(ctx);
  if (!match.pattern.empty()) {
    HttpResponse r =
        Error(405, "method-not-allowed",
              req.method + " is not allowed on " + req.path + " (allowed: " + match.allowed + ")");
    r.Set("Allow", match.allowed);
    return r;
  }
  bool under_api = StartsWith(req.path, "/api/v1/");
  return Error(404, "not-found", "no such route: " + req.path,
               under_api ? "see docs/openapi.yaml" : "the API is under /api/v1");
}

}  // namespace kiln::server
