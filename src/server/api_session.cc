// Sessions and credentials: health, sign-in (rate-limited, timing-safe), who am I, sign-out,
// API and worker tokens, unlocking a user after failed sign-ins.
#include <iostream>

#include "auth/credentials.h"
#include "core/text.h"
#include "core/untrusted_json.h"
#include "server/handlers.h"
#include "server/tokens.h"

namespace kiln::server {
using nlohmann::json;

HttpResponse Health(RequestContext&) {
  return Json(200, {{"status", "ok"}, {"version", KILN_VERSION}});
}

// Who the caller is (the CLI's `kiln login` checks its token with this).
// A browser's page asks for its session's CSRF token here after a reload (the cookie is
// HttpOnly; no other site can read this answer: kiln sends no CORS headers).
HttpResponse WhoAmI(RequestContext& ctx) {
  json j = {{"user", ctx.caller->user.name},
            {"role", ToString(ctx.caller->user.role)},
            {"via", ctx.caller->via_session ? "session" : "token"}};
  if (ctx.caller->via_session) j["csrf_token"] = ctx.caller->csrf;
  HttpResponse r = Json(200, j);
  r.Set("Cache-Control", "no-store");
  return r;
}

HttpResponse SignOut(RequestContext& ctx) {
  std::string session = SessionCookie(ctx.req);
  if (!session.empty()) ctx.store().DeleteSession(auth::SecretHash(session));
  HttpResponse r = Json(200, {{"signed_out", true}});
  r.Set("Set-Cookie", "kiln_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return r;
}

// An admin issues a token: for a user, or for a build host (`kiln token create --worker`).
HttpResponse CreateToken(RequestContext& ctx) {
  json j;
  if (std::optional<HttpResponse> bad = ctx.BodyJson(j)) return *bad;
  if (!j.is_object()) return Error(400, "bad-json", "the body must be a JSON object");
  std::string label = StringField(j, "name");
  TokenRequest r{StringField(j, "user"), StringField(j, "worker"), label.empty() ? "api" : label};
  Result<IssuedToken> t = IssueToken(ctx.store(), r);
  if (!t.ok()) {
    bool not_found = t.status().code() == "not-found";
    return Error(not_found ? 404 : 422, not_found ? "no-such-user" : "invalid-request",
                 t.message());
  }
  return Json(201, {{"id", t->id},
                    {"user", t->user},
                    {"role", ToString(t->role)},
                    {"token", t->token},
                    {"message", "shown only now: the server keeps only its hash"}});
}

HttpResponse SignIn(RequestContext& ctx) {
  json j;
  if (std::optional<HttpResponse> bad = ctx.BodyJson(j)) return *bad;
  if (!j.is_object() || !j.contains("user") || !j["user"].is_string() || !j.contains("password") ||
      !j["password"].is_string()) {
    return Error(400, "bad-json", "send {\"user\": ..., \"password\": ...}");
  }
  std::string name = j["user"].get<std::string>();
  if (name.size() > 200) return Error(400, "bad-json", "that user name is too long");
  std::string address = ClientAddress(ctx.req);
  auto now = SignInGuard::Clock::now();
  SignInGuard& guard = ctx.api.sign_in_guard();
  if (auto wait = guard.Wait(name, address, now); wait.count() > 0) {
    long seconds =
        std::max<long>(1, static_cast<long>(std::chrono::ceil<std::chrono::seconds>(wait).count()));
    HttpResponse r = Error(429, "too-many-sign-ins",
                           "too many failed sign-ins for this user or from this address",
                           "try again in " + std::to_string(seconds) +
                               " s; an admin can unlock a user (kiln user unlock NAME)");
    r.Set("Retry-After", std::to_string(seconds));
    return r;
  }
  std::optional<store::User> u = ctx.store().FindUser(name);
  // An unknown user (or one without a password) costs the same hashing as a wrong password:
  // the answer's time does not tell which names exist.
  bool has_password = u && !u->password_hash.empty();
  bool ok = auth::VerifyPassword(has_password ? u->password_hash : ctx.api.DummyPasswordHash(),
                                 j["password"].get<std::string>()) &&
            has_password;
  if (!ok) {
    bool locked = guard.Failed(name, address, now);
    std::cerr << "kiln serve: sign-in failed for user '" + Printable(name) + "' from " + address +
                     (locked ? " (locked out for a while)" : "") + "\n";
    return Error(401, "bad-credentials", "wrong user name or password");
  }
  guard.Succeeded(name);
  if (u->disabled_ms > 0) {
    return Error(403, "user-disabled", "the account '" + u->name + "' is disabled",
                 "ask an admin to enable it");
  }
  std::string session = auth::NewSecret();
  std::string csrf = auth::NewSecret();
  int64_t expires = ctx.co.NowMs() + ctx.options.session_ttl_ms;
  ctx.store().AddSession(auth::SecretHash(session), u->id, csrf, expires);
  HttpResponse r =
      Json(200, {{"user", u->name}, {"role", ToString(u->role)}, {"csrf_token", csrf}});
  // Secure when the client reached us over TLS (through the proxy that terminates it).
  bool tls = ToLower(ctx.req.Header("x-forwarded-proto")) == "https";
  r.Set("Set-Cookie", "kiln_session=" + session + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                          std::to_string(ctx.options.session_ttl_ms / 1000) +
                          (tls ? "; Secure" : ""));
  return r;
}

// An admin forgets a user's failed sign-ins (after a lockout).
HttpResponse UnlockUser(RequestContext& ctx) {
  std::string user(ctx.name);
  if (!ctx.store().FindUser(user)) return Error(404, "no-such-user", "no user '" + user + "'");
  bool was_locked = ctx.api.sign_in_guard().Clear(user);
  return Json(200, {{"user", user}, {"unlocked", was_locked}});
}

}  // namespace kiln::server
