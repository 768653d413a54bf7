/*
 * bench/glib_pool.c - GLib's GThreadPool (W1, W4-W7) and GAsyncQueue
 * (W3), used as the GLib reference manual describes them.
 *
 *   glib_pool W1 N | W2 n | W3 N producers consumers | W4 N | W5 tasks iters | W6 N
 *             | W7 threads N | W8 ... W11 (unsupported, as W2)
 *
 * The pool is exclusive with P threads (g_thread_pool_new(..., P, TRUE, ...)):
 * its threads start at once and serve only it.  "Wait until all ran" is
 * g_thread_pool_free(pool, FALSE, TRUE), the documented way to let a pool
 * finish its queue.  A pool task receives a non-NULL data pointer (GLib
 * ignores NULL pushes), so counters are passed as data.
 */
#define _GNU_SOURCE
#include "common.h"

#include <glib.h>

#define PEER "glib"

static long counter; /* __atomic, relaxed: only the final total matters */

static GThreadPool *new_pool(GFunc fn, gpointer user_data)
{
    GError *err = NULL;
    GThreadPool *p = g_thread_pool_new(fn, user_data, (gint)bench_threads(), TRUE, &err);
    if (!p) {
        fprintf(stderr, "g_thread_pool_new: %s\n", err ? err->message : "?");
        exit(1);
    }
    return p;
}

