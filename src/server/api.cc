#include "server/api.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "auth/credentials.h"
#include "core/build_spec_json.h"
#include "core/sha256.h"
#include "core/text.h"
#include "core/untrusted_json.h"
#include "server/json_reply.h"
#include "server/multipart.h"
#include "server/tokens.h"
#include "server/worker_api.h"
#include "spec/imagebuild_conf.h"
#include "spec/kickstart_loader.h"
#include "spec/kickstart_parser.h"
#include "spec/line_stream.h"
#include "spec/spec_builder.h"
#include "spec/typed_commands.h"
#include "store/sqlite.h"
#include "sys/files.h"

namespace kiln::server {
namespace fs = std::filesystem;
using nlohmann::json;

struct Api::Caller {
  store::User user;
  bool via_session = false;
  std::string csrf;
  bool admin() const { return user.role == Role::kAdmin; }
};

namespace {

HttpResponse Json(int status, const json& body) { return JsonReply(status, body); }

// "Run me again on the slow pool" (a quick handler found it needs the network).
HttpResponse OnSlowPool() {
  HttpResponse r;
  r.status = kOnSlowPool;
  return r;
}

// The most build requests one POST /api/v1/builds/batch takes.
constexpr size_t kMaxBatch = 1000;

HttpResponse Error(int status, std::string code, std::string message, std::string hint = {},
                   json details = nullptr) {
  return ErrorReply(status, std::move(code), std::move(message), std::move(hint), details);
}

std::string IsoTime(int64_t ms) {
  if (ms <= 0) return {};
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

json TimeOrNull(int64_t ms) { return ms > 0 ? json(IsoTime(ms)) : json(nullptr); }

std::optional<int64_t> ParseId(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

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

// The client's address: the peer's, or, when the peer is this host's loopback (the TLS proxy in
// front of kiln, docs/tls.md), the address the proxy puts in X-Forwarded-For.
std::string ClientAddress(const HttpRequest& req) {
  std::string_view forwarded = req.Header("x-forwarded-for");
  bool from_proxy = req.remote == "127.0.0.1" || req.remote == "::1";
  if (!from_proxy || forwarded.empty()) return req.remote;
  std::string_view last = forwarded.substr(forwarded.rfind(',') + 1);
  return std::string(Trim(last)).substr(0, 64);
}

// How one request's resolver fetches: the server's settings and the caller whose fetch slots
// it takes. A null `api`: nothing is fetched.
struct FetchAccess {
  Api* api = nullptr;
  const ApiOptions* options = nullptr;
  int64_t user_id = 0;
};

// The server reads kickstarts only from the request or from network URLs: never a path on
// its own disk (a "%include /etc/shadow" must not work), and a URL only where the address
// policy lets it connect (spec/fetch_policy.h), in a fetch slot of the caller's, all of one
// request's fetches within the fetch time limit.
class NetworkOnlyResolver : public spec::Resolver {
 public:
  // `may_block` false: a URL is not fetched but noted (needed_network), for a request that
  // runs on an I/O thread and goes to the slow pool if it needs the network after all.
  explicit NetworkOnlyResolver(FetchAccess access, bool may_block = true)
      : access_(access), may_block_(may_block) {}
  ~NetworkOnlyResolver() override {
    if (holding_slot_) access_.api->ReturnFetchSlot(access_.user_id);
  }
  NetworkOnlyResolver(const NetworkOnlyResolver&) = delete;
  NetworkOnlyResolver& operator=(const NetworkOnlyResolver&) = delete;

  size_t MaxTextBytes() const override {
    return access_.options != nullptr ? access_.options->kickstart_limit : 0;
  }

  bool needed_network = false;
  bool busy = false;  // no fetch slot was free: the request is answered 429
  bool Read(std::string_view ref, const spec::LoadedText* from, spec::LoadedText& out,
            std::string& error) override {
    std::string resolved = from != nullptr && !spec::IsUrl(ref)
                               ? spec::ResolveRelative(from->name, ref)
                               : std::string(ref);
    if (!spec::IsUrl(resolved) || StartsWith(resolved, "file:")) {
      error = "the server reads included files only from http, https or ftp URLs, not '" +
              std::string(ref) + "'; flatten the kickstart first (kiln ks flatten) or use a URL";
      return false;
    }
    if (access_.api == nullptr || !access_.options->fetch_urls) {
      error = "this server does not fetch URLs";
      return false;
    }
    if (!may_block_) {
      needed_network = true;
      error = "fetched on the slow pool";
      return false;
    }
    if (!holding_slot_) {
      if (!access_.api->TakeFetchSlot(access_.user_id)) {
        busy = true;
        error = "the server is fetching too many URLs at once; retry in a few seconds";
        return false;
      }
      holding_slot_ = true;
      deadline_ =
          std::chrono::steady_clock::now() + std::chrono::seconds(access_.options->fetch_timeout_s);
    }
    long left = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                      deadline_ - std::chrono::steady_clock::now())
                                      .count());
    if (left < 1) {
      error = "the request's URLs took longer than " +
              std::to_string(access_.options->fetch_timeout_s) + " s to fetch";
      return false;
    }
    // All files of one request together: a kickstart including one file many times must not
    // make the server hold many times the limit.
    size_t limit = access_.options->kickstart_limit;
    if (fetched_bytes_ >= 4 * limit) {
      error = "the request's included files add up to more than " +
              std::to_string(4 * limit >> 10) + " KiB";
      return false;
    }
    spec::FetchOptions fetch;
    fetch.total_timeout_s = left;
    fetch.connect_timeout_s = std::min(left, 10L);
    fetch.max_bytes = std::min(limit, 4 * limit - fetched_bytes_);
    fetch.policy = &access_.api->fetch_policy();
    spec::FileResolver files(fetch);
    if (!files.Read(resolved, from, out, error)) return false;
    fetched_bytes_ += out.text.size();
    return true;
  }

 private:
  FetchAccess access_;
  bool may_block_;
  bool holding_slot_ = false;
  std::chrono::steady_clock::time_point deadline_;
  size_t fetched_bytes_ = 0;
};

// The files a multipart submit carries (`kiln submit` sends the imagebuild.conf or kickstart
// with every local file it includes, each named as the client named it); anything else
// comes from the network as above.
class SentFilesResolver : public spec::Resolver {
 public:
  explicit SentFilesResolver(FetchAccess access) : network(access) {}
  size_t MaxTextBytes() const override { return network.MaxTextBytes(); }
  void Add(std::string name, std::string text) { files_.Add(std::move(name), std::move(text)); }
  bool Read(std::string_view ref, const spec::LoadedText* from, spec::LoadedText& out,
            std::string& error) override {
    if (files_.Read(ref, from, out, error)) {
      if (size_t max = MaxTextBytes(); max > 0 && out.text.size() > max) {
        error = "it is larger than this server takes (" + std::to_string(max >> 10) + " KiB)";
        return false;
      }
      return true;
    }
    std::string target =
        from != nullptr ? spec::ResolveRelative(from->name, ref) : std::string(ref);
    if (spec::IsUrl(target) && !StartsWith(target, "file:")) {
      return network.Read(ref, from, out, error);
    }
    error = "'" + target +
            "' was not sent with the request; send it as an 'include' part (kiln submit "
            "sends every file it includes) or use a URL";
    return false;
  }

