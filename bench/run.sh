#!/usr/bin/env bash
# Builds the release preset and runs the kickstart benchmarks; writes the results, with the
# date and the machine, to bench/results/DATE-HOST-ks.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench >/dev/null  # Google Benchmark: the release preset builds the
                                          # benchmarks only when it is installed
cmake --preset release >/dev/null
cmake --build --preset release --target kiln_ks_bench
out="bench/results/$(date +%F)-$(hostname -s)-ks.txt"
{
  echo "# kiln kickstart reader benchmarks"
  echo "# date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  build/release/bench/kiln_ks_bench --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true "$@" 2>&1
} | tee "$out"
echo "results: $out"
