#!/usr/bin/env bash
# What kiln's isolation costs (issue 16), two ways of building side by side in one run, on the
# same kickstart, mirror state and package downloads:
#   root     kiln as it was before the sandbox (ROOT_KILN), mmdebstrap and %post as root
#   sandbox  kiln run by root: every untrusted step in a sandbox
#   user     kiln run by an ordinary user (BENCH_USER): the whole build as root of the user's
#            own user namespace, no root anywhere
# For each image type:
#   cold       an empty stage cache (the packages already downloaded, for both)
#   warm       a new %post: the scripts stage and the assembly run again
#   identical  the same request again: every stage a cache hit
# and the SHA-256 of the cold images, which must be equal (same spec, same mirror state).
#
#   sudo MODES="sandbox user" bench/build/isolation.sh
#   sudo MODES="root sandbox" ROOT_KILN=/path/to/kiln-before-the-sandbox bench/build/isolation.sh
#
# ROOT_KILN is a kiln binary from before the sandbox (commit 5a455f6 or older; build it in a
# git worktree with `cmake --preset release && cmake --build --preset release --target kiln`).
# Environment (optional): MODES ("sandbox user": the first is the reference of the ratios),
# KILN (build/release/src/kiln), BENCH_USER (kiln-bench, made with useradd if missing, which
# gives it a subordinate id range), WORK (/var/tmp/kiln-bench-isolation), TYPES ("tar raw"),
# ROUNDS (1: each round runs both modes, in turn first; use an even number, so that each mode
# goes first as often: the second of a round runs on a page cache the first filled, which on
# a small machine costs its warm build 1-2 s), DROP_CACHES (1: before each mode's cold build,
# write back and drop the page cache, so that both start from the same memory), RESULTS
# (bench/results/DATE-HOST-isolation.txt), PERF (1: record each build's program runs with
# `perf record` on the exec/exit tracepoints, into $WORK/logs/MODE-TYPE-CASE-ROUND.perf; read
# them with bench/build/exec_times.py), KEEP (1: keep the runs' caches and images in WORK).
set -euo pipefail

SELF="$(readlink -f "$0")"
cd "$(dirname "$SELF")/../.."

MODES="${MODES:-sandbox user}"
ROOT_KILN="${ROOT_KILN:-}"
KILN="${KILN:-build/release/src/kiln}"
BENCH_USER="${BENCH_USER:-kiln-bench}"
WORK="${WORK:-/var/tmp/kiln-bench-isolation}"
TYPES="${TYPES:-tar raw}"
ROUNDS="${ROUNDS:-1}"
PERF="${PERF:-}"
DROP_CACHES="${DROP_CACHES:-1}"
RESULTS="${RESULTS:-bench/results/$(date +%F)-$(hostname -s)-isolation.txt}"
KS=examples/debian-minimal.ks

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "isolation.sh: run as root (it runs each mode as it needs)" >&2; exit 2; }
read -r MODE_A MODE_B <<< "$MODES"
[ -n "$MODE_B" ] || { echo "isolation.sh: MODES names two of root, sandbox, user" >&2; exit 2; }
case " $MODES " in *" root "*) [ -n "$ROOT_KILN" ] ||
  { echo "isolation.sh: mode root needs ROOT_KILN, a kiln from before the sandbox" >&2; exit 2; } ;;
