// The HTTP API of `kiln serve` as plain functions of a request: routing by the route table
// (server/route_table.h), authentication (Bearer tokens and browser sessions with CSRF) and
// the state its handlers share (caches, fetch slots, upload quotas, sign-in guard, request
// counts). The handlers are in server/api_*.cc and worker_api.cc, by resource. Transport
// (sockets, SSE streaming, sendfile) is http_server's job.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "delivery/staging.h"
#include "server/coordinator.h"
#include "server/http_types.h"
#include "server/sign_in_guard.h"
#include "spec/fetch_policy.h"

namespace kiln::server {

struct ApiOptions {
  size_t body_limit = 64u << 20;  // bytes; larger bodies are refused with 413
  int64_t session_ttl_ms = 12ll * 3600 * 1000;
  // What this master's workers can build (for /releases and "why does it wait").
  std::function<std::vector<store::Worker>()> online_workers;
  std::function<void()> on_submit;  // wakes local workers
  bool fetch_urls = true;           // kickstart_url and %include of URLs (off in the fuzzer)
  // What the server fetches for a request: only public addresses, unless a range is opened
  // here ([fetch] allow); each fetch bounded in time and size; at most so many at once, per
  // user and in all (the rest of the slow pool stays free for sign-ins and submits).
  std::vector<spec::IpRange> fetch_allow;
  long fetch_timeout_s = 20;
  int fetches_per_user = 2;
  int fetches_total = 2;
  // The largest kickstart (each file of it: the request's text, an upload, a fetched URL).
  size_t kickstart_limit = 1u << 20;
  // Bytes of .deb uploads one user may add to the master's disk in 24 hours (0 = no limit).
  uint64_t upload_quota_bytes = 2ull << 30;
  // Messages one user's builds may send in 24 hours ([smtp] daily_limit_per_user; 0 = no
  // limit, and none without [smtp]): a submit that would pass it is refused (429).
  int64_t email_daily_limit = 0;
  // What this master's builds give %post scripts (its --script-network): a request asking
  // for more is refused at submit. Remote workers check against their own again.
  std::string script_network = "none";
  // The master's webhook secret; a user's own (GET /api/v1/webhook-secret) is derived from it.
  std::string webhook_secret;
  // Where the server stages (file:/// roots, FTP and SFTP credentials): a target it would not
  // reach is refused at submit.
  delivery::StagingConfig staging;
};

class Api {
 public:
  Api(Coordinator& coordinator, ApiOptions options);
  ~Api();

  // Answers one request; never throws (a failure inside is a 500 with a JSON error). On the
  // request's last run (request.may_block) a handler may take its body over (a large submit
  // is then held once), so the caller reads only the head afterwards.
  HttpResponse Handle(HttpRequest& request);

  // Counts a finished response for /metrics (the server calls it for every request,
  // including those it answers itself, such as 400s for malformed HTTP).
  void CountRequest(const std::string& route, int status);
  // The route label of a request for metrics: its route's pattern ("/api/v1/builds/{id}"),
  // or "other".
  static std::string RouteLabel(const HttpRequest& request);
  // The requests counted so far, by (route label, status).
  std::map<std::pair<std::string, int>, uint64_t> RequestCounts();

  Coordinator& coordinator() { return coordinator_; }

  // Checked on a request's headers before its body is read: nullopt if they carry valid
  // credentials, else the answer (401, or 403 for a session without its CSRF token).
  std::optional<HttpResponse> RefuseUnauthenticated(const HttpRequest& head);

  // Streamed uploads (PUT /api/v1/worker/{id}/artifacts/{name}): the server asks with the
  // request's headers only whether to take the body; nullopt and `plan` filled means stream
  // the body to plan.partial, then call FinishUpload (which checks size and SHA-256).
  static bool IsUpload(const HttpRequest& head);
  // Handlers that only touch the store (reads, the worker protocol, small JSON submits): the
  // server runs them on its I/O threads instead of handing them to its pool.
  static bool IsQuick(const HttpRequest& request);
  std::optional<HttpResponse> BeginUpload(const HttpRequest& head, UploadPlan& plan);
  HttpResponse FinishUpload(const UploadPlan& plan, bool body_complete);

  // The user of an API token. Answers are kept for a second or two, so that a busy client
  // costs no store read per request; a revoked token stops working within that time.
  std::optional<store::User> TokenUser(const std::string& token);
  // Drops the tokens remembered for a moment: a revoked token or a disabled user's stops
  // working now, not a second later.
  void ForgetCachedTokens();
  // The workers seen in the last minute (cached for a second).
  std::vector<store::Worker> OnlineWorkers();

  struct Caller;  // the authenticated user of a request

  // Fetches the server makes for users: the address policy, and the slots that bound how many
  // run at once (a request that finds none is answered 429).
  const spec::AddressPolicy& fetch_policy() const { return fetch_policy_; }
  bool TakeFetchSlot(int64_t user_id);
  void ReturnFetchSlot(int64_t user_id);
  // Counts `bytes` of new uploads against the user's quota for the last 24 hours; false (and
  // nothing counted) if they do not fit.
  bool TakeUploadQuota(int64_t user_id, uint64_t bytes);
  // Failed sign-ins and their lockouts (server/sign_in_guard.h).
  SignInGuard& sign_in_guard() { return sign_in_guard_; }
  // A password hash no password matches, verified for unknown users so that a wrong name costs
  // the same time as a wrong password.
  const std::string& DummyPasswordHash();

  // GET /api/v1/builds/{id} answers, kept while the coordinator's version stays (and for at
  // most a second, for changes made by other processes such as `kiln user del`).
  std::optional<HttpResponse> CachedBuild(int64_t id, const Caller& caller);
  void KeepBuild(int64_t id, uint64_t version, int64_t owner_id, const std::string& body);

 private:
  HttpResponse Dispatch(HttpRequest& request);

  Coordinator& coordinator_;
  ApiOptions options_;
  spec::AddressPolicy fetch_policy_;
  SignInGuard sign_in_guard_;
  std::once_flag dummy_hash_once_;
  std::string dummy_hash_;
  std::mutex fetch_mu_;
  std::unordered_map<int64_t, int> fetches_by_user_;
  int fetches_ = 0;
  std::mutex upload_mu_;
  // Per user: (when, bytes) of the uploads of the last 24 hours, oldest first.
  std::unordered_map<int64_t,
                     std::deque<std::pair<std::chrono::steady_clock::time_point, uint64_t>>>
      uploads_by_user_;
  std::mutex metrics_mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;

  struct CachedUser {
    store::User user;
    std::chrono::steady_clock::time_point until;
  };
  std::mutex cache_mu_;
  std::unordered_map<std::string, CachedUser> token_cache_;
  std::vector<store::Worker> online_;
  // GET /builds/{id} answers, valid while the coordinator's version stays (and for at most a
  // second, for changes made by other processes such as `kiln user del`).
  struct RenderedBuild {
    uint64_t version = 0;
    std::chrono::steady_clock::time_point until;
    int64_t owner_id = 0;
    std::string body;
  };
  std::unordered_map<int64_t, RenderedBuild> rendered_;
  size_t rendered_bytes_ = 0;  // of their bodies: the cache is emptied past kRenderedBytes
  std::chrono::steady_clock::time_point online_until_;
};

}  // namespace kiln::server
