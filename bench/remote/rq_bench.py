"""RQ's side of R1 and R2 (bench/remote/README.md).

The workers: `rq worker` (forks a child per job) or `rq worker -w
rq.worker.SimpleWorker` (runs jobs in its own process), two of them, started
by run.sh with this directory on PYTHONPATH.  The client:

    python3 rq_bench.py R1 N PEER  N no-op jobs enqueued, then waits until
                                   all N are in the finished registry
    python3 rq_bench.py R2 N PEER  one job at a time: enqueue, then poll its
                                   status every 0.2 ms (RQ has no push of
                                   results); p50 / p99

Redis: the private redis-server in $CREW_BENCH_REDIS.
"""
import os
import sys
import time

from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry

URL = os.environ.get("CREW_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def noop():
    return None


def wait_finished(job, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if job.get_status(refresh=True) == "finished":
            return True
        time.sleep(0.0002)
    return False


def r1(n, peer):
    q = Queue("crewbench", connection=Redis.from_url(URL))
    if not wait_finished(q.enqueue("rq_bench.noop"), 120):
        sys.exit("rq_bench: no worker")
    finished = FinishedJobRegistry(queue=q)
    base = finished.count
    t0 = time.monotonic()
    for _ in range(n):
        q.enqueue("rq_bench.noop")
    end = t0 + 600
    while finished.count < base + n and time.monotonic() < end:
        time.sleep(0.002)
    dt = time.monotonic() - t0
    ok = finished.count == base + n and FailedJobRegistry(queue=q).count == 0
    print("RESULT workload=R1 peer=%s metric=jobs_per_s value=%.1f check=%s n=%d"
          % (peer, n / dt, "ok" if ok else "failed", n))


def r2(n, peer):
    q = Queue("crewbench", connection=Redis.from_url(URL))
    wait_finished(q.enqueue("rq_bench.noop"), 120)
    rt = []
    ok = True
    for _ in range(n):
        t0 = time.monotonic()
        ok &= wait_finished(q.enqueue("rq_bench.noop"), 60)
        rt.append(time.monotonic() - t0)
    rt.sort()
    for name, v in (("p50_us", rt[len(rt) // 2]), ("p99_us", rt[len(rt) * 99 // 100])):
        print("RESULT workload=R2 peer=%s metric=%s value=%.1f check=%s"
              % (peer, name, v * 1e6, "ok" if ok else "failed"))


if __name__ == "__main__":
    {"R1": r1, "R2": r2}[sys.argv[1]](int(sys.argv[2]), sys.argv[3])
