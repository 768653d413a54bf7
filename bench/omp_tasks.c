/*
 * bench/omp_tasks.c - OpenMP tasks with gcc's libgomp (W1, W2, W4, W5,
 * W8-W11), in the form the OpenMP examples use: one thread of a parallel
 * region creates the tasks inside `single`, the others execute them;
 * `taskwait` waits for the children; the implicit barrier at the end of the
 * region waits for all.
 *
 *   omp_tasks W1 N | W2 n | W3 ... | W4 N | W5 tasks iters | W6 ... | W7 ...
 *             | W8 n cutoff | W9 depth | W10 n | W11 x
 *
 * Team size: P (num_threads), the libgomp default on this machine too.
 * Wait policy and spin count are libgomp's defaults.  W8-W11 run
 * bench/workloads.h's algorithms; W2 and W9 also report their peak memory.
 */
#define _GNU_SOURCE
#include "common.h"
#include "workloads.h"

#include <omp.h>

#define PEER "omp"

static long counter; /* __atomic, relaxed: only the final total matters */
static int nthreads;

/* Starts the team once, so that thread creation is not timed. */
static void warm_up(void)
{
#pragma omp parallel num_threads(nthreads)
    {
        __atomic_fetch_add(&counter, 0, __ATOMIC_RELAXED);
    }
}

