// The side repository: package files sent with a request (.deb) made into a small flat apt
// repository for the build, so apt installs them with their dependencies like any other
// package. It is content-addressed under the cache directory (the same files give the same
// repository and the same bootstrap cache key) and never ends up in the image's sources.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/build_spec.h"
#include "core/status.h"
#include "stages/debian_mirror.h"

namespace kiln::stages {

struct DebInfo {
  std::string package, version, architecture;
};

// The control fields of a .deb (dpkg-deb --field); fails if it is not one.
Result<DebInfo> ReadDebInfo(const std::filesystem::path& deb);

struct SideRepository {
  ExtraRepository repository;         // "deb [trusted=yes] file:///... ./", build only
  std::vector<std::string> packages;  // "name=version" of every file, to install
  std::vector<DebInfo> debs;
};

// Makes (or finds) the side repository for `files` under `repos_root`. Each file is read from
// its source (a local path or an http/https/ftp URL), checked against its sha256 when the
// request gave one, and must be for `deb_arch` or "all". Errors name the file and the fix.
Result<SideRepository> MakeSideRepository(const std::vector<PackageFile>& files,
                                          const std::string& deb_arch,
                                          const std::filesystem::path& repos_root);

}  // namespace kiln::stages