  NetworkOnlyResolver network;

 private:
  spec::MemoryResolver files_;
};

// A request over the network may name mirrors and repositories only on the network: a
// file:// URL or a path would make the worker read its own disk as a package source.
std::string LocalSourceIn(const BuildSpec& spec) {
  auto local = [](const std::string& u) {
    std::string lower = ToLower(u);
    return !u.empty() && !StartsWith(lower, "http://") && !StartsWith(lower, "https://") &&
           !StartsWith(lower, "ftp://");
  };
  if (local(spec.mirror)) return spec.mirror;
  // Only the top-level url and repo commands matter: those lines of the (flattened, written
  // by kiln) kickstart are parsed, not its script bodies, which may be most of it.
  std::string sources;
  bool in_section = false;
  spec::LineSplitter lines(spec.kickstart);
  for (std::string_view line; lines.Next(line);) {
    std::string_view t = Trim(line);
    if (in_section) {
      in_section = t != "%end";
    } else if (StartsWith(t, "%")) {
      in_section = true;
    } else if (StartsWith(t, "url") || StartsWith(t, "repo")) {
      sources.append(line).push_back('\n');
    }
  }
  spec::MemoryResolver none;
  spec::ParseResult parsed = spec::ParseKickstartText(std::move(sources), "kickstart", none);
  if (const spec::ParsedCommand* url = parsed.kickstart.Single("url")) {
    if (const std::string* u = url->String("url"); u != nullptr && local(*u)) return *u;
  }
  for (const spec::RepoData& r : spec::ReadRepos(parsed.kickstart)) {
    if (local(r.baseurl)) return r.baseurl;
  }
  return {};
}

// The single-valued request fields a form may set, by field name.
using TextMember = std::optional<std::string> spec::RequestFields::*;
TextMember TextField(std::string_view name) {
  static const std::pair<std::string_view, TextMember> kFields[] = {
      {"type", &spec::RequestFields::type},
      {"arch", &spec::RequestFields::arch},
      {"release", &spec::RequestFields::release},
      {"name", &spec::RequestFields::name},
      {"label", &spec::RequestFields::label},
      {"title", &spec::RequestFields::title},
      {"product", &spec::RequestFields::product},
      {"version", &spec::RequestFields::version},
      {"mirror", &spec::RequestFields::mirror},
      {"proxy", &spec::RequestFields::proxy},
      {"script_network", &spec::RequestFields::script_network},
  };
  for (const auto& [field, member] : kFields) {
    if (field == name) return member;
  }
  return nullptr;
}

bool IsSafeName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  return name.find('/') == std::string_view::npos && name.find('\\') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos && name.find("..") == std::string_view::npos;
}

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

}  // namespace

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
      coordinator_.store().UserForToken(auth::SecretHash(token), Coordinator::NowMs());
  if (u) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (token_cache_.size() > 10000) token_cache_.clear();  // a bound, not an LRU: rare
    token_cache_[token] = {*u, now + std::chrono::milliseconds(1500)};
  }
  return u;
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
  std::vector<std::string_view> p = SplitPath(r.path);
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    bool numeric = ParseId(p[i]).has_value();
    bool artifact = i == 5 && p.size() == 6 && p[4] == "artifacts";
    bool user = i == 3 && p[2] == "users";
    out += "/";
    out += numeric ? "{id}" : artifact || user ? "{name}" : std::string(p[i]);
  }
  if (out.empty()) out = "/";
  if (out.size() > 64 ||
      !(StartsWith(out, "/api/") || out == "/rest" || out == "/metrics" || out == "/")) {
    return "other";
  }
  return out;
}

HttpResponse Api::Handle(HttpRequest& request) {
  try {
    return Route(request);
  } catch (const store::StoreError& e) {
    return Error(503, "store-unavailable", std::string("the database failed: ") + e.what(),
                 "retry later; the server log has details");
  } catch (const std::exception& e) {
    return Error(500, "internal", std::string("internal error: ") + e.what());
  }
}

namespace {

// A .deb file sent with a multipart submit: where the server will keep it (by its SHA-256)
// and its bytes, written only once the request is accepted.
struct Upload {
  PackageFile file;
  std::string data;
};

struct Handler {
  Api& api;
  Coordinator& co;
  const ApiOptions& options;
  const HttpRequest& req;
  std::optional<Api::Caller> caller;
  HttpRequest* taken_from = nullptr;  // `req`, when a handler may take its body (Api::Route)

  store::Store& store() { return co.store(); }

  // ---- authentication

