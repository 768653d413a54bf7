/*
 * bench/tbb_group.cpp - oneTBB: tbb::task_group (W1, W2, W4-W11) and
 * tbb::concurrent_bounded_queue (W3), used as the oneTBB documentation shows.
 *
 *   tbb_group W1 N | W2 n | W3 N producers consumers | W4 N | W5 tasks iters | W6 N
 *             | W7 threads N | W8 n cutoff | W9 depth | W10 n | W11 x
 *
 * Default arena: P slots, P - 1 worker threads plus the thread that calls
 * task_group::wait(), which executes tasks while it waits.  W2 is the
 * task_group fib of the oneTBB documentation, without a serial cutoff
 * (every call with n >= 2 spawns, as BENCH.md's W2 says).  W8-W11 run
 * bench/workloads.h's algorithms with a task_group per node.  W7: threads
 * outside the arena submit with task_arena::enqueue (the documented way
 * for any thread to hand work to an arena) of task_group::defer handles, and
 * the main thread waits with task_group::wait() inside the arena.  W2 and
 * W9 also report their peak memory.
 */
#include "common.h"
#include "workloads.h"

#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/task_arena.h>
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
    long base = bench_mem_start();
    int64_t t0 = bench_now_ns();
    long v = fib(n);
    int64_t t1 = bench_now_ns();
    int ok = v == bench_fib_expect(n);
    bench_mem_report("W2", PEER, base, ok);
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

/* ---- W7 ------------------------------------------------------------------ */
struct w7_ctx {
    tbb::task_arena *arena;
    tbb::task_group *tg;
};

static void w7_body(void *ctx, int k, long n)
{
    w7_ctx *c = (w7_ctx *)ctx;
    (void)k;
    for (long i = 0; i < n; i++)
        c->arena->enqueue(c->tg->defer([] { __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED); }));
}

static void w7(int threads, long n)
{
    tbb::task_arena arena; /* P slots, one of them for a thread that joins it */
    tbb::task_group tg;
    arena.initialize();
    arena.execute([] { warm_up(); });
    w7_ctx c = {&arena, &tg};
    bench_w7 w;
    if (bench_w7_launch(&w, threads, n, w7_body, &c) != 0) {
        fprintf(stderr, "tbb_group: W7: bad thread count %d\n", threads);
        exit(2);
    }
    int64_t t0 = bench_w7_go(&w);
    bench_w7_join(&w);
    arena.execute([&] { tg.wait(); });
    int64_t t1 = bench_now_ns();
    long total = (long)threads * n;
    bench_result("W7", PEER, "ns_per_task", (double)(t1 - t0) / (double)total,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == total);
}

/* ---- W8-W11: the fork-join workloads of workloads.h ---------------------- */
static void nq(bench_nq *t)
{
    if (bench_nq_leaf(t))
        return;
    bench_nq kids[BENCH_NQ_MAX];
    int k = bench_nq_children(t, kids);
    tbb::task_group g;
    for (int i = 0; i < k; i++) {
        bench_nq *kid = &kids[i];
        g.run([kid] { nq(kid); });
    }
    g.wait();
    t->count = 0;
    for (int i = 0; i < k; i++)
        t->count += kids[i].count;
}

static void w8(int n, int cutoff)
{
    if (n < 1 || n > BENCH_NQ_MAX) {
        fprintf(stderr, "tbb_group: W8: n must be 1..%d\n", BENCH_NQ_MAX);
        exit(2);
    }
    warm_up();
    bench_nq top = bench_nq_root(n, cutoff);
    int64_t t0 = bench_now_ns();
    nq(&top);
    int64_t t1 = bench_now_ns();
    std::string ans = std::to_string(top.count);
    bench_result_ans("W8", PEER, "ms", (double)(t1 - t0) / 1e6, top.count == bench_nq_expect(n),
                     ans.c_str());
}

