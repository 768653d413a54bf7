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

static gate b_gate = GATE_INIT;
static latch a_hold;
static atomic_int a_back;

static int task_gated(void *arg, void **result)
{
    (void)arg;
    (void)result;
    gate_pass(&b_gate);
    return 0;
}

static int task_a1(void *arg, void **result)
{
    (void)result;
    int rc = crew_future_wait_timed((crew_future *)arg, 10000 * MS);
    atomic_store(&a_back, 1);
    latch_pass(&a_hold);
    return rc;
}

int main(void)
{
    crew_pool *a = make_pool(1);
    crew_pool *b = make_pool(1);
    crew_future *fb, *fa1, *fa2, *fa3;
    CHECK_OK(crew_pool_submit(b, task_gated, NULL, &fb));
    CHECK_OK(crew_pool_submit(a, task_a1, fb, &fa1));
    POLL(crew_future_running(fa1));
    nap_ms(20); /* a1 blocks at once: a timed wait */
    crew__fault_pause_set(CREW__PAUSE_SPIN, 1000);
    CHECK_OK(crew_pool_submit(a, task_value, (void *)42, &fa2)); /* on R */
    CHECK_OK(crew_future_result_timed(fa2, NULL, NULL, 10000 * MS));
    nap_ms(10); /* R spins, slowly */
    gate_open(&b_gate);
    POLL(atomic_load(&a_back));
    atomic_int count = 0;
    CHECK_OK(crew_pool_submit(a, task_count, &count, &fa3));
    nap_ms(50);
    /* a1's worker is busy: a one-worker pool runs nothing else. */
    CHECK_EQ(atomic_load(&count), 0);
    latch_open(&a_hold);
    CHECK_OK(crew_future_result_timed(fa3, NULL, NULL, 10000 * MS));
    CHECK_EQ(atomic_load(&count), 1);
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
