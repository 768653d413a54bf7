/* test_deadlock.c - the deadlock examples of Python's concurrent.futures
 * documentation, and nested waits, run against crew (crew/future.h: "a task
 * waiting on another task never deadlocks the pool, even with one worker").
 *
 *   1. One worker; a task submits pow(5, 2) to the same pool and waits for
 *      its result.  Python hangs; crew's waiting worker runs the queued task.
 *   2. Task a waits on b's future and b waits on a's.  No system can finish
 *      both waits; crew must not hang: the wait that closes the cycle returns
 *      CREW_EDEADLK, and then both futures finish.
 *   3. Waits nested 50 levels deep with one worker; fan-out waits; a group
 *      job waiting on a future and a task waiting on a group.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "support.h"

/* ---- 1. a task waits for a task it submitted ---------------------------- */

static int task_wait_on_future(void *arg, void **result)
{
    (void)arg;
    crew_future *f = NULL;
    int rc = crew_pool_submit(crew_pool_current(), task_square, (void *)(intptr_t)5, &f);
    if (rc != 0)
        return 100;
    rc = crew_future_result(f, result, NULL);
    crew_future_release(f);
    return rc == 0 ? 0 : 101;
}

static void test_wait_on_submitted(void)
{
    crew_pool *p = make_pool(1);
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_wait_on_future, NULL, &f));
    void *r = NULL;
    int err = 0;
    CHECK_OK(crew_future_result(f, &r, &err));
    CHECK_EQ(err, 0);
    CHECK_EQ((intptr_t)r, 25);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- 2. the cycle ------------------------------------------------------- */

/* Each member of a cycle waits on the next member's future, once the main
 * thread has filled in every future. */
enum { MAXCYC = 3 };
typedef struct cycle {
    gate filled;
    int n;
    crew_future *fs[MAXCYC];
    int rcs[MAXCYC];
    void *got[MAXCYC];
} cycle;

typedef struct member {
    cycle *c;
    int i;
} member;

static int task_member(void *arg, void **result)
{
    member *m = arg;
    cycle *c = m->c;
    gate_pass(&c->filled);
    c->rcs[m->i] = crew_future_result(c->fs[(m->i + 1) % c->n], &c->got[m->i], NULL);
    *result = (void *)(intptr_t)(100 + m->i);
    return 0;
}

static void run_cycle(crew_pool *p, int n)
{
    cycle c;
    memset(&c, 0, sizeof c);
    c.filled = (gate)GATE_INIT;
    c.n = n;
    member m[MAXCYC];
    for (int i = 0; i < n; i++) {
        m[i].c = &c;
        m[i].i = i;
        c.rcs[i] = 99;
        CHECK_OK(crew_pool_submit(p, task_member, &m[i], &c.fs[i]));
    }
    gate_open(&c.filled);
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        CHECK_OK(crew_future_result(c.fs[i], &r, NULL));
        CHECK_EQ((intptr_t)r, 100 + i);
    }
    /* Exactly one wait closed the cycle; every other one saw its target
     * finish normally. */
    int deadlk = 0;
    for (int i = 0; i < n; i++) {
        if (c.rcs[i] == CREW_EDEADLK) {
            deadlk++;
        } else {
            CHECK_OK(c.rcs[i]);
            CHECK_EQ((intptr_t)c.got[i], 100 + (i + 1) % n);
        }
    }
    CHECK_EQ(deadlk, 1);
    for (int i = 0; i < n; i++)
        crew_future_release(c.fs[i]);
}

static void test_cycles(void)
{
    for (unsigned workers = 1; workers <= 3; workers++) {
        crew_pool *p = make_pool(workers);
        for (int round = 0; round < 100; round++) {
            run_cycle(p, 2);
            run_cycle(p, 3);
        }
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* ---- 3. nested waits ---------------------------------------------------- */

static int task_nest(void *arg, void **result)
{
    intptr_t depth = (intptr_t)arg;
    if (depth == 0) {
        *result = (void *)0;
        return 0;
    }
    crew_future *f = NULL;
    if (crew_pool_submit(crew_pool_current(), task_nest, (void *)(depth - 1), &f) != 0)
        return 1;
    void *r = NULL;
    int rc = crew_future_result(f, &r, NULL);
    crew_future_release(f);
    *result = (void *)((intptr_t)r + depth);
    return rc == 0 ? 0 : 2;
}

/* Submits `width` children, then waits on them last to first. */
static int task_fan(void *arg, void **result)
{
    intptr_t width = (intptr_t)arg;
    crew_future *fs[64];
    intptr_t sum = 0;
    int bad = 0;
    for (intptr_t i = 0; i < width; i++)
        if (crew_pool_submit(crew_pool_current(), task_square, (void *)i, &fs[i]) != 0)
            return 1;
    for (intptr_t i = width - 1; i >= 0; i--) {
        void *r = NULL;
        bad |= crew_future_result(fs[i], &r, NULL) != 0;
        sum += (intptr_t)r;
        crew_future_release(fs[i]);
    }
    *result = (void *)sum;
    return bad;
}

static int job_wait_future(void *arg)
{
    crew_future *f = NULL;
    if (crew_pool_submit((crew_pool *)arg, task_square, (void *)(intptr_t)3, &f) != 0)
        return 1;
    void *r = NULL;
    int rc = crew_future_result(f, &r, NULL);
    crew_future_release(f);
    return rc == 0 && (intptr_t)r == 9 ? 0 : 2;
}

static int task_group_of_waiters(void *arg, void **result)
{
    (void)result;
    crew_pool *p = arg;
    crew_group g;
    if (crew_group_init(&g, p) != 0)
        return 1;
    for (int i = 0; i < 10; i++)
        if (crew_group_spawn(&g, job_wait_future, p) != 0)
            return 2;
    int err = 0;
    int rc = crew_group_wait(&g, &err);
    return rc == 0 ? 0 : 3;
}

static void test_nested(void)
{
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = make_pool(workers);
        crew_future *f;
        void *r = NULL;
        CHECK_OK(crew_pool_submit(p, task_nest, (void *)(intptr_t)50, &f));
        CHECK_OK(crew_future_result(f, &r, NULL));
        CHECK_EQ((intptr_t)r, 50 * 51 / 2);
        crew_future_release(f);

        CHECK_OK(crew_pool_submit(p, task_fan, (void *)(intptr_t)64, &f));
        CHECK_OK(crew_future_result(f, &r, NULL));
        CHECK_EQ((intptr_t)r, 63 * 64 * 127 / 6);
        crew_future_release(f);

        CHECK_OK(crew_pool_submit(p, task_group_of_waiters, p, &f));
        CHECK_OK(crew_future_result(f, NULL, NULL));
        crew_future_release(f);
        CHECK_OK(crew_pool_destroy(p));
    }
}

int main(void)
{
    test_wait_on_submitted();
    test_cycles();
    test_nested();
    return check_exit("test_deadlock");
}
