#!/usr/bin/env bash
# Everything the test suite needs, on a fresh Debian 12 machine: install the test
# dependencies, build (warnings are errors), and run every test:
#   0. the README's commands on a fresh bookworm root (scripts/check-fresh-install.sh: nothing
#      they need may be missing from install-deps.sh); KILN_FRESH_INSTALL=0 skips it;
#   1. an ASan + UBSan build (clang) runs the fast tests and the fuzzers for a bounded time;
#   2. a ThreadSanitizer build (clang) runs the fast tests but the engine's, the distributed
#      ones among them (a data race is a failure: TSan's report makes the process exit
#      non-zero); the engine's tests run the sandbox, whose user namespace the kernel refuses
#      to a process with TSan's background thread, and have no threads of their own to check;
#   3. the debug build runs the whole suite (unit, corpus, CLI, format) — its summary is last.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test

if [ "${KILN_FRESH_INSTALL:-1}" != 0 ]; then
  scripts/check-fresh-install.sh
fi

export KILN_WERROR=ON
cmake --preset asan >/dev/null
cmake --build --preset asan
(cd build/asan && ctest --output-on-failure -L 'fast|fuzz' -j2)

cmake --preset tsan >/dev/null
cmake --build --preset tsan
(cd build/tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --output-on-failure -L fast -LE engine -j2)

cmake --preset debug >/dev/null
cmake --build --preset debug
cd build/debug
ctest --output-on-failure -j2
