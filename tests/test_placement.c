/* test_placement.c - workers start on distinct CPUs but are not pinned.
 *
 * A new worker moves itself to a CPU of its own and then gives itself back
 * every CPU the process may use (pool.c, crew__place_worker).  Where it runs
 * later is up to the kernel, so the test checks what must hold: every worker
 * ends up with the same CPU set as the thread that created the pool (a
 * worker left pinned to one CPU would be a bug). */
#include <sched.h>

#include "check.h"
#include "support.h"

static int task_cpu_count(void *arg, void **result)
{
    (void)arg;
    cpu_set_t set;
    if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0)
        return 1;
    *result = (void *)(intptr_t)CPU_COUNT(&set);
    return 0;
}

int main(void)
{
    cpu_set_t mine;
    CHECK_EQ(pthread_getaffinity_np(pthread_self(), sizeof mine, &mine), 0);
    int want = CPU_COUNT(&mine);
    crew_pool *p = make_pool(4);
    crew_future *fs[64];
    for (int i = 0; i < 64; i++)
        CHECK_OK(crew_pool_submit(p, task_cpu_count, NULL, &fs[i]));
    for (int i = 0; i < 64; i++) {
        void *r = NULL;
        CHECK_OK(crew_future_result(fs[i], &r, NULL));
        CHECK_EQ((intptr_t)r, want);
        crew_future_release(fs[i]);
    }
    CHECK_OK(crew_pool_destroy(p));
    return check_exit("test_placement");
}
