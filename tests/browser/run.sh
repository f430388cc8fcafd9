#!/usr/bin/env bash
# The web UI in a real browser (ctest: browser-ui). Installs the test's two npm packages
# (playwright-core, axe-core; pinned in package-lock.json) when they are missing or stale, then
# runs ui.test.mjs against a real `kiln serve --workers 1`.
#   tests/browser/run.sh KILN_BINARY OUT_DIR     (screenshots and the server's log go to OUT_DIR)
# Exits 77 (ctest: skipped) without Debian's Chromium or Node.js, or when not root (the local
# worker builds images).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kiln=${1:?usage: run.sh KILN_BINARY OUT_DIR}
out=${2:?usage: run.sh KILN_BINARY OUT_DIR}

for tool in /usr/bin/chromium node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "browser-ui: $tool is missing (scripts/install-deps.sh test installs it): skipped"
    exit 77
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "browser-ui: the local worker builds images: run as root; skipped"
  exit 77
fi

# npm ci only when the installed packages are not the lock file's.
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.kiln-package-lock.json"; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$here/node_modules/.kiln-package-lock.json"
fi

mkdir -p "$out"
exec node "$here/ui.test.mjs" "$kiln" "$out"
