/* test_future.c - futures (crew/future.h): the state machine, cancel,
 * try/timed/until results, bad arguments, waiting on one's own future from
 * inside its task, many waiters, reference counting, a future outliving its
 * pool, and cancel racing with start. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "support.h"

/* ---- helpers ------------------------------------------------------------ */

/* support.h's task_block, with the blocker as its result. */
static int task_block_result(void *arg, void **result)
{
    blocker *b = arg;
    gate_open(&b->started);
    gate_pass(&b->release);
    *result = b;
    return 0;
}

/* ---- the state machine and cancel --------------------------------------- */

/* The task looks at its own future (passed through a slot filled after
 * submit) and records what it saw. */
typedef struct self_look {
    gate filled;
    crew_future *self;
    crew_future_state state;
    bool running, done, cancelled;
    bool cancel_rc;
} self_look;

static int task_self_look(void *arg, void **result)
{
    self_look *s = arg;
    (void)result;
    gate_pass(&s->filled);
    s->state = crew_future_get_state(s->self);
    s->running = crew_future_running(s->self);
    s->done = crew_future_done(s->self);
    s->cancelled = crew_future_cancelled(s->self);
    s->cancel_rc = crew_future_cancel(s->self);
    return 0;
}

static void test_states_and_cancel(void)
{
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *fa, *fb, *fc;
    CHECK_OK(crew_pool_submit(p, task_block_result, &b, &fa));
    gate_pass(&b.started);
    /* fa runs on the only worker; fb and fc are queued behind it. */
    self_look look = {GATE_INIT, NULL, 99, false, true, true, true};
    CHECK_OK(crew_pool_submit(p, task_self_look, &look, &fb));
    look.self = fb;
    gate_open(&look.filled);
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &fc));

    CHECK_EQ(crew_future_get_state(fa), CREW_FUTURE_RUNNING);
    CHECK(crew_future_running(fa));
    CHECK(!crew_future_done(fa));
    CHECK(!crew_future_cancelled(fa));
    CHECK(!crew_future_cancel(fa)); /* running: too late */
    CHECK_EQ(crew_future_get_state(fa), CREW_FUTURE_RUNNING);

    CHECK_EQ(crew_future_get_state(fb), CREW_FUTURE_PENDING);
    CHECK(!crew_future_running(fb));
    CHECK(!crew_future_done(fb));
    CHECK_RC(crew_future_try_result(fb, NULL, NULL), CREW_EPENDING);
    CHECK_RC(crew_future_wait_timed(fb, 0), CREW_ETIMEDOUT);

    CHECK(crew_future_cancel(fc));
    CHECK(crew_future_cancel(fc)); /* already cancelled: still true */
    CHECK_EQ(crew_future_get_state(fc), CREW_FUTURE_CANCELLED);
    CHECK(crew_future_cancelled(fc));
    CHECK(crew_future_done(fc));
    CHECK(!crew_future_running(fc));
    CHECK_RC(crew_future_try_result(fc, NULL, NULL), CREW_ECANCELLED);
    CHECK_RC(crew_future_result(fc, NULL, NULL), CREW_ECANCELLED);
    CHECK_OK(crew_future_wait(fc));

    gate_open(&b.release);
    void *r = NULL;
    CHECK_OK(crew_future_result(fa, &r, NULL));
    CHECK(r == &b);
    CHECK_EQ(crew_future_get_state(fa), CREW_FUTURE_DONE);
    CHECK(crew_future_done(fa));
    CHECK(!crew_future_running(fa));
    CHECK(!crew_future_cancel(fa)); /* done: false */
    CHECK(!crew_future_cancelled(fa));

    CHECK_OK(crew_future_result(fb, NULL, NULL));
    CHECK_EQ(look.state, CREW_FUTURE_RUNNING);
    CHECK(look.running);
    CHECK(!look.done);
    CHECK(!look.cancelled);
    CHECK(!look.cancel_rc);
    CHECK_OK(crew_future_try_result(fb, NULL, NULL));

    crew_future_release(fa);
    crew_future_release(fb);
    crew_future_release(fc);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- timeouts, deadlines, bad arguments --------------------------------- */

