#!/usr/bin/env bash
# kiln's main job on its embedded defaults, on a fresh Debian 12 machine: install what kiln
# needs, build it, start the service (`kiln serve --workers 1`: SQLite store, embedded queue,
# one local worker; an admin token on first start), submit the example kickstart through the
# HTTP API, follow the build's live event stream, download the image and check its SHA-256,
# and boot it in QEMU until its login prompt.
#
#   KILN_PORT=5000 KILN_DEMO_DIR=./kiln-demo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release

kiln=$PWD/build/release/src/kiln
demo=$(realpath -m "${KILN_DEMO_DIR:-kiln-demo}")
port=${KILN_PORT:-5000}
api=http://127.0.0.1:$port/api/v1
mkdir -p "$demo"

"$kiln" --version
"$kiln" ks validate examples/debian-minimal.ks

echo "== kiln serve --workers 1 (log: $demo/serve.log)"
"$kiln" serve --workers 1 --listen "127.0.0.1:$port" --data-dir "$demo/data" \
  --cache-dir /var/cache/kiln >"$demo/serve.log" 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fsS "$api/health" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$api/health"; echo
cat "$demo/serve.log"
auth="Authorization: Bearer $(cat "$demo/data/admin.token")"

echo "== submit examples/debian-minimal.ks as a qcow2 (multipart, like a browser form)"
build=$(curl -fsS -H "$auth" -F type=qcow2 -F arch=x86_64 -F release=bookworm \
  -F kickstart=@examples/debian-minimal.ks "$api/builds")
id=$(jq -r .id <<<"$build")
jq '{id, state, message, queue}' <<<"$build"
echo "watch it:  curl -N -H \"Authorization: Bearer \$(cat $demo/data/admin.token)\" $api/builds/$id/events"
echo "its log:   curl -H \"Authorization: Bearer ...\" $api/builds/$id/log"

echo "== live events (states and stages; the stream also carries progress and every log line)"
curl -fsSN -H "$auth" "$api/builds/$id/events" | while IFS= read -r line; do
  case "$line" in
    "event: "*) event=${line#event: } ;;
    "data: "*) case "${event:-}" in state | stage | stage_done | end) echo "$event ${line#data: }" ;; esac ;;
  esac
done

detail=$(curl -fsS -H "$auth" "$api/builds/$id")
jq '{id, state, error, artifacts: [.artifacts[] | {name, size, sha256}]}' <<<"$detail"
[ "$(jq -r .state <<<"$detail")" = succeeded ] || { echo "the build did not succeed" >&2; exit 1; }

image=$(jq -r '.artifacts[] | select(.name | endswith(".qcow2")) | .name' <<<"$detail")
sha=$(jq -r --arg n "$image" '.artifacts[] | select(.name == $n) | .sha256' <<<"$detail")
echo "== download $api/builds/$id/artifacts/$image"
curl -fsS -H "$auth" -o "$demo/$image" "$api/builds/$id/artifacts/$image"
echo "$sha  $demo/$image" | sha256sum -c -

echo "== boot it"
"$kiln" boot-test "$demo/$image"
echo "Done. Start the service again with: $kiln serve --workers 1 --data-dir $demo/data"
