/*
 * bench/crew_pool.c - crew's pool, futures and groups on W1, W2, W4, W5, W6.
 *
 *   crew_pool W1 N | W2 n | W4 N | W5 tasks iters | W6 N
 *
 * The pool has P workers (crew's default, set explicitly).  "Wait until all
 * ran" is crew_pool_shutdown(pool, true, false), as for the other pools.
 * W2 forks with crew_group from inside the pool (the top call is a submitted
 * task), so every spawn lands on a worker's own deque.  W6 keeps every
 * returned future until the end ("with a future").
 */
#define _GNU_SOURCE
#include "common.h"

#include "crew/future.h"
#include "crew/group.h"
#include "crew/pool.h"

#define PEER "crew"

static long counter;   /* __atomic, relaxed: only the final total matters */
static int failures;   /* __atomic, relaxed: crew calls that returned an error */

static void fail(int rc, const char *what)
{
    fprintf(stderr, "crew_pool: %s: %s\n", what, crew_strerror(rc));
    __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
}

static int ok_so_far(void)
{
    return __atomic_load_n(&failures, __ATOMIC_RELAXED) == 0;
}

static crew_pool *new_pool(void)
{
    crew_pool_options o;
    crew_pool *p = NULL;
    crew_pool_options_init(&o);
    o.workers = bench_threads();
    o.name = "bench";
    int rc = crew_pool_create(&p, &o);
    if (rc != 0) {
        fail(rc, "crew_pool_create");
        exit(1);
    }
    return p;
}

static int inc_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    return 0;
}

/* Runs a few tasks to completion so that workers exist before timing (crew
 * starts them lazily, like GLib and Python). */
static void warm_up(crew_pool *p)
{
    enum { K = 16 };
    crew_future *f[K];
    for (int i = 0; i < K; i++) {
        int rc = crew_pool_submit(p, inc_task, NULL, &f[i]);
        if (rc != 0) {
            fail(rc, "crew_pool_submit (warm-up)");
            exit(1);
        }
    }
    for (int i = 0; i < K; i++) {
        crew_future_wait(f[i]);
        crew_future_release(f[i]);
    }
    __atomic_store_n(&counter, 0, __ATOMIC_RELAXED);
}

