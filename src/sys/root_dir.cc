#include "sys/root_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace kiln::sys {
namespace {

// Inside the root, whatever its symlinks say; /proc-style magic links refused.
int OpenAt2(int dir, const std::string& path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  return static_cast<int>(fd);
}

std::string Relative(std::string_view path) {
  size_t start = path.find_first_not_of('/');
  std::string out(start == std::string_view::npos ? "" : path.substr(start));
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out.empty() ? "." : out;
}

// The failure of `what` on `path`, with the system's reason (errno).
Status Failure(std::string_view what, std::string_view path) {
  return Status::Error(std::string(what) + " " + std::string(path) +
                       " in the image: " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// All of `content` to `fd`, through short writes and interruptions.
bool WriteAll(int fd, std::string_view content) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

RootDir::RootDir(const std::filesystem::path& root) : root_(root) {
  fd_ = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "open image root " + root.string());
  }
}

RootDir::~RootDir() {
  if (fd_ >= 0) close(fd_);
}

int RootDir::Open(std::string_view path, int flags, mode_t mode) const {
  return OpenAt2(fd_, Relative(path), flags, mode);
}

int RootDir::OpenParent(std::string_view path, std::string& name) const {
  std::string rel = Relative(path);
  size_t slash = rel.rfind('/');
  name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (name == "." || name == "..") {
    errno = EINVAL;
    return -1;
  }
  return OpenAt2(fd_, slash == std::string::npos ? "." : rel.substr(0, slash), O_PATH | O_DIRECTORY,
                 0);
}

std::optional<std::string> RootDir::ReadFile(std::string_view path, size_t max_bytes) const {
  Fd fd(Open(path, O_RDONLY));
  if (!fd.ok()) return std::nullopt;
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      errno = EFBIG;
      return std::nullopt;
    }
  }
  return out;
}

bool RootDir::Exists(std::string_view path) const {
  Fd fd(Open(path, O_PATH));
  return fd.ok();
}

bool RootDir::IsDirectory(std::string_view path) const {
  Fd fd(Open(path, O_PATH | O_DIRECTORY));
  return fd.ok();
}

