#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded time from a copy of its seed corpus.
# Usage: run_fuzzer.sh FUZZER SEED_DIR SECONDS
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
# -timeout: a single input taking longer than 10 s counts as a hang (a failure).
exec "$fuzzer" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="${TMPDIR:-/tmp}/kiln-fuzz-"
