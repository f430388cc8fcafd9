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
  Status Read(std::string_view ref, const spec::LoadedText* from, spec::LoadedText& out) override {
    std::string target =
        from != nullptr ? spec::ResolveRelative(from->name, ref) : std::string(ref);
    if (spec::IsUrl(target) && !StartsWith(target, "file:")) {
      return Status::Error("fetched by the server");
    }
    if (Status read = files_.Read(ref, from, out); !read.ok()) return read;
    if (seen_.insert(out.name).second) read_.push_back({out.name, out.text});
    return Status::Ok();
  }
  // The files read, in order: the first is the one named on the command line.
  const std::vector<std::pair<std::string, std::string>>& read() const { return read_; }

 private:
  spec::FileResolver files_;
  std::set<std::string> seen_;
  std::vector<std::pair<std::string, std::string>> read_;
};

}  // namespace

Result<std::vector<FormPart>> SubmissionParts(const SubmitInput& in) {
  if (!in.config.empty() && !in.ks.empty()) {
    return Status::Error("give either CONFIG (an imagebuild.conf) or --ks, not both");
  }
  std::vector<FormPart> parts;
  const spec::RequestFields& f = in.fields;
  for (const RequestField& field : RequestFieldTable()) {
    if (field.text != nullptr && f.*(field.text)) {
      parts.push_back({std::string(field.key), *(f.*(field.text)), "", ""});
    } else if (field.list != nullptr && field.list != &RequestFields::extra_packages) {
      for (const std::string& v : f.*(field.list))
        parts.push_back({std::string(field.key), v, "", ""});
    }
  }
  for (const std::string& p : f.extra_packages) {
    // A local .deb is uploaded; names (and URLs) travel as they are.
    if (EndsWith(p, ".deb") && !spec::IsUrl(p)) {
      std::error_code ec;
      std::string data = fs::is_regular_file(p, ec) ? sys::ReadFileText(p) : std::string();
      if (data.empty()) return Status::Error("cannot read package file '" + p + "'");
      parts.push_back({"package", std::move(data), fs::path(p).filename().string(), ""});
    } else {
      parts.push_back({"extra_packages", p, "", ""});
    }
  }
  if (in.config.empty() && in.ks.empty()) return parts;
  if (!in.ks.empty() && spec::IsUrl(in.ks) && !StartsWith(in.ks, "file:")) {
    parts.push_back({"kickstart_url", in.ks, "", ""});
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
    return Status::Error("cannot read '" + main +
                         "': " + (fs::exists(main, ec) ? "permission denied" : "no such file"));
  }
  bool first = true;
  for (const auto& [name, text] : collect.read()) {
    const char* part = first ? (in.config.empty() ? "kickstart" : "config") : "include";
    parts.push_back({part, text, name, ""});
    first = false;
  }
  return parts;
}

}  // namespace kiln::client
