/* fault_fence.c - membarrier failing after it worked (issue 11, bug 11):
 * crew must not abort the process; it goes back to symmetric fences and
 * every task still runs, parking and waking included. */
#include "check.h"
#include "base/fault.h"
#include "base/fence.h"
#include "support.h"


int main(void)
{
    crew_pool *p = make_pool(2);
    /* Warm up with membarrier (if this machine has it). */
    atomic_int warm = 0;
    CHECK_OK(crew_pool_submit(p, task_count, &warm, NULL));
    POLL(atomic_load(&warm) == 1);
    bool had = atomic_load(&crew__fence_asym);
    crew__fault_arm_from(CREW__FAULT_FENCE, 1);
    crew_pool *q = make_pool(2);
    for (int r = 0; r < 20; r++) {
        atomic_int count = 0;
        crew_future *f = NULL;
        for (int i = 0; i < 200; i++)
            CHECK_OK(crew_pool_submit(q, task_count, &count, i == 199 ? &f : NULL));
        CHECK_OK(crew_future_wait(f));
        crew_future_release(f);
        POLL(atomic_load(&count) == 200);
        CHECK_EQ(atomic_load(&count), 200);
        nap_ms(2); /* the workers park: heavy fences, which now fail */
    }
    if (had)
        CHECK(crew__fault_fired());
    CHECK(!atomic_load(&crew__fence_asym)); /* symmetric from now on */
    crew__fault_arm(0, 0);
    CHECK_OK(crew_pool_destroy(q));
    CHECK_OK(crew_pool_destroy(p));
    return check_exit("fault_fence");
}
