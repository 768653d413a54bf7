/* fault_surplus_spin.c - a replacement worker that is spinning when the
 * worker it replaced comes back leaves instead of taking the next task.
 *
 * A one-worker pool.  a1 blocks in a timed wait (no helping), so a2 gets a
 * replacement worker R; R finishes a2 and spins, each round slowed to 1 ms
 * (pause point), so it is still spinning when a1's wait ends.  a1 then
 * stays busy; a3 is submitted.  R took a3 at its next look and ran it
 * beside a1: two tasks at once in a one-worker pool.  R now looks at the
 * limit each round and leaves, passing the wake on; a3 waits for a1. */
#include "check.h"
#include "base/fault.h"
#include "support.h"

int main(void)
{
    crew_pool *a = make_pool(1);
    crew_pool *b = make_pool(1);
    crew_future *fb, *fa1, *fa2, *fa3;
    blocker bh = BLOCKER_INIT; /* pool b's task, until released */
    CHECK_OK(crew_pool_submit(b, task_block, &bh, &fb));
    hold_after_wait a1 = {.wait_for = fb, .timed = true}; /* a1: blocks, then holds */
    CHECK_OK(crew_pool_submit(a, task_hold, &a1, &fa1));
    POLL(crew_future_running(fa1));
    nap_ms(20); /* a1 blocks at once: a timed wait */
    crew__fault_pause_set(CREW__PAUSE_SPIN, 1000);
    CHECK_OK(crew_pool_submit(a, task_value, (void *)42, &fa2)); /* on R */
    CHECK_OK(crew_future_result_timed(fa2, NULL, NULL, 10000 * MS));
    nap_ms(10); /* R spins, slowly */
    fa3 = check_alone_after_wait(a, &bh, &a1);
    CHECK_OK(crew_future_result(fa1, NULL, NULL));
    crew__fault_pause_set(CREW__PAUSE_SPIN, 0);
    POLL(stats_of(a).workers_alive == 1);
    CHECK_EQ(stats_of(a).workers_alive, 1);
    crew_future *all[] = {fb, fa1, fa2, fa3};
    release_all(all, 4);
    CHECK_OK(crew_pool_destroy(a));
    CHECK_OK(crew_pool_destroy(b));
    return check_exit("fault_surplus_spin");
}
