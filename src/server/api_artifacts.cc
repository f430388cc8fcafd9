// A build's artifacts for download: ETag (its SHA-256), one byte range, HEAD; the server
// sends the file itself (sendfile).
#include <charconv>

#include "core/grammar.h"
#include "core/text.h"
#include "server/handlers.h"

namespace kiln::server {
namespace fs = std::filesystem;

HttpResponse GetArtifact(RequestContext& ctx) {
  HttpResponse error;
  std::optional<store::Build> build = ctx.VisibleBuild(error);
  if (!build) return error;
  const store::Build& b = *build;
  std::string_view name = ctx.name;
  if (!IsPlainFileName(name)) {
    return Error(400, "bad-artifact-name",
                 "artifact names are letters, digits, '.', '_', '+' and '-', starting with a "
                 "letter or digit");
  }
  if (b.artifacts_removed_ms > 0) {
    return Error(410, "artifact-removed",
                 "the artifacts of build " + std::to_string(b.id) + " were removed on " +
                     IsoTimeMs(b.artifacts_removed_ms) + " by the retention policy",
                 "retry the build to make them again");
  }
  std::optional<store::Artifact> found;
  for (const store::Artifact& a : ctx.store().Artifacts(b.id)) {
    if (a.name == name) found = a;
  }
  fs::path path = ctx.co.ArtifactDir(b.id) / std::string(name);
  std::error_code ec;
  if (!found || !fs::is_regular_file(path, ec)) {
    return Error(404, "not-found",
                 "build " + std::to_string(b.id) + " has no artifact '" + std::string(name) + "'");
  }
  uint64_t size = fs::file_size(path, ec);
  std::string etag = "\"" + found->sha256 + "\"";
  HttpResponse r;
  r.head_only = ctx.req.method == "HEAD";
  r.Set("ETag", etag);
  r.Set("Accept-Ranges", "bytes");
  r.Set("Content-Type", "application/octet-stream");
  r.Set("Content-Disposition", "attachment; filename=\"" + std::string(name) + "\"");
  if (ctx.req.Header("if-none-match") == etag) {
    r.status = 304;
    return r;
  }
  uint64_t first = 0, last = size == 0 ? 0 : size - 1;
  std::string_view range = ctx.req.Header("range");
  std::string_view if_range = ctx.req.Header("if-range");
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

}  // namespace kiln::server
