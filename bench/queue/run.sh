#!/usr/bin/env bash
# kiln's queue path against Celery 5 on the same RabbitMQ, side by side on this machine
# (issue 5 targets):
#   1. latency: 2,000 jobs submitted 5 ms apart; submit-to-claim p50/p99
#      (Celery: a no-op task's start; kiln: the master's claim of a dry-run build);
#   2. throughput: 10,000 jobs submitted as fast as possible, drained by 4 workers
#      (Celery: 4 prefork processes, acks_late, prefetch 1; kiln: 4 `kiln worker`s).
# Both count that every job finished and none ran twice. Writes
# bench/results/DATE-HOST-queue.txt. Run as root (the broker and workers need it):
#   sudo bench/queue/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

KILN=${KILN:-build/release/src/kiln}
BENCH=${BENCH:-build/release/bench/kiln_queue_bench}
WORK=${WORK:-/var/tmp/kiln-bench-queue}
LAT_COUNT=${LAT_COUNT:-2000}
LAT_INTERVAL_MS=${LAT_INTERVAL_MS:-5}
TP_COUNT=${TP_COUNT:-10000}
WORKERS=${WORKERS:-4}
CAPACITY=${CAPACITY:-8}         # builds at once per kiln worker (its prefetch)
CONCURRENCY=${CONCURRENCY:-8}   # kiln submit connections in the throughput run
BATCH=${BATCH:-100}             # builds per submit request in the throughput run (1 = one each)
AMQP_PORT=${AMQP_PORT:-5690}
KILN_PORT=${KILN_PORT:-5091}
RESULTS=${RESULTS:-bench/results/$(date -u +%Y-%m-%d)-$(hostname -s)-queue.txt}

scripts/install-deps.sh bench >/dev/null  # wrk drives the HTTP floor below
cmake --preset release >/dev/null
cmake --build --preset release --target kiln kiln_queue_bench kiln_broker_floor kiln_store_floor >/dev/null
FLOOR=${FLOOR:-build/release/bench/kiln_broker_floor}
STORE_FLOOR=${STORE_FLOOR:-build/release/bench/kiln_store_floor}

rm -rf "$WORK"
mkdir -p "$WORK/rabbit" "$WORK/celery"
chown -R rabbitmq:rabbitmq "$WORK/rabbit"
export XDG_CONFIG_HOME=$WORK/config
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rabbitmqctl -q -n "kiln-bench@localhost" stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() { for _ in $(seq 1 600); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

RABBITMQ_NODENAME=kiln-bench@localhost RABBITMQ_NODE_PORT=$AMQP_PORT \
  RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000)) RABBITMQ_MNESIA_BASE=$WORK/rabbit/mnesia \
  RABBITMQ_LOG_BASE=$WORK/rabbit/log setsid rabbitmq-server >"$WORK/rabbit/out.log" 2>&1 &
wait_port "$AMQP_PORT"
BROKER="amqp://guest@127.0.0.1:$AMQP_PORT//"
# CPU seconds (user+system) of a process and its children so far.
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15+$16+$17)/t}' "/proc/$1/stat" 2>/dev/null || echo 0; }
beam=$(pgrep -u rabbitmq -n beam.smp || true)  # the newest broker: this run's

# --- Celery (ONLY=kiln skips it, for iterating on kiln)
celery_lat='{"latency_ms_p50": 0, "latency_ms_p99": 0, "jobs_per_second": 0}'
celery_tp=$celery_lat
if [ "${ONLY:-}" != kiln ]; then
(cd bench/queue && BROKER=$BROKER BENCH_OUT=$WORK/celery C_FORCE_ROOT=1 \
  setsid /usr/bin/python3 -m celery -A celery_bench worker -c "$WORKERS" -P prefork --without-gossip \
  --without-mingle --without-heartbeat -Q celery-bench -l warning >"$WORK/celery/worker.log" 2>&1) &
