#!/usr/bin/env bash
# The web UI's two targets (issue 19), in Debian's Chromium through playwright-core:
#   1. time to first paint of the dashboard with 10,000 builds in the store (target <= 300 ms),
#      beside the same page with an empty store (the ratio says what the builds cost);
#   2. the build page following a real build whose log has 100,000 lines: the tab's JS heap,
#      its DOM and the renderer's memory stay small (target: the tab under 200 MB), because
#      the page keeps only a window of lines.
# Run as root (the second part's build runs on a local worker), after a debug or release build:
#   bench/ui/run.sh [KILN_BINARY]        (default build/release/src/kiln, else build/debug)
# Writes bench/results/DATE-HOST-ui.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
kiln=${1:-}
if [ -z "$kiln" ]; then
  for k in build/release/src/kiln build/debug/src/kiln; do
    [ -x "$k" ] && kiln=$k && break
  done
fi
[ -x "${kiln:-}" ] || { echo "bench/ui: build kiln first (cmake --build --preset release)" >&2; exit 1; }
scripts/install-deps.sh test >/dev/null
browser=tests/browser
if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.kiln-package-lock.json"; then
  (cd "$browser" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$browser/package-lock.json" "$browser/node_modules/.kiln-package-lock.json"
fi
results=${RESULTS:-bench/results/$(date -u +%Y-%m-%d)-$(hostname -s)-ui.txt}
{
  echo "# bench/ui: kiln's web UI in Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname -s): $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; kiln $(git rev-parse --short HEAD)"
  node bench/ui/ui_bench.mjs "$(realpath "$kiln")"
} | tee "$results"
