#!/usr/bin/env bash
# kiln's main job on its embedded defaults, on a fresh Debian 12 machine: install what kiln
# needs, build it, and run it on the examples. Until the build engine lands, the main job is
# reading requests: validate and flatten the example kickstarts and show the BuildSpec the
# seed-format request becomes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release

kiln=build/release/src/kiln
set -x
"$kiln" --version
"$kiln" ks validate examples/debian-minimal.ks
"$kiln" ks validate examples/debian-live.ks
"$kiln" ks flatten examples/debian-live.ks
"$kiln" spec show examples/live_imagebuild.conf
