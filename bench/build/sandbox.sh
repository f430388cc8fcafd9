#!/usr/bin/env bash
# What the sandbox costs (issue 16): kiln as it was, with mmdebstrap and %post run as root of
# the host, against kiln with every build step sandboxed, side by side in one run, on the same
# kickstart, mirror state and package downloads. For each image type:
#   cold       an empty stage cache (the packages already downloaded, for both)
#   warm       a new %post: the scripts stage and the assembly run again
#   identical  the same request again: every stage a cache hit
# and the SHA-256 of the cold images, which must be equal (same spec, same mirror state).
#
#   sudo ROOT_KILN=/path/to/kiln-before-the-sandbox bench/build/sandbox.sh
#
# ROOT_KILN is a kiln binary from before the sandbox (commit 5a455f6 or older; build it in a
# git worktree with `cmake --preset release && cmake --build --preset release --target kiln`).
# Environment (optional): KILN (build/release/src/kiln), WORK (/var/tmp/kiln-bench-sandbox),
# TYPES ("tar raw"), ROUNDS (1: each round runs both binaries, in turn first), RESULTS
# (bench/results/DATE-HOST-sandbox.txt).
set -euo pipefail

SELF="$(readlink -f "$0")"
cd "$(dirname "$SELF")/../.."

ROOT_KILN="${ROOT_KILN:?set ROOT_KILN to a kiln binary from before the sandbox}"
KILN="${KILN:-build/release/src/kiln}"
WORK="${WORK:-/var/tmp/kiln-bench-sandbox}"
TYPES="${TYPES:-tar raw}"
ROUNDS="${ROUNDS:-1}"
RESULTS="${RESULTS:-bench/results/$(date +%F)-$(hostname -s)-sandbox.txt}"
KS=examples/debian-minimal.ks

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "sandbox.sh: run as root (both modes build as root)" >&2; exit 2; }
for bin in "$ROOT_KILN" "$KILN"; do
  [ -x "$bin" ] || { echo "sandbox.sh: $bin is not an executable kiln" >&2; exit 2; }
done

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

# build MODE BIN TYPE CASE KS-FILE: one timed build into $WORK/MODE-TYPE-CASE.
build() {
  local mode=$1 bin=$2 type=$3 case=$4 ks=$5
  local out="$WORK/out-$mode-$type-$case" start end
  rm -rf "$out"
  start=$(date +%s.%N)
  if ! "$bin" build --ks "$ks" --type "$type" --output "$out" --cache-dir "$WORK/cache-$mode" \
      > "$WORK/logs/$mode-$type-$case.log" 2>&1; then
    log "FAILED: $mode $type $case (see $WORK/logs/$mode-$type-$case.log)"
    exit 1
  fi
  end=$(date +%s.%N)
  local image sha
  image=$(ls "$out"/*."$type"* | head -1)
  sha=$(sha256sum "$image" | cut -c1-64)
  printf '%s\t%s\t%s\t%.1f\t%s\n' "$mode" "$type" "$case" "$(echo "$end - $start" | bc)" "$sha" \
    >> "$ROWS"
  log "$mode $type $case: $(echo "$end - $start" | bc | cut -c1-6) s"
}

for round in $(seq 1 "$ROUNDS"); do
  order="root sandbox"
  [ $((round % 2)) = 0 ] && order="sandbox root"
  for type in $TYPES; do
    for mode in $order; do
      bin="$KILN"; [ "$mode" = root ] && bin="$ROOT_KILN"
      rm -rf "$WORK/cache-$mode"
      mkdir -p "$WORK/cache-$mode"
      cp -al "$WORK/packages" "$WORK/cache-$mode/packages"
      build "$mode" "$bin" "$type" cold "$KS"
      warm="$WORK/warm-$round.ks"
      { cat "$KS"; printf '%%post\necho %s > /etc/bench-round\n%%end\n' "$round-$(date +%s%N)"; } > "$warm"
      build "$mode" "$bin" "$type" warm "$warm"
      build "$mode" "$bin" "$type" identical "$warm"
    done
  done
done

{
  echo "# kiln build: root mode (5a455f6) vs sandboxed builds — $(date -u +%FT%TZ), $(hostname -s)"
  echo "# $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; kickstart $KS; $ROUNDS round(s)"
  echo "# seconds (median over rounds; with 2 rounds the lower) and sandboxed/root; cold image SHA-256 compared"
  printf '%-5s %-10s %9s %9s %7s\n' type case root sandbox ratio
  for type in $TYPES; do
    for case in cold warm identical; do
      r=$(awk -v t="$type" -v c="$case" '$1=="root" && $2==t && $3==c {print $4}' "$ROWS" | sort -n |
          awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
      s=$(awk -v t="$type" -v c="$case" '$1=="sandbox" && $2==t && $3==c {print $4}' "$ROWS" |
          sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
      printf '%-5s %-10s %9s %9s %7.2f\n' "$type" "$case" "$r" "$s" "$(echo "$s / $r" | bc -l)"
    done
    rs=$(awk -v t="$type" '$1=="root" && $2==t && $3=="cold" {print $5}' "$ROWS" | sort -u)
    ss=$(awk -v t="$type" '$1=="sandbox" && $2==t && $3=="cold" {print $5}' "$ROWS" | sort -u)
    if [ "$rs" = "$ss" ]; then
      echo "$type: cold images identical: sha256 $rs"
    else
      echo "$type: cold images DIFFER: root $rs / sandbox $ss"
    fi
  done
  echo
  echo "# every timed build: mode, type, case, seconds, image sha256 (rounds in order)"
  cat "$ROWS"
} | tee "$RESULTS"
