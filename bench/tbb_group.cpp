/*
 * bench/tbb_group.cpp - oneTBB: tbb::task_group (W1, W2, W4, W5, W6) and
 * tbb::concurrent_bounded_queue (W3), used as the oneTBB documentation shows.
 *
 *   tbb_group W1 N | W2 n | W3 N producers consumers | W4 N | W5 tasks iters | W6 N
 *
 * Default arena: P slots, P - 1 worker threads plus the thread that calls
 * task_group::wait(), which executes tasks while it waits.  W2 is the
 * task_group fib of the oneTBB documentation, without a serial cutoff
 * (every call with n >= 2 spawns, as BENCH.md's W2 says).
 */
#include "common.h"

#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/task_group.h>

#include <string>
#include <thread>
#include <vector>

#define PEER "tbb"

static long counter; /* __atomic, relaxed: only the final total matters */

/* Lets the arena start its workers before anything is timed. */
static void warm_up()
{
    tbb::task_group tg;
    for (unsigned i = 0; i < 4 * bench_threads(); i++)
        tg.run([] { __atomic_fetch_add(&counter, 0, __ATOMIC_RELAXED); });
    tg.wait();
}

static void w1(long n)
{
    warm_up();
    tbb::task_group tg;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        tg.run([] { __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED); });
    tg.wait();
    int64_t t1 = bench_now_ns();
    bench_result("W1", PEER, "ns_per_task", (double)(t1 - t0) / (double)n,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

static long fib(int n)
{
    if (n < 2)
        return n;
    long x, y;
    tbb::task_group g;
    g.run([&] { x = fib(n - 1); });
    y = fib(n - 2);
    g.wait();
    return x + y;
}

static void w2(int n)
{
    warm_up();
    int64_t t0 = bench_now_ns();
    long v = fib(n);
    int64_t t1 = bench_now_ns();
    int ok = v == bench_fib_expect(n);
    bench_result("W2", PEER, "ms", (double)(t1 - t0) / 1e6, ok);
    bench_result("W2", PEER, "ns_per_task", (double)(t1 - t0) / (double)bench_fib_tasks(n), ok);
}

static void w3(long n, long np, long nc)
{
    tbb::concurrent_bounded_queue<void *> q;
    q.set_capacity(1024);
    std::vector<std::thread> th;
    std::vector<uint64_t> got(nc), sum(nc);
    int64_t t0 = bench_now_ns();
    for (long k = 0; k < np; k++)
        th.emplace_back([&, k] {
            for (long i = k + 1; i <= n; i += np)
                q.push((void *)(uintptr_t)i);
        });
    for (long k = 0; k < nc; k++)
        th.emplace_back([&, k] {
            long take = n / nc + (k < n % nc);
            uint64_t g = 0, s = 0;
            for (long i = 0; i < take; i++) {
                void *item;
                q.pop(item);
                s += (uintptr_t)item;
                g++;
            }
            got[k] = g;
            sum[k] = s;
        });
    for (auto &t : th)
        t.join();
    int64_t t1 = bench_now_ns();
    uint64_t g = 0, s = 0;
    for (long k = 0; k < nc; k++) {
        g += got[k];
        s += sum[k];
    }
    int ok = g == (uint64_t)n && s == bench_w3_sum((uint64_t)n);
    const char *w = bench_w3_name(np, nc);
    bench_result(w, PEER, "ns_per_item", (double)(t1 - t0) / (double)n, ok);
    bench_result(w, PEER, "mitems_per_s", (double)n * 1e3 / (double)(t1 - t0), ok);
}

static void w4(long n)
{
    std::vector<int64_t> lat(n);
    warm_up();
    tbb::task_group tg;
    for (long i = 0; i < n; i++) {
        int64_t t0 = bench_now_ns();
        tg.run([] { __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED); });
        tg.wait();
        lat[i] = bench_now_ns() - t0;
    }
    bench_latency_report(PEER, lat.data(), n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

static void w5(long n, long iters)
{
    std::vector<uint64_t> seq(n), out(n);
    uint64_t it = (uint64_t)iters;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        seq[i] = bench_spin(it, (uint64_t)i);
    int64_t t1 = bench_now_ns();
    warm_up();
    tbb::task_group tg;
    int64_t t2 = bench_now_ns();
    for (long i = 0; i < n; i++)
        tg.run([&out, it, i] { out[i] = bench_spin(it, (uint64_t)i); });
    tg.wait();
    int64_t t3 = bench_now_ns();
    bench_w5_report(PEER, t1 - t0, t3 - t2, seq == out);
}

static bench_gate gate;

static void w6(long n)
{
    bench_gate_init(&gate);
    warm_up();
    tbb::task_group tg;
    long base = bench_status_kb("VmRSS:");
    bench_reset_peak();
    for (long i = 0; i < n; i++)
        tg.run([] {
            bench_gate_wait(&gate);
            __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        });
    long peak = bench_status_kb("VmHWM:");
    bench_gate_open(&gate);
    tg.wait();
    bench_w6_report(PEER, base, peak, n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

int main(int argc, char **argv)
{
    std::string w = argc > 1 ? argv[1] : "";
    if (w == "W1")
        w1(bench_arg(argc, argv, 2, 1000000));
    else if (w == "W2")
        w2((int)bench_arg(argc, argv, 2, 30));
    else if (w == "W3")
        w3(bench_arg(argc, argv, 2, 10000000), bench_arg(argc, argv, 3, 1),
           bench_arg(argc, argv, 4, 1));
    else if (w == "W4") {
        bench_note(PEER, "W4: task_group::wait() runs the queued task in the waiting thread "
                         "when no worker took it first");
        w4(bench_arg(argc, argv, 2, 10000));
    } else if (w == "W5")
        w5(bench_arg(argc, argv, 2, 2000), bench_arg(argc, argv, 3, 100000));
    else if (w == "W6")
        w6(bench_arg(argc, argv, 2, 1000000));
    else {
        fprintf(stderr, "usage: %s W1|W2|W3|W4|W5|W6 [args]\n", argv[0]);
        return 2;
    }
    return 0;
}