static void inc_task(gpointer data, gpointer user_data)
{
    (void)data;
    (void)user_data;
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

static void w1(long n)
{
    GThreadPool *p = new_pool(inc_task, NULL);
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        g_thread_pool_push(p, GINT_TO_POINTER(1), NULL);
    g_thread_pool_free(p, FALSE, TRUE); /* runs the whole queue, then joins */
    int64_t t1 = bench_now_ns();
    bench_result("W1", PEER, "ns_per_task", (double)(t1 - t0) / (double)n,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

/* W3: GAsyncQueue is unbounded (GLib has no bounded queue). */
typedef struct w3_arg {
    GAsyncQueue *q;
    long n, np, nc, k;
    uint64_t got, sum;
} w3_arg;

static void *w3_producer(void *arg)
{
    w3_arg *a = arg;
    for (long i = a->k + 1; i <= a->n; i += a->np)
        g_async_queue_push(a->q, (gpointer)(uintptr_t)i);
    return NULL;
}

static void *w3_consumer(void *arg)
{
    w3_arg *a = arg;
    long take = a->n / a->nc + (a->k < a->n % a->nc);
    for (long i = 0; i < take; i++) {
        a->sum += (uintptr_t)g_async_queue_pop(a->q);
        a->got++;
    }
    return NULL;
}

static void w3(long n, long np, long nc)
{
    GAsyncQueue *q = g_async_queue_new();
    GThread *th[64];
    w3_arg args[64];
    int64_t t0 = bench_now_ns();
    for (long k = 0; k < np + nc; k++) {
        args[k] = (w3_arg){.q = q, .n = n, .np = np, .nc = nc, .k = k < np ? k : k - np};
        th[k] = g_thread_new(NULL, k < np ? w3_producer : w3_consumer, &args[k]);
    }
    uint64_t got = 0, sum = 0;
    for (long k = 0; k < np + nc; k++) {
        g_thread_join(th[k]);
        got += args[k].got;
        sum += args[k].sum;
    }
    int64_t t1 = bench_now_ns();
    g_async_queue_unref(q);
    int ok = got == (uint64_t)n && sum == bench_w3_sum((uint64_t)n);
    const char *w = bench_w3_name(np, nc);
    bench_result(w, PEER, "ns_per_item", (double)(t1 - t0) / (double)n, ok);
    bench_result(w, PEER, "mitems_per_s", (double)n * 1e3 / (double)(t1 - t0), ok);
}

/* W4: the task pushes a reply on a GAsyncQueue the caller pops. */
static void reply_task(gpointer data, gpointer user_data)
{
    (void)user_data;
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    g_async_queue_push((GAsyncQueue *)data, GINT_TO_POINTER(1));
}

static void w4(long n)
{
    GThreadPool *p = new_pool(reply_task, NULL);
    GAsyncQueue *reply = g_async_queue_new();
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    for (long i = 0; i < n; i++) {
        int64_t t0 = bench_now_ns();
        g_thread_pool_push(p, reply, NULL);
        g_async_queue_pop(reply);
        lat[i] = bench_now_ns() - t0;
    }
    g_thread_pool_free(p, FALSE, TRUE);
    g_async_queue_unref(reply);
    bench_latency_report(PEER, lat, n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
    free(lat);
}

/* W5: data = task index + 1 (non-NULL). */

static void spin_task(gpointer data, gpointer user_data)
{
    (void)user_data;
    uintptr_t i = (uintptr_t)data - 1;
    bench_w5_task(i);
}

static void w5(long n, long iters)
{
    uint64_t *seq;
    int64_t seq_ns = bench_w5_sequential(n, iters, &seq);
    GThreadPool *p = new_pool(spin_task, NULL);
    int64_t t2 = bench_now_ns();
    for (long i = 0; i < n; i++)
        g_thread_pool_push(p, (gpointer)(uintptr_t)(i + 1), NULL);
    g_thread_pool_free(p, FALSE, TRUE);
    int64_t t3 = bench_now_ns();
    bench_w5_finish(PEER, seq_ns, t3 - t2, n, seq, 1);
}

/* W6 */
static bench_gate gate;

static void gated_task(gpointer data, gpointer user_data)
{
    (void)data;
    (void)user_data;
    bench_gate_wait(&gate);
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

static void w6(long n)
{
    GThreadPool *p = new_pool(gated_task, NULL);
    bench_gate_init(&gate);
    long base = bench_status_kb("VmRSS:");
    bench_reset_peak();
    for (long i = 0; i < n; i++)
        g_thread_pool_push(p, GINT_TO_POINTER(1), NULL);
    long peak = bench_status_kb("VmHWM:");
    bench_gate_open(&gate);
    g_thread_pool_free(p, FALSE, TRUE);
    bench_w6_report(PEER, base, peak, n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

/* W7: g_thread_pool_push may be called from any thread. */
static void w7_body(void *ctx, int k, long n)
{
    (void)k;
    for (long i = 0; i < n; i++)
        g_thread_pool_push(ctx, GINT_TO_POINTER(1), NULL);
}

static void w7(int threads, long n)
{
    GThreadPool *p = new_pool(inc_task, NULL);
    bench_w7 w;
    if (bench_w7_launch(&w, threads, n, w7_body, p) != 0) {
        fprintf(stderr, "glib_pool: W7: bad thread count %d\n", threads);
        exit(2);
    }
    int64_t t0 = bench_w7_go(&w);
    bench_w7_join(&w);
    g_thread_pool_free(p, FALSE, TRUE); /* runs the whole queue, then joins */
    int64_t t1 = bench_now_ns();
    long total = (long)threads * n;
    bench_result("W7", PEER, "ns_per_task", (double)(t1 - t0) / (double)total,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == total);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "W1"))
        w1(bench_arg(argc, argv, 2, 1000000));
    else if (!strcmp(w, "W2"))
        bench_unsupported("W2", PEER, "a GThreadPool task cannot wait for a child task without "
                                      "blocking its worker: with P workers the fib recursion "
                                      "deadlocks");
    else if (!strcmp(w, "W8") || !strcmp(w, "W9") || !strcmp(w, "W10") || !strcmp(w, "W11"))
        bench_unsupported(w, PEER, "a GThreadPool task cannot wait for a child task without "
                                   "blocking its worker: with P workers the recursion deadlocks");
    else if (!strcmp(w, "W3")) {
        bench_note(PEER, "W3: GAsyncQueue is unbounded (GLib has no bounded queue)");
        w3(bench_arg(argc, argv, 2, 10000000), bench_arg(argc, argv, 3, 1),
           bench_arg(argc, argv, 4, 1));
    } else if (!strcmp(w, "W4"))
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