  std::optional<HttpResponse> Authenticate() {
    std::string_view auth = req.Header("authorization");
    int64_t now = Coordinator::NowMs();
    if (!auth.empty()) {
      if (auth.size() < 8 || ToLower(auth.substr(0, 7)) != "bearer ") {
        return Error(401, "unauthorized", "the Authorization header must be 'Bearer TOKEN'",
                     "create a token with `kiln token create`");
      }
      std::string token(Trim(auth.substr(7)));
      std::optional<store::User> u = api.TokenUser(token);
      if (!u) {
        return Error(401, "unauthorized", "the token is not valid (unknown or revoked)",
                     "create a new one with `kiln token create`");
      }
      caller = Api::Caller{*u, false, ""};
      return std::nullopt;
    }
    std::string session = CookieValue(req.Header("cookie"), "kiln_session");
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

  bool MaySee(const store::Build& b) const {
    return caller->admin() || b.owner_id == caller->user.id;
  }

  // The build if the caller may see it; otherwise a 404 (not 403: another user's build
  // id says nothing about whether it exists).
  // `with_spec`: read its spec too (only its own page shows it).
  std::optional<store::Build> VisibleBuild(std::string_view id_text, HttpResponse& error,
                                           bool with_spec = false) {
    std::optional<int64_t> id = ParseId(id_text);
    std::optional<store::Build> b;
    if (id) b = with_spec ? store().GetBuildWithSpec(*id) : store().GetBuild(*id);
    if (!b || !MaySee(*b)) {
      error = Error(404, "not-found", "no build " + std::string(id_text));
      return std::nullopt;
    }
    return b;
  }

  // ---- build JSON

  json ArtifactsJson(const store::Build& b, const std::vector<store::Artifact>& artifacts) {
    json out = json::array();
    if (b.artifacts_removed_ms > 0) return out;
    for (const store::Artifact& a : artifacts) {
      out.push_back({{"name", a.name},
                     {"size", a.size},
                     {"sha256", a.sha256},
                     {"url", "/api/v1/builds/" + std::to_string(b.id) + "/artifacts/" + a.name}});
    }
    return out;
  }

  // Why a queued build waits: its place, an estimate, or that nobody can build it.
  json QueueJson(const store::Build& b, const store::Store::BuildExtras& extras) {
    json q = json::object();
    const store::QueuePlace& place = extras.place;
    q["position"] = place.position;
    q["queued"] = place.queued_total;
    std::vector<store::Worker> workers = api.OnlineWorkers();
    auto serves = [](const std::string& list, const std::string& v) {
      return list.empty() || ("," + list + ",").find("," + v + ",") != std::string::npos;
    };
    int able = 0, busy = 0;
    for (const store::Worker& w : workers) {
      if (serves(w.arches, b.arch) && serves(w.releases, b.release) && serves(w.types, b.type)) {
        ++able;
        if (static_cast<int>(w.current_builds.size()) >= w.capacity) ++busy;
      }
    }
    const std::optional<double>& typical = extras.typical_duration_s;
    if (typical) q["estimated_duration_s"] = *typical;
    if (able == 0) {
      q["waiting_for"] = "no online worker builds " + b.arch + " " + b.release + " " + b.type +
                         " images; it starts when one comes online";
    } else {
      q["waiting_for"] = busy >= able
                             ? "all " + std::to_string(able) + " workers that can build it are busy"
                             : "a worker to pick it up";
      if (typical) {
        double waves = static_cast<double>((place.position - 1) / able) + (busy >= able ? 0.5 : 0);
        q["estimated_start"] =
            IsoTime(Coordinator::NowMs() + static_cast<int64_t>(waves * *typical * 1000));
      }
    }
    return q;
  }

  // `place`: a queued build's place in the queue (a count over the queue: the submit answer
  // leaves it out, so that a burst of submits does not cost the square of the queue).
  json BuildJson(const store::Build& b, bool detail, bool place = true) {
    json j = {{"id", b.id},
              {"url", "/api/v1/builds/" + std::to_string(b.id)},
              {"owner", b.owner},
              {"state", ToString(b.state)},
              {"type", b.type},
              {"arch", b.arch},
              {"release", b.release},
              {"name", b.name},
              {"priority", b.priority},
              {"attempt", b.attempt},
              {"worker", b.worker.empty() ? json(nullptr) : json(b.worker)},
              {"stage", b.stage.empty() ? json(nullptr) : json(b.stage)},
              {"progress", b.progress},
              {"cancel_requested", b.cancel_requested},
              {"created_at", TimeOrNull(b.created_ms)},
              {"queued_at", TimeOrNull(b.queued_ms)},
              {"started_at", TimeOrNull(b.started_ms)},
              {"finished_at", TimeOrNull(b.finished_ms)},
              {"spec_hash", b.spec_hash}};
    if (b.error_code.empty()) {
      j["error"] = nullptr;
    } else {
      j["error"] = {{"code", b.error_code},
                    {"class", b.error_class},
                    {"message", b.error_message},
                    {"hint", b.error_hint}};
    }
    if (detail) {
      store::Store::BuildExtras extras = store().ExtrasOf(b, place);
      j["artifacts"] = ArtifactsJson(b, extras.artifacts);
      if (b.artifacts_removed_ms > 0) j["artifacts_removed_at"] = IsoTime(b.artifacts_removed_ms);
      j["log_url"] = "/api/v1/builds/" + std::to_string(b.id) + "/log";
      j["events_url"] = "/api/v1/builds/" + std::to_string(b.id) + "/events";
      if (b.state == BuildState::kQueued && place) j["queue"] = QueueJson(b, extras);
    }
    return j;
  }

  FetchAccess Fetching() { return {&api, &options, caller ? caller->user.id : 0}; }
  static HttpResponse TooManyFetches() {
    HttpResponse r =
        Error(429, "too-many-fetches",
              "the server is fetching too many URLs at once (for you, or for everyone)",
              "retry in a few seconds");
    r.Set("Retry-After", "5");
    return r;
  }

  // The request's JSON body, or a 400 saying why it is none (not JSON, nested too deep).
  std::optional<HttpResponse> BodyJson(json& out) {
    std::string why;
    out = ParseUntrustedJson(req.body, &why);
    if (out.is_discarded()) return Error(400, "bad-json", "the body is " + why);
    return std::nullopt;
  }

  // ---- submit

  // The checks every submitted spec passes and the store row it becomes; an error answer
  // if it is refused. `key`: the Idempotency-Key it is submitted under (may be empty).
  // `spec`'s kickstart goes into `nb` (moved, not copied: it can be large).
  std::optional<HttpResponse> PrepareBuild(BuildSpec& spec, std::string_view key,
                                           store::NewBuild& nb,
                                           const std::vector<Upload>& uploads = {}) {
    if (!CanBuild(spec.type)) {
      return Error(422, "type-not-supported",
                   "kiln cannot build " + std::string(ToString(spec.type)) +
                       " images yet: this version builds " + BuildableTypesText() + " images",
                   "ask for type live (a live ISO), raw or qcow2 (a bootable disk) or tar");
    }
    if (spec.script_network == "outbound" && options.script_network != "outbound") {
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
    int priority = 0;
    if (auto p = req.Query("priority")) {
      std::optional<int64_t> v;
      int64_t parsed = 0;
      auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), parsed);
      if (ec == std::errc() && end == p->data() + p->size() && parsed >= -100 && parsed <= 100) {
        v = parsed;
      }
      if (!v) return Error(400, "bad-priority", "priority must be an integer from -100 to 100");
      if (*v > 0 && !caller->admin()) {
        return Error(403, "forbidden", "only admins may raise a build's priority",
                     "leave priority out, or use a negative one");
      }
      priority = static_cast<int>(*v);
    }
    std::optional<std::string> dry = req.Query("dry_run");
    if (dry && *dry != "1" && *dry != "true" && *dry != "0" && *dry != "false") {
      return Error(400, "bad-dry-run", "dry_run must be 1/true or 0/false");
    }
    nb.owner_id = caller->user.id;
    nb.type = std::string(ToString(spec.type));
    nb.arch = std::string(ToString(spec.arch));
    nb.release = spec.release;
    nb.name = spec.name;
    nb.priority = priority;
    nb.idempotency_key = std::string(key);
    json spec_json = BuildSpecToJson(std::move(spec));
    if (dry && (*dry == "1" || *dry == "true")) spec_json["dry_run"] = true;
    nb.spec_json = spec_json.dump();
    nb.spec_hash = Sha256Hex(nb.spec_json);
    return std::nullopt;
  }

