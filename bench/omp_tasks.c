/*
 * bench/omp_tasks.c - OpenMP tasks with gcc's libgomp (W1, W2, W4, W5), in
 * the form the OpenMP examples use: one thread of a parallel region creates
 * the tasks inside `single`, the others execute them; `taskwait` waits for
 * the children; the implicit barrier at the end of the region waits for all.
 *
 *   omp_tasks W1 N | W2 n | W3 ... | W4 N | W5 tasks iters | W6 ...
 *
 * Team size: P (num_threads), the libgomp default on this machine too.
 * Wait policy and spin count are libgomp's defaults.
 */
#define _GNU_SOURCE
#include "common.h"

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
    int64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(nthreads)
#pragma omp single
    v = fib(n);
    int64_t t1 = bench_now_ns();
    int ok = v == bench_fib_expect(n);
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
    else {
        fprintf(stderr, "usage: %s W1|W2|W3|W4|W5|W6 [args]\n", argv[0]);
        return 2;
    }
    return 0;
}
