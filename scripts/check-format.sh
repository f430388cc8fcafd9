#!/usr/bin/env bash
# Fails if any C++ file differs from the repo's clang-format style. Run by ctest ("format").
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h' 2>/dev/null || find src tests fuzz bench -name '*.cc' -o -name '*.h')
clang-format --dry-run --Werror $files
echo "format: $(echo "$files" | wc -w) files checked"
