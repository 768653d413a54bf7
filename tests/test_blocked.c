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
 * two of them. */
#include "check.h"
#include "support.h"

static gate b_gate = GATE_INIT;

static int task_gated(void *arg, void **result)
{
    (void)arg;
    (void)result;
    gate_pass(&b_gate);
    return 0;
}

static int task_wait_other(void *arg, void **result)
{
    (void)result;
    return crew_future_wait((crew_future *)arg);
}

static latch a_hold;
static atomic_int a_back;

/* Waits for another pool's future (blocked: nothing to help with), then
 * stays busy without a crew wait until a_hold opens. */
static int task_wait_then_hold(void *arg, void **result)
{
    (void)result;
    int rc = crew_future_wait((crew_future *)arg);
    atomic_store(&a_back, 1);
    latch_pass(&a_hold);
    return rc;
}

static void surplus_woken(void)
{
    b_gate = (gate)GATE_INIT;
    crew_pool *a = make_pool(1);
    crew_pool *b = make_pool(1);
    crew_future *fb, *fa1, *fa2, *fa3;
    CHECK_OK(crew_pool_submit(b, task_gated, NULL, &fb));
    CHECK_OK(crew_pool_submit(a, task_wait_then_hold, fb, &fa1));
    POLL(crew_future_running(fa1));
    /* Let a1's wait find nothing to help with and block: a2 submitted
     * before that is one a1's helping wait may run itself (no replacement). */
    nap_ms(20);
    CHECK_OK(crew_pool_submit(a, task_value, (void *)42, &fa2)); /* on the replacement */
    CHECK_OK(crew_future_result_timed(fa2, NULL, NULL, 10 * 1000 * MS));
    CHECK_EQ(stats_of(a).workers_alive, 2);
    nap_ms(20); /* the replacement parks */
    gate_open(&b_gate);
    POLL(atomic_load(&a_back));
    atomic_int count = 0;
    CHECK_OK(crew_pool_submit(a, task_count, &count, &fa3));
    nap_ms(50);
    /* a1's worker is busy: a one-worker pool runs nothing else. */
    CHECK_EQ(atomic_load(&count), 0);
    CHECK(!crew_future_done(fa3));
    latch_open(&a_hold);
    CHECK_OK(crew_future_result(fa3, NULL, NULL));
    CHECK_EQ(atomic_load(&count), 1);
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

int main(void)
{
    surplus_woken();
    b_gate = (gate)GATE_INIT;
    crew_pool *a = make_pool(1);
    crew_pool *b = make_pool(1);
    crew_future *fb, *fa1, *fa2;
    CHECK_OK(crew_pool_submit(b, task_gated, NULL, &fb));
    CHECK_OK(crew_pool_submit(a, task_wait_other, fb, &fa1));
    POLL(crew_future_running(fa1));
    /* Let a1's wait find nothing to help with and block: a2 submitted
     * before that is one a1's helping wait may run itself (no replacement). */
    nap_ms(20);
    CHECK(crew_future_running(fa1));

    /* a1's worker is blocked: a2 must not wait behind it. */
    CHECK_OK(crew_pool_submit(a, task_value, (void *)42, &fa2));
    void *r = NULL;
    CHECK_OK(crew_future_result_timed(fa2, &r, NULL, 10 * 1000 * MS));
    CHECK_EQ((long)(intptr_t)r, 42);
    CHECK(!crew_future_done(fa1));
    CHECK_EQ(stats_of(a).workers_alive, 2);

    gate_open(&b_gate);
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
