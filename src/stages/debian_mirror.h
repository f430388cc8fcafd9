// Where Debian packages come from: the mirror named in the machine's apt sources (unless a
// request or kickstart names another), and the identity of the mirror's current state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::stages {

// The first http(s) URI of a "deb" source for Debian's main archive in the apt sources
// (/etc/apt/sources.list.d/*.sources in deb822 form, then /etc/apt/sources.list), or
// "http://deb.debian.org/debian" when none is found. `root` is "/" except in tests.
std::string DefaultDebianMirror(const std::string& root = "/");
// The same, answered from memory when this process read it in the last minute (plans).
std::string DefaultDebianMirrorCached(const std::string& root = "/");

// Parses deb822 .sources text; returns the first Debian archive URI (not -security), or "".
std::string MirrorFromDeb822(std::string_view text);
// Parses one-line sources.list text the same way.
std::string MirrorFromSourcesList(std::string_view text);

// The state of a suite on a mirror, from MIRROR/dists/SUITE/InRelease.
struct MirrorState {
  std::string hash;    // SHA-256 of InRelease: changes with every new state of the suite, so
                       // cache keys that include it never serve a stale result
  long long date = 0;  // its Date: field as seconds since the epoch (SOURCE_DATE_EPOCH)
};

// Fetches InRelease, retrying a few times with backoff (mirrors time out now and then).
Result<MirrorState> FetchMirrorState(const std::string& mirror, const std::string& suite);
// The same, answered from memory when this process read it in the last minute (plans).
Result<MirrorState> FetchMirrorStateCached(const std::string& mirror, const std::string& suite);

// An extra Debian repository from a kickstart `repo` line. Debian repositories need a suite
// and components, which kickstart has no fields for: --baseurl holds a sources.list line's
// "URI [SUITE [COMPONENT...]]" ("http://deb.debian.org/debian bookworm-backports main"); the
// suite defaults to the release's and the components to "main".
struct ExtraRepository {
  std::string name;
  std::string uri;
  std::string suite;
  std::vector<std::string> components;
  std::string state;        // SHA-256 of its InRelease, filled by the planner
  bool trusted = false;     // unsigned (kiln's own side repository): [trusted=yes]
  bool build_only = false;  // used to build, then removed from the image's sources

  // The one-line sources.list form mmdebstrap takes: "deb URI SUITE COMPONENTS".
  std::string SourcesLine() const;
};

// Parses --baseurl text as above; fails if it is not an http(s)/file URI.
Result<ExtraRepository> ParseRepository(const std::string& name, const std::string& baseurl,
                                        const std::string& default_suite);

// The Date: field of a Release/InRelease text as seconds since the epoch, or 0.
long long ReleaseDate(std::string_view release_text);

}  // namespace kiln::stages
