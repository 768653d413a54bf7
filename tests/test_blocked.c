/* test_blocked.c - a worker blocked in a crew wait is not counted as
 * available: queued work gets a replacement worker, and once the blocked
 * worker is back the surplus thread retires.
 *
 * Pool A has one worker.  Task a1 waits for a future of another pool B,
 * whose task is held by a gate, so a1's worker finds nothing to help with
 * and blocks.  A task a2 submitted to A must still run (a replacement worker
 * starts).  After the gate opens, A has two workers for a limit of one: one
 * of them must retire, leaving exactly one alive.
 *
 * Then the same while the blocked worker, back, stays busy: the replacement
 * is parked by then, and a task submitted meanwhile woke it and it ran --
 * two tasks at once in a one-worker pool (found by test_map in CI).  The
 * woken surplus worker now leaves instead, and the task waits for the
 * busy one; a surplus worker busy with a stream of tasks leaves between
 * two of them.
 *
 * And while the replacement holds a batch of submitted tasks it took from
 * the ring: it ran out its batch (up to 32 tasks) beside the worker that
 * came back.  It now leaves between two tasks with the rest of its batch,
 * which stays where any worker takes from it. */
#include "check.h"
#include "support.h"

/* Pool B's task, held until the test lets it go (bh.release). */
static blocker bh;

/* The thread that ran a2.  A blocked worker
 * looks for work every 10 ms (BLOCKED_RECHECK_NS), counted available
 * meanwhile: a2 may run on a1's thread, inside its wait (no replacement),
 * or on a replacement that then finds the pool over its limit and retires
 * at once.  Slow builds (TSan) see both now and then; either way a2 did
 * not wait for a1, and one or two workers are alive. */
static pthread_t a2_thread;

static int task_a2(void *arg, void **result)
{
    a2_thread = pthread_self();
    *result = arg;
    return 0;
}

static void check_after_a2(crew_pool *a)
{
    unsigned alive = stats_of(a).workers_alive;
    CHECK(alive == 1 || alive == 2);
    CHECK(!pthread_equal(a2_thread, pthread_self())); /* ran on a worker */
}

static int task_wait_other(void *arg, void **result)
{
    (void)result;
    return crew_future_wait((crew_future *)arg);
}

/* a1: waits for pool B's future (blocked: nothing to help with), then
 * stays busy without a crew wait until a1.hold opens (support.h). */
static hold_after_wait a1;

/* A fresh a1, waiting for fb (timed or not). */
static void reset_a1(crew_future *fb, bool timed)
{
    a1.wait_for = fb;
    a1.timed = timed;
    atomic_store(&a1.back, 0);
    atomic_store(&a1.hold.open, 0);
}

static void surplus_woken(void)
{
    crew_pool *a = make_pool(1);
    crew_pool *b = make_pool(1);
    crew_future *fb, *fa1, *fa2, *fa3;
    bh = (blocker)BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(b, task_block, &bh, &fb));
    reset_a1(fb, false);
    CHECK_OK(crew_pool_submit(a, task_hold, &a1, &fa1));
    POLL(crew_future_running(fa1));
    /* Let a1's wait find nothing to help with and block: a2 submitted
     * before that is one a1's helping wait may run itself (no replacement).
     * 100 ms: slow under TSan on a loaded machine. */
    nap_ms(100);
    CHECK_OK(crew_pool_submit(a, task_a2, (void *)42, &fa2)); /* on the replacement */
    CHECK_OK(crew_future_result_timed(fa2, NULL, NULL, 10 * 1000 * MS));
    check_after_a2(a);
    nap_ms(20); /* the replacement parks */
    fa3 = check_alone_after_wait(a, &bh, &a1);
    CHECK_OK(crew_future_result(fa1, NULL, NULL));
    POLL(stats_of(a).workers_alive == 1);
    CHECK_EQ(stats_of(a).workers_alive, 1);
    crew_future_release(fb);
    crew_future_release(fa1);
    crew_future_release(fa2);
    crew_future_release(fa3);
    CHECK_OK(crew_pool_destroy(a));
    CHECK_OK(crew_pool_destroy(b));
}

/* Tasks that count how many of them, and of a1, run at once, and how many
 * started while a1 was back and running (a1_running). */
static atomic_int x_active, x_max, x_ran, x_beside, a1_running;
static gate x1_gate = GATE_INIT, x2_gate = GATE_INIT;

static int task_x(void *arg, void **result)
{
    (void)result;
    if (atomic_load(&a1_running))
        atomic_fetch_add(&x_beside, 1);
    int now = atomic_fetch_add(&x_active, 1) + 1 + atomic_load(&a1.back);
    int m = atomic_load(&x_max);
    while (now > m && !atomic_compare_exchange_weak(&x_max, &m, now))
        ;
    if (arg)
        gate_pass(arg);
    atomic_fetch_add(&x_ran, 1);
    atomic_fetch_sub(&x_active, 1);
    return 0;
}

