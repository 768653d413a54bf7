/* fault_retire_race.c - a submit whose new worker retires before the
 * submit goes on (issue 11, bug 6): the submit must succeed and its task
 * must run; CREW_ETHREAD only when a thread could not be created.
 *
 * The starter sleeps 5 ms after pthread_create (fault.h), so the worker it
 * started finds nothing, parks and retires (idle timeouts of 1 us to 1 ms)
 * before the submit pushes its task.  Every way of queueing work from
 * outside the pool is tried: submit with a future, detached submit, group
 * spawn, parallel_for and map. */
#include "check.h"
#include "base/fault.h"
#include "support.h"

static int body_count(size_t lo, size_t hi, void *ctx)
{
    atomic_fetch_add((atomic_int *)ctx, (int)(hi - lo));
    return 0;
}

static void one_round(int64_t idle_ns, int kind)
{
    crew_pool *p = make_pool_idle(2, idle_ns);
    atomic_int count = 0;
    switch (kind) {
    case 0: {
        crew_future *f;
        CHECK_OK(crew_pool_submit(p, task_count, &count, &f));
        CHECK_OK(crew_future_result(f, NULL, NULL));
        crew_future_release(f);
        break;
    }
    case 1:
        CHECK_OK(crew_pool_submit(p, task_count, &count, NULL));
        CHECK_OK(crew_pool_shutdown(p, true, false));
        break;
    case 2: {
        crew_group g;
        CHECK_OK(crew_group_init(&g, p));
        CHECK_OK(crew_group_spawn(&g, job_count, &count));
        CHECK_OK(crew_group_wait(&g, NULL));
        break;
    }
    case 3:
        CHECK_OK(crew_parallel_for(p, 0, 10, 1, body_count, &count, NULL));
        atomic_store(&count, atomic_load(&count) == 10);
        break;
    default: {
        void *in[3] = {&count, &count, &count};
        int errs[3];
        CHECK_OK(crew_map_all(p, task_count, in, 3, NULL, errs, NULL));
        atomic_store(&count, atomic_load(&count) == 3);
        break;
    }
    }
    CHECK_EQ(atomic_load(&count), 1);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    crew__fault_thread_delay(5000);
    static const int64_t idle[] = {1000, 100000, 1000000};
    for (int r = 0; r < 60; r++)
        one_round(idle[r % 3], r % 5);
    crew__fault_thread_delay(0);
    return check_exit("fault_retire_race");
}
