#!/usr/bin/env python3
"""Where a build's time went, by program: reads `perf record -e sched:sched_process_exec
-e sched:sched_process_exit -a` data (isolation.sh PERF=1 records one per build) and prints
each program run for longer than 0.15 s (start offset, seconds, name) and the total seconds
per program name.

    bench/build/exec_times.py /var/tmp/kiln-bench-isolation/logs/user-raw-warm-1.perf
"""
import collections
import re
import subprocess
import sys


def runs(perf_data):
    text = subprocess.run(["perf", "script", "-i", perf_data], capture_output=True,
                          text=True, check=True).stdout
    started, names, out = {}, {}, []
    for line in text.splitlines():
        m = re.search(r"\s(\d+\.\d+): sched:sched_process_(exec|exit): (.*)", line)
        if not m:
            continue
        at, kind, rest = float(m.group(1)), m.group(2), m.group(3)
        pid = int(re.search(r"pid=(\d+)", rest).group(1))
        if kind == "exec":
            started[pid] = at
            names[pid] = re.search(r"filename=(\S+)", rest).group(1).rsplit("/", 1)[-1]
        elif "group_dead=true" in rest and pid in started:
            out.append((started[pid], at - started[pid], names[pid]))
    return sorted(out)


def main():
    for path in sys.argv[1:]:
        rows = runs(path)
        print(f"== {path}")
        first = rows[0][0] if rows else 0.0
        totals = collections.defaultdict(float)
        for start, seconds, name in rows:
            totals[name] += seconds
            if seconds > 0.15:
                print(f"{start - first:8.2f} {seconds:7.2f}  {name}")
        print("   total by program:")
        for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:15]:
            print(f"         {seconds:7.2f}  {name}")


if __name__ == "__main__":
    main()
