/* test_as_completed.c - the crew_as_completed iterator (Python's
 * concurrent.futures.as_completed): every future yielded exactly once, in
 * completion order (forced with gates), already-finished ones first,
 * duplicates once, per-call timeouts and one overall deadline, CREW_EEMPTY
 * at the end, destroy before the end (ASan: no leak, no use after free), and
 * completions racing with creation and destroy. */
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "support.h"

static int gated_task(void *arg, void **result)
{
    latch_pass(arg);
    *result = arg;
    return 0;
}

static void test_args(void)
{
    crew_as_completed *it = NULL;
    crew_future *f = NULL;
    CHECK_RC(crew_as_completed_create(NULL, NULL, 0), CREW_EINVAL);
    CHECK_RC(crew_as_completed_create(&it, NULL, 2), CREW_EINVAL);
    crew_future *nul[1] = {NULL};
    CHECK_RC(crew_as_completed_create(&it, nul, 1), CREW_EINVAL);
    CHECK_RC(crew_as_completed_next(NULL, &f), CREW_EINVAL);

    /* n == 0: empty at once. */
    CHECK_OK(crew_as_completed_create(&it, NULL, 0));
    CHECK_RC(crew_as_completed_next(it, NULL), CREW_EINVAL);
    CHECK_RC(crew_as_completed_next_timed(it, &f, -1), CREW_EINVAL);
    CHECK_RC(crew_as_completed_next(it, &f), CREW_EEMPTY);
    CHECK_RC(crew_as_completed_next_timed(it, &f, 0), CREW_EEMPTY);
    crew_as_completed_destroy(it);
    crew_as_completed_destroy(NULL);
}

/* Four running tasks finish in the order the gates open: 2, 0, 3, 1. */
static void test_order(void)
{
    enum { N = 4 };
    crew_pool *p = make_pool_idle(N, 0);
    latch g[N] = {{0}, {0}, {0}, {0}};
    crew_future *fs[N];
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_pool_submit(p, gated_task, &g[i], &fs[i]));
    crew_as_completed *it;
    CHECK_OK(crew_as_completed_create(&it, fs, N));
    /* The iterator holds its own references. */
    crew_future *mine[N];
    for (int i = 0; i < N; i++)
        mine[i] = fs[i];
    release_all(fs, N);

    int order[N] = {2, 0, 3, 1};
    for (int k = 0; k < N; k++) {
        crew_future *f = NULL;
        latch_open(&g[order[k]]);
        CHECK_OK(crew_as_completed_next(it, &f));
        CHECK(f == mine[order[k]]);
        void *r = NULL;
        CHECK_OK(crew_future_try_result(f, &r, NULL));
        CHECK(r == &g[order[k]]);
    }
    crew_future *f = NULL;
    CHECK_RC(crew_as_completed_next(it, &f), CREW_EEMPTY);
    CHECK_RC(crew_as_completed_next(it, &f), CREW_EEMPTY);
    crew_as_completed_destroy(it);
    CHECK_OK(crew_pool_destroy(p));
}

/* Already finished first (in input order), then completion order. */
static void test_finished_first(void)
{
    crew_pool *p = make_pool_idle(3, 0);
    latch g[2] = {{0}, {0}};
    crew_future *a, *b, *c, *d;
    CHECK_OK(crew_pool_submit(p, gated_task, &g[0], &c));
    CHECK_OK(crew_pool_submit(p, gated_task, &g[1], &d));
    CHECK_OK(crew_pool_submit(p, task_value, NULL, &a));
    CHECK_OK(crew_pool_submit(p, task_value, NULL, &b));
    CHECK_OK(crew_future_wait(b));
    CHECK_OK(crew_future_wait(a));
    crew_future *fs[4] = {c, b, d, a};
    crew_as_completed *it;
    CHECK_OK(crew_as_completed_create(&it, fs, 4));
    crew_future *f;
    CHECK_OK(crew_as_completed_next(it, &f));
    CHECK(f == b);
    CHECK_OK(crew_as_completed_next(it, &f));
    CHECK(f == a);
    /* Nothing else has finished: a per-call timeout, not before ~30 ms. */
    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_as_completed_next_timed(it, &f, 30000000), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 25000000);
    CHECK_RC(crew_as_completed_next_timed(it, &f, 0), CREW_ETIMEDOUT);
    latch_open(&g[1]);
    CHECK_OK(crew_as_completed_next(it, &f));
    CHECK(f == d);
    latch_open(&g[0]);
    CHECK_OK(crew_as_completed_next_timed(it, &f, 10000000000LL));
    CHECK(f == c);
    CHECK_RC(crew_as_completed_next(it, &f), CREW_EEMPTY);
    crew_as_completed_destroy(it);
    crew_future *all[4] = {a, b, c, d};
    release_all(all, 4);
    CHECK_OK(crew_pool_destroy(p));
}