static void test_timeouts(void)
{
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_block_result, &b, &f));
    gate_pass(&b.started);

    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_future_wait_timed(f, 50 * MS), CREW_ETIMEDOUT);
    int64_t t1 = crew_now_ns();
    CHECK(t1 - t0 >= 50 * MS);
    void *r = (void *)1;
    int err = 123;
    CHECK_RC(crew_future_result_timed(f, &r, &err, 30 * MS), CREW_ETIMEDOUT);
    int64_t t2 = crew_now_ns();
    CHECK(t2 - t1 >= 30 * MS);
    int64_t deadline = crew_now_ns() + 30 * MS;
    CHECK_RC(crew_future_wait_until(f, deadline), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() >= deadline);
    deadline = crew_now_ns() + 20 * MS;
    CHECK_RC(crew_future_result_until(f, NULL, NULL, deadline), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() >= deadline);

    /* A deadline in the past or a zero timeout: an immediate check. */
    CHECK_RC(crew_future_wait_until(f, crew_now_ns() - 1000), CREW_ETIMEDOUT);
    CHECK_RC(crew_future_result_until(f, NULL, NULL, 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_future_wait_timed(f, 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_future_result_timed(f, NULL, NULL, 0), CREW_ETIMEDOUT);

    /* Negative timeouts are bad arguments. */
    CHECK_RC(crew_future_wait_timed(f, -1), CREW_EINVAL);
    CHECK_RC(crew_future_result_timed(f, NULL, NULL, -1), CREW_EINVAL);
    CHECK_RC(crew_future_result_timed(f, NULL, NULL, INT64_MIN), CREW_EINVAL);

    gate_open(&b.release);
    CHECK_OK(crew_future_wait_timed(f, 5000 * MS));
    /* Finished futures answer even with a past deadline or zero timeout. */
    CHECK_OK(crew_future_wait_until(f, 0));
    CHECK_OK(crew_future_wait_timed(f, 0));
    CHECK_OK(crew_future_result_until(f, &r, NULL, crew_now_ns() - 1));
    CHECK(r == &b);
    CHECK_OK(crew_future_result_timed(f, NULL, NULL, 0));
    /* A huge timeout does not overflow. */
    CHECK_OK(crew_future_wait_timed(f, INT64_MAX));
    CHECK_OK(crew_future_result_until(f, NULL, NULL, INT64_MAX));
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

static void dummy_cb(crew_future *f, void *ctx)
{
    (void)f;
    (void)ctx;
}

static void test_null_future(void)
{
    CHECK(crew_future_get_state(NULL) != CREW_FUTURE_DONE);
    CHECK(!crew_future_done(NULL));
    CHECK(!crew_future_running(NULL));
    CHECK(!crew_future_cancelled(NULL));
    CHECK(!crew_future_cancel(NULL));
    CHECK_RC(crew_future_wait(NULL), CREW_EINVAL);
    CHECK_RC(crew_future_wait_timed(NULL, 0), CREW_EINVAL);
    CHECK_RC(crew_future_wait_until(NULL, 0), CREW_EINVAL);
    void *r = NULL;
    int err = 0;
    CHECK_RC(crew_future_result(NULL, &r, &err), CREW_EINVAL);
    CHECK_RC(crew_future_try_result(NULL, &r, &err), CREW_EINVAL);
    CHECK_RC(crew_future_result_timed(NULL, &r, &err, 10), CREW_EINVAL);
    CHECK_RC(crew_future_result_until(NULL, &r, &err, 10), CREW_EINVAL);
    CHECK_RC(crew_future_add_done_callback(NULL, dummy_cb, NULL), CREW_EINVAL);
    CHECK(crew_future_retain(NULL) == NULL);
    crew_future_release(NULL);

    crew_pool *p = make_pool(1);
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &f));
    CHECK_RC(crew_future_add_done_callback(f, NULL, NULL), CREW_EINVAL);
    CHECK_OK(crew_future_wait(f));
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- waiting on one's own future ---------------------------------------- */

typedef struct self_wait {
    gate filled;
    crew_future *self;
    int rc[6];
} self_wait;

static int task_self_wait(void *arg, void **result)
{
    self_wait *s = arg;
    (void)result;
    gate_pass(&s->filled);
    s->rc[0] = crew_future_wait(s->self);
    s->rc[1] = crew_future_wait_timed(s->self, 10 * MS);
    s->rc[2] = crew_future_wait_until(s->self, crew_now_ns() + 10 * MS);
    s->rc[3] = crew_future_result(s->self, NULL, NULL);
    s->rc[4] = crew_future_result_timed(s->self, NULL, NULL, 10 * MS);
    s->rc[5] = crew_future_result_until(s->self, NULL, NULL, crew_now_ns() + 10 * MS);
    return 0;
}

static void test_self_wait(void)
{
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = make_pool(workers);
        self_wait s = {GATE_INIT, NULL, {0}};
        crew_future *f;
        CHECK_OK(crew_pool_submit(p, task_self_wait, &s, &f));
        s.self = f;
        gate_open(&s.filled);
        CHECK_OK(crew_future_result(f, NULL, NULL));
        for (int i = 0; i < 6; i++)
            CHECK_RC(s.rc[i], CREW_EDEADLK);
        crew_future_release(f);
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* ---- many waiters ------------------------------------------------------- */

typedef struct waiter {
    crew_future *f;
    void *r;
    int rc;
} waiter;

static void *waiter_main(void *arg)
{
    waiter *w = arg;
    w->rc = crew_future_result(w->f, &w->r, NULL);
    return NULL;
}

static void test_many_waiters(void)
{
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_block_result, &b, &f));
    enum { W = 6 };
    waiter w[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        w[i].f = f;
        w[i].r = NULL;
        w[i].rc = 99;
        CHECK_EQ(pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
    }
    gate_pass(&b.started);
    gate_open(&b.release);
    for (int i = 0; i < W; i++) {
        pthread_join(th[i], NULL);
        CHECK_OK(w[i].rc);
        CHECK(w[i].r == &b);
    }
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- references --------------------------------------------------------- */

static void test_references(void)
{
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *fb, *f;
    CHECK_OK(crew_pool_submit(p, task_block_result, &b, &fb));
    gate_pass(&b.started);

    /* Extra references, released in any order (ASan checks the balance). */
    CHECK_OK(crew_pool_submit(p, task_value, (void *)(intptr_t)42, &f));
    CHECK(crew_future_retain(f) == f);
    CHECK(crew_future_retain(f) == f);
    crew_future_release(f);
    crew_future_release(f);

    /* Released while still queued: the pool's reference keeps it alive and
     * the task still runs. */
    atomic_int count = 0;
    crew_future *g;
    CHECK_OK(crew_pool_submit(p, task_count, &count, &g));
    crew_future_release(g);

    gate_open(&b.release);
    void *r = NULL;
    CHECK_OK(crew_future_result(f, &r, NULL));
    CHECK(r == (void *)(intptr_t)42);
    crew_future_release(f);
    crew_future_release(fb);

    /* A future outliving its pool. */
    CHECK_OK(crew_pool_submit(p, task_value, (void *)(intptr_t)7, &f));
    crew_future *f2 = crew_future_retain(f);
    CHECK_OK(crew_pool_destroy(p));
    CHECK_EQ(crew_future_get_state(f), CREW_FUTURE_DONE);
    CHECK_OK(crew_future_result(f, &r, NULL));
    CHECK(r == (void *)(intptr_t)7);
    CHECK_OK(crew_future_wait_timed(f2, 0));
    crew_future_release(f);
    CHECK_OK(crew_future_try_result(f2, &r, NULL));
    CHECK(r == (void *)(intptr_t)7);
    crew_future_release(f2);
    CHECK_EQ(atomic_load(&count), 1);
}

/* ---- cancel racing with start ------------------------------------------- */

static void test_cancel_race(void)
{
    enum { N = 3000 };
    static slot slots[N];
    static crew_future *fs[N];
    static bool cancelled[N]; /* what crew_future_cancel returned */
    crew_pool *p = make_pool(2);
    for (int i = 0; i < N; i++) {
        CHECK_OK(crew_pool_submit_ex(p, task_slot, &slots[i], cleanup_slot, &fs[i]));
        /* Cancel a third right away and a third one submit later, while the
         * workers are starting them. */
        if (i % 3 == 0)
            cancelled[i] = crew_future_cancel(fs[i]);
        else if (i % 3 == 2)
            cancelled[i - 1] = crew_future_cancel(fs[i - 1]);
    }
    int n_cancelled = 0;
    for (int i = 0; i < N; i++) {
        int rc = crew_future_result(fs[i], NULL, NULL);
        bool c = crew_future_cancelled(fs[i]);
        CHECK_EQ(c, cancelled[i]); /* only this thread cancels */
        CHECK_RC(rc, c ? CREW_ECANCELLED : CREW_OK);
        n_cancelled += c;
    }
    crew_pool_stats s;
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_OK(crew_pool_get_stats(p, &s));
    CHECK_OK(crew_pool_destroy(p));
    int ran = 0;
    for (int i = 0; i < N; i++) {
        int r = atomic_load(&slots[i].ran), c = atomic_load(&slots[i].cleaned);
        CHECK_EQ(r + c, 1); /* never both, never neither */
        CHECK_EQ(c, crew_future_cancelled(fs[i]));
        ran += r;
        crew_future_release(fs[i]);
    }
    CHECK_EQ(s.cancelled, n_cancelled);
    CHECK_EQ(s.completed, ran);
}

int main(void)
{
    test_states_and_cancel();
    test_timeouts();
    test_null_future();
    test_self_wait();
    test_many_waiters();
    test_references();
    test_cancel_race();
    return check_exit("test_future");
}