  // `uploads`: the request's .deb files, added to the spec's package files and written to the
  // upload area only once the request passed every check.
  HttpResponse SubmitSpec(BuildSpec spec, const Diagnostics& diags,
                          const std::vector<Upload>& uploads = {}) {
    std::string_view key = req.Header("idempotency-key");
    if (key.size() > 200) return Error(400, "bad-idempotency-key", "Idempotency-Key is too long");
    for (const Upload& u : uploads) spec.package_files.push_back(u.file);
    store::NewBuild nb;
    if (std::optional<HttpResponse> refused = PrepareBuild(spec, key, nb, uploads)) {
      return *refused;
    }
    uint64_t new_bytes = 0;
    for (const Upload& u : uploads) {
      std::error_code ec;
      if (!fs::exists(u.file.source, ec)) new_bytes += u.data.size();
    }
    if (new_bytes > 0 && !api.TakeUploadQuota(caller->user.id, new_bytes)) {
      return Error(413, "upload-quota-exceeded",
                   "these uploads would take you past " +
                       std::to_string(options.upload_quota_bytes >> 20) +
                       " MiB of new .deb files on this server in 24 hours",
                   "build from a repository (a URL) instead, or ask the server's admin "
                   "(--upload-quota-mib)");
    }
    for (const Upload& u : uploads) {
      std::error_code ec;
      if (fs::exists(u.file.source, ec)) continue;  // content-addressed: the same bytes
      fs::create_directories(co.UploadDir(), ec);
      if (!sys::WriteFileAtomic(u.file.source, u.data)) {
        return Error(507, "upload-failed", "the server cannot store " + u.file.name,
                     "retry later; the server's disk may be full");
      }
    }
    store::SubmitResult r = co.Submit(nb);
    if (options.on_submit) options.on_submit();
    // The answer: the build as stored, with its spec; a new build's is the one just stored
    // (read back, it would be held twice), an existing one's is read with it.
    bool created = r.outcome == store::SubmitOutcome::kCreated;
    std::optional<store::Build> b =
        created ? store().GetBuild(r.id) : store().GetBuildWithSpec(r.id);
    std::string spec_json = created ? std::move(nb.spec_json) : std::move(b->spec_json);
    json body = BuildJson(*b, true, /*place=*/false);
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

  // The request's body for a handler that reads it once: taken over (its memory freed as soon
  // as it is parsed) on the request's last run, on the pool; a quick run may be run again
  // there with the same request, so it gets a copy (quick requests are small).
  std::string TakeBody() {
    return taken_from != nullptr && req.may_block ? std::move(taken_from->body) : req.body;
  }

  HttpResponse SubmitJson() {
    NetworkOnlyResolver resolver(Fetching(), req.may_block);
    Diagnostics diags;
    std::optional<BuildSpec> spec = spec::SpecFromJson(TakeBody(), "request", resolver, diags);
    if (resolver.needed_network) return OnSlowPool();
    if (resolver.busy) return TooManyFetches();
    if (!spec) {
      return Error(422, "invalid-request", "the build request has errors",
                   "fix the listed problems and submit again", DiagnosticsJson(diags));
    }
    return SubmitSpec(std::move(*spec), diags);
  }

  // Many builds in one request (a matrix of arches and releases, a load test): one
  // transaction and one answer for all. All or nothing: if any request is refused, none is
  // queued and the error names its index. An Idempotency-Key covers the whole batch (each
  // build gets KEY#INDEX), so a retried batch answers the builds it made the first time.
  HttpResponse SubmitBatch() {
    json body;
    if (std::optional<HttpResponse> bad = BodyJson(body)) return *bad;
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
    std::string_view key = req.Header("idempotency-key");
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
      NetworkOnlyResolver resolver(Fetching(), req.may_block);
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
      std::string item_key =
          key.empty() ? std::string() : std::string(key) + "#" + std::to_string(i);
      if (std::optional<HttpResponse> refused = PrepareBuild(*spec, item_key, builds[i])) {
        return at(i, *refused);
      }
    }
    std::vector<store::SubmitResult> results = co.SubmitMany(builds);
    if (options.on_submit) options.on_submit();
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

  // multipart/form-data: request fields as form fields, the kickstart as a file (or text)
  // field "kickstart", .deb files as "package" parts.
  HttpResponse SubmitMultipart(std::string_view boundary) {
    std::vector<FormPart> parts;
    std::string error;
    if (!ParseMultipart(req.body, boundary, parts, error)) {
      return Error(400, "bad-multipart", error);
    }
    spec::RequestFields fields;
    std::string kickstart, kickstart_name = "kickstart", kickstart_url;
    std::optional<std::string> config;
    std::string config_name = "imagebuild.conf";
    SentFilesResolver resolver(Fetching());
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
      } else if (auto member = TextField(n)) {
        fields.*member = part.data;
      } else if (n == "extra_packages") {
        std::string name(Trim(part.data));
        if (EndsWith(name, ".deb") && !spec::IsUrl(name)) {
          return Error(
              422, "invalid-request",
              "extra package '" + name + "' is a file name: upload it as a 'package' part");
        }
        fields.extra_packages.push_back(name);
      } else if (n == "staging") {
        fields.staging.push_back(part.data);
      } else if (n == "email") {
        fields.email.push_back(part.data);
      } else if (n == "package") {
        std::string name = fs::path(part.filename).filename().string();
        if (!EndsWith(name, ".deb") || !IsSafeName(name)) {
          return Error(422, "invalid-request",
                       "uploaded package '" + part.filename + "' must be a .deb file");
        }
        Upload u;
        u.file.name = name;
        u.file.sha256 = Sha256Hex(part.data);
        u.file.source = (co.UploadDir() / (u.file.sha256 + ".deb")).string();
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
    return SubmitSpec(std::move(*spec), diags, uploads);
  }

  // The seed's POST /rest: {"config": imagebuild.conf text, "ksfname": name|URL|null,
  // "ks": kickstart text}.
  HttpResponse SubmitRest() {
    json j;
    if (std::optional<HttpResponse> bad = BodyJson(j)) return *bad;
    if (!j.is_object()) {
      return Error(400, "bad-json", "the body must be a JSON object with config, ksfname and ks");
    }
    for (const auto& [k, v] : j.items()) {
      if (k != "config" && k != "ksfname" && k != "ks") {
        return Error(400, "unknown-field", "unknown field '" + k + "'",
                     "the seed's /rest takes config, ksfname and ks");
      }
      if (!v.is_string() && !v.is_null()) {
        return Error(400, "bad-field", "field '" + k + "' must be a string or null");
      }
    }
    std::string config =
        j.value("config", json(nullptr)).is_string() ? j["config"].get<std::string>() : "";
    std::string ksfname =
        j.value("ksfname", json(nullptr)).is_string() ? j["ksfname"].get<std::string>() : "";
    std::string ks = j.value("ks", json(nullptr)).is_string() ? j["ks"].get<std::string>() : "";
    if (config.empty())
      return Error(400, "missing-config", "config (imagebuild.conf text) is required");
    // The kickstart comes with the request: the conf's config= key names it, and the server
    // serves that name from the request (or fetches it when it is a URL).
    class RestResolver : public spec::Resolver {
     public:
      RestResolver(std::string name, std::string text, FetchAccess fetch)
          : network(fetch), name_(std::move(name)), text_(std::move(text)) {}
      size_t MaxTextBytes() const override { return network.MaxTextBytes(); }
      bool Read(std::string_view ref, const spec::LoadedText* from, spec::LoadedText& out,
                std::string& error) override {
        std::string base = fs::path(std::string(ref)).filename().string();
        if (!text_.empty() &&
            (ref == name_ || base == fs::path(name_).filename().string() || name_.empty())) {
          out = {text_, name_.empty() ? std::string(ref) : name_, "rest:" + name_};
          return true;
        }
        return network.Read(ref, from, out, error);
      }

      NetworkOnlyResolver network;

     private:
      std::string name_, text_;
    };
    RestResolver resolver(ksfname, ks, Fetching());
    Diagnostics diags;
    std::optional<BuildSpec> spec =
        spec::SpecFromImagebuildConfText(config, "imagebuild.conf", {}, resolver, diags);
    if (spec && spec->kickstart.empty() && !ks.empty()) {
      spec = spec::SpecFromKickstartText(ks, ksfname.empty() ? "ks" : ksfname, {}, resolver, diags);
    }
    if (resolver.network.busy) return TooManyFetches();
    if (!spec) {
      return Error(422, "invalid-request", "the request has errors",
                   "fix the listed problems and submit again", DiagnosticsJson(diags));
    }
    HttpResponse r = SubmitSpec(std::move(*spec), diags);
    // The seed's clients read "id" and "message".
    return r;
  }

  HttpResponse Validate() {
    NetworkOnlyResolver resolver(Fetching());
    Diagnostics diags;
    std::optional<BuildSpec> spec;
    std::string_view type = req.Header("content-type");
    if (StartsWith(type, "application/json")) {
      spec = spec::SpecFromJson(TakeBody(), "request", resolver, diags);
    } else {
      spec = spec::SpecFromKickstartText(TakeBody(), "kickstart", {}, resolver, diags);
    }
    if (resolver.busy) return TooManyFetches();
    json body = {{"valid", spec.has_value() && !diags.HasErrors()},
                 {"errors", diags.ErrorCount()},
                 {"warnings", diags.WarningCount()},
                 {"diagnostics", DiagnosticsJson(diags)}};
    if (spec) body["spec"] = BuildSpecToJson(std::move(*spec));
    return Json(200, body);
  }

  // ---- reads

  HttpResponse ListBuilds() {
    store::BuildFilter f;
    if (auto v = req.Query("state")) {
      f.state = ParseBuildState(*v);
      if (!f.state) {
        return Error(400, "bad-filter", "unknown state '" + *v + "'",
                     "one of queued, running, succeeded, failed, canceled");
      }
    }
    if (auto v = req.Query("type")) {
      auto t = ParseImageType(*v);
      if (!t) return Error(400, "bad-filter", "unknown type '" + *v + "'");
      f.type = std::string(ToString(*t));
    }
    if (auto v = req.Query("arch")) {
      auto a = ParseArch(*v);
      if (!a) return Error(400, "bad-filter", "unknown arch '" + *v + "'");
      f.arch = std::string(ToString(*a));
    }
    if (auto v = req.Query("release")) f.release = *v;
    if (auto v = req.Query("owner")) {
      std::optional<store::User> u = store().FindUser(*v);
      if (!u || (!caller->admin() && u->id != caller->user.id)) {
        return Json(200, {{"builds", json::array()}, {"next_cursor", nullptr}});
      }
      f.owner_id = u->id;
    }
    if (!caller->admin()) f.owner_id = caller->user.id;
    if (auto v = req.Query("cursor")) {
      std::optional<int64_t> c = ParseId(*v);
      if (!c) return Error(400, "bad-cursor", "cursor must be a build id from next_cursor");
      f.before_id = *c;
    }
    if (auto v = req.Query("limit")) {
      std::optional<int64_t> l = ParseId(*v);
      if (!l || *l > 500) return Error(400, "bad-limit", "limit must be 1..500");
      f.limit = static_cast<int>(*l);
    }
    std::vector<store::Build> builds = store().ListBuilds(f);
    json list = json::array();
    for (const store::Build& b : builds) list.push_back(BuildJson(b, false));
    json next = builds.size() == static_cast<size_t>(f.limit)
                    ? json(std::to_string(builds.back().id))
                    : json(nullptr);
    return Json(200, {{"builds", list}, {"next_cursor", next}});
  }

  HttpResponse Log(const store::Build& b) {
    uint64_t offset = 0;
    if (auto v = req.Query("offset")) {
      auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), offset);
      if (ec != std::errc() || p != v->data() + v->size()) {
        return Error(400, "bad-offset", "offset must be a byte count");
      }
    }
    fs::path path = co.LogPath(b.id);
    std::error_code ec;
    bool have_file = fs::exists(path, ec);
    uint64_t size = have_file ? fs::file_size(path, ec) : 0;
    // A build without a log file (a dry run keeps none) has its log in its "log" events.
    std::string from_events;
    if (!have_file) {
      for (const store::Event& e : store().EventsAfter(b.id, 0, 100000)) {
        if (e.kind != "log") continue;
        json data = json::parse(e.data, nullptr, false);
        if (data.is_object() && data.contains("line") && data["line"].is_string()) {
          from_events += data["line"].get<std::string>() + "\n";
        }
      }
      size = from_events.size();
    }
    if (offset > size) offset = size;
    std::string text;
    constexpr uint64_t kMax = 4u << 20;  // one answer; the client asks again from next_offset
    uint64_t n = std::min<uint64_t>(size - offset, kMax);
    if (n > 0 && !have_file) {
      text = from_events.substr(offset, n);
    } else if (n > 0) {
      std::ifstream in(path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offset));
      text.resize(n);
      in.read(text.data(), static_cast<std::streamsize>(n));
      text.resize(static_cast<size_t>(in.gcount()));
    }
    HttpResponse r;
    r.Set("Content-Type", "text/plain; charset=utf-8");
    r.Set("X-Log-Offset", std::to_string(offset));
    r.Set("X-Log-Next-Offset", std::to_string(offset + text.size()));
    r.Set("X-Log-Complete", IsFinal(b.state) && offset + text.size() >= size ? "true" : "false");
    r.body = std::move(text);
    return r;
  }

  HttpResponse Artifact(const store::Build& b, std::string_view name) {
    if (!IsSafeName(name)) {
      return Error(400, "bad-artifact-name", "artifact names are plain file names (no / or ..)");
    }
    if (b.artifacts_removed_ms > 0) {
      return Error(410, "artifact-removed",
                   "the artifacts of build " + std::to_string(b.id) + " were removed on " +
                       IsoTime(b.artifacts_removed_ms) + " by the retention policy",
                   "retry the build to make them again");
    }
    std::optional<store::Artifact> found;
    for (const store::Artifact& a : store().Artifacts(b.id)) {
      if (a.name == name) found = a;
    }
    fs::path path = co.ArtifactDir(b.id) / std::string(name);
    std::error_code ec;
    if (!found || !fs::is_regular_file(path, ec)) {
      return Error(
          404, "not-found",
          "build " + std::to_string(b.id) + " has no artifact '" + std::string(name) + "'");
    }
    uint64_t size = fs::file_size(path, ec);
    std::string etag = "\"" + found->sha256 + "\"";
    HttpResponse r;
    r.head_only = req.method == "HEAD";
    r.Set("ETag", etag);
    r.Set("Accept-Ranges", "bytes");
    r.Set("Content-Type", "application/octet-stream");
    r.Set("Content-Disposition", "attachment; filename=\"" + std::string(name) + "\"");
    if (req.Header("if-none-match") == etag) {
      r.status = 304;
      return r;
    }
    uint64_t first = 0, last = size == 0 ? 0 : size - 1;
    std::string_view range = req.Header("range");
    std::string_view if_range = req.Header("if-range");
    bool use_range = !range.empty() && (if_range.empty() || if_range == etag);
    if (use_range) {
      // One range: bytes=A-B, bytes=A- or bytes=-N.
      std::string_view spec = range;
      bool ok = StartsWith(spec, "bytes=") && spec.find(',') == std::string_view::npos;
      if (ok) {
        spec.remove_prefix(6);
        size_t dash = spec.find('-');
        ok = dash != std::string_view::npos;
        std::string_view a = ok ? spec.substr(0, dash) : "", z = ok ? spec.substr(dash + 1) : "";
        uint64_t va = 0, vz = 0;
        auto num = [](std::string_view t, uint64_t& v) {
          auto [p, e] = std::from_chars(t.data(), t.data() + t.size(), v);
          return e == std::errc() && p == t.data() + t.size() && !t.empty();
        };
        if (ok && a.empty()) {  // suffix: the last N bytes
          ok = num(z, vz) && vz > 0;
          if (ok) first = vz >= size ? 0 : size - vz;
        } else if (ok) {
          ok = num(a, va) && (z.empty() || (num(z, vz) && vz >= va));
          if (ok) {
            first = va;
            if (!z.empty()) last = std::min(vz, last);
          }
        }
        if (ok && (size == 0 || first >= size)) {
          HttpResponse bad =
              Error(416, "range-not-satisfiable",
                    "the range starts past the end (" + std::to_string(size) + " bytes)");
          bad.Set("Content-Range", "bytes */" + std::to_string(size));
          return bad;
        }
      }
      if (ok) {
        r.status = 206;
        r.Set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                   std::to_string(size));
      } else {
        first = 0;  // an unparsable Range is ignored, as RFC 9110 allows
        last = size == 0 ? 0 : size - 1;
      }
    }
    r.file = FileReply{path, first, size == 0 ? 0 : last - first + 1};
    return r;
  }

  HttpResponse Releases() {
    std::vector<store::Worker> workers = api.OnlineWorkers();
    json releases = json::array();
    json types = json::array();
    for (ImageType t : kBuildableTypes) types.push_back(ToString(t));
    for (const ReleaseInfo& r : KnownReleases()) {
      json online = json::array();
      for (const store::Worker& w : workers) {
        if (w.releases.empty() ||
            ("," + w.releases + ",").find("," + std::string(r.name) + ",") != std::string::npos) {
          online.push_back(w.id);
        }
      }
      releases.push_back({{"name", r.name},
                          {"family", r.family},
                          {"version", r.version},
                          {"arches", {"x86_64", "i686"}},
                          {"types", types},
                          {"online_workers", online}});
    }
    return Json(200, {{"releases", releases}});
  }

  HttpResponse Workers() {
    std::vector<store::Worker> online = api.OnlineWorkers();
    json list = json::array();
    for (const store::Worker& w : store().ListWorkers()) {
      bool is_online = std::any_of(online.begin(), online.end(),
                                   [&](const store::Worker& o) { return o.id == w.id; });
      // Users see what explains a wait; host names, ids, versions and other users' builds are
      // for admins.
      json item = {{"online", is_online},
                   {"arches", w.arches},
                   {"releases", w.releases},
                   {"types", w.types},
                   {"capacity", w.capacity},
                   {"load", w.current_builds.size()},
                   {"last_heartbeat", TimeOrNull(w.last_seen_ms)}};
      if (caller->admin()) {
        item["id"] = w.id;
        item["version"] = w.version;
        item["current_builds"] = w.current_builds;
      }
      list.push_back(std::move(item));
    }
    return Json(200, {{"workers", list}});
  }

  // An admin issues a token: for a user, or for a build host (`kiln token create --worker`).
  HttpResponse CreateToken() {
    if (!caller->admin()) {
      return Error(403, "forbidden", "only admins create tokens");
    }
    json j;
    if (std::optional<HttpResponse> bad = BodyJson(j)) return *bad;
    if (!j.is_object()) return Error(400, "bad-json", "the body must be a JSON object");
    auto text = [&](const char* key) {
      return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
    };
    TokenRequest r{text("user"), text("worker"), text("name").empty() ? "api" : text("name")};
    std::string error;
    bool not_found = false;
    std::optional<IssuedToken> t = IssueToken(store(), r, error, not_found);
    if (!t)
      return Error(not_found ? 404 : 422, not_found ? "no-such-user" : "invalid-request", error);
    return Json(201, {{"id", t->id},
                      {"user", t->user},
                      {"role", ToString(t->role)},
                      {"token", t->token},
                      {"message", "shown only now: the server keeps only its hash"}});
  }

  HttpResponse Login() {
    json j;
    if (std::optional<HttpResponse> bad = BodyJson(j)) return *bad;
    if (!j.is_object() || !j.contains("user") || !j["user"].is_string() ||
        !j.contains("password") || !j["password"].is_string()) {
      return Error(400, "bad-json", "send {\"user\": ..., \"password\": ...}");
    }
    std::string name = j["user"].get<std::string>();
    if (name.size() > 200) return Error(400, "bad-json", "that user name is too long");
    std::string address = ClientAddress(req);
    auto now = SignInGuard::Clock::now();
    SignInGuard& guard = api.sign_in_guard();
    if (auto wait = guard.Wait(name, address, now); wait.count() > 0) {
      long seconds = std::max<long>(
          1, static_cast<long>(std::chrono::ceil<std::chrono::seconds>(wait).count()));
      HttpResponse r = Error(429, "too-many-sign-ins",
                             "too many failed sign-ins for this user or from this address",
                             "try again in " + std::to_string(seconds) +
                                 " s; an admin can unlock a user (kiln user unlock NAME)");
      r.Set("Retry-After", std::to_string(seconds));
      return r;
    }
    std::optional<store::User> u = store().FindUser(name);
    // An unknown user (or one without a password) costs the same hashing as a wrong password:
    // the answer's time does not tell which names exist.
    bool has_password = u && !u->password_hash.empty();
    bool ok = auth::VerifyPassword(has_password ? u->password_hash : api.DummyPasswordHash(),
                                   j["password"].get<std::string>()) &&
              has_password;
    if (!ok) {
      bool locked = guard.Failed(name, address, now);
      std::cerr << "kiln serve: sign-in failed for user '" + Printable(name) + "' from " + address +
                       (locked ? " (locked out for a while)" : "") + "\n";
      return Error(401, "bad-credentials", "wrong user name or password");
    }
    guard.Succeeded(name);
    std::string session = auth::NewSecret();
    std::string csrf = auth::NewSecret();
    int64_t expires = Coordinator::NowMs() + options.session_ttl_ms;
    store().AddSession(auth::SecretHash(session), u->id, csrf, expires);
    HttpResponse r =
        Json(200, {{"user", u->name}, {"role", ToString(u->role)}, {"csrf_token", csrf}});
    // Secure when the client reached us over TLS (through the proxy that terminates it).
    bool tls = ToLower(req.Header("x-forwarded-proto")) == "https";
    r.Set("Set-Cookie",
          "kiln_session=" + session + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
              std::to_string(options.session_ttl_ms / 1000) + (tls ? "; Secure" : ""));
    return r;
  }

  // An admin forgets a user's failed sign-ins (after a lockout).
  HttpResponse Unlock(std::string_view name) {
    if (!caller->admin()) return Error(403, "forbidden", "only admins unlock users");
    std::string user(name);
    if (!store().FindUser(user)) return Error(404, "no-such-user", "no user '" + user + "'");
    bool was_locked = api.sign_in_guard().Clear(user);
    return Json(200, {{"user", user}, {"unlocked", was_locked}});
  }
};

