#!/usr/bin/env bash
# kiln serve against nginx, side by side on this machine (DESIGN/issue 4 targets):
#   1. GET /api/v1/builds/{id} with wrk (keep-alive): kiln vs nginx serving the same JSON as
#      a static file — req/s and p99;
#   2. the same GET while 1,000 event streams are open — kiln's RSS and p99;
#   3. a 2 GiB artifact downloaded over loopback — kiln (sendfile) vs nginx (sendfile);
#   4. submit-to-running latency with one local worker — p50/p90 of started_at - created_at.
# Writes bench/results/DATE-HOST-service.txt. Run as root on an idle machine:
#   sudo bench/service/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

KILN=${KILN:-build/release/src/kiln}
WORK=${WORK:-/var/tmp/kiln-bench-service}
DURATION=${DURATION:-10}     # seconds per wrk run
CONNECTIONS=${CONNECTIONS:-64}
STREAMS=${STREAMS:-1000}
BIG_GIB=${BIG_GIB:-2}
SAMPLES=${SAMPLES:-30}       # submit-to-running samples
KILN_PORT=${KILN_PORT:-5081}
NGINX_PORT=${NGINX_PORT:-5082}
RESULTS=${RESULTS:-bench/results/$(date -u +%Y-%m-%d)-$(hostname -s)-service.txt}

scripts/install-deps.sh bench >/dev/null
[ -x "$KILN" ] && "$KILN" serve --help >/dev/null 2>&1 || {
  cmake --preset release >/dev/null && cmake --build --preset release
}

rm -rf "$WORK"
mkdir -p "$WORK/nginx/www" "$WORK/nginx/tmp"
export XDG_CONFIG_HOME=$WORK/config  # the first start's CLI config goes here, not to ~
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
log() { echo "[$(date +%T)] $*" >&2; }

start_kiln() {  # WORKERS
  "$KILN" serve --listen "127.0.0.1:$KILN_PORT" --data-dir "$WORK/data" --cache-dir "$WORK/cache" \
    --workers "$1" >>"$WORK/serve.log" 2>&1 &
  kiln_pid=$!
  pids+=("$kiln_pid")
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$KILN_PORT/api/v1/health" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "kiln serve did not start; see $WORK/serve.log" >&2
  exit 1
}
stop_kiln() { kill "$kiln_pid"; wait "$kiln_pid" 2>/dev/null || true; }

# wrk's "Requests/sec" and p99 (ms) of one run: wrk_run URL [HEADER]
wrk_run() {
  local out
  if [ $# -gt 1 ]; then
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$2" "$1")
  else
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1")
  fi
  echo "$out" >>"$WORK/wrk.log"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  echo "$rps $p99"
}

log "kiln serve (no workers) with one build"
start_kiln 0
token=$(cat "$WORK/data/admin.token")
auth="Authorization: Bearer $token"
api="http://127.0.0.1:$KILN_PORT/api/v1"
id=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' \
  -d '{"type":"qcow2","kickstart":"lang C\n%packages\nopenssh-server\n%end\n"}' "$api/builds" | jq .id)
curl -fsS -H "$auth" "$api/builds/$id" >"$WORK/nginx/www/build.json"
json_bytes=$(stat -c %s "$WORK/nginx/www/build.json")

cat >"$WORK/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  sendfile_max_chunk 0;  # no limit per call, like kiln's loop
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
  default_type application/json;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/nginx/www; }
}
NGINX
nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
sleep 0.5
nginx_url="http://127.0.0.1:$NGINX_PORT/build.json"

log "1. GET build JSON ($json_bytes bytes): kiln, then nginx"
read -r kiln_rps kiln_p99 < <(wrk_run "$api/builds/$id" "$auth")
read -r nginx_rps nginx_p99 < <(wrk_run "$nginx_url")

log "2. the same with $STREAMS event streams open"
python3 bench/service/sse_hold.py "$api/builds/$id/events" "$token" "$STREAMS" $((DURATION + 30)) \
  >"$WORK/sse.out" 2>&1 &
sse_pid=$!
pids+=("$sse_pid")
for _ in $(seq 300); do grep -q "^open" "$WORK/sse.out" && break; sleep 0.1; done
grep -q "^open" "$WORK/sse.out" || { cat "$WORK/sse.out" >&2; exit 1; }
streams_open=$(awk '/^open/ {print $2}' "$WORK/sse.out")
read -r sse_rps sse_p99 < <(wrk_run "$api/builds/$id" "$auth")
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$kiln_pid/status")
hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$kiln_pid/status")
watchers=$(curl -fsS -H "$auth" "http://127.0.0.1:$KILN_PORT/metrics" | awk '/^kiln_event_watchers/ {print $2}')
kill "$sse_pid" 2>/dev/null || true

