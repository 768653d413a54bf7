/*
 * bench/uv_pool.c - libuv's thread pool through uv_queue_work (W1, W4-W7),
 * used as the libuv documentation describes it.
 *
 *   uv_pool W1 N | W2 n | W3 ... | W4 N | W5 tasks iters | W6 N | W7 threads N
 *           | W8 ... W11 (unsupported, as W2)
 *
 * The pool size is UV_THREADPOOL_SIZE, which this program sets to P before
 * the first libuv call unless the caller set it.  Each task needs a
 * caller-owned uv_work_t that lives until its completion callback; the loop
 * thread submits, and uv_run(loop, UV_RUN_DEFAULT) returns once every
 * submitted request has completed: that is how a libuv program waits for its
 * work, so it is the "wait until all ran" here.  after_work_cb is NULL where
 * nothing needs doing on the loop thread (libuv allows that).  W7: a loop
 * may be used by one thread only, but the thread pool is the process's, so
 * each submitting thread runs a loop of its own (libuv's way for several
 * threads to use the pool) and waits for its own requests on it; the main
 * thread waits for those threads.
 */
#define _GNU_SOURCE
#include "common.h"

#include <uv.h>

#define PEER "uv"

static long counter; /* __atomic, relaxed: only the final total matters */

static void inc_work(uv_work_t *req)
{
    (void)req;
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

static void check_rc(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, uv_strerror(rc));
        exit(1);
    }
}

/* Starts the pool's threads (libuv starts them on the first request). */
static void warm_up(uv_loop_t *loop)
{
    uv_work_t req;
    check_rc(uv_queue_work(loop, &req, inc_work, NULL), "uv_queue_work");
    uv_run(loop, UV_RUN_DEFAULT);
    __atomic_store_n(&counter, 0, __ATOMIC_RELAXED);
}