static void surplus_with_batch(void)
{
    enum { NX = 10 };
    x1_gate = (gate)GATE_INIT;
    x2_gate = (gate)GATE_INIT;
    crew_pool *a = make_pool(1);
    crew_pool *b = make_pool(1);
    crew_future *fb, *fa1, *fx[NX];
    bh = (blocker)BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(b, task_block, &bh, &fb));
    reset_a1(fb, true);
    CHECK_OK(crew_pool_submit(a, task_hold, &a1, &fa1));
    POLL(crew_future_running(fa1));
    nap_ms(20); /* a1 blocks (at once: a timed wait) */
    /* x0 on the replacement (held), x1..x9 queued behind it: once x0 is
     * let go the replacement takes them as a batch and holds at x1. */
    CHECK_OK(crew_pool_submit(a, task_x, &x1_gate, &fx[0]));
    POLL(crew_future_running(fx[0]));
    CHECK_OK(crew_pool_submit(a, task_x, &x2_gate, &fx[1]));
    for (int i = 2; i < NX; i++)
        CHECK_OK(crew_pool_submit(a, task_x, NULL, &fx[i]));
    gate_open(&x1_gate);
    POLL(crew_future_running(fx[1]));
    CHECK(crew_future_running(fx[1]));
    /* a1 comes back and stays busy; then x1 ends. */
    gate_open(&bh.release);
    POLL(atomic_load(&a1.back));
    atomic_store(&a1_running, 1);
    gate_open(&x2_gate);
    CHECK_OK(crew_future_wait_timed(fx[1], 10000 * MS));
    nap_ms(50);
    /* A one-worker pool with a1 running: none of x2..x9 started meanwhile. */
    CHECK_EQ(atomic_load(&x_beside), 0);
    atomic_store(&a1_running, 0);
    latch_open(&a1.hold);
    CHECK_OK(crew_future_result(fa1, NULL, NULL));
    for (int i = 0; i < NX; i++)
        CHECK_OK(crew_future_result_timed(fx[i], NULL, NULL, 10000 * MS));
    CHECK_EQ(atomic_load(&x_ran), NX);
    /* x0 and x1 overlapped a1 (inherent: a1 was blocked in a crew wait);
     * nothing ran beside a1 once it was back but the task already running. */
    CHECK(atomic_load(&x_max) <= 2);
    POLL(stats_of(a).workers_alive == 1);
    CHECK_EQ(stats_of(a).workers_alive, 1);
    crew_future_release(fb);
    crew_future_release(fa1);
    release_all(fx, NX);
    CHECK_OK(crew_pool_destroy(a));
    CHECK_OK(crew_pool_destroy(b));
}

int main(void)
{
    surplus_woken();
    surplus_with_batch();
    crew_pool *a = make_pool(1);
    crew_pool *b = make_pool(1);
    crew_future *fb, *fa1, *fa2;
    bh = (blocker)BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(b, task_block, &bh, &fb));
    CHECK_OK(crew_pool_submit(a, task_wait_other, fb, &fa1));
    POLL(crew_future_running(fa1));
    /* Let a1's wait find nothing to help with and block: a2 submitted
     * before that is one a1's helping wait may run itself (no replacement).
     * 100 ms: slow under TSan on a loaded machine. */
    nap_ms(100);
    CHECK(crew_future_running(fa1));

    /* a1's worker is blocked: a2 must not wait behind it. */
    CHECK_OK(crew_pool_submit(a, task_a2, (void *)42, &fa2));
    void *r = NULL;
    CHECK_OK(crew_future_result_timed(fa2, &r, NULL, 10 * 1000 * MS));
    CHECK_EQ((long)(intptr_t)r, 42);
    CHECK(!crew_future_done(fa1));
    check_after_a2(a);

    gate_open(&bh.release);
    CHECK_OK(crew_future_result(fa1, NULL, NULL));
    /* Two workers for a limit of one: the surplus retires at once when idle,
     * and the count stays right (one left, not zero). */
    POLL(stats_of(a).workers_alive == 1);
    CHECK_EQ(stats_of(a).workers_alive, 1);
    nap_ms(50);
    CHECK_EQ(stats_of(a).workers_alive, 1);
    crew_future *fa3;
    CHECK_OK(crew_pool_submit(a, task_value, (void *)7, &fa3));
    CHECK_OK(crew_future_result(fa3, &r, NULL));
    CHECK_EQ((long)(intptr_t)r, 7);
    CHECK_EQ(stats_of(a).workers_alive, 1);

    crew_future_release(fb);
    crew_future_release(fa1);
    crew_future_release(fa2);
    crew_future_release(fa3);
    CHECK_OK(crew_pool_destroy(a));
    CHECK_OK(crew_pool_destroy(b));
    return check_exit("test_blocked");
}
