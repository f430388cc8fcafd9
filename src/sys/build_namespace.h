// Builds without root: an ordinary user's `kiln build` (and a service's `kiln job`) runs in a
// user namespace of its own, whose root is the first id of the user's subordinate range
// (/etc/subuid, /etc/subgid, mapped by the setuid newuidmap/newgidmap), never the user
// itself. The image's ids 0..65535 are that range; the user is mapped too, as id 65536
// inside, so kiln's own code can read the kickstart and write the output and cache
// directories, but the sandboxes inside (sys/sandbox.h) map only 0..65535: a stranger's
// script never holds the user's own files, the service's database or tokens among them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace kiln::sys {

// How many ids a build needs: an image's ids 0..65535.
constexpr unsigned long kBuildIdCount = 65536;
// The invoking user's id inside the build namespace (just past the image's ids).
constexpr uid_t kInvokerIdInside = 65536;

struct IdRange {
  unsigned long start = 0;
  unsigned long count = 0;
};

// The first range of at least `min_count` ids that `file` (/etc/subuid format: "name:start:count"
// or "uid:start:count") gives the user, or nullopt.
std::optional<IdRange> SubordinateRange(const std::string& file, const std::string& user, uid_t id,
                                        unsigned long min_count = kBuildIdCount);

// A range of kBuildIdCount ids that overlaps no range in the given files (for the fix an error
// suggests), on a 65536 boundary above 100000.
IdRange FreeSubordinateRange(const std::string& subuid_file, const std::string& subgid_file);

// A free range of /etc/subuid and /etc/subgid as usermod takes it: "START-END".
std::string FreeRangeText();

// "" if `user` (uid `id`) has uid and gid ranges of kBuildIdCount ids in /etc/subuid and
// /etc/subgid, else which is missing and the usermod that gives the user a free one.
std::string MissingRangeReason(const std::string& user, uid_t id);

struct BuildNamespace {
  // Set in the process that goes on inside the namespace (as its root).
  bool inside = false;
  // Set in the process that stays outside: the exit code to return (the inner one's).
  int exit_code = 0;
  // Set when no namespace could be made: what is missing and the command that fixes it.
  std::string error;
};

// True when this process must enter a build namespace before building: it is not root (root of
// the host, or of a container's user namespace, builds as it is).
bool NeedsBuildNamespace();

// True in the host's own user namespace (all ids mapped one to one).
bool InInitialUserNamespace();

// "" if this process can enter a build namespace, else what is missing and the command that
// fixes it (user namespaces off, no subordinate range, no newuidmap).
std::string BuildNamespaceUnavailableReason();

// Forks; the child makes a user and mount namespace, the parent maps the ids through
// newuidmap/newgidmap, and the child becomes the namespace's root and returns {inside}. The
// parent waits for it (passing SIGTERM and SIGHUP on; SIGINT reaches both from the
// terminal) and returns its exit code. Call it before any thread is started.
BuildNamespace EnterBuildNamespace();

// Gives the files under `dir` (and `dir`) that kiln made as the namespace's root back to the
// invoking user, so they can move and delete their own output. Inside a build namespace only.
void GiveToInvoker(const std::string& dir);

}  // namespace kiln::sys