log "3. a ${BIG_GIB} GiB artifact: kiln, then nginx (page cache warm for both)"
big=$WORK/data/builds/$id/artifacts/big.img
mkdir -p "$(dirname "$big")"
fallocate -l "${BIG_GIB}G" "$big" 2>/dev/null || truncate -s "${BIG_GIB}G" "$big"
head -c 1M /dev/urandom | dd of="$big" conv=notrunc status=none
ln -f "$big" "$WORK/nginx/www/big.img"
size=$(stat -c %s "$big")
sqlite3 "$WORK/data/kiln.db" \
  "INSERT INTO artifacts(build_id, name, size, sha256) VALUES($id, 'big.img', $size, 'bench');"
cat "$big" >/dev/null
download() {  # URL [HEADER] -> bytes/s
  local args=(-sS -o /dev/null -w '%{speed_download} %{size_download}\n')
  [ $# -gt 1 ] && args+=(-H "$2")
  curl "${args[@]}" "$1"
}
best_kiln=0 best_nginx=0
for _ in 1 2 3; do
  read -r s n < <(download "$api/builds/$id/artifacts/big.img" "$auth")
  [ "$n" = "$size" ] || { echo "kiln sent $n of $size bytes" >&2; exit 1; }
  best_kiln=$(echo "if ($s > $best_kiln) $s else $best_kiln" | bc)
  read -r s n < <(download "http://127.0.0.1:$NGINX_PORT/big.img")
  best_nginx=$(echo "if ($s > $best_nginx) $s else $best_nginx" | bc)
done
rm -f "$big" "$WORK/nginx/www/big.img"
curl -fsS -X POST -H "$auth" "$api/builds/$id/cancel" >/dev/null  # the worker starts idle
stop_kiln

log "4. submit-to-running with one local worker ($SAMPLES builds, each canceled once running)"
start_kiln 1
latencies=()
for i in $(seq "$SAMPLES"); do
  b=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"type\":\"tar\",\"kickstart\":\"lang C\\n%packages\\njq\\n%end\\n%post\\necho $i-$RANDOM\\n%end\\n\"}" \
    "$api/builds" | jq .id)
  for _ in $(seq 200); do
    state=$(curl -fsS -H "$auth" "$api/builds/$b" | jq -r .state)
    [ "$state" = running ] && break
    sleep 0.02
  done
  curl -fsS -X POST -H "$auth" "$api/builds/$b/cancel" >/dev/null || true
  for _ in $(seq 300); do
    state=$(curl -fsS -H "$auth" "$api/builds/$b" | jq -r .state)
    [ "$state" != running ] && break
    sleep 0.05
  done
  # Server-side timestamps, milliseconds: created_at (the POST) to started_at (the claim).
  ms=$(sqlite3 "$WORK/data/kiln.db" \
    "SELECT CASE WHEN started_ms > 0 THEN started_ms - created_ms ELSE -1 END FROM builds WHERE id=$b")
  if [ "$ms" -lt 0 ]; then
    echo "build $b never started; see $WORK/serve.log" >&2
    exit 1
  fi
  latencies+=("$ms")
done
stop_kiln
sorted=$(printf '%s\n' "${latencies[@]}" | sort -n)
p50=$(sed -n "$(( (SAMPLES + 1) / 2 ))p" <<<"$sorted")
p90=$(sed -n "$(( (SAMPLES * 9 + 9) / 10 ))p" <<<"$sorted")

ratio() { echo "scale=2; $1 / $2" | bc; }
mkdir -p "$(dirname "$RESULTS")"
{
  echo "# kiln serve vs nginx (bench/service/run.sh)"
  echo "# date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo -)"
  echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2/1048576}' /proc/meminfo); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# kiln: $("$KILN" --version); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1)"
  echo "# wrk -t2 -c$CONNECTIONS -d${DURATION}s (keep-alive); wrk shares the 2 cores with the server"
  echo
  echo "1. GET /api/v1/builds/$id ($json_bytes bytes of JSON)"
  echo "   kiln:  $kiln_rps req/s, p99 $kiln_p99 ms"
  echo "   nginx: $nginx_rps req/s, p99 $nginx_p99 ms (the same JSON as a static file)"
  echo "   ratio kiln/nginx: $(ratio "$kiln_rps" "$nginx_rps")   targets: >= 20000 req/s, >= 0.5"
  echo
  echo "2. with $streams_open event streams open ($watchers watchers in /metrics)"
  echo "   kiln: $sse_rps req/s, p99 $sse_p99 ms; RSS $((rss_kib / 1024)) MiB (peak $((hwm_kib / 1024)) MiB)"
  echo "   targets: RSS <= 150 MB, p99 < 50 ms"
  echo
  echo "3. ${BIG_GIB} GiB artifact over loopback (best of 3, page cache warm)"
  echo "   kiln:  $(echo "scale=2; $best_kiln / 1000000000" | bc) GB/s"
  echo "   nginx: $(echo "scale=2; $best_nginx / 1000000000" | bc) GB/s"
  echo "   ratio kiln/nginx: $(ratio "$best_kiln" "$best_nginx")   target: >= 0.9"
  echo
  echo "4. submit-to-running, one local worker, $SAMPLES builds (server timestamps, ms)"
  echo "   p50 $p50 ms, p90 $p90 ms   target: p50 <= 10 ms"
  echo "   all: ${latencies[*]}"
} | tee "$RESULTS"
log "results: $RESULTS"
