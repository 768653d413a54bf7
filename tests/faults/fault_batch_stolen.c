/* fault_batch_stolen.c - a worker whose batch was taken from it entry by
 * entry goes back to the ring, not ahead to the ring's overflow queue.
 *
 * A worker moves a few entries from a submission ring into its batch, then
 * takes the first.  Other workers may take them all in between; the worker
 * then found "nothing" on the ring and took from the ring's overflow queue,
 * whose tasks are newer than the ones still on the ring while its owner
 * sends them there (the ring was full).  A task thus started ahead of
 * older ones: stress_submit's foreign wait (a task waiting outside crew
 * for the one submitted right after it) saw both workers wait for tasks
 * that nobody ran, for 10 s, in 1 of 15 to 40 runs under TSan with two
 * copies running at once.
 *
 * Two workers.  Both hold a gated task while the test fills the ring
 * (E1..E4, then R5..) and, once it is full, the overflow queue (O1..).  A
 * is let go: it moves E1..E4 into its batch and sleeps (pause point).  B is
 * let go: it takes E1..E4 from A's batch; E4 holds B.  A wakes to an empty
 * batch: R5 must run before O1. */
#include <stdint.h>

#include "check.h"
#include "base/fault.h"
#include "sched/pool.h" /* white box: the ring and its overflow queue */
#include "support.h"

enum { RING = CREW__RING_CAP, OVER = 8, TASKS = RING + OVER };

static atomic_int seq;
static atomic_int order[TASKS]; /* by task id: when it ran (1, 2, ...), 0: not yet */
static latch go;

static int task_log(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    CHECK_EQ(atomic_exchange(&order[id], atomic_fetch_add(&seq, 1) + 1), 0);
    return 0;
}

/* E4: logs, then holds its worker (outside crew) until the test is done. */
static int task_log_hold(void *arg, void **result)
{
    task_log(arg, result);
    latch_pass(&go);
    return 0;
}

int main(void)
{
    crew_pool *p = make_pool_idle(2, -1);
    blocker ga = BLOCKER_INIT, gb = BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(p, task_block, &ga, NULL));
    gate_pass(&ga.started);
    CHECK_OK(crew_pool_submit(p, task_block, &gb, NULL));
    gate_pass(&gb.started);
    /* Ids 0..3: E1..E4; 4..RING-1: R5..; RING..: the overflow queue. */
    for (int id = 0; id < TASKS; id++)
        CHECK_OK(crew_pool_submit(p, id == 3 ? task_log_hold : task_log, (void *)(intptr_t)id,
                                  NULL));
    if (atomic_load(&p->nrings) == 0) {
        /* No membarrier: no submission rings, nothing to check. */
        latch_open(&go);
        gate_open(&ga.release);
        gate_open(&gb.release);
        CHECK_OK(crew_pool_destroy(p));
        return check_exit("fault_batch_stolen");
    }
    crew__subring *r = p->rings[0];
    /* The gated tasks went to threads started for them (lazy start), so
     * the ring holds E1.. from its first slot. */
    CHECK_EQ(atomic_load(&r->head), 0);
    CHECK_EQ(atomic_load(&r->tail), RING);
    CHECK(crew__inject_maybe_nonempty(&r->ovq));

    crew__fault_pause_set(CREW__PAUSE_FILLED, 300000);
    gate_open(&ga.release);
    /* A moves E1..E4 (its first batch is 4) and sleeps in the pause. */
    POLL(atomic_load(&r->head) != 0);
    CHECK_EQ(atomic_load(&r->head), 4);
    nap_ms(20);
    gate_open(&gb.release);
    /* B takes E1..E4 out of A's batch; E4 holds it. */
    POLL(atomic_load(&order[3]) != 0);
    CHECK(atomic_load(&order[3]) != 0);
    CHECK_EQ(atomic_load(&order[4]), 0); /* A still asleep */
    crew__fault_pause_set(CREW__PAUSE_FILLED, 0);
    POLL(atomic_load(&order[4]) != 0 || atomic_load(&order[RING]) != 0);
    int r5 = atomic_load(&order[4]), o1 = atomic_load(&order[RING]);
    if (!(r5 != 0 && (o1 == 0 || r5 < o1)))
        fprintf(stderr, "R5 ran %d-th, O1 %d-th (0: not yet)\n", r5, o1);
    CHECK(r5 != 0 && (o1 == 0 || r5 < o1));

    latch_open(&go);
    CHECK_OK(crew_pool_shutdown(p, true, false));
    for (int id = 0; id < TASKS; id++)
        CHECK(atomic_load(&order[id]) != 0);
    CHECK_OK(crew_pool_destroy(p));
    return check_exit("fault_batch_stolen");
}
