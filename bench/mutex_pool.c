/*
 * bench/mutex_pool.c - the baseline peer: the plain mutex + condition-variable
 * thread pool and bounded ring that most hand-rolled C code resembles.
 *
 *   mutex_pool W1 N | W2 n | W3 N producers consumers | W4 N | W5 tasks iters | W6 N
 *              | W7 threads N | W8 ... W11 (unsupported, as W2)
 *
 * The pool: one mutex, one linked FIFO of malloc'd jobs, one condvar the
 * workers sleep on, P workers started at creation; shutdown(wait) lets the
 * workers drain the list and joins them.  The ring: a bounded array with one
 * mutex and two condvars (not empty, not full).
 */
#define _GNU_SOURCE
#include "common.h"

#define PEER "mutex"

/* ---- the pool (~60 lines) ----------------------------------------------- */
typedef struct mp_job {
    void (*fn)(void *);
    void *arg;
    struct mp_job *next;
} mp_job;

typedef struct mpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* signalled when a job is queued or on shutdown */
    mp_job *head, *tail;   /* queued jobs; under mu */
    int stop;              /* shutdown requested; under mu */
    unsigned nthreads;
    pthread_t *threads;
} mpool;

static void *mp_worker(void *arg)
{
    mpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        mp_job *j = p->head;
        if (!j)
            break; /* stop and drained */
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static mpool *mp_create(unsigned n)
{
    mpool *p = calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->nthreads = n;
    p->threads = calloc(n, sizeof *p->threads);
    for (unsigned i = 0; i < n; i++)
        pthread_create(&p->threads[i], NULL, mp_worker, p);
    return p;
}

static int mp_submit(mpool *p, void (*fn)(void *), void *arg)
{
    mp_job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* Runs every queued job, joins the workers and frees the pool. */
static void mp_shutdown(mpool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    free(p);
}

/* ---- the bounded ring (~40 lines) --------------------------------------- */
typedef struct mring {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **slot;
    size_t cap, head, count; /* under mu */
} mring;

static void mr_init(mring *r, size_t cap)
{
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->not_empty, NULL);
    pthread_cond_init(&r->not_full, NULL);
    r->slot = calloc(cap, sizeof *r->slot);
    r->cap = cap;
    r->head = r->count = 0;
}

static void mr_put(mring *r, void *item)
{
    pthread_mutex_lock(&r->mu);
    while (r->count == r->cap)
        pthread_cond_wait(&r->not_full, &r->mu);
    r->slot[(r->head + r->count) % r->cap] = item;
    r->count++;
    pthread_cond_signal(&r->not_empty);
    pthread_mutex_unlock(&r->mu);
}

static void *mr_get(mring *r)
{
    pthread_mutex_lock(&r->mu);
    while (r->count == 0)
        pthread_cond_wait(&r->not_empty, &r->mu);
    void *item = r->slot[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    pthread_cond_signal(&r->not_full);
    pthread_mutex_unlock(&r->mu);
    return item;
}

/* ---- workloads ---------------------------------------------------------- */
static long counter; /* __atomic, relaxed: only the final total matters */

static void inc_task(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

static void w1(long n)
{
    mpool *p = mp_create(bench_threads());
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        mp_submit(p, inc_task, NULL);
    mp_shutdown(p); /* returns when every job ran */
    int64_t t1 = bench_now_ns();
    bench_result("W1", PEER, "ns_per_task", (double)(t1 - t0) / (double)n,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

/* W3 */
typedef struct w3_ctx {
    mring ring;
    long n, np, nc;
} w3_ctx;
typedef struct w3_arg {
    w3_ctx *c;
    long k;
    uint64_t got, sum;
} w3_arg;

static void *w3_producer(void *arg)
{
    w3_arg *a = arg;
    for (long i = a->k + 1; i <= a->c->n; i += a->c->np)
        mr_put(&a->c->ring, (void *)(uintptr_t)i);
    return NULL;
}

static void *w3_consumer(void *arg)
{
    w3_arg *a = arg;
    long take = a->c->n / a->c->nc + (a->k < a->c->n % a->c->nc);
    for (long i = 0; i < take; i++) {
        a->sum += (uintptr_t)mr_get(&a->c->ring);
        a->got++;
    }
    return NULL;
}

static void w3(long n, long np, long nc)
{
    w3_ctx c = {.n = n, .np = np, .nc = nc};
    pthread_t th[64];
    w3_arg args[64];
    mr_init(&c.ring, 1024);
    int64_t t0 = bench_now_ns();
    for (long k = 0; k < np + nc; k++) {
        args[k] = (w3_arg){.c = &c, .k = k < np ? k : k - np};
        pthread_create(&th[k], NULL, k < np ? w3_producer : w3_consumer, &args[k]);
    }
    uint64_t got = 0, sum = 0;
    for (long k = 0; k < np + nc; k++) {
        pthread_join(th[k], NULL);
        got += args[k].got;
        sum += args[k].sum;
    }
    int64_t t1 = bench_now_ns();
    int ok = got == (uint64_t)n && sum == bench_w3_sum((uint64_t)n);
    const char *w = bench_w3_name(np, nc);
    bench_result(w, PEER, "ns_per_item", (double)(t1 - t0) / (double)n, ok);
    bench_result(w, PEER, "mitems_per_s", (double)n * 1e3 / (double)(t1 - t0), ok);
}

/* W4: the task signals a done flag under a mutex. */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done; /* under mu */
} waiter;

static void signal_task(void *arg)
{
    waiter *w = arg;
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void w4(long n)
{
    mpool *p = mp_create(bench_threads());
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    waiter w;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    for (long i = 0; i < n; i++) {
        int64_t t0 = bench_now_ns();
        w.done = 0; /* no task is running: nobody else touches it now */
        mp_submit(p, signal_task, &w);
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        lat[i] = bench_now_ns() - t0;
    }
    mp_shutdown(p);
    bench_latency_report(PEER, lat, n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
    free(lat);
}

/* W5 */

static void spin_task(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    bench_w5_task(i);
}

static void w5(long n, long iters)
{
    uint64_t *seq;
    int64_t seq_ns = bench_w5_sequential(n, iters, &seq);
    mpool *p = mp_create(bench_threads());
    int64_t t2 = bench_now_ns();
    for (long i = 0; i < n; i++)
        mp_submit(p, spin_task, (void *)(uintptr_t)i);
    mp_shutdown(p);
    int64_t t3 = bench_now_ns();
    bench_w5_finish(PEER, seq_ns, t3 - t2, n, seq, 1);
}

/* W6 */
static bench_gate gate;

static void gated_task(void *arg)
{
    (void)arg;
    bench_gate_wait(&gate);
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

static void w6(long n)
{
    unsigned nt = bench_threads();
    mpool *p = mp_create(nt);
    bench_gate_init(&gate);
    long base = bench_status_kb("VmRSS:");
    bench_reset_peak();
    for (long i = 0; i < n; i++)
        mp_submit(p, gated_task, NULL);
    long peak = bench_status_kb("VmHWM:");
    bench_gate_open(&gate);
    mp_shutdown(p);
    bench_w6_report(PEER, base, peak, n, __atomic_load_n(&counter, __ATOMIC_RELAXED) == n);
}

/* W7: mp_submit takes the pool's one mutex, so any thread may call it. */
static void w7_body(void *ctx, int k, long n)
{
    (void)k;
    for (long i = 0; i < n; i++)
        mp_submit(ctx, inc_task, NULL);
}

static void w7(int threads, long n)
{
    mpool *p = mp_create(bench_threads());
    bench_w7 w;
    if (bench_w7_launch(&w, threads, n, w7_body, p) != 0) {
        fprintf(stderr, "mutex_pool: W7: bad thread count %d\n", threads);
        exit(2);
    }
    int64_t t0 = bench_w7_go(&w);
    bench_w7_join(&w);
    mp_shutdown(p); /* returns when every job ran */
    int64_t t1 = bench_now_ns();
    long total = (long)threads * n;
    bench_result("W7", PEER, "ns_per_task", (double)(t1 - t0) / (double)total,
                 __atomic_load_n(&counter, __ATOMIC_RELAXED) == total);
}

#define NO_CHILD_WAIT                                                                              \
    "a task cannot wait for a child task without blocking its worker: with P workers the "        \
    "recursion deadlocks"

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "W1"))
        w1(bench_arg(argc, argv, 2, 1000000));
    else if (!strcmp(w, "W2"))
        bench_unsupported("W2", PEER, "a task cannot wait for a child task without blocking its "
                                      "worker: with P workers the fib recursion deadlocks");
    else if (!strcmp(w, "W8") || !strcmp(w, "W9") || !strcmp(w, "W10") || !strcmp(w, "W11"))
        bench_unsupported(w, PEER, NO_CHILD_WAIT);
    else if (!strcmp(w, "W3"))
        w3(bench_arg(argc, argv, 2, 10000000), bench_arg(argc, argv, 3, 1),
           bench_arg(argc, argv, 4, 1));
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
