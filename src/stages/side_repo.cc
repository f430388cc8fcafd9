#include "stages/side_repo.h"

#include <unistd.h>

#include "core/sha256.h"
#include "core/text.h"
#include "spec/kickstart_loader.h"
#include "sys/files.h"
#include "sys/process.h"

namespace kiln::stages {
namespace fs = std::filesystem;

namespace {

bool RunQuiet(const std::vector<std::string>& argv, const std::string& cwd, std::string& out,
              std::string& error) {
  sys::RunOptions run;
  run.argv = argv;
  run.cwd = cwd;
  run.timeout = std::chrono::minutes(5);
  run.tail_lines = 100000;
  sys::RunResult r = sys::RunProcess(run);
  out.clear();
  for (const std::string& l : r.tail) out += l + "\n";
  if (!r.ok()) {
    error = argv[0] + " " + r.Describe() + (r.tail.empty() ? "" : ": " + r.tail.back());
    return false;
  }
  return true;
}

}  // namespace

Result<DebInfo> ReadDebInfo(const fs::path& deb) {
  std::string text, error;
  if (!RunQuiet({"dpkg-deb", "--field", deb.string(), "Package", "Version", "Architecture"}, "",
                text, error)) {
    return Status::Error(deb.filename().string() + " is not a Debian package (" + error + ")");
  }
  DebInfo out;
  for (const std::string& line : SplitNonEmpty(text, '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value(Trim(line.substr(colon + 1)));
    if (key == "Package") out.package = value;
    if (key == "Version") out.version = value;
    if (key == "Architecture") out.architecture = value;
  }
  if (out.package.empty() || out.version.empty() || out.architecture.empty()) {
    return Status::Error(deb.filename().string() +
                         " has no Package, Version or Architecture field");
  }
  return out;
}

Result<SideRepository> MakeSideRepository(const std::vector<PackageFile>& files,
                                          const std::string& deb_arch, const fs::path& repos_root) {
  SideRepository out;
  std::string error;
  // Gather the files' bytes first: the repository's identity is their content.
  std::vector<std::pair<std::string, std::string>> contents;  // name, bytes
  Sha256 identity;
  for (const PackageFile& f : files) {
    std::string bytes;
    if (spec::IsUrl(f.source)) {
      Result<std::string> fetched = spec::FetchUrl(f.source, {});
      if (!fetched.ok()) {
        return Status::Error("package file " + f.name + ": cannot download " + f.source + ": " +
                             fetched.message());
      }
      bytes = std::move(*fetched);
    } else {
      std::error_code ec;
      if (!fs::is_regular_file(f.source, ec)) {
        return Status::Error("package file " + f.name + ": no such file " + f.source);
      }
      bytes = sys::ReadFileText(f.source);
    }
    std::string sha = Sha256Hex(bytes);
    if (!f.sha256.empty() && ToLower(f.sha256) != sha) {
      return Status::Error("package file " + f.name + ": its SHA-256 is " + sha +
                           ", the request says " + f.sha256 + " (a truncated upload?)");
    }
    identity.Update(f.name + "\n" + sha + "\n");
    contents.emplace_back(f.name, std::move(bytes));
  }
  fs::path dir = repos_root / identity.HexDigest();
  std::error_code ec;
  if (!fs::exists(dir / "Packages", ec)) {
    // Built beside its final place, then renamed: a half-made repository is never used.
    fs::path work = dir;
    work += ".tmp-" + std::to_string(getpid());
    fs::remove_all(work, ec);
    fs::create_directories(work);
    for (const auto& [name, bytes] : contents) {
      if (name.find('/') != std::string::npos || !EndsWith(name, ".deb")) {
        fs::remove_all(work, ec);
        return Status::Error("package file '" + name +
                             "': the name must be a plain *.deb file name");
      }
      sys::WriteFileAtomic(work / name, bytes);
    }
    std::string packages, release;
    if (!RunQuiet({"apt-ftparchive", "packages", "."}, work.string(), packages, error) ||
        !RunQuiet({"apt-ftparchive", "release", "."}, work.string(), release, error)) {
      fs::remove_all(work, ec);
      return Status::Error("making the side repository: " + error);
    }
    sys::WriteFileAtomic(work / "Packages", packages);
    sys::WriteFileAtomic(work / "Release", release);
    fs::rename(work, dir, ec);
    if (ec && !fs::exists(dir / "Packages")) {
      return Status::Error("making the side repository: " + ec.message());
    }
    fs::remove_all(work, ec);
  }
  for (const auto& [name, bytes] : contents) {
    Result<DebInfo> read = ReadDebInfo(dir / name);
    if (!read.ok()) return read.status();
    const DebInfo& info = *read;
    if (info.architecture != deb_arch && info.architecture != "all") {
      return Status::Error("package file " + name + " is for " + info.architecture +
                           ", the image is " + deb_arch + "; send the " + deb_arch +
                           " or all build");
    }
    out.packages.push_back(info.package + "=" + info.version);
    out.debs.push_back(info);
  }
  out.repository.name = "kiln-side";
  // copy:// rather than file://: apt copies the files into the build root, which mmdebstrap
  // needs (a file:// path outside the root is not readable from inside it).
  out.repository.uri = "copy://" + fs::absolute(dir).string();
  out.repository.suite = "./";
  out.repository.trusted = true;
  out.repository.build_only = true;
  out.repository.state = Sha256Hex(sys::ReadFileText(dir / "Packages"));
  return out;
}

}  // namespace kiln::stages
