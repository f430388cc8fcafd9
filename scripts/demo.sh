#!/usr/bin/env bash
# kiln's main job on its embedded defaults, on a fresh Debian 12 machine: install what kiln
# needs, build it, read the example requests (validate and flatten the kickstarts, show the
# BuildSpec of the seed-format request), build a bootable qcow2 disk image of the example
# server from Debian's mirror, and boot it in QEMU until its login prompt.
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
"$kiln" build --ks examples/debian-minimal.ks --type qcow2 --output kiln-out
cat kiln-out/SHA256SUMS
"$kiln" boot-test kiln-out/*.qcow2
