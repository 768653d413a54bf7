/* fault_retire_order.c - tasks from one thread start in the order they were
 * submitted, even when the pool's only worker retires between them.
 *
 * A one-worker pool whose worker retires after 1 us idle.
 * Task X was queued while the worker was retiring (still counted alive, so
 * nobody else was started for it); the submit of task Y found the worker
 * out of the live count and, by the burst rule (issue 13), started a
 * thread and handed it Y; the retiring worker saw the new one and left.  Y
 * ran before X.  A submit now hands its task to the thread it starts only
 * when nothing is queued; otherwise the new thread takes the queue in order.
 *
 * The retiring worker sleeps 5 ms before and after it leaves the live count
 * (fault.h), so X lands in the first sleep and Y in the second.  Timing
 * decides whether a round hits the window (it does on most rounds); no
 * timing can make a correct pool fail. */
#include "check.h"
#include "base/fault.h"
#include "support.h"

static atomic_int next, bad;

static int task_in_order(void *arg, void **result)
{
    (void)result;
    if (atomic_fetch_add(&next, 1) != (int)(intptr_t)arg)
        atomic_fetch_add(&bad, 1);
    return 0;
}

int main(void)
{
    crew__fault_pause_set(CREW__PAUSE_RETIRE, 5000);
    crew_pool *p = make_pool_idle(1, 1000); /* the worker retires when idle 1 us */
    for (int round = 0; round < 20; round++) {
        atomic_store(&next, 0);
        crew_future *f[3];
        CHECK_OK(crew_pool_submit(p, task_in_order, (void *)0, &f[0]));
        CHECK_OK(crew_future_result(f[0], NULL, NULL));
        nap_us(2500); /* the worker is in its first sleep */
        CHECK_OK(crew_pool_submit(p, task_in_order, (void *)1, &f[1]));
        nap_us(5000); /* ... and now in its second */
        CHECK_OK(crew_pool_submit(p, task_in_order, (void *)2, &f[2]));
        for (int i = 1; i < 3; i++)
            CHECK_OK(crew_future_result(f[i], NULL, NULL));
        release_all(f, 3);
        CHECK_EQ(atomic_load(&next), 3);
    }
    CHECK_EQ(atomic_load(&bad), 0);
    crew__fault_pause_set(CREW__PAUSE_RETIRE, 0);
    CHECK_OK(crew_pool_destroy(p));
    return check_exit("fault_retire_order");
}
