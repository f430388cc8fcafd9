// The caller's own settings: what the master sends for every build of theirs (an address of
// their own, an opt-out of all e-mail, webhooks), and the secret their webhook calls are
// signed with. A submit adds them to what its request asks for (api_submit.cc).
#include "core/grammar.h"
#include "core/text.h"
#include "delivery/webhook.h"
#include "server/handlers.h"

namespace kiln::server {
using nlohmann::json;

namespace {

// How many webhooks one user may have called for every build.
constexpr size_t kMaxUserWebhooks = 5;

json SettingsJson(const store::NotifySettings& s) {
  return {{"email", s.email},
          {"email_opt_out", s.email_opt_out},
          {"webhooks", s.webhooks},
          {"limits", {{"webhooks", kMaxUserWebhooks}}}};
}

HttpResponse BadSetting(const std::string& field, const std::string& message,
                        const std::string& hint) {
  return Error(422, "bad-setting", field + ": " + message, hint);
}

// `j`'s fields applied to `s`: only those it names change.
std::optional<HttpResponse> ApplySettings(RequestContext& ctx, const json& j,
                                          store::NotifySettings& s) {
  for (const auto& [key, value] : j.items()) {
    if (key == "email") {
      if (!value.is_string()) return BadSetting(key, "must be a string", "\"\" removes it");
      std::string email = value.get<std::string>();
      if (!email.empty() && !IsEmailAddress(email)) {
        return BadSetting(key, "'" + Printable(email) + "' is not an e-mail address",
                          "write one address such as user@example.org");
      }
      s.email = email;
    } else if (key == "email_opt_out") {
      if (!value.is_boolean()) return BadSetting(key, "must be true or false", "");
      s.email_opt_out = value.get<bool>();
    } else if (key == "webhooks") {
      if (!value.is_array()) return BadSetting(key, "must be a list of URLs", "[] removes them");
      if (value.size() > kMaxUserWebhooks) {
        return BadSetting(key,
                          std::to_string(value.size()) + " URLs, more than the " +
                              std::to_string(kMaxUserWebhooks) + " a user may have",
                          "one receiver can fan out to more");
      }
      std::vector<std::string> hooks;
      for (const json& item : value) {
        if (!item.is_string()) return BadSetting(key, "must be a list of URLs", "");
        std::string why;
        std::optional<std::string> url =
            NormalizeUrl(item.get<std::string>(), {"http", "https"}, &why);
        if (!url) {
          return BadSetting(
              key, "'" + Printable(item.get<std::string>()) + "' is not a valid URL: " + why,
              "give an http or https URL");
        }
        if (auto refused = RefuseUnsendableUrl(ctx, "webhooks", *url, true)) return refused;
        if (std::find(hooks.begin(), hooks.end(), *url) == hooks.end()) hooks.push_back(*url);
      }
      s.webhooks = std::move(hooks);
    } else {
      return BadSetting(key, "unknown setting", "known: email, email_opt_out, webhooks");
    }
  }
  return std::nullopt;
}

}  // namespace

HttpResponse GetSettings(RequestContext& ctx) {
  HttpResponse r = Json(200, SettingsJson(ctx.caller->user.notify));
  r.Set("Cache-Control", "no-store");
  return r;
}

// PATCH: the fields the body names change, the others stay.
HttpResponse UpdateSettings(RequestContext& ctx) {
  json j;
  if (std::optional<HttpResponse> bad = ctx.BodyJson(j)) return *bad;
  if (!j.is_object()) {
    return Error(400, "bad-json", "send a JSON object such as {\"email_opt_out\": true}");
  }
  store::NotifySettings s = ctx.caller->user.notify;
  if (std::optional<HttpResponse> refused = ApplySettings(ctx, j, s)) return *refused;
  if (!ctx.store().SetNotifySettings(ctx.caller->user.id, s)) {
    return Error(404, "no-such-user", "your account is gone");
  }
  ctx.api.ForgetCachedTokens();  // the cached callers hold the old settings
  return Json(200, SettingsJson(s));
}

// The caller's webhook signing secret and how to check a delivery with it.
HttpResponse WebhookSecret(RequestContext& ctx) {
  if (ctx.options.webhook_secret.empty()) {
    return Error(503, "no-webhook-secret", "this master has no webhook secret",
                 "the server's log says why (its data directory could not be written)");
  }
  HttpResponse r = Json(
      200,
      {{"secret", delivery::UserWebhookSecret(ctx.options.webhook_secret, ctx.caller->user.name)},
       {"header", "X-Kiln-Signature"},
       {"scheme", "t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, UNIX_SECONDS + \".\" + body))"}});
  r.Set("Cache-Control", "no-store");
  return r;
}

}  // namespace kiln::server
