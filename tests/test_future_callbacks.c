/* test_future_callbacks.c - done callbacks (crew/future.h): where and when
 * they run (at once in the caller if already finished, else in the
 * finishing thread: a worker or the cancelling thread), their order, exactly
 * once, a callback releasing the last reference, a callback that submits
 * work, and adding a callback while the future completes. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "support.h"

/* ---- helpers ------------------------------------------------------------ */

/* A blocker that also records which worker ran it. */
typedef struct thread_blocker {
    blocker b;
    pthread_t thread; /* the worker that ran the task; read after release */
} thread_blocker;

static int task_block_thread(void *arg, void **result)
{
    thread_blocker *t = arg;
    t->thread = pthread_self();
    return task_block(&t->b, result);
}

/* A log of callback calls: which callback, in which thread. */
typedef struct cb_log {
    atomic_int n;       /* entries claimed */
    atomic_int written; /* entries complete: read entries only up to this */
    int ids[16];
    pthread_t threads[16];
    void *results[16];
    int rcs[16];
} cb_log;

typedef struct cb_arg {
    cb_log *log;
    int id;
} cb_arg;

static void cb_record(crew_future *f, void *ctx)
{
    cb_arg *a = ctx;
    int k = atomic_fetch_add(&a->log->n, 1);
    if (k < 16) {
        a->log->ids[k] = a->id;
        a->log->threads[k] = pthread_self();
        /* The outcome is readable from inside the callback. */
        a->log->rcs[k] = crew_future_try_result(f, &a->log->results[k], NULL);
    }
    CHECK(crew_future_done(f));
    atomic_fetch_add(&a->log->written, 1); /* seq_cst: publishes the entry */
}

/* ---- tests -------------------------------------------------------------- */

static void test_already_done_runs_in_caller(void)
{
    crew_pool *p = make_pool(1);
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_value, (void *)(intptr_t)5, &f));
    CHECK_OK(crew_future_wait(f));
    static cb_log log;
    cb_arg a = {&log, 1};
    CHECK_OK(crew_future_add_done_callback(f, cb_record, &a));
    CHECK_EQ(atomic_load(&log.n), 1); /* ran before add returned */
    CHECK(pthread_equal(log.threads[0], pthread_self()));
    CHECK_OK(log.rcs[0]);
    CHECK(log.results[0] == (void *)(intptr_t)5);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
    CHECK_EQ(atomic_load(&log.n), 1);
}

static void test_order_and_thread(void)
{
    crew_pool *p = make_pool(1);
    thread_blocker tb = {BLOCKER_INIT, 0};
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_block_thread, &tb, &f));
    static cb_log log;
    cb_arg a[5];
    for (int i = 0; i < 5; i++) {
        a[i].log = &log;
        a[i].id = i;
        CHECK_OK(crew_future_add_done_callback(f, cb_record, &a[i]));
    }
    gate_pass(&tb.b.started);
    CHECK_EQ(atomic_load(&log.n), 0);
    gate_open(&tb.b.release);
    CHECK_OK(crew_future_wait(f));
    POLL(atomic_load(&log.written) == 5);
    CHECK_EQ(atomic_load(&log.written), 5);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(log.ids[i], i);
        CHECK(pthread_equal(log.threads[i], tb.thread)); /* the completing worker */
        CHECK_OK(log.rcs[i]);
    }
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
    CHECK_EQ(atomic_load(&log.n), 5);
}

/* A callback that drops the last reference (the future's own holder gave it
 * away).  ASan reports a use-after-free or a leak if this is mishandled. */
static atomic_int released_in_cb;

static void cb_release(crew_future *f, void *ctx)
{
    CHECK(f == ctx);
    crew_future_release(f);
    atomic_fetch_add(&released_in_cb, 1);
}

static void cb_count(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

static void test_callback_releases_last_reference(void)
{
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *f;
    atomic_int after = 0;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &f));
    CHECK_OK(crew_future_add_done_callback(f, cb_release, f));
    CHECK_OK(crew_future_add_done_callback(f, cb_count, &after)); /* runs after */
    f = NULL; /* the callback owns our reference now */
    gate_open(&b.release);
    POLL(atomic_load(&after) == 1);
    CHECK_EQ(atomic_load(&released_in_cb), 1);
    CHECK_EQ(atomic_load(&after), 1);

    /* Already done: runs in the caller, freeing the future inside add. */
    crew_future *g;
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &g));
    CHECK_OK(crew_future_wait(g));
    CHECK_OK(crew_future_add_done_callback(g, cb_release, g));
    CHECK_EQ(atomic_load(&released_in_cb), 2);

    /* On a cancelled future, in the cancelling thread. */
    blocker b2 = BLOCKER_INIT;
    crew_future *fb2, *h;
    CHECK_OK(crew_pool_submit(p, task_block, &b2, &fb2));
    gate_pass(&b2.started);
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &h));
    CHECK_OK(crew_future_add_done_callback(h, cb_release, h));
    CHECK(crew_future_cancel(h));
    CHECK_EQ(atomic_load(&released_in_cb), 3);
    gate_open(&b2.release);
    crew_future_release(fb2);
    CHECK_OK(crew_pool_destroy(p));
}

/* A callback that submits more work into the same pool. */
typedef struct chain {
    crew_pool *p;
    atomic_int links;
    gate finished;
} chain;

