/*
 * bench/crew_pool.c - crew's pool, futures and groups on W1, W2, W4-W11.
 *
 *   crew_pool W1 N [burst] | W2 n | W4 N | W5 tasks iters | W6 N | W7 threads N
 *             | W8 n cutoff | W9 depth | W10 n | W11 x
 *
 * The pool has P workers (crew's default, set explicitly).  "Wait until all
 * ran" is crew_pool_shutdown(pool, true, false), as for the other pools
 * (W1, W5, W7; in W7 after the submitting threads returned).  The fork-join
 * workloads (W2, W8-W11) fork with crew_group from inside the pool (the top
 * call is a submitted task), so every spawn lands on a worker's own deque;
 * the algorithms are bench/workloads.h's.  W6 keeps every returned future
 * until the end ("with a future").  W2 and W9 also report their peak memory.
 */
#define _GNU_SOURCE
#include "common.h"
#include "workloads.h"

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

/* burst > 0 (instruction counts under valgrind, bench/run.sh): after each
 * burst of submits, wait until the workers have run them.  Valgrind runs one
 * thread at a time, so without this the submitter runs far ahead of the
 * workers, fills its ring and sends every later task through the ring's
 * overflow queue, a path W1 does not take when both run at once. */
static void w1(long n, long burst)
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
        if (burst > 0 && (i + 1) % burst == 0) {
            while (__atomic_load_n(&counter, __ATOMIC_RELAXED) < i + 1)
                sched_yield();
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

/* Runs fn(arg) as a task of the pool and waits for it: the top call of a
 * fork-join workload. */
static void run_top(crew_pool *p, crew_task_fn fn, void *arg, const char *what)
{
    crew_future *f = NULL;
    int rc = crew_pool_submit(p, fn, arg, &f);
    if (rc == 0)
        rc = crew_future_result(f, NULL, NULL);
    if (rc != 0)
        fail(rc, what);
    if (f)
        crew_future_release(f);
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
    long base = bench_mem_start();
    int64_t t0 = bench_now_ns();
    run_top(fib_pool, fib_top, &top, "fib top task");
    int64_t t1 = bench_now_ns();
    int ok = ok_so_far() && top.r == bench_fib_expect(n);
    bench_mem_report("W2", PEER, base, ok);
    crew_pool_destroy(fib_pool);
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

/* ---- W7: many threads outside the pool submit detached tasks ----------- */
static void w7_body(void *ctx, int k, long n)
{
    crew_pool *p = ctx;
    (void)k;
    for (long i = 0; i < n; i++) {
        int rc = crew_pool_submit(p, inc_task, NULL, NULL);
        if (rc != 0) {
            fail(rc, "crew_pool_submit");
            break;
        }
    }
}

static void w7(int threads, long n)
{
    crew_pool *p = new_pool();
    bench_w7 w;
    warm_up(p);
    if (bench_w7_launch(&w, threads, n, w7_body, p) != 0) {
        fprintf(stderr, "crew_pool: W7: bad thread count %d\n", threads);
        exit(2);
    }
    int64_t t0 = bench_w7_go(&w);
    bench_w7_join(&w);
    int rc = crew_pool_shutdown(p, true, false); /* returns when every task ran */
    int64_t t1 = bench_now_ns();
    if (rc != 0)
        fail(rc, "crew_pool_shutdown");
    crew_pool_destroy(p);
    long total = (long)threads * n;
    bench_result("W7", PEER, "ns_per_task", (double)(t1 - t0) / (double)total,
                 ok_so_far() && __atomic_load_n(&counter, __ATOMIC_RELAXED) == total);
}

/* ---- W8-W11: the fork-join workloads of workloads.h --------------------- */
static crew_pool *fj_pool;

/* Spawns fn(arg) into g; if that fails, runs it here (the answer stays
 * right, and the failure is reported). */
static void spawn_or_run(crew_group *g, int inited, crew_job_fn fn, void *arg)
{
    int rc = inited == 0 ? crew_group_spawn(g, fn, arg) : inited;
    if (rc != 0) {
        fail(rc, "crew_group_init/spawn");
        fn(arg);
    }
}

static void join(crew_group *g, int inited)
{
    int rc;
    if (inited == 0 && (rc = crew_group_wait(g, NULL)) != 0)
        fail(rc, "crew_group_wait");
}

/* W8 */
static int nq_job(void *arg)
{
    bench_nq *t = arg;
    if (bench_nq_leaf(t))
        return 0;
    bench_nq kids[BENCH_NQ_MAX];
    int k = bench_nq_children(t, kids);
    crew_group g;
    int in = crew_group_init(&g, fj_pool);
    for (int i = 0; i < k; i++)
        spawn_or_run(&g, in, nq_job, &kids[i]);
    join(&g, in);
    t->count = 0;
    for (int i = 0; i < k; i++)
        t->count += kids[i].count;
    return 0;
}

static int nq_top(void *arg, void **result)
{
    (void)result;
    return nq_job(arg);
}

static void w8(int n, int cutoff)
{
    if (n < 1 || n > BENCH_NQ_MAX) {
        fprintf(stderr, "crew_pool: W8: n must be 1..%d\n", BENCH_NQ_MAX);
        exit(2);
    }
    fj_pool = new_pool();
    warm_up(fj_pool);
    bench_nq top = bench_nq_root(n, cutoff);
    int64_t t0 = bench_now_ns();
    run_top(fj_pool, nq_top, &top, "nqueens top task");
    int64_t t1 = bench_now_ns();
    crew_pool_destroy(fj_pool);
    char ans[32];
    snprintf(ans, sizeof ans, "%ld", top.count);
    bench_result_ans("W8", PEER, "ms", (double)(t1 - t0) / 1e6,
                     ok_so_far() && top.count == bench_nq_expect(n), ans);
}

/* W9 */
static int uts_job(void *arg)
{
    bench_uts *t = arg;
    int k = bench_uts_nkids(t);
    bench_uts *kids = BENCH_UTS_ALLOCA(k);
    bench_uts_fill(t, kids, k);
    t->count = 1;
    if (k == 0)
        return 0;
    crew_group g;
    int in = crew_group_init(&g, fj_pool);
    for (int i = 0; i < k; i++)
        spawn_or_run(&g, in, uts_job, &kids[i]);
    join(&g, in);
    for (int i = 0; i < k; i++)
        t->count += kids[i].count;
    return 0;
}

static int uts_top(void *arg, void **result)
{
    (void)result;
    return uts_job(arg);
}

static void w9(int depth)
{
    fj_pool = new_pool();
    warm_up(fj_pool);
    bench_uts top = bench_uts_root(depth);
    long base = bench_mem_start();
    int64_t t0 = bench_now_ns();
    run_top(fj_pool, uts_top, &top, "uts top task");
    int64_t t1 = bench_now_ns();
    long want = bench_uts_expect(depth);
    int ok = ok_so_far() && (want < 0 || top.count == want);
    bench_mem_report("W9", PEER, base, ok);
    crew_pool_destroy(fj_pool);
    char ans[32];
    snprintf(ans, sizeof ans, "%ld", top.count);
    bench_result_ans("W9", PEER, "ms", (double)(t1 - t0) / 1e6, ok, ans);
    bench_result_ans("W9", PEER, "ns_per_node", (double)(t1 - t0) / (double)top.count, ok, ans);
}

/* W10 */
static int mm_job(void *arg)
{
    const bench_mm *t = arg;
    if (bench_mm_leaf(t))
        return 0;
    for (int phase = 0; phase < 2; phase++) {
        bench_mm q[4];
        bench_mm_phase(t, phase, q);
        crew_group g;
        int in = crew_group_init(&g, fj_pool);
        for (int i = 0; i < 4; i++)
            spawn_or_run(&g, in, mm_job, &q[i]);
        join(&g, in);
    }
    return 0;
}

static int mm_top(void *arg, void **result)
{
    (void)result;
    return mm_job(arg);
}

static void w10(int n)
{
    bench_mm top;
    if (bench_mm_setup(n, &top) != 0) {
        fprintf(stderr, "crew_pool: W10: n must be a power of two >= %d (or out of memory)\n",
                BENCH_MM_LEAF);
        exit(2);
    }
    fj_pool = new_pool();
    warm_up(fj_pool);
    int64_t t0 = bench_now_ns();
    run_top(fj_pool, mm_top, &top, "matmul top task");
    int64_t t1 = bench_now_ns();
    crew_pool_destroy(fj_pool);
    double sum;
    int ok = bench_mm_check(&top, &sum) && ok_so_far();
    char ans[40];
    snprintf(ans, sizeof ans, "%.17g", sum);
    bench_result_ans("W10", PEER, "gflops", 2.0 * n * n * (double)n / (double)(t1 - t0), ok, ans);
    bench_result_ans("W10", PEER, "ms", (double)(t1 - t0) / 1e6, ok, ans);
    bench_mm_free(&top);
}

/* W11 */
static int int_job(void *arg)
{
    bench_int *t = arg;
    bench_int l, r;
    if (bench_int_split(t, &l, &r))
        return 0;
    crew_group g;
    int in = crew_group_init(&g, fj_pool);
    spawn_or_run(&g, in, int_job, &l);
    int_job(&r);
    join(&g, in);
    t->result = l.result + r.result;
    return 0;
}

static int int_top(void *arg, void **result)
{
    (void)result;
    return int_job(arg);
}

static void w11(double x)
{
    fj_pool = new_pool();
    warm_up(fj_pool);
    bench_int top = bench_int_root(x);
    int64_t t0 = bench_now_ns();
    run_top(fj_pool, int_top, &top, "integrate top task");
    int64_t t1 = bench_now_ns();
    crew_pool_destroy(fj_pool);
    char ans[40];
    snprintf(ans, sizeof ans, "%.17g", top.result);
    bench_result_ans("W11", PEER, "ms", (double)(t1 - t0) / 1e6,
                     ok_so_far() && bench_int_check(x, top.result), ans);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "W1"))
        w1(bench_arg(argc, argv, 2, 1000000), bench_arg(argc, argv, 3, 0));
    else if (!strcmp(w, "W2"))
        w2((int)bench_arg(argc, argv, 2, 30));
    else if (!strcmp(w, "W4"))
        w4(bench_arg(argc, argv, 2, 10000));
    else if (!strcmp(w, "W5"))
        w5(bench_arg(argc, argv, 2, 2000), bench_arg(argc, argv, 3, 100000));
    else if (!strcmp(w, "W6"))
        w6(bench_arg(argc, argv, 2, 1000000));
    else if (!strcmp(w, "W7"))
        w7((int)bench_arg(argc, argv, 2, 8), bench_arg(argc, argv, 3, 250000));
    else if (!strcmp(w, "W8"))
        w8((int)bench_arg(argc, argv, 2, 12), (int)bench_arg(argc, argv, 3, BENCH_NQ_CUTOFF));
    else if (!strcmp(w, "W9"))
        w9((int)bench_arg(argc, argv, 2, BENCH_UTS_DEPTH));
    else if (!strcmp(w, "W10"))
        w10((int)bench_arg(argc, argv, 2, 1024));
    else if (!strcmp(w, "W11"))
        w11((double)bench_arg(argc, argv, 2, BENCH_INT_X));
    else {
        fprintf(stderr, "usage: %s W1|W2|W4|W5|W6|W7|W8|W9|W10|W11 [args] (W3: crew_queue)\n",
                argv[0]);
        return 2;
    }
    return ok_so_far() ? 0 : 1;
}
