#!/usr/bin/env bash
# Fails if a function in src/ is longer than MAX_LINES (100): past that, a reader scrolls, and
# the function is doing several things that deserve names (issue 18). Run by ctest
# ("function-length"); universal-ctags finds each function's first and last line.
set -euo pipefail
cd "$(dirname "$0")/.."
max=${MAX_LINES:-100}
long=$(ctags -R --languages=C++ --kinds-C++=f --fields=+ne -x \
         --_xformat='%{end} %{line} %N %F' src |
       awk -v max="$max" '{ n = $1 - $2 + 1; if (n > max) print n " lines: " $3 " (" $4 ":" $2 ")" }' |
       sort -rn)
count=$(ctags -R --languages=C++ --kinds-C++=f -x --_xformat='%N' src | wc -l)
if [ -n "$long" ]; then
  echo "functions over $max lines (split them into named steps):"
  echo "$long"
  exit 1
fi
echo "function-length: $count functions in src/, none over $max lines"
