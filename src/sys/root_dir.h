// Files inside an image root, opened as if the root were "/": every path is resolved with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so a symlink in the image ("/etc ->
// /etc", "authorized_keys -> /root/.ssh/authorized_keys") resolves inside the image, never on
// the build host, and ".." stops at the image's "/". The last component of a path written to
// is never followed (a file is replaced by rename, a symlink is changed as a link). Host-side
// code that reads or writes an image after strangers' code ran in it (packages, %post) goes
// through here.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::sys {

class RootDir {
 public:
  // Opens the root; throws std::system_error if it cannot.
  explicit RootDir(const std::filesystem::path& root);
  ~RootDir();
  RootDir(const RootDir&) = delete;
  RootDir& operator=(const RootDir&) = delete;

  const std::filesystem::path& path() const { return root_; }

  // `path` is absolute inside the image ("/etc/hostname"); relative is taken from "/".
  // Those that return bool return false (with errno set) on failure; those that return a
  // Status say what failed and the system's reason.
  std::optional<std::string> ReadFile(std::string_view path, size_t max_bytes = 64u << 20) const;
  bool Exists(std::string_view path) const;  // follows symlinks, inside the image
  bool IsDirectory(std::string_view path) const;
  // Atomic: a temporary file in the same directory, then rename over the name.
  Status WriteFile(std::string_view path, std::string_view content, mode_t mode = 0644) const;
  Status AppendFile(std::string_view path, std::string_view content, mode_t mode = 0644) const;
  Status MakeDirs(std::string_view path, mode_t mode = 0755) const;
  // Replaces whatever is at `path` with a symlink to `target` (target text is not resolved).
  Status Symlink(std::string_view target, std::string_view path) const;
  bool Remove(std::string_view path) const;  // a file or an empty directory; true if gone
  bool Chown(std::string_view path, uid_t uid, gid_t gid) const;  // never follows the last link
  bool Chmod(std::string_view path, mode_t mode) const;           // not on symlinks
  // `to` gets `from`'s access and modification times (directories and files alike).
  bool CopyTimes(std::string_view from, std::string_view to) const;
  // The names in a directory (no "." or ".."), or nullopt.
  std::optional<std::vector<std::string>> List(std::string_view path) const;
  // Copies the tree at `from` into the existing directory `to` (files, directories and
  // symlinks as links; others skipped), every copy owned by uid:gid. Nothing is followed.
  Status CopyTree(std::string_view from, std::string_view to, uid_t uid, gid_t gid) const;

 private:
  // A descriptor of the directory holding `path`'s last component, and that name.
  int OpenParent(std::string_view path, std::string& name) const;
  int Open(std::string_view path, int flags, mode_t mode = 0) const;

  std::filesystem::path root_;
  int fd_ = -1;
};

}  // namespace kiln::sys
