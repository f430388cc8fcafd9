// What the API's handlers share: the request's context (the caller, the path's {id} and
// {name}, the body), the answers and JSON pieces several resources use, and every handler,
// by the file that holds it. Only the API's own files include this (it brings in JSON).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/diagnostics.h"
#include "server/api.h"
#include "server/json_reply.h"
#include "server/request_resolvers.h"

namespace kiln::server {

struct Api::Caller {
  store::User user;
  bool via_session = false;
  std::string csrf;
  bool admin() const { return user.role == Role::kAdmin; }
};

// One request as its handler sees it.
struct RequestContext {
  Api& api;
  Coordinator& co;
  const ApiOptions& options;
  const HttpRequest& req;
  std::optional<Api::Caller> caller;  // set once Authenticate passed
  HttpRequest* taken_from = nullptr;  // `req`, when a handler may take its body over
  std::string_view id, name;          // the path's {id} and {name} segments
  int64_t planned_emails = 0;         // messages this request's builds will send (a batch's add up)

  store::Store& store() { return co.store(); }
  bool admin() const { return caller && caller->admin(); }

  // Bearer token or session cookie (with its CSRF token for changes): nullopt and `caller`
  // set if they are valid, else the answer (401, or 403 for a session without its CSRF).
  std::optional<HttpResponse> Authenticate();
  // The build named by {id} if the caller may see it; otherwise `error` is a 404 (not 403:
  // another user's build id says nothing about whether it exists). `with_spec`: read its
  // spec too (only its own page shows it).
  std::optional<store::Build> VisibleBuild(HttpResponse& error, bool with_spec = false);
  // The request's JSON body, or a 400 saying why it is none (not JSON, nested too deep).
  std::optional<HttpResponse> BodyJson(nlohmann::json& out);
  // The body for a handler that reads it once: taken over (its memory freed as soon as it is
  // parsed) on the request's last run, on the pool; a quick run may be run again there with
  // the same request, so it gets a copy (quick requests are small).
  std::string TakeBody();
  // How this request's resolvers fetch URLs: in the caller's fetch slots.
  FetchAccess Fetching() { return {&api, &options, caller ? caller->user.id : 0}; }
  // The worker name a worker token's calls are bound to; "" for an admin.
  std::string WorkerName() const;
};

inline HttpResponse Error(int status, std::string code, std::string message, std::string hint = {},
                          const nlohmann::json& details = nullptr) {
  return ErrorReply(status, std::move(code), std::move(message), std::move(hint), details);
}
inline HttpResponse Json(int status, const nlohmann::json& body) { return JsonReply(status, body); }
// "Run me again on the pool" (a handler on an I/O thread found it needs the network).
HttpResponse OnSlowPool();
// 429: no fetch slot was free.
HttpResponse TooManyFetches();

// A positive decimal id, or nullopt.
std::optional<int64_t> ParseId(std::string_view text);
// A time in ms since the epoch as ISO 8601 UTC with milliseconds, or null when unset (0).
nlohmann::json TimeOrNull(int64_t ms);
nlohmann::json DiagnosticsJson(const Diagnostics& diags);
// The client's address: the peer's, or, when the peer is this host's loopback (the TLS proxy
// in front of kiln, docs/tls.md), the address the proxy puts in X-Forwarded-For.
std::string ClientAddress(const HttpRequest& req);
// The browser session's secret from the request's cookie, or "".
std::string SessionCookie(const HttpRequest& req);

// A build as the API shows it (api_builds.cc). `detail`: with artifacts, links and the
// queue. `place`: a queued build's place in the queue (a count over the queue: the submit
// answer leaves it out, so that a burst of submits does not cost the square of the queue).
nlohmann::json BuildJson(RequestContext& ctx, const store::Build& b, bool detail,
                         bool place = true);

// ---- The handlers, by file (route_table.cc lists their routes).

// api_session.cc: health, sign-in and out, who am I, tokens, unlocking a user.
HttpResponse Health(RequestContext& ctx);
HttpResponse SignIn(RequestContext& ctx);
HttpResponse WhoAmI(RequestContext& ctx);
HttpResponse SignOut(RequestContext& ctx);
HttpResponse CreateToken(RequestContext& ctx);
HttpResponse UnlockUser(RequestContext& ctx);

// api_settings.cc: the caller's own notification settings and webhook secret.
HttpResponse GetSettings(RequestContext& ctx);
HttpResponse UpdateSettings(RequestContext& ctx);
HttpResponse WebhookSecret(RequestContext& ctx);

// api_users.cc: administration of users and tokens (admins).
HttpResponse ListUsers(RequestContext& ctx);
HttpResponse AddUser(RequestContext& ctx);
HttpResponse DisableUser(RequestContext& ctx);
HttpResponse EnableUser(RequestContext& ctx);
HttpResponse DeleteUser(RequestContext& ctx);
HttpResponse ListTokens(RequestContext& ctx);
HttpResponse RevokeToken(RequestContext& ctx);

// api_builds.cc: a user's builds.
HttpResponse ListBuilds(RequestContext& ctx);
HttpResponse GetBuild(RequestContext& ctx);
HttpResponse DeleteBuild(RequestContext& ctx);
HttpResponse CancelBuild(RequestContext& ctx);
HttpResponse RetryBuild(RequestContext& ctx);
HttpResponse DeliverAgain(RequestContext& ctx);
HttpResponse BuildLog(RequestContext& ctx);
HttpResponse BuildEvents(RequestContext& ctx);

// api_artifacts.cc: downloads (ranges, ETag, HEAD).
HttpResponse GetArtifact(RequestContext& ctx);

// api_submit.cc: new builds (JSON, multipart, batch) and kickstart validation.
HttpResponse SubmitBuild(RequestContext& ctx);
HttpResponse SubmitBatch(RequestContext& ctx);
HttpResponse ValidateKickstart(RequestContext& ctx);
// Refuses (422) a URL the master itself would send to that names credentials or, with
// `address_policy`, whose literal address the server's fetch policy refuses (loopback,
// private...). A host name is checked again where it resolves, at each send.
std::optional<HttpResponse> RefuseUnsendableUrl(RequestContext& ctx, std::string_view field,
                                                const std::string& url, bool address_policy);
// A spec a request made, checked and queued (api_rest.cc submits through it too).
HttpResponse SubmitSpec(RequestContext& ctx, BuildSpec spec, const Diagnostics& diags);

// api_rest.cc: the seed's /rest.
HttpResponse RestInfo(RequestContext& ctx);
HttpResponse SubmitRest(RequestContext& ctx);

// api_workers.cc: what users see of the workers: releases and the workers page.
HttpResponse Releases(RequestContext& ctx);
HttpResponse Workers(RequestContext& ctx);

// api_metrics.cc: Prometheus metrics.
HttpResponse Metrics(RequestContext& ctx);

// web_ui.cc: the web UI's pages and their files.
HttpResponse DashboardPage(RequestContext& ctx);
HttpResponse LoginPage(RequestContext& ctx);
HttpResponse NewBuildPage(RequestContext& ctx);
HttpResponse BuildPage(RequestContext& ctx);
HttpResponse WorkersPage(RequestContext& ctx);
HttpResponse SettingsPage(RequestContext& ctx);
HttpResponse AdminPage(RequestContext& ctx);
HttpResponse StaticFile(RequestContext& ctx);
// 303 to the sign-in page, which comes back to this request's page.
HttpResponse ToSignIn(const HttpRequest& req);

// worker_api.cc: the worker protocol.
HttpResponse WorkerRegister(RequestContext& ctx);
HttpResponse WorkerAlive(RequestContext& ctx);
HttpResponse WorkerClaimNext(RequestContext& ctx);
HttpResponse WorkerClaimMany(RequestContext& ctx);
HttpResponse WorkerFinishMany(RequestContext& ctx);
HttpResponse WorkerClaim(RequestContext& ctx);
HttpResponse WorkerHeartbeat(RequestContext& ctx);
HttpResponse WorkerEvents(RequestContext& ctx);
HttpResponse WorkerResult(RequestContext& ctx);
HttpResponse WorkerUploadStatus(RequestContext& ctx);
HttpResponse WorkerHandBack(RequestContext& ctx);
// A whole upload in one request's body (in-process callers; the server streams them).
HttpResponse WorkerUpload(RequestContext& ctx);

}  // namespace kiln::server
