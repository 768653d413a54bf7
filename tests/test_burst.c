/* test_burst.c - a burst of submissions gets as many workers as it can use
 * at once, as Python's executor does (issue 13).
 *
 * Python starts a thread on each submit that finds no idle one, up to
 * max_workers, and the new thread takes a task at once: 50 submits to a
 * 5-worker pool leave 5 threads running 5 tasks, and a shutdown with
 * cancel_futures right after cancels the other 45.  crew hands the task of
 * a submit that starts a thread to that thread, so the counts are the same
 * and do not depend on timing.  The tasks wait on a gate (not a clock), so
 * the workers stay busy for as long as the test needs. */
#include "check.h"
#include "support.h"

enum { WORKERS = 5, TASKS = 50 };

static gate open_gate;
static atomic_int ran;

static int task_gated(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&ran, 1);
    gate_pass(&open_gate);
    return 0;
}

static void burst(bool cancel)
{
    open_gate = (gate)GATE_INIT;
    atomic_store(&ran, 0);
    crew_pool *p = make_pool(WORKERS);
    static slot slots[TASKS];
    memset(slots, 0, sizeof slots);
    crew_future *fs[TASKS];
    for (int i = 0; i < TASKS; i++)
        CHECK_OK(crew_pool_submit_ex(p, task_gated, &slots[i], cleanup_slot, &fs[i]));
    /* Five threads, each with its submit's task: nothing is idle. */
    crew_pool_stats s = stats_of(p);
    CHECK_EQ(s.workers_alive, WORKERS);
    CHECK_OK(crew_pool_shutdown(p, false, cancel));
    POLL(atomic_load(&ran) >= WORKERS);
    gate_open(&open_gate);
    CHECK_OK(crew_pool_shutdown(p, true, cancel));
    int cancelled = 0, done = 0;
    for (int i = 0; i < TASKS; i++) {
        int rc = crew_future_result(fs[i], NULL, NULL);
        CHECK(rc == 0 || rc == CREW_ECANCELLED);
        cancelled += rc == CREW_ECANCELLED;
        done += rc == 0;
        CHECK_EQ(atomic_load(&slots[i].cleaned), rc == CREW_ECANCELLED);
    }
    s = stats_of(p);
    if (cancel) {
        /* Python: 5 ran, 45 cancelled. */
        CHECK_EQ(done, WORKERS);
        CHECK_EQ(cancelled, TASKS - WORKERS);
        for (int i = 0; i < WORKERS; i++)
            CHECK_EQ(crew_future_done(fs[i]) && !crew_future_cancelled(fs[i]), 1);
    } else {
        CHECK_EQ(done, TASKS);
        CHECK_EQ(cancelled, 0);
    }
    CHECK_EQ(atomic_load(&ran), done);
    CHECK_EQ(s.completed, done);
    CHECK_EQ(s.cancelled, cancelled);
    CHECK_EQ(s.queued, 0);
    CHECK_EQ(s.workers_alive, 0);
    release_all(fs, TASKS);
    CHECK_OK(crew_pool_destroy(p));
}

/* Detached tasks and group jobs from outside take the same way. */
static void burst_detached(void)
{
    open_gate = (gate)GATE_INIT;
    atomic_store(&ran, 0);
    crew_pool *p = make_pool(WORKERS);
    for (int i = 0; i < TASKS; i++)
        CHECK_OK(crew_pool_submit(p, task_gated, NULL, NULL));
    CHECK_EQ(stats_of(p).workers_alive, WORKERS);
    POLL(atomic_load(&ran) >= WORKERS);
    CHECK_EQ(atomic_load(&ran), WORKERS);
    gate_open(&open_gate);
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_EQ(atomic_load(&ran), TASKS);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    burst(true);
    burst(false);
    burst_detached();
    return check_exit("test_burst");
}
