"""bench/py_pool.py - the reference semantics: Python's
concurrent.futures.ThreadPoolExecutor (W1, W4-W7) and queue.Queue (W3).

    py_pool.py W1 N | W2 n | W3 N producers consumers | W4 N | W5 tasks us | W6 N
               | W7 threads N | W8 ... W11 (unsupported, as W2)

The executor has max_workers = P.  "Wait until all ran" is
executor.shutdown(wait=True).  W5's task is the same xorshift chain as the C
programs' bench_spin, with its iteration count calibrated here to `us`
microseconds of Python time.  Prints the same RESULT lines as the C programs
(see bench/README.md).
"""
import concurrent.futures as cf
import itertools
import os
import queue
import sys
import threading
import time

PEER = "python"
M64 = (1 << 64) - 1


def result(workload, metric, value, ok):
    print(f"RESULT workload={workload} peer={PEER} metric={metric} value={value:.6g} "
          f"check={'ok' if ok else 'FAIL'}", flush=True)


def threads():
    env = os.environ.get("BENCH_THREADS")
    return int(env) if env else os.cpu_count() or 1


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return -1


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def new_pool():
    """An executor with P threads already started (it starts them lazily)."""
    p = threads()
    ex = cf.ThreadPoolExecutor(max_workers=p)
    barrier = threading.Barrier(p)
    for f in [ex.submit(barrier.wait) for _ in range(p)]:
        f.result()
    return ex


def w1(n):
    ex = new_pool()
    ctr = itertools.count()  # next() on it is atomic under the GIL
    t0 = time.perf_counter_ns()
    for _ in range(n):
        ex.submit(next, ctr)
    ex.shutdown(wait=True)
    t1 = time.perf_counter_ns()
    result("W1", "ns_per_task", (t1 - t0) / n, next(ctr) == n)


def w7(nthreads, n):
    """W7: submit() may be called from any thread; the submitters start
    together and the executor's shutdown(wait=True) waits for all."""
    ex = new_pool()
    ctr = itertools.count()
    start = threading.Barrier(nthreads + 1)

    def submitter():
        start.wait()
        for _ in range(n):
            ex.submit(next, ctr)

    ths = [threading.Thread(target=submitter) for _ in range(nthreads)]
    for t in ths:
        t.start()
    t0 = time.perf_counter_ns()
    start.wait()
    for t in ths:
        t.join()
    ex.shutdown(wait=True)
    t1 = time.perf_counter_ns()
    total = nthreads * n
    result("W7", "ns_per_task", (t1 - t0) / total, next(ctr) == total)


def w3(n, np_, nc):
    q = queue.Queue(maxsize=1024)
    got = [0] * nc
    sums = [0] * nc

    def producer(k):
        for i in range(k + 1, n + 1, np_):
            q.put(i)

    def consumer(k):
        take = n // nc + (1 if k < n % nc else 0)
        s = 0
        for _ in range(take):
            s += q.get()
        got[k] = take
        sums[k] = s

    ths = [threading.Thread(target=producer, args=(k,)) for k in range(np_)]
    ths += [threading.Thread(target=consumer, args=(k,)) for k in range(nc)]
    t0 = time.perf_counter_ns()
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    t1 = time.perf_counter_ns()
    ok = sum(got) == n and sum(sums) == n * (n + 1) // 2
    w = "W3-1p1c" if (np_, nc) == (1, 1) else "W3-2p2c" if (np_, nc) == (2, 2) else "W3-other"
    result(w, "ns_per_item", (t1 - t0) / n, ok)
    result(w, "mitems_per_s", n * 1e3 / (t1 - t0), ok)


def w4(n):
    ex = new_pool()
    ctr = itertools.count()
    lat = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        ex.submit(next, ctr).result()
        lat.append(time.perf_counter_ns() - t0)
    ex.shutdown(wait=True)
    lat.sort()
    ok = next(ctr) == n
    result("W4", "p50_us", lat[n // 2] / 1e3, ok)
    result("W4", "p99_us", lat[n * 99 // 100] / 1e3, ok)


def spin(iters, seed):
    """bench_spin of bench/common.h, in Python."""
    x = (seed * 0x9E3779B97F4A7C15 + 1) & M64
    for _ in range(iters):
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
    return x


def calibrate(us):
    probe = 20000
    best = min(_timed(spin, probe) for _ in range(5))
    return max(1, int(probe * us * 1e3 / best))


def _timed(fn, *args):
    t0 = time.perf_counter_ns()
    fn(*args, 0)
    return time.perf_counter_ns() - t0


def w5(n, us):
    iters = calibrate(us)
    t0 = time.perf_counter_ns()
    seq = [spin(iters, i) for i in range(n)]
    t1 = time.perf_counter_ns()
    ex = new_pool()
    t2 = time.perf_counter_ns()
    futs = [ex.submit(spin, iters, i) for i in range(n)]
    ex.shutdown(wait=True)
    t3 = time.perf_counter_ns()
    ok = [f.result() for f in futs] == seq
    result("W5", "speedup", (t1 - t0) / (t3 - t2), ok)
    result("W5", "seq_ms", (t1 - t0) / 1e6, ok)
    result("W5", "pool_ms", (t3 - t2) / 1e6, ok)


def w6(n):
    ex = new_pool()
    gate = threading.Event()
    ctr = itertools.count()

    def task():
        gate.wait()
        next(ctr)

    futs = [None] * n  # the caller's list of futures is not counted
    base = status_kb("VmRSS:")
    reset_peak()
    for i in range(n):
        futs[i] = ex.submit(task)
    peak = status_kb("VmHWM:")
    gate.set()
    ex.shutdown(wait=True)
    ok = next(ctr) == n and all(f.done() for f in futs)
    result("W6", "bytes_per_task", (peak - base) * 1024 / n, ok)
    result("W6", "peak_mb", peak / 1024, ok)


def main():
    w = sys.argv[1] if len(sys.argv) > 1 else ""
    arg = [int(a) for a in sys.argv[2:]]

    def a(i, default):
        return arg[i] if i < len(arg) else default

    if w == "W1":
        w1(a(0, 100000))
    elif w == "W2":
        print(f'UNSUPPORTED workload=W2 peer={PEER} reason="a ThreadPoolExecutor task that waits '
              f'on a child future blocks its worker thread: with P workers the fib recursion '
              f'deadlocks"', flush=True)
    elif w in ("W8", "W9", "W10", "W11"):
        print(f'UNSUPPORTED workload={w} peer={PEER} reason="a ThreadPoolExecutor task that waits '
              f'on a child future blocks its worker thread: with P workers the recursion '
              f'deadlocks"', flush=True)
    elif w == "W7":
        w7(a(0, 8), a(1, 12500))
    elif w == "W3":
        w3(a(0, 1000000), a(1, 1), a(2, 1))
    elif w == "W4":
        w4(a(0, 10000))
    elif w == "W5":
        w5(a(0, 2000), a(1, 200))
    elif w == "W6":
        w6(a(0, 1000000))
    else:
        print(f"usage: {sys.argv[0]} W1|W2|W3|W4|W5|W6|W7 [args]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