// The worker name a caller's calls are bound to: a worker token's own; "" for an admin.
std::string WorkerName(const Api::Caller& caller) {
  return caller.user.role == Role::kWorker ? caller.user.name : "";
}

}  // namespace

bool Api::IsUpload(const HttpRequest& head) {
  std::vector<std::string_view> p = SplitPath(head.path);
  return head.method == "PUT" && p.size() == 6 && p[0] == "api" && p[1] == "v1" &&
         p[2] == "worker" && p[4] == "artifacts";
}

bool Api::IsQuick(const HttpRequest& request) {
  if (request.method == "GET" || request.method == "HEAD") return true;
  if (request.method != "POST") return false;
  if (StartsWith(request.path, "/api/v1/worker/")) return true;
  // A JSON submit with a token is parsing and one commit; should its kickstart name a URL,
  // it answers kOnSlowPool before anything is stored and runs again there. (A password
  // sign-in hashes, multipart bodies may be large: those stay on the slow pool.)
  if (request.path != "/api/v1/builds" && request.path != "/api/v1/builds/batch") return false;
  // A large body takes a while to parse: not on an I/O thread, where it would hold up others.
  if (request.body.size() > (64u << 10)) return false;
  std::string_view type = request.Header("content-type");
  return StartsWith(ToLower(request.Header("authorization")), "bearer ") &&
         (type.empty() || StartsWith(type, "application/json"));
}

