// The seed's /rest: what its `build_rest.py` client posts (an imagebuild.conf, the name of
// its kickstart and the kickstart's text), answered with the new build's id and message.
#include "core/untrusted_json.h"
#include "server/handlers.h"
#include "spec/spec_builder.h"

namespace kiln::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// /rest's kickstart comes with the request: the conf's config= key names it, and the server
// serves that name from the request (or fetches it when it is a URL).
class RestResolver : public spec::Resolver {
 public:
  RestResolver(std::string name, std::string text, FetchAccess fetch)
      : network(fetch), name_(std::move(name)), text_(std::move(text)) {}
  size_t MaxTextBytes() const override { return network.MaxTextBytes(); }
  Status Read(std::string_view ref, const spec::LoadedText* from, spec::LoadedText& out) override {
    std::string base = fs::path(std::string(ref)).filename().string();
    if (!text_.empty() &&
        (ref == name_ || base == fs::path(name_).filename().string() || name_.empty())) {
      out = {text_, name_.empty() ? std::string(ref) : name_, "rest:" + name_};
      return Status::Ok();
    }
    return network.Read(ref, from, out);
  }

  NetworkOnlyResolver network;

 private:
  std::string name_, text_;
};

// The seed's client JSON-encodes each file's text a second time (`json.dumps(text)` inside
// the JSON body; its server undid that with json.loads): a value that is itself one JSON
// string literal is that text, decoded once. An imagebuild.conf or a kickstart never
// starts with a quote, so plain text is taken as it is.
std::string DecodedOnceIfEncoded(std::string text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return text;
  json inner = ParseUntrustedJson(text);
  return inner.is_string() ? inner.get<std::string>() : text;
}

}  // namespace

// As the seed's GET /rest: a short page saying what the endpoint is (JSON when asked for).
HttpResponse RestInfo(RequestContext& ctx) {
  constexpr std::string_view kWhat =
      "POST a JSON object {\"config\": imagebuild.conf text, \"ksfname\": kickstart name or "
      "URL or null, \"ks\": kickstart text} with a token (Bearer, or Basic USER:TOKEN) to "
      "build an image; the answer has the build's id. The full API is under /api/v1.";
  if (ctx.req.Header("accept").find("application/json") != std::string_view::npos) {
    return Json(200, {{"service", "kiln"}, {"version", KILN_VERSION}, {"description", kWhat}});
  }
  HttpResponse r;
  r.Set("Content-Type", "text/html; charset=utf-8");
  r.body =
      "<!doctype html>\n<title>kiln: /rest</title>\n<p>REST API to the kiln image build "
      "service (the On-Demand Fedora Build Service's /rest).</p>\n<p>" +
      std::string(kWhat) + "</p>\n";
  return r;
}

// The seed's POST /rest: {"config": imagebuild.conf text, "ksfname": name|URL|null,
// "ks": kickstart text}.
HttpResponse SubmitRest(RequestContext& ctx) {
  json j;
  if (std::optional<HttpResponse> bad = ctx.BodyJson(j)) return *bad;
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
  std::string config = DecodedOnceIfEncoded(StringField(j, "config"));
  std::string ksfname = StringField(j, "ksfname");
  std::string ks = DecodedOnceIfEncoded(StringField(j, "ks"));
  if (config.empty())
    return Error(400, "missing-config", "config (imagebuild.conf text) is required");
  RestResolver resolver(ksfname, ks, ctx.Fetching());
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
  // The seed's clients read "id" and "message".
  return SubmitSpec(ctx, std::move(*spec), diags);
}

}  // namespace kiln::server