static void uts(bench_uts *t)
{
    int k = bench_uts_nkids(t);
    bench_uts *kids = BENCH_UTS_ALLOCA(k);
    bench_uts_fill(t, kids, k);
    t->count = 1;
    if (k == 0)
        return;
    tbb::task_group g;
    for (int i = 0; i < k; i++) {
        bench_uts *kid = &kids[i];
        g.run([kid] { uts(kid); });
    }
    g.wait();
    for (int i = 0; i < k; i++)
        t->count += kids[i].count;
}

static void w9(int depth)
{
    warm_up();
    bench_uts top = bench_uts_root(depth);
    long base = bench_mem_start();
    int64_t t0 = bench_now_ns();
    uts(&top);
    int64_t t1 = bench_now_ns();
    long want = bench_uts_expect(depth);
    int ok = want < 0 || top.count == want;
    bench_mem_report("W9", PEER, base, ok);
    std::string ans = std::to_string(top.count);
    bench_result_ans("W9", PEER, "ms", (double)(t1 - t0) / 1e6, ok, ans.c_str());
    bench_result_ans("W9", PEER, "ns_per_node", (double)(t1 - t0) / (double)top.count, ok,
                     ans.c_str());
}

static void mm(const bench_mm *t)
{
    if (bench_mm_leaf(t))
        return;
    for (int phase = 0; phase < 2; phase++) {
        bench_mm q[4];
        bench_mm_phase(t, phase, q);
        tbb::task_group g;
        for (int i = 0; i < 4; i++) {
            const bench_mm *s = &q[i];
            g.run([s] { mm(s); });
        }
        g.wait();
    }
}

static void w10(int n)
{
    bench_mm top;
    if (bench_mm_setup(n, &top) != 0) {
        fprintf(stderr, "tbb_group: W10: n must be a power of two >= %d (or out of memory)\n",
                BENCH_MM_LEAF);
        exit(2);
    }
    warm_up();
    int64_t t0 = bench_now_ns();
    mm(&top);
    int64_t t1 = bench_now_ns();
    double sum;
    int ok = bench_mm_check(&top, &sum);
    char ans[40];
    snprintf(ans, sizeof ans, "%.17g", sum);
    bench_result_ans("W10", PEER, "gflops", 2.0 * n * n * (double)n / (double)(t1 - t0), ok, ans);
    bench_result_ans("W10", PEER, "ms", (double)(t1 - t0) / 1e6, ok, ans);
    bench_mm_free(&top);
}

static void integ(bench_int *t)
{
    bench_int l, r;
    if (bench_int_split(t, &l, &r))
        return;
    tbb::task_group g;
    g.run([&l] { integ(&l); });
    integ(&r);
    g.wait();
    t->result = l.result + r.result;
}

static void w11(double x)
{
    warm_up();
    bench_int top = bench_int_root(x);
    int64_t t0 = bench_now_ns();
    integ(&top);
    int64_t t1 = bench_now_ns();
    char ans[40];
    snprintf(ans, sizeof ans, "%.17g", top.result);
    bench_result_ans("W11", PEER, "ms", (double)(t1 - t0) / 1e6, bench_int_check(x, top.result),
                     ans);
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
    else if (w == "W7")
        w7((int)bench_arg(argc, argv, 2, 8), bench_arg(argc, argv, 3, 250000));
    else if (w == "W8")
        w8((int)bench_arg(argc, argv, 2, 12), (int)bench_arg(argc, argv, 3, BENCH_NQ_CUTOFF));
    else if (w == "W9")
        w9((int)bench_arg(argc, argv, 2, BENCH_UTS_DEPTH));
    else if (w == "W10")
        w10((int)bench_arg(argc, argv, 2, 1024));
    else if (w == "W11")
        w11((double)bench_arg(argc, argv, 2, BENCH_INT_X));
    else {
        fprintf(stderr, "usage: %s W1|W2|W3|W4|W5|W6|W7|W8|W9|W10|W11 [args]\n", argv[0]);
        return 2;
    }
    return 0;
}
