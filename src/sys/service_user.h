// A service started as root (kiln serve, kiln worker) runs as a user of its own: root only
// makes its directories and hands them over, then the process becomes that user for good. Its
// builds then run in build namespaces of that user's subordinate range
// (sys/build_namespace.h): nothing of the service runs as root of the host.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::sys {

struct ServiceDirectories {
  // Made if missing and, with everything in them, given to the user (the database, tokens,
  // logs and artifacts: the service's own files).
  std::vector<std::filesystem::path> owned;
  // Made if missing and given to the user, but not what is in them: a stage cache holds image
  // trees whose ids are the builds' (a cache of root builds cannot be reused, and is refused).
  std::vector<std::filesystem::path> caches;
};

// The default service account.
inline constexpr char kServiceUser[] = "kiln";

// As root: makes `dirs`, gives them to `user`, and becomes `user` (its groups, HOME), or
// returns what is wrong and the commands that fix it. Not root: does nothing and returns "".
std::string BecomeServiceUser(const std::string& user, const ServiceDirectories& dirs);

// The commands that make the service account (its home the first owned directory) with a
// subordinate range, for messages.
std::string ServiceUserFix(const std::string& user, const ServiceDirectories& dirs);

}  // namespace kiln::sys
