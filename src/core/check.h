// Programmer errors. A broken invariant is a bug in kiln, not a failure to retry, report to a
// user or catch: KILN_CHECK stops the process at once, saying what and where. Failures that
// can happen at run time (a bad request, a dead broker, a full disk) are returned or thrown
// as errors and handled (ARCHITECTURE.md, "Errors").
#pragma once

#include <cstdio>
#include <cstdlib>

namespace kiln {

[[noreturn]] inline void CheckFailed(const char* condition, const char* what, const char* file,
                                     int line) {
  std::fprintf(stderr, "kiln: bug: %s (%s is false) at %s:%d\n", what, condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace kiln

#define KILN_CHECK(condition, what) \
  ((condition) ? static_cast<void>(0) : ::kiln::CheckFailed(#condition, what, __FILE__, __LINE__))