static void w1(long n)
{
    warm_up();
    int64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
    {
        for (long i = 0; i < n; i++) {
#pragma omp task
            __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        }
    } /* the barriers ending single and parallel wait for every task */
    int64_t t1 = bench_now_ns();
    bench_result("W1", PEER, "ns_per_task", (double)(t1 - t0) / (double)n,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

static long fib(int n)
{
    long x, y;
    if (n < 2)
        return n;
#pragma omp task shared(x)
    x = fib(n - 1);
    y = fib(n - 2);
#pragma omp taskwait
    return x + y;
}

static void w2(int n)
{
    long v = 0;
    warm_up();
    long base = bench_mem_start();
    int64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
    v = fib(n);
    int64_t t1 = bench_now_ns();
    int ok = v == bench_fib_expect(n);
    bench_mem_report("W2", PEER, base, ok);
    bench_result("W2", PEER, "ms", (double)(t1 - t0) / 1e6, ok);
    bench_result("W2", PEER, "ns_per_task", (double)(t1 - t0) / (double)bench_fib_tasks(n), ok);
}

/* W4: create one task and taskwait for it; the other team threads wait in
 * the barrier at the end of single, where they run tasks. */
static void w4(long n)
{
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    warm_up();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
    {
        for (long i = 0; i < n; i++) {
            int64_t t0 = bench_now_ns();
#pragma omp task
            __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
#pragma omp taskwait
            lat[i] = bench_now_ns() - t0;
        }
    }
    bench_latency_report(PEER, lat, n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
    free(lat);
}

static void w5(long n, long iters)
{
    uint64_t *seq = calloc((size_t)n, sizeof *seq);
    uint64_t *out = calloc((size_t)n, sizeof *out);
    uint64_t it = (uint64_t)iters;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        seq[i] = bench_spin(it, (uint64_t)i);
    int64_t t1 = bench_now_ns();
    warm_up();
    int64_t t2 = bench_now_ns();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
    {
        for (long i = 0; i < n; i++) {
#pragma omp task firstprivate(i)
            out[i] = bench_spin(it, (uint64_t)i);
        }
    }
    int64_t t3 = bench_now_ns();
    bench_w5_report(PEER, t1 - t0, t3 - t2, memcmp(seq, out, (size_t)n * sizeof *seq) == 0);
    free(seq);
    free(out);
}

/* ---- W8-W11: the fork-join workloads of workloads.h ---------------------- */
static void nq(bench_nq *t)
{
    if (bench_nq_leaf(t))
        return;
    bench_nq kids[BENCH_NQ_MAX];
    int k = bench_nq_children(t, kids);
    for (int i = 0; i < k; i++) {
        bench_nq *kid = &kids[i];
#pragma omp task firstprivate(kid)
        nq(kid);
    }
#pragma omp taskwait
    t->count = 0;
    for (int i = 0; i < k; i++)
        t->count += kids[i].count;
}

static void w8(int n, int cutoff)
{
    if (n < 1 || n > BENCH_NQ_MAX) {
        fprintf(stderr, "omp_tasks: W8: n must be 1..%d\n", BENCH_NQ_MAX);
        exit(2);
    }
    warm_up();
    bench_nq top = bench_nq_root(n, cutoff);
    int64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
    nq(&top);
    int64_t t1 = bench_now_ns();
    char ans[32];
    snprintf(ans, sizeof ans, "%ld", top.count);
    bench_result_ans("W8", PEER, "ms", (double)(t1 - t0) / 1e6, top.count == bench_nq_expect(n),
                     ans);
}

static void uts(bench_uts *t)
{
    int k = bench_uts_nkids(t);
    bench_uts *kids = BENCH_UTS_ALLOCA(k);
    bench_uts_fill(t, kids, k);
    t->count = 1;
    if (k == 0)
        return;
    for (int i = 0; i < k; i++) {
        bench_uts *kid = &kids[i];
#pragma omp task firstprivate(kid)
        uts(kid);
    }
#pragma omp taskwait
    for (int i = 0; i < k; i++)
        t->count += kids[i].count;
}

static void w9(int depth)
{
    warm_up();
    bench_uts top = bench_uts_root(depth);
    long base = bench_mem_start();
    int64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
    uts(&top);
    int64_t t1 = bench_now_ns();
    long want = bench_uts_expect(depth);
    int ok = want < 0 || top.count == want;
    bench_mem_report("W9", PEER, base, ok);
    char ans[32];
    snprintf(ans, sizeof ans, "%ld", top.count);
    bench_result_ans("W9", PEER, "ms", (double)(t1 - t0) / 1e6, ok, ans);
    bench_result_ans("W9", PEER, "ns_per_node", (double)(t1 - t0) / (double)top.count, ok, ans);
}

static void mm(const bench_mm *t)
{
    if (bench_mm_leaf(t))
        return;
    for (int phase = 0; phase < 2; phase++) {
        bench_mm q[4];
        bench_mm_phase(t, phase, q);
        for (int i = 0; i < 4; i++) {
            const bench_mm *s = &q[i];
#pragma omp task firstprivate(s)
            mm(s);
        }
#pragma omp taskwait
    }
}

static void w10(int n)
{
    bench_mm top;
    if (bench_mm_setup(n, &top) != 0) {
        fprintf(stderr, "omp_tasks: W10: n must be a power of two >= %d (or out of memory)\n",
                BENCH_MM_LEAF);
        exit(2);
    }
    warm_up();
    int64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
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
    bench_int *lp = &l;
#pragma omp task firstprivate(lp)
    integ(lp);
    integ(&r);
#pragma omp taskwait
    t->result = l.result + r.result;
}

static void w11(double x)
{
    warm_up();
    bench_int top = bench_int_root(x);
    int64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
    integ(&top);
    int64_t t1 = bench_now_ns();
    char ans[40];
    snprintf(ans, sizeof ans, "%.17g", top.result);
    bench_result_ans("W11", PEER, "ms", (double)(t1 - t0) / 1e6, bench_int_check(x, top.result),
                     ans);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    nthreads = (int)bench_threads();
    if (!strcmp(w, "W1")) {
        bench_note(PEER, "W1: once 64 tasks per thread are queued, libgomp runs each new task "
                         "at once in the creating thread (task throttling)");
        w1(bench_arg(argc, argv, 2, 1000000));
    } else if (!strcmp(w, "W2"))
        w2((int)bench_arg(argc, argv, 2, 30));
    else if (!strcmp(w, "W3"))
        bench_unsupported("W3", PEER, "OpenMP has no queue type");
    else if (!strcmp(w, "W4")) {
        bench_note(PEER, "W4: taskwait may run the task in the waiting thread, and idle libgomp "
                         "threads spin before they sleep (default wait policy)");
        w4(bench_arg(argc, argv, 2, 10000));
    } else if (!strcmp(w, "W5"))
        w5(bench_arg(argc, argv, 2, 2000), bench_arg(argc, argv, 3, 100000));
    else if (!strcmp(w, "W6"))
        bench_unsupported("W6", PEER, "libgomp throttles task creation: past 64 queued tasks per "
                                      "thread a new task runs at once in the creating thread, so "
                                      "1,000,000 tasks cannot be pending (behind a gate the "
                                      "creator would block)");
    else if (!strcmp(w, "W7"))
        bench_unsupported("W7", PEER, "OpenMP tasks are created only by the threads of a parallel "
                                      "region's team: a thread outside it cannot hand a task to "
                                      "the team (8 outside threads would each start a team of "
                                      "their own)");
    else if (!strcmp(w, "W8"))
        w8((int)bench_arg(argc, argv, 2, 12), (int)bench_arg(argc, argv, 3, BENCH_NQ_CUTOFF));
    else if (!strcmp(w, "W9"))
        w9((int)bench_arg(argc, argv, 2, BENCH_UTS_DEPTH));
    else if (!strcmp(w, "W10"))
        w10((int)bench_arg(argc, argv, 2, 1024));
    else if (!strcmp(w, "W11"))
        w11((double)bench_arg(argc, argv, 2, BENCH_INT_X));
    else {
        fprintf(stderr, "usage: %s W1|W2|W3|W4|W5|W6|W7|W8|W9|W10|W11 [args]\n", argv[0]);
        return 2;
    }
    return 0;
}
