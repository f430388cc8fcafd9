#include "client/submission.h"

#include <filesystem>
#include <set>

#include "core/text.h"
#include "spec/kickstart_loader.h"
#include "sys/files.h"

namespace kiln::client {
namespace {
namespace fs = std::filesystem;

// Reads local files as the server would resolve them, and remembers each one read. URLs
// are not fetched: the server fetches them itself.
class CollectingResolver : public spec::Resolver {
 public:
  bool Read(std::string_view ref, const spec::LoadedText* from, spec::LoadedText& out,
            std::string& error) override {
    std::string target =
        from != nullptr ? spec::ResolveRelative(from->name, ref) : std::string(ref);
    if (spec::IsUrl(target) && !StartsWith(target, "file:")) {
      error = "fetched by the server";
      return false;
    }
    if (!files_.Read(ref, from, out, error)) return false;
    if (seen_.insert(out.name).second) read_.push_back({out.name, out.text});
    return true;
  }
  // The files read, in order: the first is the one named on the command line.
  const std::vector<std::pair<std::string, std::string>>& read() const { return read_; }

 private:
  spec::FileResolver files_;
  std::set<std::string> seen_;
  std::vector<std::pair<std::string, std::string>> read_;
};

void AddField(std::vector<FormPart>& parts, const char* name, const std::optional<std::string>& v) {
  if (v) parts.push_back({name, *v, ""});
}

}  // namespace

std::optional<std::vector<FormPart>> SubmissionParts(const SubmitInput& in, std::string& error) {
  if (!in.config.empty() && !in.ks.empty()) {
    error = "give either CONFIG (an imagebuild.conf) or --ks, not both";
    return std::nullopt;
  }
  std::vector<FormPart> parts;
  const spec::RequestFields& f = in.fields;
  AddField(parts, "type", f.type);
  AddField(parts, "arch", f.arch);
  AddField(parts, "release", f.release);
  AddField(parts, "name", f.name);
  AddField(parts, "label", f.label);
  AddField(parts, "title", f.title);
  AddField(parts, "product", f.product);
  AddField(parts, "version", f.version);
  AddField(parts, "mirror", f.mirror);
  AddField(parts, "proxy", f.proxy);
  AddField(parts, "script_network", f.script_network);
  for (const std::string& s : f.staging) parts.push_back({"staging", s, ""});
  for (const std::string& e : f.email) parts.push_back({"email", e, ""});
  for (const std::string& p : f.extra_packages) {
    // A local .deb is uploaded; names (and URLs) travel as they are.
    if (EndsWith(p, ".deb") && !spec::IsUrl(p)) {
      std::error_code ec;
      std::string data = fs::is_regular_file(p, ec) ? sys::ReadFileText(p) : std::string();
      if (data.empty()) {
        error = "cannot read package file '" + p + "'";
        return std::nullopt;
      }
      parts.push_back({"package", std::move(data), fs::path(p).filename().string()});
    } else {
      parts.push_back({"extra_packages", p, ""});
    }
  }
  if (in.config.empty() && in.ks.empty()) return parts;
  if (!in.ks.empty() && spec::IsUrl(in.ks) && !StartsWith(in.ks, "file:")) {
    parts.push_back({"kickstart_url", in.ks, ""});
    return parts;
  }
  // Read what the server will need by running the same loader here; its diagnostics are the
  // server's business (it reports them with these same file names and lines).
  CollectingResolver collect;
  Diagnostics ignored;
  const std::string& main = in.config.empty() ? in.ks : in.config;
  if (!in.config.empty()) {
    spec::SpecFromImagebuildConf(in.config, f, collect, ignored);
  } else {
    spec::SpecFromKickstart(in.ks, f, collect, ignored);
  }
  if (collect.read().empty()) {
    std::error_code ec;
    error = "cannot read '" + main +
            "': " + (fs::exists(main, ec) ? "permission denied" : "no such file");
    return std::nullopt;
  }
  bool first = true;
  for (const auto& [name, text] : collect.read()) {
    const char* part = first ? (in.config.empty() ? "kickstart" : "config") : "include";
    parts.push_back({part, text, name});
    first = false;
  }
  return parts;
}

}  // namespace kiln::client
