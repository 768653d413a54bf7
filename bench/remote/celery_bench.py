"""Celery's side of R1 and R2 (bench/remote/README.md).

The worker: `celery -A celery_bench worker -c 2` (two prefork processes), run
from this directory by run.sh.  The client:

    python3 celery_bench.py R1 N   N no-op tasks submitted (delay), then every
                                   result waited for (get); jobs/s end to end
    python3 celery_bench.py R2 N   one task at a time: delay, get; p50 / p99

Broker and result backend: the private redis-server in $CREW_BENCH_REDIS.
"""
import os
import sys
import time

from celery import Celery

URL = os.environ.get("CREW_BENCH_REDIS", "redis://127.0.0.1:6379/0")
app = Celery("crewbench", broker=URL, backend=URL)
app.conf.update(
    broker_connection_retry_on_startup=True,
    task_default_queue="crewbench",
    result_expires=600,
    worker_hijack_root_logger=False,
)


@app.task(name="crewbench.noop")
def noop():
    return None


def r1(n):
    noop.delay().get(timeout=120)  # a worker serves
    t0 = time.monotonic()
    rs = [noop.delay() for _ in range(n)]
    ok = all(r.get(timeout=600) is None for r in rs)
    dt = time.monotonic() - t0
    print("RESULT workload=R1 peer=celery metric=jobs_per_s value=%.0f check=%s n=%d"
          % (n / dt, "ok" if ok else "failed", n))


def r2(n):
    noop.delay().get(timeout=120)
    rt = []
    for _ in range(n):
        t0 = time.monotonic()
        noop.delay().get(timeout=60)
        rt.append(time.monotonic() - t0)
    rt.sort()
    for name, v in (("p50_us", rt[len(rt) // 2]), ("p99_us", rt[len(rt) * 99 // 100])):
        print("RESULT workload=R2 peer=celery metric=%s value=%.1f check=ok" % (name, v * 1e6))


if __name__ == "__main__":
    {"R1": r1, "R2": r2}[sys.argv[1]](int(sys.argv[2]))