std::optional<HttpResponse> Api::RefuseUnauthenticated(const HttpRequest& head) {
  try {
    Handler h{*this, coordinator_, options_, head, std::nullopt};
    return h.Authenticate();
  } catch (const std::exception& e) {
    return Error(503, "store-unavailable", std::string("cannot check credentials: ") + e.what(),
                 "retry later");
  }
}

std::optional<HttpResponse> Api::BeginUpload(const HttpRequest& head, UploadPlan& plan) {
  try {
    Handler h{*this, coordinator_, options_, head, std::nullopt};
    if (std::optional<HttpResponse> denied = h.Authenticate()) return *denied;
    if (h.caller->user.role != Role::kWorker && !h.caller->admin()) {
      return Error(403, "forbidden", "uploads need a worker token",
                   "create one with `kiln token create --worker NAME`");
    }
    return BeginWorkerUpload(coordinator_, head, WorkerName(*h.caller), plan);
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

HttpResponse Api::Route(HttpRequest& req) {
  std::vector<std::string_view> p = SplitPath(req.path);
  Handler h{*this, coordinator_, options_, req, std::nullopt, &req};
  const std::string& m = req.method;
  auto method_not_allowed = [&](const char* allowed) {
    HttpResponse r = Error(405, "method-not-allowed",
                           m + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
    r.Set("Allow", allowed);
    return r;
  };
  if (req.body.size() > options_.body_limit) {
    return Error(
        413, "body-too-large",
        "the body is larger than the limit of " + std::to_string(options_.body_limit) + " bytes");
  }
  // JSON is parsed whole, at several times its size in memory: a JSON body may hold a
  // kickstart of the server's limit and a little more (a batch, a few of them), no more.
  // Multipart bodies, which carry .deb files, keep the body limit.
  if (StartsWith(req.Header("content-type"), "application/json") ||
      (req.method == "POST" && req.Header("content-type").empty())) {
    size_t json_limit = 2 * options_.kickstart_limit + (64u << 10);
    if (req.path == "/api/v1/builds/batch") json_limit *= 8;
    if (req.body.size() > json_limit) {
      return Error(413, "body-too-large",
                   "the JSON body is " + std::to_string(req.body.size() >> 10) +
                       " KiB, more than this server reads (" + std::to_string(json_limit >> 10) +
                       " KiB: kickstarts up to " + std::to_string(options_.kickstart_limit >> 10) +
                       " KiB)",
                   "send a smaller kickstart, or ask the server's admin (--max-kickstart-kib)");
    }
  }

  // Open routes.
  if (p.size() == 3 && p[0] == "api" && p[1] == "v1" && p[2] == "health") {
    return Json(200, {{"status", "ok"}, {"version", KILN_VERSION}});
  }
  if (p.size() == 3 && p[0] == "api" && p[1] == "v1" && p[2] == "session" && m == "POST") {
    return h.Login();
  }

  if (std::optional<HttpResponse> denied = h.Authenticate()) return *denied;
  bool worker_route = p.size() >= 3 && p[0] == "api" && p[1] == "v1" && p[2] == "worker";
  if (h.caller->user.role == Role::kWorker && !worker_route) {
    return Error(403, "forbidden", "a worker token is only for the worker routes");
  }

  if (p.size() == 1 && p[0] == "rest") {
    if (m == "GET") {
      return Json(200, {{"service", "kiln"},
                        {"version", KILN_VERSION},
                        {"description",
                         "POST a JSON object {\"config\": imagebuild.conf text, \"ksfname\": "
                         "kickstart name or URL or null, \"ks\": kickstart text} to build an "
                         "image; the answer has the build's id. The full API is under /api/v1."}});
    }
    if (m == "POST") return h.SubmitRest();
    return method_not_allowed("GET, POST");
  }
  if (p.size() == 1 && p[0] == "metrics") {
    if (m != "GET") return method_not_allowed("GET");
    std::string out;
    out += "# HELP kiln_builds Builds by state.\n# TYPE kiln_builds gauge\n";
    if (!h.caller->admin()) {
      // A user's own numbers; the service's are for admins.
      for (const auto& [s, n] : coordinator_.store().CountByState(h.caller->user.id)) {
        out += "kiln_builds{state=\"" + s + "\"} " + std::to_string(n) + "\n";
      }
      HttpResponse r;
      r.Set("Content-Type", "text/plain; version=0.0.4");
      r.body = std::move(out);
      return r;
    }
    std::map<std::string, int64_t> by_state = coordinator_.store().CountByState();
    for (const auto& [s, n] : by_state) {
      out += "kiln_builds{state=\"" + s + "\"} " + std::to_string(n) + "\n";
    }
    out += "# HELP kiln_queue_depth Builds waiting for a worker.\n# TYPE kiln_queue_depth gauge\n";
    out += "kiln_queue_depth " + std::to_string(by_state["queued"]) + "\n";
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
    for (const store::Store::FinishedRun& r : coordinator_.store().RecentRunTimes(10000)) {
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
      out += "kiln_build_duration_seconds_count{" + labels + "} " + std::to_string(series.count) +
             "\n";
    }
    out +=
        "# HELP kiln_sign_in_failures_total Failed sign-ins (wrong password or unknown user).\n"
        "# TYPE kiln_sign_in_failures_total counter\n"
        "kiln_sign_in_failures_total " +
        std::to_string(sign_in_guard_.failures()) +
        "\n# HELP kiln_sign_in_lockouts_total Failed sign-ins that locked a user or an address "
        "out.\n# TYPE kiln_sign_in_lockouts_total counter\nkiln_sign_in_lockouts_total " +
        std::to_string(sign_in_guard_.lockouts()) + "\n";
    out += "# HELP kiln_event_watchers Open event streams.\n# TYPE kiln_event_watchers gauge\n";
    out += "kiln_event_watchers " + std::to_string(coordinator_.hub().Watchers()) + "\n";
    out +=
        "# HELP kiln_http_requests_total HTTP requests by route and status.\n"
        "# TYPE kiln_http_requests_total counter\n";
    {
      std::lock_guard<std::mutex> lock(metrics_mu_);
      for (const auto& [key, n] : requests_) {
        out += "kiln_http_requests_total{route=\"" + key.first + "\",code=\"" +
               std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
      }
    }
    HttpResponse r;
    r.Set("Content-Type", "text/plain; version=0.0.4");
    r.body = std::move(out);
    return r;
  }
  if (p.size() < 3 || p[0] != "api" || p[1] != "v1") {
    return Error(404, "not-found", "no such route: " + req.path, "the API is under /api/v1");
  }
  std::string_view top = p[2];
  if (top == "worker") {
    if (h.caller->user.role != Role::kWorker && !h.caller->admin()) {
      return Error(403, "forbidden", "worker routes need a worker token",
                   "create one with `kiln token create --worker NAME`");
    }
    if (std::optional<HttpResponse> r = RouteWorkerApi(coordinator_, req, WorkerName(*h.caller))) {
      return *r;
    }
  }
  if (top == "session" && p.size() == 3 && m == "GET") {
    // Who the caller is (the CLI's `kiln login` checks its token with this).
    return Json(200, {{"user", h.caller->user.name},
                      {"role", ToString(h.caller->user.role)},
                      {"via", h.caller->via_session ? "session" : "token"}});
  }
  if (top == "session" && p.size() == 3 && m == "DELETE") {
    std::string session = CookieValue(req.Header("cookie"), "kiln_session");
    if (!session.empty()) coordinator_.store().DeleteSession(auth::SecretHash(session));
    HttpResponse r = Json(200, {{"signed_out", true}});
    r.Set("Set-Cookie", "kiln_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    return r;
  }
  if (top == "users" && p.size() == 5 && p[4] == "unlock") {
    return m == "POST" ? h.Unlock(p[3]) : method_not_allowed("POST");
  }
  if (top == "releases" && p.size() == 3) {
    return m == "GET" ? h.Releases() : method_not_allowed("GET");
  }
  if (top == "workers" && p.size() == 3) {
    return m == "GET" ? h.Workers() : method_not_allowed("GET");
  }
  if (top == "tokens" && p.size() == 3) {
    return m == "POST" ? h.CreateToken() : method_not_allowed("POST");
  }
  if (top == "kickstart" && p.size() == 4 && p[3] == "validate") {
    return m == "POST" ? h.Validate() : method_not_allowed("POST");
  }
  if (top == "builds" && p.size() == 3) {
    if (m == "GET") return h.ListBuilds();
    if (m == "POST") {
      std::string_view type = req.Header("content-type");
      std::string boundary = MultipartBoundary(type);
      if (!boundary.empty()) return h.SubmitMultipart(boundary);
      if (!type.empty() && !StartsWith(type, "application/json")) {
        return Error(415, "unsupported-media-type",
                     "send the build request as application/json or multipart/form-data",
                     "see docs/openapi.yaml");
      }
      return h.SubmitJson();
    }
    return method_not_allowed("GET, POST");
  }
  if (top == "builds" && p.size() == 4 && p[3] == "batch") {
    if (m != "POST") return method_not_allowed("POST");
    std::string_view type = req.Header("content-type");
    if (!type.empty() && !StartsWith(type, "application/json")) {
      return Error(415, "unsupported-media-type", "send the batch as application/json",
                   "see docs/openapi.yaml");
    }
    return h.SubmitBatch();
  }
  if (top == "builds" && p.size() == 4 && m == "GET") {
    // The most frequent call (clients polling a build): answered from the rendered cache
    // while nothing changed.
    if (std::optional<int64_t> id = ParseId(p[3])) {
      if (std::optional<HttpResponse> cached = CachedBuild(*id, *h.caller)) return *cached;
    }
  }
  if (top == "builds" && p.size() >= 4) {
    uint64_t version = coordinator_.Version();  // read before the store: never newer than it
    HttpResponse error;
    std::optional<store::Build> b = h.VisibleBuild(p[3], error, p.size() == 4 && m == "GET");
    if (!b) return error;
    if (p.size() == 4) {
      if (m == "GET") {
        HttpResponse r = WithSpec(Json(200, h.BuildJson(*b, true)), std::move(b->spec_json));
        KeepBuild(b->id, version, b->owner_id, r.body);
        return r;
      }
      if (m == "DELETE") {
        if (!IsFinal(b->state)) {
          return Error(409, "build-active",
                       "build " + std::to_string(b->id) + " is " + std::string(ToString(b->state)),
                       "cancel it first");
        }
        coordinator_.Delete(b->id);
        HttpResponse r;
        r.status = 204;
        return r;
      }
      return method_not_allowed("GET, DELETE");
    }
    std::string_view action = p[4];
    if (p.size() == 5 && action == "cancel") {
      if (m != "POST") return method_not_allowed("POST");
      if (!coordinator_.Cancel(b->id)) {
        return Error(
            409, "build-final",
            "build " + std::to_string(b->id) + " is already " + std::string(ToString(b->state)));
      }
      return Json(202, h.BuildJson(*coordinator_.store().GetBuild(b->id), false));
    }
    if (p.size() == 5 && action == "retry") {
      if (m != "POST") return method_not_allowed("POST");
      if (!coordinator_.Retry(b->id)) {
        return Error(409, "not-retryable",
                     "only failed or canceled builds can be retried; build " +
                         std::to_string(b->id) + " is " + std::string(ToString(b->state)));
      }
      if (options_.on_submit) options_.on_submit();
      return Json(202, h.BuildJson(*coordinator_.store().GetBuild(b->id), false));
    }
    if (p.size() == 5 && action == "log") {
      return m == "GET" ? h.Log(*b) : method_not_allowed("GET");
    }
    if (p.size() == 5 && action == "events") {
      if (m != "GET") return method_not_allowed("GET");
      int64_t after = 0;
      std::string_view last = req.Header("last-event-id");
      std::optional<std::string> q = req.Query("after");
      std::string_view from = !last.empty() ? last : q ? std::string_view(*q) : "";
      if (!from.empty()) {
        auto [ptr, ec] = std::from_chars(from.data(), from.data() + from.size(), after);
        if (ec != std::errc() || after < 0) {
          return Error(400, "bad-event-id", "Last-Event-ID must be an event number");
        }
      }
      HttpResponse r;
      r.Set("Content-Type", "text/event-stream");
      r.Set("Cache-Control", "no-cache");
      r.events = EventStreamReply{b->id, after};
      return r;
    }
    if (p.size() == 6 && action == "artifacts") {
      if (m != "GET" && m != "HEAD") return method_not_allowed("GET, HEAD");
      return h.Artifact(*b, p[5]);
    }
  }
  return Error(404, "not-found", "no such route: " + req.path, "see docs/openapi.yaml");
}

}  // namespace kiln::server