Status RootDir::WriteFile(std::string_view path, std::string_view content, mode_t mode) const {
  std::string name;
  Fd real(OpenParent(path, name));
  if (!real.ok()) {
    return Failure("cannot open the directory of", path);
  }
  std::string tmp = "." + name + ".kiln-tmp";
  unlinkat(real.get(), tmp.c_str(), 0);
  Fd out(
      openat(real.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!out.ok()) {
    return Failure("cannot write", path);
  }
  if (!WriteAll(out.get(), content)) {
    Status failed = Failure("cannot write", path);
    unlinkat(real.get(), tmp.c_str(), 0);
    return failed;
  }
  if (fchmod(out.get(), mode) != 0 ||
      renameat(real.get(), tmp.c_str(), real.get(), name.c_str()) != 0) {
    Status failed = Failure("cannot write", path);
    unlinkat(real.get(), tmp.c_str(), 0);
    return failed;
  }
  return Status::Ok();
}

Status RootDir::AppendFile(std::string_view path, std::string_view content, mode_t mode) const {
  std::string name;
  Fd real(OpenParent(path, name));
  if (!real.ok()) {
    return Failure("cannot open the directory of", path);
  }
  Fd out(real.ok() ? openat(real.get(), name.c_str(),
                            O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, mode)
                   : -1);
  if (!out.ok()) {
    return Failure("cannot append to", path);
  }
  if (!WriteAll(out.get(), content)) {
    return Failure("cannot append to", path);
  }
  return Status::Ok();
}

Status RootDir::MakeDirs(std::string_view path, mode_t mode) const {
  std::string rel = Relative(path);
  if (rel == ".") return Status::Ok();
  std::string sofar;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    std::string part =
        rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    Fd dir(OpenAt2(fd_, sofar.empty() ? "." : sofar, O_RDONLY | O_DIRECTORY, 0));
    if (!dir.ok()) {
      return Failure("cannot open", sofar.empty() ? "/" : "/" + sofar);
    }
    if (mkdirat(dir.get(), part.c_str(), mode) != 0 && errno != EEXIST) {
      return Failure("cannot make directory", "/" + rel);
    }
    sofar += (sofar.empty() ? "" : "/") + part;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (!IsDirectory(path)) {
    errno = ENOTDIR;
    return Failure("not a directory:", path);
  }
  return Status::Ok();
}

Status RootDir::Symlink(std::string_view target, std::string_view path) const {
  std::string name;
  Fd real(OpenParent(path, name));
  if (!real.ok()) {
    return Failure("cannot open the directory of", path);
  }
  std::string tmp = "." + name + ".kiln-tmp";
  unlinkat(real.get(), tmp.c_str(), 0);
  if (symlinkat(std::string(target).c_str(), real.get(), tmp.c_str()) != 0 ||
      renameat(real.get(), tmp.c_str(), real.get(), name.c_str()) != 0) {
    Status failed = Failure("cannot make symlink", path);
    unlinkat(real.get(), tmp.c_str(), 0);
    return failed;
  }
  return Status::Ok();
}

bool RootDir::Remove(std::string_view path) const {
  std::string name;
  Fd real(OpenParent(path, name));
  if (!real.ok()) return errno == ENOENT;
  if (unlinkat(real.get(), name.c_str(), 0) == 0 || errno == ENOENT) return true;
  if (errno == EISDIR) return unlinkat(real.get(), name.c_str(), AT_REMOVEDIR) == 0;
  return false;
}

bool RootDir::Chown(std::string_view path, uid_t uid, gid_t gid) const {
  std::string name;
  Fd real(OpenParent(path, name));
  return real.ok() && fchownat(real.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0;
}

bool RootDir::Chmod(std::string_view path, mode_t mode) const {
  Fd fd(Open(path, O_PATH | O_NOFOLLOW));
  if (!fd.ok()) return false;
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || S_ISLNK(st.st_mode)) return false;
  // chmod through the O_PATH descriptor's /proc link is what fchmod cannot do on O_PATH.
  std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  return chmod(proc.c_str(), mode) == 0;
}

std::optional<std::vector<std::string>> RootDir::List(std::string_view path) const {
  int fd = Open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return std::nullopt;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  closedir(dir);
  return names;
}

namespace {

// Copies the entries of directory `from` into directory `to` (both descriptors in the image).
bool CopyDir(int from, int to, uid_t uid, gid_t gid, int depth) {
  if (depth > 64) return false;
  int scan = dup(from);
  DIR* dir = scan < 0 ? nullptr : fdopendir(scan);
  if (dir == nullptr) {
    if (scan >= 0) close(scan);
    return false;
  }
  bool ok = true;
  while (dirent* e = readdir(dir)) {
    const char* n = e->d_name;
    if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) continue;
    struct stat st {};
    if (fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(to, n, st.st_mode & 07777) != 0 && errno != EEXIST) {
        ok = false;
        continue;
      }
      Fd sub_from(openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      Fd sub_to(openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      ok = sub_from.ok() && sub_to.ok() &&
           CopyDir(sub_from.get(), sub_to.get(), uid, gid, depth + 1) && ok;
    } else if (S_ISREG(st.st_mode)) {
      Fd in(openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      Fd out(
          openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777));
      if (!in.ok() || !out.ok()) {
        ok = false;
        continue;
      }
      char buf[65536];
      ssize_t got;
      while ((got = read(in.get(), buf, sizeof buf)) > 0) {
        if (!WriteAll(out.get(), std::string_view(buf, static_cast<size_t>(got)))) {
          ok = false;
          break;
        }
      }
      fchmod(out.get(), st.st_mode & 07777);
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t len = readlinkat(from, n, target, sizeof target - 1);
      if (len < 0) continue;
      target[len] = '\0';
      if (symlinkat(target, to, n) != 0) ok = false;
    } else {
      continue;  // devices, fifos, sockets: not in a skeleton
    }
    fchownat(to, n, uid, gid, AT_SYMLINK_NOFOLLOW);
  }
  closedir(dir);
  return ok;
}

}  // namespace

Status RootDir::CopyTree(std::string_view from, std::string_view to, uid_t uid, gid_t gid) const {
  Fd src(Open(from, O_RDONLY | O_DIRECTORY));
  Fd dst(Open(to, O_RDONLY | O_DIRECTORY));
  if (!src.ok() || !dst.ok()) {
    return Failure("cannot open", !src.ok() ? from : to);
  }
  if (!CopyDir(src.get(), dst.get(), uid, gid, 0)) {
    return Failure("cannot copy", from);
  }
  return Status::Ok();
}

bool RootDir::CopyTimes(std::string_view from, std::string_view to) const {
  Fd src(Open(from, O_RDONLY));
  Fd dst(Open(to, O_RDONLY));
  struct stat st {};
  if (!src.ok() || !dst.ok() || fstat(src.get(), &st) != 0) return false;
  timespec times[2] = {st.st_atim, st.st_mtim};
  return futimens(dst.get(), times) == 0;
}

}  // namespace kiln::sys