esac
[ -z "$PERF" ] || command -v perf >/dev/null ||
  { echo "isolation.sh: PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 2; }
for bin in ${ROOT_KILN:+"$ROOT_KILN"} "$KILN"; do
  [ -x "$bin" ] || { echo "isolation.sh: $bin is not an executable kiln" >&2; exit 2; }
done
if [[ " $MODES " == *" user "* ]] && ! id "$BENCH_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/sh "$BENCH_USER"
fi
KILN="$(readlink -f "$KILN")"

mkdir -p "$WORK/logs"
ROWS="$WORK/rows.tsv"
: > "$ROWS"

# The packages every cold build starts with: downloaded once, by the sandboxed kiln.
if [ ! -d "$WORK/packages" ]; then
  log "downloading the packages once"
  "$KILN" build --ks "$KS" --type tar --output "$WORK/prefetch" --cache-dir "$WORK/prefetch-cache" \
    > "$WORK/logs/prefetch.log" 2>&1
  cp -a "$WORK/prefetch-cache/packages" "$WORK/packages"
fi

# build MODE TYPE CASE KS-FILE: one timed build into $WORK/out-MODE-TYPE-CASE.
build() {
  local mode=$1 type=$2 case=$3 ks=$4
  local out="$WORK/out-$mode-$type-$case" start end
  local run=("$KILN")
  [ "$mode" = root ] && run=("$ROOT_KILN")
  [ "$mode" = user ] && run=(runuser -u "$BENCH_USER" -- "$KILN")
  if [ -n "$PERF" ]; then
    run=(perf record -q -o "$WORK/logs/$mode-$type-$case-$round.perf"
         -e sched:sched_process_exec -e sched:sched_process_exit -a -- "${run[@]}")
  fi
  rm -rf "$out"
  if [ "$mode" = user ]; then
    mkdir -p "$out" && chown "$BENCH_USER:" "$out"
  fi
  sync  # the writes before this build (cache set-up, the last one's output) are not its cost
  start=$(date +%s.%N)
  if ! /usr/bin/time -o "$WORK/logs/$mode-$type-$case.cpu" -f '%U %S' \
      "${run[@]}" build --ks "$ks" --type "$type" --output "$out" --cache-dir "$WORK/cache-$mode" \
      > "$WORK/logs/$mode-$type-$case.log" 2>&1; then
    log "FAILED: $mode $type $case (see $WORK/logs/$mode-$type-$case.log)"
    exit 1
  fi
  end=$(date +%s.%N)
  local image sha
  image=$(ls "$out"/*."$type"* | head -1)
  sha=$(sha256sum "$image" | cut -c1-64)
  local cpu
  cpu=$(tail -1 "$WORK/logs/$mode-$type-$case.cpu" | awk '{printf "%.1f", $1 + $2}')
  printf '%s\t%s\t%s\t%.1f\t%s\t%s\n' "$mode" "$type" "$case" "$(echo "$end - $start" | bc)" \
    "$cpu" "$sha" >> "$ROWS"
  log "$mode $type $case: $(echo "$end - $start" | bc | cut -c1-6) s (cpu user sys: $(tail -1 "$WORK/logs/$mode-$type-$case.cpu"))"
}

# A cache with the downloaded packages, for MODE: the user's belongs to the user (its build
# namespace's root may write there), and the sandboxed modes' to root. Both are hard links to
# one copy each, so neither build starts with freshly written data still to be flushed.
if [[ " $MODES " == *" user "* ]] && [ ! -d "$WORK/packages-user" ]; then
  cp -a "$WORK/packages" "$WORK/packages-user"
  chown -R "$BENCH_USER:" "$WORK/packages-user"
fi
fresh_cache() {
  local mode=$1 packages="$WORK/packages"
  [ "$mode" = user ] && packages="$WORK/packages-user"
  rm -rf "$WORK/cache-$mode"
  mkdir -p "$WORK/cache-$mode"
  cp -al "$packages" "$WORK/cache-$mode/packages"
  [ "$mode" = user ] && chown "$BENCH_USER:" "$WORK/cache-$mode"
  return 0
}

chmod 755 "$WORK"
for round in $(seq 1 "$ROUNDS"); do
  order="$MODE_A $MODE_B"
  [ $((round % 2)) = 0 ] && order="$MODE_B $MODE_A"
  for type in $TYPES; do
    for mode in $order; do
      fresh_cache "$mode"
      if [ "$DROP_CACHES" = 1 ]; then
        sync
        echo 3 > /proc/sys/vm/drop_caches
      fi
      build "$mode" "$type" cold "$KS"
      warm="$WORK/warm-$round.ks"
      { cat "$KS"; printf '%%post\necho %s > /etc/bench-round\n%%end\n' "$round-$(date +%s%N)"; } > "$warm"
      chmod 644 "$warm"
      build "$mode" "$type" warm "$warm"
      build "$mode" "$type" identical "$warm"
    done
  done
done

# The median of MODE's seconds for TYPE and CASE (with 2 rounds the lower): wall-clock time
# (column 4) or the CPU time of the build and all its processes (column 5, user + system).
median() {
  awk -v m="$1" -v t="$2" -v c="$3" -v col="${4:-4}" '$1==m && $2==t && $3==c {print $col}' \
    "$ROWS" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

{
  echo "# kiln build: $MODE_A vs $MODE_B — $(date -u +%FT%TZ), $(hostname -s)"
  echo "# $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; kickstart $KS; $ROUNDS round(s)," \
    "each mode first in turn; page cache dropped before each mode's cold build: ${DROP_CACHES}"
  echo "# seconds (median over rounds; with 2 rounds the lower) and $MODE_B/$MODE_A, wall-clock"
  echo "# and CPU (user + system of every process of the build: what noise from other machines"
  echo "# on a shared host does not change); cold image SHA-256 compared"
  printf '%-5s %-10s %9s %9s %7s %9s %9s %7s\n' type case "$MODE_A" "$MODE_B" ratio \
    "cpu-$MODE_A" "cpu-$MODE_B" ratio
  for type in $TYPES; do
    for case in cold warm identical; do
      a=$(median "$MODE_A" "$type" "$case")
      b=$(median "$MODE_B" "$type" "$case")
      ca=$(median "$MODE_A" "$type" "$case" 5)
      cb=$(median "$MODE_B" "$type" "$case" 5)
      printf '%-5s %-10s %9s %9s %7.2f %9s %9s %7.2f\n' "$type" "$case" "$a" "$b" \
        "$(echo "$b / $a" | bc -l)" "$ca" "$cb" "$(echo "$cb / $ca" | bc -l)"
    done
    as=$(awk -v m="$MODE_A" -v t="$type" '$1==m && $2==t && $3=="cold" {print $6}' "$ROWS" | sort -u)
    bs=$(awk -v m="$MODE_B" -v t="$type" '$1==m && $2==t && $3=="cold" {print $6}' "$ROWS" | sort -u)
    if [ "$as" = "$bs" ]; then
      echo "$type: cold images identical: sha256 $as"
    else
      echo "$type: cold images DIFFER: $MODE_A $as / $MODE_B $bs"
    fi
  done
  echo
  echo "# every timed build: mode, type, case, seconds, cpu seconds, image sha256 (rounds in order)"
  cat "$ROWS"
} | tee "$RESULTS"

# The caches and images of the runs are gigabytes (13 GB for raw): kept only with KEEP=1. The
# downloaded packages stay for the next run.
if [ "${KEEP:-}" != 1 ]; then
  rm -rf "$WORK"/cache-* "$WORK"/out-* "$WORK"/prefetch "$WORK"/prefetch-cache
fi
