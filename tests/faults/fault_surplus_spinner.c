/* fault_surplus_spinner.c - a new worker that finds the pool over its limit
 * before its first task leaves without stranding a task that a submit left
 * to it.
 *
 * A new worker without a task counts as spinning, and a submit that sees a
 * spinning worker wakes nobody: the spinner will find the task.  A new
 * worker that found nothing and then saw the pool over its limit (a
 * blocked worker had come back) stopped counting and left without another
 * look: a task submitted in between stayed queued while an idle worker
 * slept.  It now passes the wake on, as a woken surplus worker does.
 *
 * Two workers may run.  A runs T1 (held on a gate), C runs T2, which blocks
 * in a timed crew wait while a task Q is queued: B is started for Q,
 * counted as spinning, and sleeps before its first look (pause point).  T1
 * is let go; A runs Q and parks.  T2's wait ends: three workers for two.
 * B looks, finds nothing, sees the surplus and sleeps (pause point) still
 * counted as spinning; the test submits Y then.  T2 keeps its worker busy
 * (outside crew) until Y ran, or gives up after 3 s: without the fix Y
 * waited there while A slept.  Timing decides whether a round hits the
 * window (it does when the machine is not overloaded); no timing can make a
 * correct pool fail. */
#include "check.h"
#include "base/fault.h"
#include "support.h"

static gate g1 = GATE_INIT;
static latch l2, y_ran;
static crew_future *h;
static atomic_int t2_gave_up, q_ran;

static int task_t1(void *arg, void **result)
{
    (void)arg;
    (void)result;
    gate_pass(&g1);
    return 0;
}

static int task_t2(void *arg, void **result)
{
    (void)arg;
    (void)result;
    latch_pass(&l2);
    /* Timed: no help, so this worker blocks at once with Q queued. */
    CHECK_OK(crew_future_wait_timed(h, 10000 * MS));
    /* Busy outside crew until Y ran (bounded). */
    POLL_NS(atomic_load(&y_ran.open), 3000 * MS);
    if (!atomic_load(&y_ran.open))
        atomic_store(&t2_gave_up, 1);
    return 0;
}

static int task_q(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_store(&q_ran, 1);
    return 0;
}

static int task_y(void *arg, void **result)
{
    (void)arg;
    (void)result;
    latch_open(&y_ran);
    return 0;
}

int main(void)
{
    crew__fault_pause_set(CREW__PAUSE_FIRST_LOOK, 100000);
    crew__fault_pause_set(CREW__PAUSE_SURPLUS, 200000);
    crew_pool *p = make_pool_idle(2, -1);
    CHECK_OK(crew_future_create(&h, NULL));
    crew_future *f1, *f2, *fq, *fy;
    CHECK_OK(crew_pool_submit(p, task_t1, NULL, &f1));
    CHECK_OK(crew_pool_submit(p, task_t2, NULL, &f2));
    POLL(crew_future_running(f1) && crew_future_running(f2));
    CHECK(crew_future_running(f1) && crew_future_running(f2));
    /* Both workers busy: Q is queued; T2's wait starts B for it. */
    CHECK_OK(crew_pool_submit(p, task_q, NULL, &fq));
    latch_open(&l2);
    POLL(stats_of(p).workers_alive == 3);
    CHECK_EQ(stats_of(p).workers_alive, 3);
    /* B sleeps before its first look: A takes Q, then parks. */
    gate_open(&g1);
    POLL(atomic_load(&q_ran));
    nap_ms(20);
    /* T2's wait ends: one worker too many.  B wakes from its first pause
     * at about 100 ms, finds nothing and pauses again, still spinning. */
    CHECK_OK(crew_future_set_result(h, NULL));
    nap_ms(150);
    CHECK_OK(crew_pool_submit(p, task_y, NULL, &fy));
    CHECK_OK(crew_future_wait(f2));
    CHECK_EQ(atomic_load(&t2_gave_up), 0); /* Y ran while T2 waited for it */
    CHECK_OK(crew_future_wait(fy));
    crew_future *all[] = {f1, f2, fq, fy, h};
    release_all(all, 5);
    crew__fault_pause_set(CREW__PAUSE_FIRST_LOOK, 0);
    crew__fault_pause_set(CREW__PAUSE_SURPLUS, 0);
    CHECK_OK(crew_pool_destroy(p));
    return check_exit("fault_surplus_spinner");
}