static void w1(long n)
{
    crew_pool *p = new_pool();
    warm_up(p);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        int rc = crew_pool_submit(p, inc_task, NULL, NULL);
        if (rc != 0) {
            fail(rc, "crew_pool_submit");
            break;
        }
    }
    int rc = crew_pool_shutdown(p, true, false); /* returns when every task ran */
    int64_t t1 = bench_now_ns();
    if (rc != 0)
        fail(rc, "crew_pool_shutdown");
    crew_pool_destroy(p);
    bench_result("W1", PEER, "ns_per_task", (double)(t1 - t0) / (double)n,
                 ok_so_far() && __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

/* ---- W2: fork-join fib with crew_group ---------------------------------- */
static crew_pool *fib_pool;

typedef struct fib_job {
    int n;
    long r;
} fib_job;

static long fib(int n);

static int fib_job_fn(void *arg)
{
    fib_job *j = arg;
    j->r = fib(j->n);
    return 0;
}

static long fib(int n)
{
    if (n < 2)
        return n;
    crew_group g;
    fib_job child = {.n = n - 1, .r = 0};
    int rc = crew_group_init(&g, fib_pool);
    if (rc == 0)
        rc = crew_group_spawn(&g, fib_job_fn, &child);
    if (rc != 0) {
        fail(rc, "crew_group_init/spawn");
        child.r = fib(n - 1);
    }
    long y = fib(n - 2);
    if (rc == 0 && (rc = crew_group_wait(&g, NULL)) != 0)
        fail(rc, "crew_group_wait");
    return child.r + y;
}

static int fib_top(void *arg, void **result)
{
    fib_job *j = arg;
    (void)result;
    j->r = fib(j->n);
    return 0;
}

static void w2(int n)
{
    fib_pool = new_pool();
    warm_up(fib_pool);
    fib_job top = {.n = n, .r = 0};
    crew_future *f = NULL;
    int64_t t0 = bench_now_ns();
    int rc = crew_pool_submit(fib_pool, fib_top, &top, &f);
    if (rc == 0)
        rc = crew_future_result(f, NULL, NULL);
    int64_t t1 = bench_now_ns();
    if (rc != 0)
        fail(rc, "fib top task");
    crew_future_release(f);
    crew_pool_destroy(fib_pool);
    int ok = ok_so_far() && top.r == bench_fib_expect(n);
    bench_result("W2", PEER, "ms", (double)(t1 - t0) / 1e6, ok);
    bench_result("W2", PEER, "ns_per_task", (double)(t1 - t0) / (double)bench_fib_tasks(n), ok);
}

/* ---- W4: one task at a time, waited on through its future --------------- */
static void w4(long n)
{
    crew_pool *p = new_pool();
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    warm_up(p);
    for (long i = 0; i < n; i++) {
        crew_future *f;
        int64_t t0 = bench_now_ns();
        int rc = crew_pool_submit(p, inc_task, NULL, &f);
        if (rc == 0)
            rc = crew_future_wait(f);
        lat[i] = bench_now_ns() - t0;
        if (rc != 0) {
            fail(rc, "submit/wait");
            break;
        }
        crew_future_release(f);
    }
    crew_pool_destroy(p);
    bench_latency_report(PEER, lat, n,
                         ok_so_far() && __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
    free(lat);
}

/* ---- W5 ----------------------------------------------------------------- */

static int spin_task(void *arg, void **result)
{
    uintptr_t i = (uintptr_t)arg;
    (void)result;
    bench_w5_task(i);
    return 0;
}

static void w5(long n, long iters)
{
    uint64_t *seq;
    int64_t seq_ns = bench_w5_sequential(n, iters, &seq);
    crew_pool *p = new_pool();
    warm_up(p);
    int64_t t2 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        int rc = crew_pool_submit(p, spin_task, (void *)(uintptr_t)i, NULL);
        if (rc != 0) {
            fail(rc, "crew_pool_submit");
            break;
        }
    }
    int rc = crew_pool_shutdown(p, true, false);
    int64_t t3 = bench_now_ns();
    if (rc != 0)
        fail(rc, "crew_pool_shutdown");
    crew_pool_destroy(p);
    bench_w5_finish(PEER, seq_ns, t3 - t2, n, seq, ok_so_far());
}

/* ---- W6: pending tasks with futures kept ------------------------------- */
static bench_gate gate;

static int gated_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    bench_gate_wait(&gate);
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    return 0;
}

static void w6(long n)
{
    crew_pool *p = new_pool();
    bench_gate_init(&gate);
    warm_up(p);
    /* The caller's array of future pointers is not counted (as for
     * Python's list of futures): it is in RSS before the baseline. */
    crew_future **futs = malloc((size_t)n * sizeof *futs);
    /* Non-zero fill: malloc + memset(0) may be turned into calloc, whose
     * untouched zero pages would be charged to the tasks below. */
    memset(futs, 0xff, (size_t)n * sizeof *futs);
    long base = bench_status_kb("VmRSS:");
    bench_reset_peak();
    long queued = 0;
    for (; queued < n; queued++) {
        int rc = crew_pool_submit(p, gated_task, NULL, &futs[queued]);
        if (rc != 0) {
            fail(rc, "crew_pool_submit");
            break;
        }
    }
    long peak = bench_status_kb("VmHWM:");
    bench_gate_open(&gate);
    long done = 0;
    for (long i = 0; i < queued; i++) {
        if (crew_future_result(futs[i], NULL, NULL) == 0)
            done++;
        crew_future_release(futs[i]);
    }
    crew_pool_destroy(p);
    free(futs);
    bench_w6_report(PEER, base, peak, n,
                    ok_so_far() && done == n &&
                        __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "W1"))
        w1(bench_arg(argc, argv, 2, 1000000));
    else if (!strcmp(w, "W2"))
        w2((int)bench_arg(argc, argv, 2, 30));
    else if (!strcmp(w, "W4"))
        w4(bench_arg(argc, argv, 2, 10000));
    else if (!strcmp(w, "W5"))
        w5(bench_arg(argc, argv, 2, 2000), bench_arg(argc, argv, 3, 100000));
    else if (!strcmp(w, "W6"))
        w6(bench_arg(argc, argv, 2, 1000000));
    else {
        fprintf(stderr, "usage: %s W1|W2|W4|W5|W6 [args] (W3: crew_queue)\n", argv[0]);
        return 2;
    }
    return ok_so_far() ? 0 : 1;
}
