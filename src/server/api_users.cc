// Administration over the API (the web UI's admin page; `kiln user` and `kiln token` do the
// same on the master's database): users — list, add, disable, enable, delete — and tokens —
// list, revoke. Creating a token is in api_session.cc (it predates this file).
#include "auth/credentials.h"
#include "core/text.h"
#include "core/untrusted_json.h"
#include "server/handlers.h"
#include "server/tokens.h"

namespace kiln::server {
using nlohmann::json;

namespace {

json UserJson(const store::User& u, size_t tokens) {
  return {{"name", u.name},
          {"role", ToString(u.role)},
          {"created_at", TimeOrNull(u.created_ms)},
          {"disabled_at", TimeOrNull(u.disabled_ms)},
          {"password", !u.password_hash.empty()},
          {"tokens", tokens}};
}

}  // namespace

HttpResponse ListUsers(RequestContext& ctx) {
  std::map<int64_t, size_t> tokens;
  for (const store::Token& t : ctx.store().ListTokens(std::nullopt)) ++tokens[t.user_id];
  json list = json::array();
  for (const store::User& u : ctx.store().ListUsers()) list.push_back(UserJson(u, tokens[u.id]));
  return Json(200, {{"users", list}});
}

HttpResponse AddUser(RequestContext& ctx) {
  json j;
  if (std::optional<HttpResponse> bad = ctx.BodyJson(j)) return *bad;
  if (!j.is_object()) return Error(400, "bad-json", "send {\"name\": ..., \"role\": ...}");
  std::string name = StringField(j, "name");
  std::string role_text = StringField(j, "role");
  std::string password = StringField(j, "password");
  if (!ValidUserName(name)) {
    return Error(422, "bad-name", "'" + Printable(name) + "' is not a valid user name",
                 "letters, digits, '-', '_' and '.'; up to 64");
  }
  std::optional<Role> role = role_text.empty() ? Role::kUser : ParseRole(role_text);
  if (!role || *role == Role::kWorker) {
    return Error(422, "bad-role", "role must be user or admin",
                 "a build host's user is made with its token (kiln token create --worker)");
  }
  if (!password.empty() && password.size() < 8) {
    return Error(422, "weak-password", "the password must have at least 8 characters");
  }
  if (ctx.store().FindUser(name)) {
    return Error(409, "user-exists", "user '" + name + "' exists already");
  }
  std::string hash = password.empty() ? "" : auth::HashPassword(password);
  ctx.store().AddUser(name, *role, hash);
  std::optional<store::User> u = ctx.store().FindUser(name);
  if (!u) return Error(500, "internal", "the new user was not stored");
  return Json(201, UserJson(*u, 0));
}

// POST /api/v1/users/{name}/disable and /enable.
static HttpResponse SetDisabled(RequestContext& ctx, bool disabled) {
  std::string name(ctx.name);
  if (disabled && name == ctx.caller->user.name) {
    return Error(409, "own-account", "you cannot disable your own account",
                 "another admin can, if it must be");
  }
  if (!ctx.store().SetUserDisabled(name, disabled)) {
    return Error(404, "no-such-user", "no user '" + Printable(name) + "'");
  }
  ctx.api.ForgetCachedTokens();
  std::optional<store::User> u = ctx.store().FindUser(name);
  return Json(200, UserJson(*u, ctx.store().ListTokens(u->id).size()));
}

HttpResponse DisableUser(RequestContext& ctx) { return SetDisabled(ctx, true); }
HttpResponse EnableUser(RequestContext& ctx) { return SetDisabled(ctx, false); }

HttpResponse DeleteUser(RequestContext& ctx) {
  std::string name(ctx.name);
  if (name == ctx.caller->user.name) {
    return Error(409, "own-account", "you cannot delete your own account");
  }
  std::optional<std::string> with = ctx.req.Query("with_builds");
  bool with_builds = with && (*with == "1" || *with == "true");
  switch (ctx.store().DeleteUser(name, with_builds)) {
    case store::Store::DeleteUserResult::kNotFound:
      return Error(404, "no-such-user", "no user '" + Printable(name) + "'");
    case store::Store::DeleteUserResult::kHasBuilds:
      return Error(409, "user-has-builds", "user '" + name + "' owns builds",
                   "disable the user instead, or delete with ?with_builds=1 (their builds go too)");
    case store::Store::DeleteUserResult::kDeleted:
      break;
  }
  ctx.api.ForgetCachedTokens();
  return Json(200, {{"deleted", name}});
}

HttpResponse ListTokens(RequestContext& ctx) {
  std::map<int64_t, store::User> users;
  for (store::User& u : ctx.store().ListUsers()) users[u.id] = std::move(u);
  json list = json::array();
  for (const store::Token& t : ctx.store().ListTokens(std::nullopt)) {
    const store::User& u = users[t.user_id];
    list.push_back({{"id", t.id},
                    {"user", u.name},
                    {"role", ToString(u.role)},
                    {"name", t.name},
                    {"created_at", TimeOrNull(t.created_ms)},
                    {"last_used_at", TimeOrNull(t.last_used_ms)}});
  }
  return Json(200, {{"tokens", list}});
}

HttpResponse RevokeToken(RequestContext& ctx) {
  std::optional<int64_t> id = ParseId(ctx.id);
  if (!id || !ctx.store().RevokeToken(*id)) {
    return Error(404, "no-such-token", "no live token " + std::string(ctx.id));
  }
  ctx.api.ForgetCachedTokens();
  return Json(200, {{"revoked", *id}});
}

}  // namespace kiln::server