pids+=($!)
sleep 5
celery_lat=$(cd bench/queue && BROKER=$BROKER BENCH_OUT=$WORK/celery /usr/bin/python3 celery_bench.py \
  submit --count "$LAT_COUNT" --interval-ms "$LAT_INTERVAL_MS" --label latency)
celery_broker_before=$(cpu "$beam")
celery_tp=$(cd bench/queue && BROKER=$BROKER BENCH_OUT=$WORK/celery /usr/bin/python3 celery_bench.py \
  submit --count "$TP_COUNT" --label throughput)
celery_broker_after=$(cpu "$beam")
pkill -f "celery -A celery_bench worker" || true
sleep 2
fi

# --- kiln
"$KILN" serve --listen 127.0.0.1:$KILN_PORT --data-dir "$WORK/master" --broker "$BROKER" ${SERVE_ARGS:-} \
  >"$WORK/serve.log" 2>&1 &
serve_pid=$!
pids+=($!)
worker_pids=()
wait_port "$KILN_PORT"
"$KILN" token create --worker bench --data-dir "$WORK/master" >"$WORK/worker.token" 2>/dev/null
TOKEN=$(cat "$WORK/master/admin.token")
for i in $(seq 1 "$WORKERS"); do
  "$KILN" worker --master "http://127.0.0.1:$KILN_PORT" --token-file "$WORK/worker.token" \
    --broker "$BROKER" --arch x86_64 --release bookworm --capacity "$CAPACITY" \
    --data-dir "$WORK/worker-$i" --cache-dir "$WORK/cache" --id "bench-$i" \
    >"$WORK/worker-$i.log" 2>&1 &
  pids+=($!)
  worker_pids+=($!)
done
for i in $(seq 1 "$WORKERS"); do
  for _ in $(seq 1 300); do grep -q "consuming from" "$WORK/worker-$i.log" && break; sleep 0.1; done
done
# One dry run first: the workers read the mirror's release file once (then cached a minute).
"$BENCH" --url "http://127.0.0.1:$KILN_PORT" --token "$TOKEN" --count "$WORKERS" \
  --concurrency "$WORKERS" --label warmup >/dev/null
kiln_lat=$("$BENCH" --url "http://127.0.0.1:$KILN_PORT" --token "$TOKEN" --count "$LAT_COUNT" \
  --interval-ms "$LAT_INTERVAL_MS" --label latency)
snapshot() { echo "master $(cpu "$serve_pid") broker $(cpu "$beam") workers$(for p in "${worker_pids[@]}"; do echo -n " $(cpu "$p")"; done)"; }
before=$(snapshot)
kiln_tp=$("$BENCH" --url "http://127.0.0.1:$KILN_PORT" --token "$TOKEN" --count "$TP_COUNT" \
  --concurrency "$CONCURRENCY" --batch "$BATCH" --label throughput)
after=$(snapshot)

# --- the HTTP floor: one request at a time on one keep-alive connection to the master's
# cheapest route (no store, no JSON body), as the worker protocol uses it; CPU of the master
# and of wrk per request.
http_before=$(cpu "$serve_pid")
wrk_out=$( { /usr/bin/time -f "wrk_cpu %U %S" wrk -t1 -c1 -d5s "http://127.0.0.1:$KILN_PORT/api/v1/health"; } 2>&1)
http_after=$(cpu "$serve_pid")
http_floor=$(python3 - "$wrk_out" "$http_before" "$http_after" <<'PY'
import json, re, sys
out, before, after = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
n = int(re.search(r"(\d+) requests in", out).group(1))
u, s = map(float, re.search(r"wrk_cpu ([\d.]+) ([\d.]+)", out).groups())
print(json.dumps({"label": "http floor", "requests": n, "server_cpu_us": round((after - before) * 1e6 / n, 1),
                  "client_cpu_us": round((u + s) * 1e6 / n, 1)}))
PY
)

