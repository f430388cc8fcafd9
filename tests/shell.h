// Shell helpers for the tests that drive the kiln binary and system tools as a user would.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kiln::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command line; `out` is what it writes to stdout.
inline RunResult Popen(const std::string& cmd) {
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs a shell command line (stderr merged into the output).
inline RunResult Sh(const std::string& cmd) { return Popen(cmd + " 2>&1"); }

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether this host runs i386 programs (natively or through registered qemu emulation), as
// mmdebstrap needs for an i686 root: some VMs' kernels run no 32-bit programs at all.
inline bool HostRunsI386() { return Sh("arch-test i386 >/dev/null").exit_code == 0; }

}  // namespace kiln::testing