static int task_chain_end(void *arg, void **result)
{
    (void)result;
    gate_open(&((chain *)arg)->finished);
    return 0;
}

static void cb_submit(crew_future *f, void *ctx)
{
    chain *c = ctx;
    (void)f;
    int k = atomic_fetch_add(&c->links, 1);
    crew_future *next = NULL;
    if (k < 10) {
        CHECK_OK(crew_pool_submit(c->p, task_noop, NULL, &next));
        if (next) {
            CHECK_OK(crew_future_add_done_callback(next, cb_submit, c));
            crew_future_release(next);
        }
    } else {
        CHECK_OK(crew_pool_submit(c->p, task_chain_end, c, NULL));
    }
}

static void test_callback_submits(void)
{
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = make_pool(workers);
        chain c = {p, 0, GATE_INIT};
        crew_future *f;
        CHECK_OK(crew_pool_submit(p, task_noop, NULL, &f));
        CHECK_OK(crew_future_add_done_callback(f, cb_submit, &c));
        crew_future_release(f);
        gate_pass(&c.finished);
        CHECK_EQ(atomic_load(&c.links), 11);
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* A callback that adds another callback to the same (finished) future: the
 * new one runs at once, inside the first. */
static atomic_int nested_order;
static atomic_int nested_done;

static void cb_inner(crew_future *f, void *ctx)
{
    (void)f;
    *(int *)ctx = atomic_fetch_add(&nested_order, 1);
}

typedef struct nest {
    int outer_before, inner, outer_after;
} nest;

static void cb_outer(crew_future *f, void *ctx)
{
    nest *n = ctx;
    n->outer_before = atomic_fetch_add(&nested_order, 1);
    CHECK_OK(crew_future_add_done_callback(f, cb_inner, &n->inner));
    n->outer_after = atomic_fetch_add(&nested_order, 1);
    atomic_store(&nested_done, 1); /* publishes n */
}

static void test_callback_adds_callback(void)
{
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &f));
    nest n = {-1, -1, -1};
    CHECK_OK(crew_future_add_done_callback(f, cb_outer, &n));
    gate_open(&b.release);
    POLL(atomic_load(&nested_done) == 1);
    CHECK_EQ(n.outer_before, 0);
    CHECK_EQ(n.inner, 1);
    CHECK_EQ(n.outer_after, 2);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

/* Cancel from another thread: callbacks run in that thread. */
typedef struct canceller {
    crew_future *f;
    bool rc;
    pthread_t self;
} canceller;

static void *canceller_main(void *arg)
{
    canceller *c = arg;
    c->self = pthread_self();
    c->rc = crew_future_cancel(c->f);
    return NULL;
}

static void test_cancel_runs_callbacks_in_canceller(void)
{
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *fb, *f;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &fb));
    gate_pass(&b.started);
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &f));
    static cb_log log;
    cb_arg a[3] = {{&log, 0}, {&log, 1}, {&log, 2}};
    for (int i = 0; i < 3; i++)
        CHECK_OK(crew_future_add_done_callback(f, cb_record, &a[i]));
    canceller c = {f, false, pthread_self()};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, canceller_main, &c), 0);
    pthread_join(th, NULL);
    CHECK(c.rc);
    CHECK_EQ(atomic_load(&log.n), 3); /* before cancel returned */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(log.ids[i], i);
        CHECK(pthread_equal(log.threads[i], c.self));
        CHECK_RC(log.rcs[i], CREW_ECANCELLED);
    }
    CHECK(!crew_future_cancel(fb));
    gate_open(&b.release);
    crew_future_release(fb);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
    CHECK_EQ(atomic_load(&log.n), 3); /* exactly once */
}

/* Adding callbacks while the future completes: each runs exactly once. */
typedef struct adder {
    crew_future **fs;
    atomic_int *counts;
    int n;
} adder;

static void cb_inc(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

static void *adder_main(void *arg)
{
    adder *a = arg;
    for (int i = 0; i < a->n; i++)
        CHECK_OK(crew_future_add_done_callback(a->fs[i], cb_inc, &a->counts[2 * i + 1]));
    return NULL;
}

static void test_add_races_completion(void)
{
    enum { N = 3000 };
    static crew_future *fs[N];
    static atomic_int counts[2 * N]; /* [2i]: main's callback, [2i+1]: the adder's */
    crew_pool *p = make_pool(2);
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_pool_submit(p, task_noop, NULL, &fs[i]));
    adder a = {fs, counts, N};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, adder_main, &a), 0);
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_future_add_done_callback(fs[i], cb_inc, &counts[2 * i]));
    pthread_join(th, NULL);
    /* Callbacks added before completion run in a worker, possibly after a
     * waiter woke; once the workers have exited every one has run. */
    CHECK_OK(crew_pool_destroy(p));
    for (int i = 0; i < 2 * N; i++) {
        CHECK_EQ(atomic_load(&counts[i]), 1);
        if (atomic_load(&counts[i]) != 1)
            break;
    }
    for (int i = 0; i < N; i++)
        crew_future_release(fs[i]);
}

int main(void)
{
    test_already_done_runs_in_caller();
    test_order_and_thread();
    test_callback_releases_last_reference();
    test_callback_submits();
    test_callback_adds_callback();
    test_cancel_runs_callbacks_in_canceller();
    test_add_races_completion();
    return check_exit("test_future_callbacks");
}