/* Python's as_completed(timeout): one deadline for the whole iteration. */
static void test_overall_deadline(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    latch g[2] = {{0}, {0}};
    crew_future *fs[2];
    for (int i = 0; i < 2; i++)
        CHECK_OK(crew_pool_submit(p, gated_task, &g[i], &fs[i]));
    crew_as_completed *it;
    CHECK_OK(crew_as_completed_create(&it, fs, 2));
    int64_t deadline = crew_now_ns() + 60000000;
    latch_open(&g[1]);
    crew_future *f = NULL;
    CHECK_OK(crew_as_completed_next_until(it, &f, deadline));
    CHECK(f == fs[1]);
    CHECK_RC(crew_as_completed_next_until(it, &f, deadline), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() >= deadline - 5000000);
    /* Past the deadline, a finished future is still handed out. */
    latch_open(&g[0]);
    CHECK_OK(crew_future_wait(fs[0]));
    CHECK_OK(crew_as_completed_next_until(it, &f, deadline));
    CHECK(f == fs[0]);
    CHECK_RC(crew_as_completed_next_until(it, &f, deadline), CREW_EEMPTY);
    crew_as_completed_destroy(it);
    release_all(fs, 2);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_duplicates(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    latch g = {0};
    crew_future *a, *b;
    CHECK_OK(crew_pool_submit(p, task_value, NULL, &a));
    CHECK_OK(crew_pool_submit(p, gated_task, &g, &b));
    CHECK_OK(crew_future_wait(a));
    crew_future *fs[6] = {b, a, b, a, a, b};
    crew_as_completed *it;
    CHECK_OK(crew_as_completed_create(&it, fs, 6));
    crew_future *f;
    CHECK_OK(crew_as_completed_next(it, &f));
    CHECK(f == a);
    CHECK_RC(crew_as_completed_next_timed(it, &f, 5000000), CREW_ETIMEDOUT);
    latch_open(&g);
    CHECK_OK(crew_as_completed_next(it, &f));
    CHECK(f == b);
    CHECK_RC(crew_as_completed_next(it, &f), CREW_EEMPTY);
    crew_as_completed_destroy(it);
    crew_future_release(a);
    crew_future_release(b);
    CHECK_OK(crew_pool_destroy(p));
}

/* Destroy before the end: the callbacks still registered are taken back;
 * the futures finishing afterwards touch nothing freed. */
static void test_destroy_early(void)
{
    crew_pool *p = make_pool_idle(3, 0);
    latch g[3] = {{0}, {0}, {0}};
    crew_future *fs[3];
    for (int i = 0; i < 3; i++)
        CHECK_OK(crew_pool_submit(p, gated_task, &g[i], &fs[i]));
    crew_as_completed *it;
    CHECK_OK(crew_as_completed_create(&it, fs, 3));
    latch_open(&g[1]);
    crew_future *f;
    CHECK_OK(crew_as_completed_next(it, &f));
    CHECK(f == fs[1]);
    crew_as_completed_destroy(it);
    latch_open(&g[0]);
    latch_open(&g[2]);
    CHECK_OK(crew_wait(fs, 3, CREW_ALL_COMPLETED, NULL, NULL));
    /* The iterator dropped its references: ours are the last ones. */
    release_all(fs, 3);

    /* An iterator that is never read. */
    latch h = {0};
    crew_future *x;
    CHECK_OK(crew_pool_submit(p, gated_task, &h, &x));
    CHECK_OK(crew_as_completed_create(&it, &x, 1));
    crew_future_release(x); /* the iterator's reference keeps it alive */
    crew_as_completed_destroy(it);
    latch_open(&h);
    CHECK_OK(crew_pool_destroy(p));
}

/* Creation and destroy racing with completions (for the sanitizers), and a
 * full iteration over many quick tasks yields each exactly once. */
static void test_races(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    enum { ROUNDS = 200, N = 8 };
    for (int r = 0; r < ROUNDS; r++) {
        crew_future *fs[N];
        for (intptr_t i = 0; i < N; i++)
            CHECK_OK(crew_pool_submit(p, task_value, (void *)(i + 1), &fs[i]));
        crew_as_completed *it;
        CHECK_OK(crew_as_completed_create(&it, fs, N));
        int seen[N + 1] = {0};
        int want = r % 2 ? N : r % N; /* odd rounds: all; even: stop early */
        for (int k = 0; k < want; k++) {
            crew_future *f;
            void *res = NULL;
            CHECK_OK(crew_as_completed_next(it, &f));
            CHECK_OK(crew_future_try_result(f, &res, NULL));
            intptr_t v = (intptr_t)res;
            CHECK(v >= 1 && v <= N);
            if (v >= 1 && v <= N)
                seen[v]++;
        }
        if (want == N) {
            crew_future *f;
            CHECK_RC(crew_as_completed_next(it, &f), CREW_EEMPTY);
            for (int v = 1; v <= N; v++)
                CHECK_EQ(seen[v], 1);
        }
        crew_as_completed_destroy(it);
        release_all(fs, N);
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* A future whose wait has returned is finished: next must hand it out even
 * with a deadline already passed, though its done callback (which feeds the
 * iterator) may still be on its way in the worker. */
static void test_finished_before_callback(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    for (int r = 0; r < 300; r++) {
        crew_future *f;
        CHECK_OK(crew_pool_submit(p, task_value, NULL, &f));
        crew_as_completed *it;
        CHECK_OK(crew_as_completed_create(&it, &f, 1));
        CHECK_OK(crew_future_wait(f));
        crew_future *got = NULL;
        CHECK_OK(crew_as_completed_next_until(it, &got, crew_now_ns() - 1));
        CHECK(got == f);
        CHECK_RC(crew_as_completed_next_until(it, &got, 0), CREW_EEMPTY);
        crew_as_completed_destroy(it);
        crew_future_release(f);
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* An iterator used inside a task of a one-worker pool over tasks queued
 * behind it: the worker runs them while next waits. */
typedef struct nested {
    crew_pool *p;
    int count;
} nested;

static int iterating_task(void *arg, void **result)
{
    (void)result;
    nested *n = arg;
    crew_future *fs[5];
    for (int i = 0; i < 5; i++)
        if (crew_pool_submit(n->p, task_value, NULL, &fs[i]) != 0)
            return 1;
    crew_as_completed *it;
    int rc = crew_as_completed_create(&it, fs, 5);
    release_all(fs, 5);
    if (rc != 0)
        return 2;
    crew_future *f;
    while (crew_as_completed_next(it, &f) == 0)
        n->count++;
    crew_as_completed_destroy(it);
    return 0;
}

static void test_inside_task(void)
{
    crew_pool *p = make_pool_idle(1, 0);
    nested n = {p, 0};
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, iterating_task, &n, &f));
    CHECK_OK(crew_future_result_timed(f, NULL, NULL, 10000000000LL));
    CHECK_EQ(n.count, 5);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    test_args();
    test_order();
    test_finished_first();
    test_overall_deadline();
    test_duplicates();
    test_destroy_early();
    test_races();
    test_finished_before_callback();
    test_inside_task();
    return check_exit("test_as_completed");
}
