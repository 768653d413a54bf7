/* test_wait.c - crew_wait / crew_wait_timed / crew_wait_until (Python's
 * concurrent.futures.wait): each mode with futures finishing in an order the
 * test forces with gates, timeouts, n == 0, bad arguments, duplicates,
 * FIRST_EXCEPTION with and without a failure, cancelled futures, waiting
 * from inside a task of a one-worker pool, and races between completion and
 * timed-out waits (for the sanitizers). */
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "support.h"

/* ---- gates: a task blocks until the test opens its gate --------------- */

typedef struct job {
    latch *g;   /* NULL: no gate */
    int status; /* what the task returns */
} job;

static int job_task(void *arg, void **result)
{
    job *j = arg;
    if (j->g)
        latch_pass(j->g);
    *result = j;
    return j->status;
}

/* ---- tests ----------------------------------------------------------- */

static void test_args(void)
{
    size_t nd = 99;
    bool done[1];
    CHECK_OK(crew_wait(NULL, 0, CREW_ALL_COMPLETED, NULL, &nd));
    CHECK_EQ(nd, 0);
    CHECK_OK(crew_wait_timed(NULL, 0, CREW_FIRST_COMPLETED, done, NULL, 0));
    CHECK_RC(crew_wait(NULL, 1, CREW_ALL_COMPLETED, NULL, NULL), CREW_EINVAL);
    crew_future *nul[2] = {NULL, NULL};
    CHECK_RC(crew_wait(nul, 2, CREW_ALL_COMPLETED, NULL, NULL), CREW_EINVAL);

    crew_pool *p = make_pool_idle(1, 0);
    crew_future *f = NULL;
    CHECK_OK(crew_pool_submit(p, task_value, NULL, &f));
    crew_future *fs[2] = {f, NULL};
    CHECK_RC(crew_wait(fs, 2, CREW_ALL_COMPLETED, NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_wait(fs, 1, (crew_wait_mode)0, NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_wait(fs, 1, (crew_wait_mode)4, NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_wait_timed(fs, 1, CREW_ALL_COMPLETED, NULL, NULL, -1), CREW_EINVAL);
    CHECK_OK(crew_wait(fs, 1, CREW_ALL_COMPLETED, done, &nd));
    CHECK(done[0]);
    CHECK_EQ(nd, 1);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

/* FIRST_COMPLETED and ALL_COMPLETED with gates opened in the order 2, 0, 1. */
static void test_forced_order(void)
{
    crew_pool *p = make_pool_idle(3, 0);
    latch g[3] = {{0}, {0}, {0}};
    job j[3];
    crew_future *fs[3];
    for (int i = 0; i < 3; i++) {
        j[i] = (job){&g[i], 0};
        CHECK_OK(crew_pool_submit(p, job_task, &j[i], &fs[i]));
    }
    bool done[3] = {true, true, true};
    size_t nd = 99;

    /* Nothing can finish: a timed wait times out, not before ~its timeout. */
    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_wait_timed(fs, 3, CREW_FIRST_COMPLETED, done, &nd, 50000000), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 45000000);
    CHECK_EQ(nd, 0);
    CHECK(!done[0] && !done[1] && !done[2]);
    /* Timeout 0: a poll. */
    CHECK_RC(crew_wait_timed(fs, 3, CREW_ALL_COMPLETED, done, &nd, 0), CREW_ETIMEDOUT);
    CHECK_EQ(nd, 0);
    /* A deadline in the past: a poll. */
    CHECK_RC(crew_wait_until(fs, 3, CREW_FIRST_COMPLETED, done, &nd, crew_now_ns() - 1),
             CREW_ETIMEDOUT);

    latch_open(&g[2]);
    CHECK_OK(crew_wait(fs, 3, CREW_FIRST_COMPLETED, done, &nd));
    CHECK_EQ(nd, 1);
    CHECK(!done[0] && !done[1] && done[2]);

    t0 = crew_now_ns();
    CHECK_RC(crew_wait_timed(fs, 3, CREW_ALL_COMPLETED, done, &nd, 30000000), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 25000000);
    CHECK_EQ(nd, 1);
    CHECK(!done[0] && !done[1] && done[2]);

    /* The already-finished fs[2] satisfies FIRST_COMPLETED at once. */
    CHECK_OK(crew_wait(fs, 3, CREW_FIRST_COMPLETED, NULL, &nd));
    CHECK_EQ(nd, 1);
    /* Among the two unfinished ones, the next to finish is fs[0]. */
    latch_open(&g[0]);
    CHECK_OK(crew_wait(fs, 2, CREW_FIRST_COMPLETED, done, &nd));
    CHECK_EQ(nd, 1);
    CHECK(done[0] && !done[1]);

    latch_open(&g[1]);
    CHECK_OK(crew_wait_until(fs, 3, CREW_ALL_COMPLETED, done, &nd, crew_now_ns() + 10000000000LL));
    CHECK_EQ(nd, 3);
    CHECK(done[0] && done[1] && done[2]);
    release_all(fs, 3);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_first_exception(void)
{
    crew_pool *p = make_pool_idle(3, 0);
    latch g[3] = {{0}, {0}, {0}};
    job j[3] = {{&g[0], 0}, {&g[1], 7}, {&g[2], 0}};
    crew_future *fs[3];
    for (int i = 0; i < 3; i++)
        CHECK_OK(crew_pool_submit(p, job_task, &j[i], &fs[i]));
    bool done[3];
    size_t nd;

    /* fs[0] succeeds: no exception and not all done, so still waiting. */
    latch_open(&g[0]);
    CHECK_OK(crew_wait(fs, 1, CREW_ALL_COMPLETED, NULL, NULL));
    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_wait_timed(fs, 3, CREW_FIRST_EXCEPTION, done, &nd, 40000000), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 35000000);
    CHECK_EQ(nd, 1);
    CHECK(done[0] && !done[1] && !done[2]);

    /* fs[1] fails: FIRST_EXCEPTION returns with fs[2] still running. */
    latch_open(&g[1]);
    CHECK_OK(crew_wait(fs, 3, CREW_FIRST_EXCEPTION, done, &nd));
    CHECK_EQ(nd, 2);
    CHECK(done[0] && done[1] && !done[2]);
    /* Already failed: returns at once (fast path). */
    CHECK_OK(crew_wait_timed(fs, 3, CREW_FIRST_EXCEPTION, NULL, &nd, 0));
    int err = 0;
    CHECK_RC(crew_future_result(fs[1], NULL, &err), CREW_ETASK);
    CHECK_EQ(err, 7);
    latch_open(&g[2]);
    CHECK_OK(crew_wait(fs, 3, CREW_ALL_COMPLETED, NULL, NULL));
    release_all(fs, 3);

    /* None fails: FIRST_EXCEPTION is ALL_COMPLETED. */
    latch h[2] = {{0}, {0}};
    job k[2] = {{&h[0], 0}, {&h[1], 0}};
    for (int i = 0; i < 2; i++)
        CHECK_OK(crew_pool_submit(p, job_task, &k[i], &fs[i]));
    latch_open(&h[1]);
    CHECK_OK(crew_wait(fs + 1, 1, CREW_ALL_COMPLETED, NULL, NULL));
    CHECK_RC(crew_wait_timed(fs, 2, CREW_FIRST_EXCEPTION, done, &nd, 20000000), CREW_ETIMEDOUT);
    CHECK_EQ(nd, 1);
    latch_open(&h[0]);
    CHECK_OK(crew_wait(fs, 2, CREW_FIRST_EXCEPTION, done, &nd));
    CHECK_EQ(nd, 2);
    CHECK(done[0] && done[1]);
    release_all(fs, 2);
    CHECK_OK(crew_pool_destroy(p));
}

/* A cancelled future counts as finished, not as an exception. */
static void test_cancelled(void)
{
    crew_pool *p = make_pool_idle(1, 0);
    latch g = {0};
    job holder = {&g, 0};
    crew_future *b, *fs[2];
    CHECK_OK(crew_pool_submit(p, job_task, &holder, &b)); /* holds the worker */
    CHECK_OK(crew_pool_submit(p, task_value, NULL, &fs[0]));
    CHECK_OK(crew_pool_submit(p, task_value, NULL, &fs[1]));
    CHECK(crew_future_cancel(fs[0]));

    bool done[2];
    size_t nd;
    CHECK_RC(crew_wait_timed(fs, 2, CREW_FIRST_EXCEPTION, done, &nd, 20000000), CREW_ETIMEDOUT);
    CHECK_EQ(nd, 1);
    CHECK(done[0] && !done[1]);
    CHECK_OK(crew_wait(fs, 2, CREW_FIRST_COMPLETED, done, &nd));
    CHECK_EQ(nd, 1);

    /* Both cancelled: ALL_COMPLETED holds. */
    CHECK(crew_future_cancel(fs[1]));
    CHECK_OK(crew_wait(fs, 2, CREW_ALL_COMPLETED, done, &nd));
    CHECK_EQ(nd, 2);
    CHECK_RC(crew_future_try_result(fs[1], NULL, NULL), CREW_ECANCELLED);
    latch_open(&g);
    CHECK_OK(crew_future_wait(b));
    crew_future_release(b);
    release_all(fs, 2);
    CHECK_OK(crew_pool_destroy(p));
}

/* The same future twice: counted per entry, waited for once. */
static void test_duplicates(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    latch g[2] = {{0}, {0}};
    job j[2] = {{&g[0], 0}, {&g[1], 3}};
    crew_future *a, *b;
    CHECK_OK(crew_pool_submit(p, job_task, &j[0], &a));
    CHECK_OK(crew_pool_submit(p, job_task, &j[1], &b));
    crew_future *fs[5] = {a, b, a, a, b};
    bool done[5];
    size_t nd;
    CHECK_RC(crew_wait_timed(fs, 5, CREW_ALL_COMPLETED, done, &nd, 10000000), CREW_ETIMEDOUT);
    CHECK_EQ(nd, 0);
    latch_open(&g[0]);
    CHECK_OK(crew_wait(fs, 5, CREW_FIRST_COMPLETED, done, &nd));
    CHECK_EQ(nd, 3);
    CHECK(done[0] && !done[1] && done[2] && done[3] && !done[4]);
    CHECK_RC(crew_wait_timed(fs, 5, CREW_ALL_COMPLETED, done, &nd, 10000000), CREW_ETIMEDOUT);
    latch_open(&g[1]);
    CHECK_OK(crew_wait(fs, 5, CREW_FIRST_EXCEPTION, done, &nd));
    CHECK_EQ(nd, 5);
    crew_future *dup[2] = {b, b};
    CHECK_OK(crew_wait(dup, 2, CREW_ALL_COMPLETED, NULL, &nd));
    CHECK_EQ(nd, 2);
    crew_future_release(a);
    crew_future_release(b);
    CHECK_OK(crew_pool_destroy(p));
}

/* A task of a one-worker pool waits for tasks queued behind it: its worker
 * runs them while it waits. */
typedef struct nested {
    crew_pool *p;
    crew_wait_mode mode;
    long sum;
} nested;

static int add_task(void *arg, void **result)
{
    *result = arg;
    return 0;
}

static int waiting_task(void *arg, void **result)
{
    (void)result;
    nested *n = arg;
    crew_future *fs[4];
    for (intptr_t i = 0; i < 4; i++)
        if (crew_pool_submit(n->p, add_task, (void *)(i + 1), &fs[i]) != 0)
            return 1;
    size_t nd = 0;
    int rc = crew_wait(fs, 4, n->mode, NULL, &nd);
    if (rc == 0 && n->mode != CREW_FIRST_COMPLETED && nd != 4)
        rc = 2;
    rc = rc ? rc : crew_wait(fs, 4, CREW_ALL_COMPLETED, NULL, NULL);
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        if (crew_future_result(fs[i], &r, NULL) == 0)
            n->sum += (long)(intptr_t)r;
        crew_future_release(fs[i]);
    }
    return rc ? 3 : 0;
}

static void test_wait_inside_task(void)
{
    crew_wait_mode modes[3] = {CREW_FIRST_COMPLETED, CREW_FIRST_EXCEPTION, CREW_ALL_COMPLETED};
    for (int m = 0; m < 3; m++) {
        crew_pool *p = make_pool_idle(1, 0);
        nested n = {p, modes[m], 0};
        crew_future *f;
        CHECK_OK(crew_pool_submit(p, waiting_task, &n, &f));
        CHECK_OK(crew_future_result_timed(f, NULL, NULL, 10000000000LL));
        CHECK_EQ(n.sum, 10);
        crew_future_release(f);
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* Completions racing with registration, wake-ups and timed-out waits taking
 * their callbacks back (for ASan and TSan: the waiter is freed once). */
static void test_races(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    enum { ROUNDS = 300, N = 6 };
    for (int r = 0; r < ROUNDS; r++) {
        crew_future *fs[N];
        for (intptr_t i = 0; i < N; i++)
            CHECK_OK(crew_pool_submit(p, task_value, (void *)i, &fs[i]));
        size_t nd;
        crew_wait_mode mode = (crew_wait_mode)(1 + r % 3);
        int rc = crew_wait_timed(fs, N, mode, NULL, &nd, (r % 5) * 20000);
        CHECK(rc == 0 || rc == CREW_ETIMEDOUT);
        if (rc == 0 && mode != CREW_FIRST_COMPLETED)
            CHECK_EQ(nd, N);
        if (rc == 0 && mode == CREW_FIRST_COMPLETED)
            CHECK(nd >= 1);
        CHECK_OK(crew_wait(fs, N, CREW_ALL_COMPLETED, NULL, &nd));
        CHECK_EQ(nd, N);
        release_all(fs, N);
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* Several threads (tasks of a second pool) wait on the same futures at
 * once, each in its own mode; each wakes with its condition true. */
typedef struct waiter_arg {
    crew_future **fs;
    size_t n;
    crew_wait_mode mode;
    size_t ndone;
} waiter_arg;

static int waiter_task(void *arg, void **result)
{
    (void)result;
    waiter_arg *w = arg;
    return crew_wait_timed(w->fs, w->n, w->mode, NULL, &w->ndone, 10000000000LL);
}

static void test_many_waiters(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    crew_pool *q = make_pool_idle(3, 0);
    latch g[2] = {{0}, {0}};
    job j[2] = {{&g[0], 0}, {&g[1], 5}};
    crew_future *fs[2], *ws[3];
    for (int i = 0; i < 2; i++)
        CHECK_OK(crew_pool_submit(p, job_task, &j[i], &fs[i]));
    waiter_arg wa[3] = {{fs, 2, CREW_FIRST_COMPLETED, 0},
                        {fs, 2, CREW_FIRST_EXCEPTION, 0},
                        {fs, 2, CREW_ALL_COMPLETED, 0}};
    for (int i = 0; i < 3; i++)
        CHECK_OK(crew_pool_submit(q, waiter_task, &wa[i], &ws[i]));
    nap_us(5000); /* let them block (not required for correctness) */
    /* Not waiting for ws[0] before opening g[1]: a waiting worker may run
     * another waiter task nested on its stack (it helps while it waits), and
     * then ws[0] cannot return before that one does. */
    latch_open(&g[0]);
    /* fs[0] done before fs[1] fails, however slow the machine (a fixed nap
     * here made FIRST_EXCEPTION see one future done under TSan in CI). */
    CHECK_OK(crew_future_wait(fs[0]));
    latch_open(&g[1]);
    for (int i = 0; i < 3; i++)
        CHECK_OK(crew_future_result(ws[i], NULL, NULL));
    CHECK(wa[0].ndone >= 1);
    CHECK_EQ(wa[1].ndone, 2);
    CHECK_EQ(wa[2].ndone, 2);
    release_all(ws, 3);
    release_all(fs, 2);
    CHECK_OK(crew_pool_destroy(q));
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    test_args();
    test_forced_order();
    test_first_exception();
    test_cancelled();
    test_duplicates();
    test_wait_inside_task();
    test_many_waiters();
    test_races();
    return check_exit("test_wait");
}
