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

}  // namespace

HttpResponse RestInfo(RequestContext&) {
  return Json(200, {{"service", "kiln"},
                    {"version", KILN_VERSION},
                    {"description",
                     "POST a JSON object {\"config\": imagebuild.conf text, \"ksfname\": "
                     "kickstart name or URL or null, \"ks\": kickstart text} to build an "
                     "image; the answer has the build's id. The full API is under /api/v1."}});
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
  std::string config = StringField(j, "config");
  std::string ksfname = StringField(j, "ksfname");
  std::string ks = StringField(j, "ks");
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