# --- the broker alone: one durable, confirmed message per job and nothing else
floor_before=$(cpu "$beam")
floor1=$(/usr/bin/time -f "%U %S" -o "$WORK/floor1.cpu" "$FLOOR" --url "$BROKER" --count "$TP_COUNT" \
  --consumers "$WORKERS" --prefetch 1)
floor_mid=$(cpu "$beam")
floor16=$("$FLOOR" --url "$BROKER" --count "$TP_COUNT" --consumers "$WORKERS" --prefetch 16)
floor_after=$(cpu "$beam")
store_floor=$("$STORE_FLOOR" --dir "$WORK/store-floor" --count 5000)

ratio() { python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(round(a[sys.argv[3]]/b[sys.argv[3]], 2) if b[sys.argv[3]] else 0)" "$1" "$2" "$3"; }
{
  echo "# bench/queue: kiln vs Celery $(/usr/bin/python3 -c "import celery; print(celery.__version__)") on RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server)"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname -s): $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; kiln $(git rev-parse --short HEAD)"
  echo "# $WORKERS workers each side; kiln --capacity $CAPACITY; kiln submits over $CONCURRENCY connections, $BATCH builds a request, in the throughput run"
  echo "celery latency:    $celery_lat"
  echo "kiln latency:      $kiln_lat"
  echo "celery throughput: $celery_tp"
  echo "kiln throughput:   $kiln_tp"
  echo "kiln CPU seconds before/after the throughput run: $before / $after"
  echo "broker CPU seconds in celery's throughput run: ${celery_broker_before:-0} -> ${celery_broker_after:-0}"
  echo "broker alone, prefetch 1:   $floor1 (broker CPU s: $floor_before -> $floor_mid)"
  echo "broker alone, prefetch 16:  $floor16 (broker CPU s: $floor_mid -> $floor_after)"
  echo "http floor:                 $http_floor"
  echo "store floor:                $store_floor"
  python3 - "$floor1" "$http_floor" "$store_floor" "$celery_tp" "$(nproc)" \
    "$floor_before" "$floor_mid" "$(cat "$WORK/floor1.cpu")" <<'PY'
import json, sys
broker, http, store, celery = (json.loads(a) for a in sys.argv[1:5])
cores = int(sys.argv[5])
broker_cpu = float(sys.argv[7]) - float(sys.argv[6])
client_cpu = sum(map(float, sys.argv[8].split()))
# Per job, the least the protocol needs: one durable confirmed message, published and
# consumed (the broker's and the floor program's CPU per message, prefetch 1), three HTTP
# requests (submit, claim, result) and three commits -- before any of kiln's own work.
broker_us = (broker_cpu + client_cpu) * 1e6 / broker["messages"]
http_us = 3 * (http["server_cpu_us"] + http["client_cpu_us"])
commit_us = 3 * store["bare_commit_cpu_us"]
floor_us = broker_us + http_us + commit_us
ceiling = cores * 1e6 / floor_us
# (Batched submits and grouped claims and results share the HTTP and commit parts between
# builds: this is the floor of the one-request-per-build protocol, CAPACITY=1 BATCH=1.)
print("unbatched floor per job:      %.0f us (broker %.0f + 3 HTTP %.0f + 3 commits %.0f) -> at most %.0f jobs/s on %d cores"
      % (floor_us, broker_us, http_us, commit_us, ceiling, cores))
if celery["jobs_per_second"]:
    print("that ceiling / celery:        %.2f" % (ceiling / celery["jobs_per_second"]))
PY
  echo "latency p50 kiln/celery:      $(ratio "$kiln_lat" "$celery_lat" latency_ms_p50) (target <= 1.0)"
  echo "latency p99 kiln/celery:      $(ratio "$kiln_lat" "$celery_lat" latency_ms_p99)"
  echo "throughput kiln/celery:       $(ratio "$kiln_tp" "$celery_tp" jobs_per_second) (target >= 2.0)"
} | tee "$ROOT/$RESULTS"
