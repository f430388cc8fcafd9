#include "server/handlers.h"

#include <charconv>
#include <ctime>

#include "auth/credentials.h"
#include "core/text.h"
#include "core/untrusted_json.h"

namespace kiln::server {
using nlohmann::json;

namespace {

std::string CookieValue(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    size_t semi = cookies.find(';');
    std::string_view part = Trim(cookies.substr(0, semi));
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    if (semi == std::string_view::npos) break;
    cookies = cookies.substr(semi + 1);
  }
  return {};
}

// The seed's /rest client sends its token only as HTTP Basic credentials (USER:TOKEN in its
// API_URL). They are taken there alone, and a change only as JSON: a browser that was once
// given them sends them with any request, but no page of another site can send a JSON body
// without asking (CORS), and kiln never asks a browser for Basic credentials.
std::optional<HttpResponse> RefuseBasicCredentials(const HttpRequest& req) {
  if (req.path != "/rest") {
    return Error(401, "unauthorized",
                 "Basic credentials are taken only by the seed's /rest; send 'Authorization: "
                 "Bearer TOKEN'",
                 "create a token with `kiln token create`");
  }
  bool safe = req.method == "GET" || req.method == "HEAD";
  if (!safe && !StartsWith(ToLower(req.Header("content-type")), "application/json")) {
    return Error(415, "json-only", "with Basic credentials, /rest takes only application/json",
                 "send Content-Type: application/json, as the seed's build_rest.py does");
  }
  return std::nullopt;
}

}  // namespace

std::string SessionCookie(const HttpRequest& req) {
  return CookieValue(req.Header("cookie"), "kiln_session");
}

std::optional<HttpResponse> RequestContext::Authenticate() {
  std::string_view auth = req.Header("authorization");
  int64_t now = co.NowMs();
  if (!auth.empty()) {
    std::string token, basic_user;
    if (std::optional<auth::BasicCredentials> basic = auth::ParseBasicAuthorization(auth)) {
      if (std::optional<HttpResponse> refused = RefuseBasicCredentials(req)) return refused;
      token = std::move(basic->password);
      basic_user = std::move(basic->user);
    } else if (auth.size() >= 8 && ToLower(auth.substr(0, 7)) == "bearer ") {
      token = Trim(auth.substr(7));
    } else {
      return Error(401, "unauthorized", "the Authorization header must be 'Bearer TOKEN'",
                   "create a token with `kiln token create`");
    }
    std::optional<store::User> u = api.TokenUser(token);
    if (!u || (!basic_user.empty() && basic_user != u->name)) {
      return Error(401, "unauthorized",
                   u ? "the token is not " + Printable(basic_user) + "'s"
                     : "the token is not valid (unknown or revoked)",
                   "create a new one with `kiln token create`");
    }
    caller = Api::Caller{*u, false, ""};
    return std::nullopt;
  }
  std::string session = SessionCookie(req);
  if (!session.empty()) {
    auto s = store().UserForSession(auth::SecretHash(session), now);
    if (s) {
      caller = Api::Caller{s->user, true, s->csrf};
      // A browser session may only change things with the CSRF token the page got.
      bool safe = req.method == "GET" || req.method == "HEAD";
      if (!safe && !auth::SecretsEqual(req.Header("x-csrf-token"), s->csrf)) {
        return Error(403, "csrf", "missing or wrong X-CSRF-Token header for this session",
                     "send the csrf_token the sign-in answered");
      }
      return std::nullopt;
    }
  }
  HttpResponse r = Error(401, "unauthorized", "sign in or send 'Authorization: Bearer TOKEN'",
                         "an admin creates tokens with `kiln token create`");
  r.Set("WWW-Authenticate", "Bearer realm=\"kiln\"");
  return r;
}

std::optional<store::Build> RequestContext::VisibleBuild(HttpResponse& error, bool with_spec) {
  std::optional<int64_t> build_id = ParseId(id);
  std::optional<store::Build> b;
  if (build_id) {
    b = with_spec ? store().GetBuildWithSpec(*build_id) : store().GetBuild(*build_id);
  }
  if (!b || !(admin() || b->owner_id == caller->user.id)) {
    error = Error(404, "not-found", "no build " + std::string(id));
    return std::nullopt;
  }
  return b;
}

std::optional<HttpResponse> RequestContext::BodyJson(json& out) {
  std::string why;
  out = ParseUntrustedJson(req.body, &why);
  if (out.is_discarded()) return Error(400, "bad-json", "the body is " + why);
  return std::nullopt;
}

std::string RequestContext::TakeBody() {
  return taken_from != nullptr && req.may_block ? std::move(taken_from->body) : req.body;
}

std::string RequestContext::WorkerName() const {
  return caller && caller->user.role == Role::kWorker ? caller->user.name : "";
}

HttpResponse OnSlowPool() {
  HttpResponse r;
  r.status = kOnSlowPool;
  return r;
}

HttpResponse TooManyFetches() {
  HttpResponse r = Error(429, "too-many-fetches",
                         "the server is fetching too many URLs at once (for you, or for everyone)",
                         "retry in a few seconds");
  r.Set("Retry-After", "5");
  return r;
}

std::optional<int64_t> ParseId(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

json TimeOrNull(int64_t ms) { return ms > 0 ? json(IsoTimeMs(ms)) : json(nullptr); }

json DiagnosticsJson(const Diagnostics& diags) {
  json out = json::array();
  for (const Diagnostic& d : diags.items()) {
    json item = {{"severity", d.severity == Severity::kError ? "error" : "warning"},
                 {"file", d.where.file},
                 {"line", d.where.line},
                 {"message", d.message}};
    if (!d.hint.empty()) item["hint"] = d.hint;
    out.push_back(std::move(item));
  }
  return out;
}

std::string ClientAddress(const HttpRequest& req) {
  std::string_view forwarded = req.Header("x-forwarded-for");
  if (!IsLocalProxyAddress(req.remote) || forwarded.empty()) return req.remote;
  std::string_view last = forwarded.substr(forwarded.rfind(',') + 1);
  return std::string(Trim(last)).substr(0, 64);
}

}  // namespace kiln::server
