#include "sys/service_user.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sys/build_namespace.h"

namespace kiln::sys {
namespace fs = std::filesystem;

namespace {

// lchown of `path` and, when `deep`, of everything under it; false and the path on a failure.
bool GiveTree(const fs::path& path, uid_t uid, gid_t gid, bool deep, std::string& failed) {
  if (lchown(path.c_str(), uid, gid) != 0) {
    failed = path.string() + ": " + strerror(errno);
    return false;
  }
  if (!deep) return true;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (lchown(it->path().c_str(), uid, gid) != 0) {
      failed = it->path().string() + ": " + strerror(errno);
      return false;
    }
  }
  return true;
}

}  // namespace

std::string ServiceUserFix(const std::string& user, const ServiceDirectories& dirs) {
  std::string home = dirs.owned.empty() ? "/var/lib/kiln" : dirs.owned.front().string();
  std::string free = FreeRangeText();
  return "useradd --system --home-dir " + home + " --shell /usr/sbin/nologin " + user +
         " && usermod --add-subuids " + free + " --add-subgids " + free + " " + user;
}

std::string BecomeServiceUser(const std::string& user, const ServiceDirectories& dirs) {
  if (geteuid() != 0) return "";
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    return "there is no user " + user +
           " to run the service as; make it (as root: " + ServiceUserFix(user, dirs) +
           "), or name another with --run-as";
  }
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  std::string name = pw->pw_name;
  std::string user_home = pw->pw_dir;
  if (uid == 0) return "";  // --run-as root: the builds run as root, as before
  if (std::string why = MissingRangeReason(name, uid); !why.empty()) return why;
  std::string failed;
  for (const fs::path& dir : dirs.owned) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return "cannot make " + dir.string() + ": " + ec.message();
    if (!GiveTree(dir, uid, gid, true, failed)) return "cannot give " + failed + " to " + name;
  }
  for (const fs::path& dir : dirs.caches) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return "cannot make " + dir.string() + ": " + ec.message();
    struct stat st {};
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
      if (lstat(e.path().c_str(), &st) == 0 && st.st_uid == 0) {
        return "the cache " + dir.string() + " holds builds made as root (" + e.path().string() +
               "), which builds without root cannot use: remove it, or give the service "
               "another --cache-dir";
      }
    }
    if (!GiveTree(dir, uid, gid, false, failed)) return "cannot give " + failed + " to " + name;
  }
  if (initgroups(name.c_str(), gid) != 0 || setresgid(gid, gid, gid) != 0 ||
      setresuid(uid, uid, uid) != 0) {
    return "cannot become " + name + ": " + strerror(errno);
  }
  setenv("HOME", user_home.c_str(), 1);
  setenv("USER", name.c_str(), 1);
  setenv("LOGNAME", name.c_str(), 1);
  return "";
}

}  // namespace kiln::sys
