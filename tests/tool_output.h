// Running a system tool from an engine test and keeping its output (through kiln's own
// RunProcess); a failure of the tool fails the test.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sys/process.h"

namespace kiln::testing {

inline std::string Output(const std::vector<std::string>& argv, const std::string& cwd = "") {
  sys::RunOptions run;
  run.argv = argv;
  run.cwd = cwd;
  run.tail_lines = 100000;
  sys::RunResult r = sys::RunProcess(run);
  EXPECT_TRUE(r.ok()) << argv[0] << " " << r.Describe()
                      << (r.tail.empty() ? "" : ": " + r.tail.back());
  std::string out;
  for (const std::string& l : r.tail) out += l + "\n";
  return out;
}

}  // namespace kiln::testing