static void w1(long n)
{
    uv_loop_t *loop = uv_default_loop();
    uv_work_t *reqs = calloc((size_t)n, sizeof *reqs); /* caller-owned requests */
    warm_up(loop);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        check_rc(uv_queue_work(loop, &reqs[i], inc_work, NULL), "uv_queue_work");
    uv_run(loop, UV_RUN_DEFAULT); /* returns when every request completed */
    int64_t t1 = bench_now_ns();
    bench_result("W1", PEER, "ns_per_task", (double)(t1 - t0) / (double)n,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
    free(reqs);
}

/* W4: submit, then run the loop until the completion callback has run. */
static void w4(long n)
{
    uv_loop_t *loop = uv_default_loop();
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    uv_work_t req;
    warm_up(loop);
    for (long i = 0; i < n; i++) {
        int64_t t0 = bench_now_ns();
        check_rc(uv_queue_work(loop, &req, inc_work, NULL), "uv_queue_work");
        uv_run(loop, UV_RUN_DEFAULT);
        lat[i] = bench_now_ns() - t0;
    }
    bench_latency_report(PEER, lat, n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
    free(lat);
}

/* W5: each request's data is its index. */

static void spin_work(uv_work_t *req)
{
    uintptr_t i = (uintptr_t)req->data;
    bench_w5_task(i);
}

static void w5(long n, long iters)
{
    uv_loop_t *loop = uv_default_loop();
    uv_work_t *reqs = calloc((size_t)n, sizeof *reqs);
    uint64_t *seq;
    int64_t seq_ns = bench_w5_sequential(n, iters, &seq);
    warm_up(loop);
    int64_t t2 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        reqs[i].data = (void *)(uintptr_t)i;
        check_rc(uv_queue_work(loop, &reqs[i], spin_work, NULL), "uv_queue_work");
    }
    uv_run(loop, UV_RUN_DEFAULT);
    int64_t t3 = bench_now_ns();
    bench_w5_finish(PEER, seq_ns, t3 - t2, n, seq, 1);
    free(reqs);
}

/* W6: the uv_work_t each pending task needs counts as its memory, so the
 * requests are allocated after the baseline. */
static bench_gate gate;

static void gated_work(uv_work_t *req)
{
    (void)req;
    bench_gate_wait(&gate);
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

static void w6(long n)
{
    uv_loop_t *loop = uv_default_loop();
    bench_gate_init(&gate);
    warm_up(loop);
    long base = bench_status_kb("VmRSS:");
    bench_reset_peak();
    uv_work_t *reqs = malloc((size_t)n * sizeof *reqs);
    for (long i = 0; i < n; i++)
        check_rc(uv_queue_work(loop, &reqs[i], gated_work, NULL), "uv_queue_work");
    long peak = bench_status_kb("VmHWM:");
    bench_gate_open(&gate);
    uv_run(loop, UV_RUN_DEFAULT);
    bench_w6_report(PEER, base, peak, n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
    free(reqs);
}

/* W7: one loop and one array of requests per submitting thread, set up
 * before the timed part. */
struct w7_ctx {
    uv_loop_t loop[BENCH_W7_MAX];
    uv_work_t *reqs[BENCH_W7_MAX];
};

static void w7_body(void *ctx, int k, long n)
{
    struct w7_ctx *c = ctx;
    for (long i = 0; i < n; i++)
        check_rc(uv_queue_work(&c->loop[k], &c->reqs[k][i], inc_work, NULL), "uv_queue_work");
    uv_run(&c->loop[k], UV_RUN_DEFAULT); /* returns when its requests completed */
}

static void w7(int threads, long n)
{
    static struct w7_ctx c;
    bench_w7 w;
    if (threads < 1 || threads > BENCH_W7_MAX) {
        fprintf(stderr, "uv_pool: W7: bad thread count %d\n", threads);
        exit(2);
    }
    warm_up(uv_default_loop());
    for (int k = 0; k < threads; k++) {
        check_rc(uv_loop_init(&c.loop[k]), "uv_loop_init");
        c.reqs[k] = calloc((size_t)n, sizeof(uv_work_t));
        if (!c.reqs[k]) {
            fprintf(stderr, "uv_pool: W7: out of memory\n");
            exit(1);
        }
    }
    bench_w7_launch(&w, threads, n, w7_body, &c);
    int64_t t0 = bench_w7_go(&w);
    bench_w7_join(&w);
    int64_t t1 = bench_now_ns();
    for (int k = 0; k < threads; k++) {
        check_rc(uv_loop_close(&c.loop[k]), "uv_loop_close");
        free(c.reqs[k]);
    }
    long total = (long)threads * n;
    bench_result("W7", PEER, "ns_per_task", (double)(t1 - t0) / (double)total,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == total);
}

int main(int argc, char **argv)
{
    char size[16];
    snprintf(size, sizeof size, "%u", bench_threads());
    setenv("UV_THREADPOOL_SIZE", size, 0); /* before libuv starts its pool */
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "W1"))
        w1(bench_arg(argc, argv, 2, 1000000));
    else if (!strcmp(w, "W2"))
        bench_unsupported("W2", PEER, "a uv_queue_work callback cannot wait for a child request "
                                      "without blocking its pool thread: with P threads the fib "
                                      "recursion deadlocks (completions run on the loop thread)");
    else if (!strcmp(w, "W3"))
        bench_unsupported("W3", PEER, "libuv has no thread-safe queue of user items");
    else if (!strcmp(w, "W8") || !strcmp(w, "W9") || !strcmp(w, "W10") || !strcmp(w, "W11"))
        bench_unsupported(w, PEER, "a uv_queue_work callback cannot wait for a child request "
                                   "without blocking its pool thread: with P threads the "
                                   "recursion deadlocks");
    else if (!strcmp(w, "W4"))
        w4(bench_arg(argc, argv, 2, 10000));
    else if (!strcmp(w, "W5"))
        w5(bench_arg(argc, argv, 2, 2000), bench_arg(argc, argv, 3, 100000));
    else if (!strcmp(w, "W6"))
        w6(bench_arg(argc, argv, 2, 1000000));
    else if (!strcmp(w, "W7"))
        w7((int)bench_arg(argc, argv, 2, 8), bench_arg(argc, argv, 3, 250000));
    else {
        fprintf(stderr, "usage: %s W1|W2|W3|W4|W5|W6|W7 [args]\n", argv[0]);
        return 2;
    }
    return 0;
}
