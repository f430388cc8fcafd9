#!/usr/bin/env bash
# kiln's main job on its embedded defaults, on a fresh Debian 12 machine: install what kiln
# needs, build it, read the example requests (validate and flatten the kickstarts, show the
# BuildSpec of the seed-format request) and build a real image from one of them. The engine
# builds tar images so far; bootable types come next.
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
"$kiln" build --ks examples/debian-minimal.ks --type tar --output kiln-out
cat kiln-out/SHA256SUMS
