// New builds: a JSON request, a multipart form (fields, the kickstart or imagebuild.conf,
// the files they include, .deb uploads), a batch of many in one transaction; and kickstart
// validation. Every spec passes the same checks (PrepareBuild) before it is stored.
#include <netdb.h>

#include <algorithm>
#include <charconv>

#include "core/build_spec_json.h"
#include "core/grammar.h"
#include "core/sha256.h"
#include "core/text.h"
#include "server/handlers.h"
#include "server/multipart.h"
#include "spec/spec_builder.h"
#include "sys/files.h"

namespace kiln::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The most build requests one POST /api/v1/builds/batch takes.
constexpr size_t kMaxBatch = 1000;

// A .deb file sent with a multipart submit: where the server will keep it (by its SHA-256)
// and its bytes, written only once the request is accepted.
struct Upload {
  PackageFile file;
  std::string data;
};

// The host of a URL ("https://u:p@[::1]:8443/x" -> "::1"), and whether it names credentials.
std::string UrlHost(std::string_view url, bool& credentials) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  std::string_view rest = url.substr(start);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  credentials = at != std::string_view::npos;
  if (credentials) authority = authority.substr(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    return std::string(authority.substr(1, authority.find(']') - 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

}  // namespace

std::optional<HttpResponse> RefuseUnsendableUrl(RequestContext& ctx, std::string_view field,
                                                const std::string& url, bool address_policy) {
  bool credentials = false;
  std::string host = UrlHost(url, credentials);
  if (credentials) {
    return Error(422, "credentials-in-url",
                 std::string(field) + ": '" + Printable(url) + "' carries credentials",
                 "leave them out: the server's config holds the credentials for its targets");
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (!address_policy || getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) {
    return std::nullopt;
  }
  std::string why = ctx.api.fetch_policy().Refusal(found->ai_addr);
  freeaddrinfo(found);
  if (why.empty()) return std::nullopt;
  return Error(422, "address-refused",
               std::string(field) + ": '" + Printable(url) + "' is a " + why +
                   " address, which this server does not send to",
               "give a public address, or ask the server's admin ([fetch] allow)");
}

namespace {

// Webhooks and staging URLs are used by the master itself (RefuseUnsendableUrl): both under
// the address policy (a file:/// target has no host to check).
std::optional<HttpResponse> RefuseUnsendableTargets(RequestContext& ctx, const BuildSpec& spec) {
  for (const std::string& hook : spec.notify.webhook) {
    if (auto refused = RefuseUnsendableUrl(ctx, "notify.webhook", hook, true)) return refused;
  }
  for (const std::string& target : spec.staging) {
    if (auto refused = RefuseUnsendableUrl(ctx, "staging", target, true)) return refused;
    if (std::string why = delivery::StagingRefusal(ctx.options.staging, target); !why.empty()) {
      return Error(422, "staging-refused", "staging: '" + Printable(target) + "': " + why,
                   "ask the server's admin which targets it stages to");
    }
  }
  return std::nullopt;
}

// Where a build's e-mails and webhook calls go: the request's, and the owner's own settings
// (their address, their webhooks), unless they opted out of e-mail (said in `diags`).
nlohmann::json DeliveryTargets(const BuildSpec& spec, const store::NotifySettings& mine,
                               Diagnostics& diags) {
  std::vector<std::string> email = spec.notify.email, webhook = spec.notify.webhook;
  auto add = [](std::vector<std::string>& to, const std::string& value) {
    if (!value.empty() && std::find(to.begin(), to.end(), value) == to.end()) to.push_back(value);
  };
  add(email, mine.email);
  for (const std::string& hook : mine.webhooks) add(webhook, hook);
  if (mine.email_opt_out && !email.empty()) {
    if (!spec.notify.email.empty()) {
      diags.Warning({"request"},
                    "notify.email: you opted out of e-mail, so this build e-mails no one",
                    "turn e-mail back on in your settings (/settings) to be told");
    }
    email.clear();
  }
  // Only the kinds it has: the outbox's triggers skip a kind that is not a key (deliveries.cc).
  json targets = json::object();
  if (!email.empty()) targets["email"] = email;
  if (!webhook.empty()) targets["webhook"] = webhook;
  if (!spec.staging.empty()) targets["staging"] = spec.staging;
  return targets;
}

// A build's accepted and ended messages to each address count against its owner's daily
// limit (the server's [smtp] daily_limit_per_user), with those of the rest of the request.
std::optional<HttpResponse> RefuseOverEmailLimit(RequestContext& ctx, const json& targets) {
  int64_t limit = ctx.options.email_daily_limit;
  if (limit <= 0 || !targets.contains("email")) return std::nullopt;
  int64_t messages = 2 * static_cast<int64_t>(targets["email"].size());
  int64_t sent = ctx.store().CountEmailsSince(ctx.caller->user.id, ctx.co.NowMs() - 86'400'000);
  if (sent + ctx.planned_emails + messages > limit) {
    return Error(429, "email-limit",
                 "this build's " + std::to_string(messages) + " e-mails would take you past " +
                     std::to_string(limit) +
                     " in 24 hours (your builds of the last 24 hours "
                     "send " +
                     std::to_string(sent) + ")",
                 "submit it without notify.email (or opt out in your settings), or wait; the "
                 "server's admin sets the limit ([smtp] daily_limit_per_user)");
  }
  ctx.planned_emails += messages;
  return std::nullopt;
}

// The checks every submitted spec passes and the store row it becomes; an error answer
// if it is refused. `key`: the Idempotency-Key it is submitted under (may be empty).
// `spec`'s kickstart goes into `nb` (moved, not copied: it can be large). `diags` gets what
// the caller should be told (warnings).
std::optional<HttpResponse> PrepareBuild(RequestContext& ctx, BuildSpec& spec, std::string_view key,
                                         store::NewBuild& nb, Diagnostics& diags,
                                         const std::vector<Upload>& uploads = {}) {
  if (!CanBuild(spec.type)) {
    return Error(422, "type-not-supported",
                 "kiln cannot build " + std::string(ToString(spec.type)) +
                     " images yet: this version builds " + BuildableTypesText() + " images",
                 "ask for type live (a live ISO), raw or qcow2 (a bootable disk) or tar");
  }
  if (spec.script_network == "outbound" && ctx.options.script_network != "outbound") {
    return Error(422, "script-network-forbidden",
                 "script_network: this server gives %post scripts no network (it runs with "
                 "--script-network none), and the request asks for outbound",
                 "leave script_network out, or ask the server's admin for outbound");
  }
  if (std::string local = LocalSourceIn(spec); !local.empty()) {
    return Error(422, "invalid-request",
                 "package source '" + local + "' is not an http(s) or ftp URL",
                 "the server builds only from network mirrors and repositories");
  }
  // Package files come from the network or are this request's uploads (whose paths only
  // the server makes), never from another path on the server.
  for (const PackageFile& f : spec.package_files) {
    bool uploaded = std::any_of(uploads.begin(), uploads.end(),
                                [&f](const Upload& u) { return u.file.source == f.source; });
    if (!uploaded && (!spec::IsUrl(f.source) || StartsWith(f.source, "file:"))) {
      return Error(422, "invalid-request",
                   "package file '" + f.name + "' must be an http(s) or ftp URL or an upload",
                   "upload the .deb as a multipart 'package' part");
    }
  }
  if (std::optional<HttpResponse> refused = RefuseUnsendableTargets(ctx, spec)) return refused;
  int priority = 0;
  if (auto p = ctx.req.Query("priority")) {
    std::optional<int64_t> v;
    int64_t parsed = 0;
    auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), parsed);
    if (ec == std::errc() && end == p->data() + p->size() && parsed >= -100 && parsed <= 100) {
      v = parsed;
    }
    if (!v) return Error(400, "bad-priority", "priority must be an integer from -100 to 100");
    if (*v > 0 && !ctx.caller->admin()) {
      return Error(403, "forbidden", "only admins may raise a build's priority",
                   "leave priority out, or use a negative one");
    }
    priority = static_cast<int>(*v);
  }
  std::optional<std::string> dry = ctx.req.Query("dry_run");
  if (dry && *dry != "1" && *dry != "true" && *dry != "0" && *dry != "false") {
    return Error(400, "bad-dry-run", "dry_run must be 1/true or 0/false");
  }
  nb.owner_id = ctx.caller->user.id;
  nb.type = std::string(ToString(spec.type));
  nb.arch = std::string(ToString(spec.arch));
  nb.release = spec.release;
  nb.name = spec.name;
  nb.priority = priority;
  nb.idempotency_key = std::string(key);
  json targets = DeliveryTargets(spec, ctx.caller->user.notify, diags);
  if (std::optional<HttpResponse> refused = RefuseOverEmailLimit(ctx, targets)) return refused;
  nb.targets_json = targets.dump();
  json spec_json = BuildSpecToJson(std::move(spec));
  nb.dry_run = dry && (*dry == "1" || *dry == "true");
  if (nb.dry_run) spec_json["dry_run"] = true;  // what the worker reads
  nb.spec_json = spec_json.dump();
  nb.spec_hash = Sha256Hex(nb.spec_json);
  return std::nullopt;
}

// A .deb is an ar(1) archive ("!<arch>\n") whose first member is "debian-binary"
// (deb(5)): a file that is not one is refused at the submit, not found out on the build host.
bool LooksLikeDeb(std::string_view data) {
  constexpr std::string_view kMagic = "!<arch>\n", kFirst = "debian-binary";
  return data.size() >= kMagic.size() + 60 && data.substr(0, kMagic.size()) == kMagic &&
         data.substr(kMagic.size(), kFirst.size()) == kFirst;
}

// `uploads`: the request's .deb files, added to the spec's package files and written to the
// upload area only once the request passed every check.
HttpResponse SubmitSpecWith(RequestContext& ctx, BuildSpec spec, Diagnostics diags,
                            const std::vector<Upload>& uploads = {}) {
  std::string_view key = ctx.req.Header("idempotency-key");
  if (key.size() > 200) return Error(400, "bad-idempotency-key", "Idempotency-Key is too long");
  for (const Upload& u : uploads) spec.package_files.push_back(u.file);
  store::NewBuild nb;
  if (std::optional<HttpResponse> refused = PrepareBuild(ctx, spec, key, nb, diags, uploads)) {
    return *refused;
  }
  uint64_t new_bytes = 0;
  for (const Upload& u : uploads) {
    std::error_code ec;
    if (!fs::exists(u.file.source, ec)) new_bytes += u.data.size();
  }
  if (new_bytes > 0 && !ctx.api.TakeUploadQuota(ctx.caller->user.id, new_bytes)) {
    return Error(413, "upload-quota-exceeded",
                 "these uploads would take you past " +
                     std::to_string(ctx.options.upload_quota_bytes >> 20) +
                     " MiB of new .deb files on this server in 24 hours",
                 "build from a repository (a URL) instead, or ask the server's admin "
                 "(--upload-quota-mib)");
  }
  for (const Upload& u : uploads) {
    std::error_code ec;
    if (fs::exists(u.file.source, ec)) continue;  // content-addressed: the same bytes
    fs::create_directories(ctx.co.UploadDir(), ec);
    if (!sys::WriteFileAtomic(u.file.source, u.data)) {
      return Error(507, "upload-failed", "the server cannot store " + u.file.name,
                   "retry later; the server's disk may be full");
    }
  }
  store::SubmitResult r = ctx.co.Submit(nb);
  if (ctx.options.on_submit) ctx.options.on_submit();
  // The answer: the build as stored, with its spec; a new build's is the one just stored
  // (read back, it would be held twice), an existing one's is read with it.
  bool created = r.outcome == store::SubmitOutcome::kCreated;
  std::optional<store::Build> b =
      created ? ctx.store().GetBuild(r.id) : ctx.store().GetBuildWithSpec(r.id);
  std::string spec_json = created ? std::move(nb.spec_json) : std::move(b->spec_json);
  json body = BuildJson(ctx, *b, true, /*place=*/false);
  body["warnings"] = DiagnosticsJson(diags);
  switch (r.outcome) {
    case store::SubmitOutcome::kCreated:
      body["message"] = "build " + std::to_string(r.id) + " queued";
      break;
    case store::SubmitOutcome::kSameIdempotencyKey:
      body["message"] = "this Idempotency-Key already made build " + std::to_string(r.id);
      break;
    case store::SubmitOutcome::kAttachedToInFlight:
      body["message"] = "an identical build is in progress: build " + std::to_string(r.id);
      break;
  }
  HttpResponse resp = WithSpec(Json(created ? 201 : 200, body), std::move(spec_json));
  resp.Set("Location", "/api/v1/builds/" + std::to_string(r.id));
  return resp;
}

HttpResponse SubmitJson(RequestContext& ctx) {
  NetworkOnlyResolver resolver(ctx.Fetching(), ctx.req.may_block);
  Diagnostics diags;
  std::optional<BuildSpec> spec = spec::SpecFromJson(ctx.TakeBody(), "request", resolver, diags);
  if (resolver.needed_network) return OnSlowPool();
  if (resolver.busy) return TooManyFetches();
  if (!spec) {
    return Error(422, "invalid-request", "the build request has errors",
                 "fix the listed problems and submit again", DiagnosticsJson(diags));
  }
  return SubmitSpecWith(ctx, std::move(*spec), std::move(diags));
}

// multipart/form-data: request fields as form fields, the kickstart as a file (or text)
// field "kickstart", .deb files as "package" parts.
HttpResponse SubmitMultipart(RequestContext& ctx, std::string_view boundary) {
  std::vector<FormPart> parts;
  if (Status parsed = ParseMultipart(ctx.req.body, boundary, parts); !parsed.ok()) {
    return Error(400, "bad-multipart", parsed.message());
  }
  spec::RequestFields fields;
  std::string kickstart, kickstart_name = "kickstart", kickstart_url;
  std::optional<std::string> config;
  std::string config_name = "imagebuild.conf";
  SentFilesResolver resolver(ctx.Fetching());
  std::vector<Upload> uploads;
  for (FormPart& part : parts) {
    const std::string& n = part.name;
    if (n == "kickstart") {
      kickstart = std::move(part.data);
      if (!part.filename.empty()) kickstart_name = part.filename;
    } else if (n == "config") {
      config = std::move(part.data);
      if (!part.filename.empty()) config_name = part.filename;
    } else if (n == "include") {
      if (part.filename.empty()) {
        return Error(422, "invalid-request", "an 'include' part needs a file name",
                     "name it as the kickstart or imagebuild.conf refers to it");
      }
      resolver.Add(part.filename, std::move(part.data));
    } else if (n == "kickstart_url") {
      kickstart_url = part.data;
    } else if (const RequestField* text = FindRequestField(n); text != nullptr && text->text) {
      fields.*(text->text) = part.data;
    } else if (n == "extra_packages") {
      std::string name(Trim(part.data));
      if (EndsWith(name, ".deb") && !spec::IsUrl(name)) {
        return Error(422, "invalid-request",
                     "extra package '" + name + "' is a file name: upload it as a 'package' part");
      }
      fields.extra_packages.push_back(name);
    } else if (const RequestField* list = FindRequestField(n); list != nullptr && list->list) {
      (fields.*(list->list)).push_back(part.data);
    } else if (n == "package") {
      std::string name = fs::path(part.filename).filename().string();
      if (!EndsWith(name, ".deb") || !IsPlainFileName(name)) {
        return Error(422, "invalid-request",
                     "uploaded package '" + part.filename + "' must be a .deb file");
      }
      if (!LooksLikeDeb(part.data)) {
        return Error(422, "not-a-deb",
                     "uploaded package '" + name +
                         "' is not a Debian package (a .deb is an ar "
                         "archive whose first member is debian-binary)",
                     "upload the file dpkg-deb --build made, or name the package instead");
      }
      Upload u;
      u.file.name = name;
      u.file.sha256 = Sha256Hex(part.data);
      u.file.source = (ctx.co.UploadDir() / (u.file.sha256 + ".deb")).string();
      u.data = std::move(part.data);
      uploads.push_back(std::move(u));
    } else {
      return Error(422, "invalid-request", "unknown form field '" + n + "'",
                   "see docs/openapi.yaml for the fields");
    }
  }
  Diagnostics diags;
  std::optional<BuildSpec> spec;
  if (config && (!kickstart.empty() || !kickstart_url.empty())) {
    return Error(422, "invalid-request",
                 "send either an imagebuild.conf ('config') or a kickstart, not both",
                 "the conf names its kickstart with config=");
  }
  if (config) {
    spec = spec::SpecFromImagebuildConfText(*config, config_name, fields, resolver, diags);
  } else if (!kickstart.empty()) {
    spec = spec::SpecFromKickstartText(kickstart, kickstart_name, fields, resolver, diags);
  } else if (!kickstart_url.empty()) {
    spec = spec::SpecFromKickstart(kickstart_url, fields, resolver, diags);
  } else {
    spec = spec::SpecFromKickstartText("", "defaults", fields, resolver, diags);
  }
  if (resolver.network.busy) return TooManyFetches();
  if (!spec) {
    return Error(422, "invalid-request", "the build request has errors",
                 "fix the listed problems and submit again", DiagnosticsJson(diags));
  }
  return SubmitSpecWith(ctx, std::move(*spec), std::move(diags), uploads);
}

}  // namespace

HttpResponse SubmitSpec(RequestContext& ctx, BuildSpec spec, const Diagnostics& diags) {
  return SubmitSpecWith(ctx, std::move(spec), diags);
}

HttpResponse SubmitBuild(RequestContext& ctx) {
  std::string_view type = ctx.req.Header("content-type");
  std::string boundary = MultipartBoundary(type);
  if (!boundary.empty()) return SubmitMultipart(ctx, boundary);
  if (!type.empty() && !StartsWith(type, "application/json")) {
    return Error(415, "unsupported-media-type",
                 "send the build request as application/json or multipart/form-data",
                 "see docs/openapi.yaml");
  }
  return SubmitJson(ctx);
}

// Many builds in one request (a matrix of arches and releases, a load test): one
// transaction and one answer for all. All or nothing: if any request is refused, none is
// queued and the error names its index. An Idempotency-Key covers the whole batch (each
// build gets KEY#INDEX), so a retried batch answers the builds it made the first time.
HttpResponse SubmitBatch(RequestContext& ctx) {
  std::string_view type = ctx.req.Header("content-type");
  if (!type.empty() && !StartsWith(type, "application/json")) {
    return Error(415, "unsupported-media-type", "send the batch as application/json",
                 "see docs/openapi.yaml");
  }
  json body;
  if (std::optional<HttpResponse> bad = ctx.BodyJson(body)) return *bad;
  if (!body.is_object() || !body.contains("builds") || !body["builds"].is_array()) {
    return Error(400, "bad-json", "the body must be {\"builds\": [build request, ...]}",
                 "each element is what POST /api/v1/builds takes as JSON");
  }
  const json& items = body["builds"];
  if (items.empty() || items.size() > kMaxBatch) {
    return Error(400, "bad-batch",
                 "a batch holds 1 to " + std::to_string(kMaxBatch) + " build requests, not " +
                     std::to_string(items.size()),
                 "split it into several requests");
  }
  std::string_view key = ctx.req.Header("idempotency-key");
  if (key.size() > 180) return Error(400, "bad-idempotency-key", "Idempotency-Key is too long");
  // Failures keep the single submit's code and message, with the request's place.
  auto at = [](size_t index, HttpResponse refused) {
    json e = json::parse(refused.body, nullptr, false);
    if (e.is_object() && e.contains("error") && e["error"].is_object()) {
      e["error"]["index"] = index;
      e["error"]["message"] =
          "builds[" + std::to_string(index) + "]: " + e["error"].value("message", std::string());
      refused.body = e.dump();
    }
    return refused;
  };
  std::vector<store::NewBuild> builds(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) {
      return at(i, Error(400, "bad-json", "a build request is a JSON object"));
    }
    NetworkOnlyResolver resolver(ctx.Fetching(), ctx.req.may_block);
    Diagnostics diags;
    std::string name = "builds[" + std::to_string(i) + "]";
    std::optional<BuildSpec> spec = spec::SpecFromJson(items[i].dump(), name, resolver, diags);
    if (resolver.needed_network) return OnSlowPool();
    if (resolver.busy) return TooManyFetches();
    if (!spec) {
      return at(
          i, Error(422, "invalid-request", "the build request has errors",
                   "fix the listed problems and submit the batch again", DiagnosticsJson(diags)));
    }
    std::string item_key = key.empty() ? std::string() : std::string(key) + "#" + std::to_string(i);
    if (std::optional<HttpResponse> refused =
            PrepareBuild(ctx, *spec, item_key, builds[i], diags)) {
      return at(i, *refused);
    }
  }
  std::vector<store::SubmitResult> results = ctx.co.SubmitMany(builds);
  if (ctx.options.on_submit) ctx.options.on_submit();
  json out = json::array();
  size_t created = 0;
  for (const store::SubmitResult& r : results) {
    const char* outcome = r.outcome == store::SubmitOutcome::kCreated ? "created"
                          : r.outcome == store::SubmitOutcome::kSameIdempotencyKey
                              ? "same-idempotency-key"
                              : "attached-to-in-flight";
    created += r.outcome == store::SubmitOutcome::kCreated;
    out.push_back(
        {{"id", r.id}, {"outcome", outcome}, {"url", "/api/v1/builds/" + std::to_string(r.id)}});
  }
  return Json(created > 0 ? 201 : 200,
              {{"builds", out},
               {"message", std::to_string(created) + " of " + std::to_string(results.size()) +
                               " builds queued"}});
}

// The kickstart's (or JSON request's) problems at their lines, and the spec it makes.
HttpResponse ValidateKickstart(RequestContext& ctx) {
  NetworkOnlyResolver resolver(ctx.Fetching());
  Diagnostics diags;
  std::optional<BuildSpec> spec;
  std::string_view type = ctx.req.Header("content-type");
  if (StartsWith(type, "application/json")) {
    spec = spec::SpecFromJson(ctx.TakeBody(), "request", resolver, diags);
  } else {
    spec = spec::SpecFromKickstartText(ctx.TakeBody(), "kickstart", {}, resolver, diags);
  }
  if (resolver.busy) return TooManyFetches();
  json body = {{"valid", spec.has_value() && !diags.HasErrors()},
               {"errors", diags.ErrorCount()},
               {"warnings", diags.WarningCount()},
               {"diagnostics", DiagnosticsJson(diags)}};
  if (spec) body["spec"] = BuildSpecToJson(std::move(*spec));
  return Json(200, body);
}

}  // namespace kiln::server
