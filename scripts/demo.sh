#!/usr/bin/env bash
# kiln's main job on its embedded defaults, on a fresh Debian 12 machine: install what kiln
# needs, build it, start the service (`kiln serve --workers 1`: SQLite store, embedded queue,
# one local worker; an admin token on first start), submit the example kickstart with the CLI
# (`kiln submit --follow`: live progress from the event stream), download the image with its
# SHA-256 checked (`kiln download`), and boot it in QEMU until its login prompt.
#
#   KILN_PORT=5000 KILN_DEMO_DIR=./kiln-demo scripts/demo.sh
#   scripts/demo.sh --build-only    # only the set-up: install, build kiln, check the example
set -euo pipefail
cd "$(dirname "$0")/.."

build_only=false
case "${1:-}" in
  "") ;;
  --build-only) build_only=true ;;
  *) echo "demo: unknown argument '$1' (usage: scripts/demo.sh [--build-only])" >&2; exit 2 ;;
esac

scripts/install-deps.sh build
# Only the binary the demo runs: tests and benchmarks are the test command's (scripts/test.sh).
cmake --preset release >/dev/null
cmake --build --preset release --target kiln

kiln=$PWD/build/release/src/kiln
"$kiln" --version
"$kiln" ks validate examples/debian-minimal.ks
if $build_only; then
  echo "demo: kiln built at $kiln"
  exit 0
fi

demo=$(realpath -m "${KILN_DEMO_DIR:-kiln-demo}")
port=${KILN_PORT:-5000}
api=http://127.0.0.1:$port/api/v1
mkdir -p "$demo"

echo "== kiln serve --workers 1 (log: $demo/serve.log)"
"$kiln" serve --workers 1 --listen "127.0.0.1:$port" --data-dir "$demo/data" \
  --cache-dir /var/cache/kiln >"$demo/serve.log" 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  kill -0 $serve_pid 2>/dev/null || break
  curl -fsS "$api/health" >/dev/null 2>&1 && break
  sleep 0.2
done
if ! kill -0 $serve_pid 2>/dev/null; then
  cat "$demo/serve.log" >&2
  echo "demo: kiln serve stopped (above); is port $port taken? KILN_PORT=N picks another" >&2
  exit 1
fi
curl -fsS "$api/health"; echo
cat "$demo/serve.log"
# The CLI talks to this server with the first admin's token (the environment overrides any
# saved `kiln login`).
export KILN_SERVER=http://127.0.0.1:$port KILN_TOKEN=$(cat "$demo/data/admin.token")

echo "== kiln submit examples/debian-minimal.ks as a qcow2, following its progress"
out=$("$kiln" submit --ks examples/debian-minimal.ks --type qcow2 --follow | tee /dev/stderr)
id=$(sed -n 's/^build \([0-9]*\) .*/\1/p' <<<"$out" | head -1)
"$kiln" status "$id"

echo "== kiln download $id (every artifact, SHA-256 checked against the server's)"
"$kiln" download "$id" -o "$demo/build-$id"
image=$(ls "$demo/build-$id"/*.qcow2)
(cd "$demo/build-$id" && sha256sum -c SHA256SUMS)

echo "== boot it"
"$kiln" boot-test "$image"
echo "Done. Start the service again with: $kiln serve --workers 1 --data-dir $demo/data"
