"""The Celery side of bench/queue: the anchor kiln's queue is compared with.

A no-op task on RabbitMQ with acks_late and prefetch 1, run by a 4-process prefork worker
(`celery -A celery_bench worker -c 4`, started by run.sh). The task appends
"index sent_us start_us" to a file per worker process; the submitter then reads them back:

    python3 celery_bench.py submit --count 2000 --interval-ms 5 --label latency
    python3 celery_bench.py submit --count 10000 --label throughput

and prints one JSON object like kiln's queue_bench: latency = task start - send time,
throughput = tasks / (last start - first send), and each task ran exactly once.
"""
import argparse
import glob
import json
import os
import sys
import time

from celery import Celery

OUT = os.environ.get("BENCH_OUT", "/tmp/celery-bench")
app = Celery("celery_bench", broker=os.environ.get("BROKER", "amqp://guest@localhost//"))
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue="celery-bench",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_log = None


@app.task(name="noop")
def noop(label, index, sent_us):
    global _log
    start_us = time.time_ns() // 1000
    if _log is None:
        _log = open(os.path.join(OUT, "done-%d.log" % os.getpid()), "a", buffering=1)
    _log.write("%s %d %d %d\n" % (label, index, sent_us, start_us))


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))]


def submit(args):
    start = time.time_ns() // 1000
    for i in range(args.count):
        if args.interval_ms > 0:
            due = start + int(i * args.interval_ms * 1000)
            wait = due - time.time_ns() // 1000
            if wait > 0:
                time.sleep(wait / 1e6)
        noop.apply_async((args.label, i, time.time_ns() // 1000))
    submitted = time.time_ns() // 1000
    seen = {}
    deadline = time.time() + 600
    while time.time() < deadline:
        seen = {}
        runs = {}
        for path in glob.glob(os.path.join(OUT, "done-*.log")):
            with open(path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) != 4 or parts[0] != args.label:
                        continue
                    index, sent, started = int(parts[1]), int(parts[2]), int(parts[3])
                    runs[index] = runs.get(index, 0) + 1
                    seen[index] = (sent, started)
        if len(seen) >= args.count:
            break
        time.sleep(0.1)
    latencies = [(s - t) / 1000.0 for t, s in seen.values()]
    last = max((s for _, s in seen.values()), default=start)
    seconds = (last - start) / 1e6
    print(json.dumps({
        "label": args.label,
        "count": args.count,
        "succeeded": len(seen),
        "ran_twice": sum(1 for n in runs.values() if n > 1),
        "latency_ms_p50": percentile(latencies, 0.50),
        "latency_ms_p99": percentile(latencies, 0.99),
        "latency_ms_max": percentile(latencies, 1.0),
        "submit_seconds": (submitted - start) / 1e6,
        "drain_seconds": seconds,
        "jobs_per_second": len(seen) / seconds if seconds > 0 else 0,
    }))
    return 0 if len(seen) == args.count else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("submit")
    s.add_argument("--count", type=int, default=100)
    s.add_argument("--interval-ms", type=float, default=0)
    s.add_argument("--label", default="run")
    args = parser.parse_args()
    sys.exit(submit(args))
