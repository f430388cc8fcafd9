#!/usr/bin/env bash
# Two kiln binaries through bench/service/run.sh, side by side in one session: BASE (e.g. the
# commit before a change) and NEW, in the order A B B A ... (ROUNDS rounds), so that drift on
# a shared machine falls on both. Prints the median of each case and NEW/BASE.
#
#   sudo BASE=/path/to/old/kiln NEW=build/release/src/kiln bench/service/compare.sh
#
# Build BASE in a git worktree: `git worktree add /var/tmp/kiln-base COMMIT && cd
# /var/tmp/kiln-base && cmake --preset release && cmake --build --preset release --target kiln`.
# Environment: ROUNDS (2), SUMMARY_ONLY (1: no runs, the table from OUT's last ones), RESULTS (bench/results/DATE-HOST-service-compare.txt), and what
# run.sh reads (DURATION, CONNECTIONS, STREAMS, BIG_GIB, SAMPLES).
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE=${BASE:?BASE=/path/to/the/kiln to compare against}
NEW=${NEW:-build/release/src/kiln}
ROUNDS=${ROUNDS:-2}
RESULTS=${RESULTS:-bench/results/$(date -u +%Y-%m-%d)-$(hostname -s)-service-compare.txt}
OUT=${OUT:-/var/tmp/kiln-bench-service-compare}
for bin in "$BASE" "$NEW"; do
  [ -x "$bin" ] || { echo "compare.sh: $bin is not an executable kiln" >&2; exit 2; }
done
if [ -z "${SUMMARY_ONLY:-}" ]; then  # SUMMARY_ONLY=1: the table again from $OUT's runs
  rm -rf "$OUT"
  mkdir -p "$OUT"
fi

run() {  # NAME BINARY ROUND
  echo "[$(date +%T)] $1 (round $3)" >&2
  KILN="$2" RESULTS="$OUT/$1-$3.txt" bench/service/run.sh >"$OUT/$1-$3.log" 2>&1 ||
    { echo "compare.sh: the $1 run failed; see $OUT/$1-$3.log" >&2; exit 1; }
}
for round in $([ -n "${SUMMARY_ONLY:-}" ] || seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then run base "$BASE" "$round"; run new "$NEW" "$round"
  else run new "$NEW" "$round"; run base "$BASE" "$round"; fi
done

# One number of a results file: the case's line and the word after a label.
value() {  # FILE CASE-LINE-PATTERN LABEL-PATTERN
  awk -v line="$2" -v label="$3" '$0 ~ line {
      for (i = 1; i < NF; i++) if ($i ~ label) { v = $(i + 1); gsub(/[^0-9.]/, "", v); print v; exit }
    }' "$1"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
column() {  # NAME CASE-LINE LABEL
  for f in "$OUT/$1"-*.txt; do value "$f" "$2" "$3"; done | median
}
row() {  # TITLE CASE-LINE LABEL
  local b n
  b=$(column base "$2" "$3")
  n=$(column new "$2" "$3")
  printf '%-34s %12s %12s %7.2f\n' "$1" "$b" "$n" "$(echo "$n / $b" | bc -l)"
}
{
  echo "# bench/service/compare.sh — $(date -u +%FT%TZ), $(hostname -s), $(nproc) cores"
  echo "# base: $BASE ($("$BASE" --version)); new: $NEW ($("$NEW" --version)), commit $(git rev-parse --short HEAD)"
  echo "# $ROUNDS rounds (order base new, new base, ...); medians; each run's file in $OUT"
  printf '%-34s %12s %12s %7s\n' case base new new/base
  # kiln/nginx within one run: what load from elsewhere on a shared machine moves least.
  row "GET build JSON, kiln/nginx" "ratio kiln/nginx: .*20000" "kiln/nginx:"
  row "2 GiB download, kiln/nginx" "ratio kiln/nginx: .*target: >= 0.9" "kiln/nginx:"
  row "GET build JSON, req/s" "^   kiln: .*req/s, p99" "kiln:"
  row "GET build JSON, p99 ms" "^   kiln: .*req/s, p99" "p99"
  row "with 1000 streams open, req/s" "^   kiln: .*RSS" "kiln:"
  row "with 1000 streams open, p99 ms" "^   kiln: .*RSS" "p99"
  row "with 1000 streams open, RSS MiB" "^   kiln: .*RSS" "RSS"
  row "2 GiB download, GB/s" "^   kiln: .*GB/s" "kiln:"
  row "submit-to-running p50, ms" "^   p50 .*ms, p90" "p50"
  echo
  for f in "$OUT"/*.txt; do echo "## $(basename "$f")"; cat "$f"; echo; done
} | tee "$RESULTS"
