/* test_idle.c - an idle pool uses no CPU.
 *
 * After its workers have run out of work and their spin window (tens of
 * microseconds) has passed, a pool must be asleep: over the next 300 ms the
 * whole process may use only a sliver of CPU time.  The bound (30 ms, 10 %
 * of one core) is far above what sleeping threads cost and far below what
 * even one spinning thread would burn (300 ms), so the check does not
 * depend on the machine's speed.  Sanitizer runtimes run threads of their
 * own, so the check is skipped there. */
#include <sys/resource.h>
#include <time.h>

#include "check.h"
#include "support.h"

#if defined(CREW_SANITIZER_BUILD)
int main(void)
{
    printf("test_idle: skipped under sanitizers\n");
    return 0;
}
#else
static int64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

int main(void)
{
    crew_pool *p = make_pool(4); /* idle workers stay parked, never retire */
    /* Wake every worker with a burst, then let them go idle. */
    crew_future *fs[64];
    for (int i = 0; i < 64; i++)
        CHECK_OK(crew_pool_submit(p, task_noop, NULL, &fs[i]));
    for (int i = 0; i < 64; i++) {
        CHECK_OK(crew_future_wait(fs[i]));
        crew_future_release(fs[i]);
    }
    nap_ms(100); /* well past the spin window */
    int64_t c0 = cpu_ns();
    nap_ms(300);
    int64_t used = cpu_ns() - c0;
    crew_pool_stats s;
    CHECK_OK(crew_pool_get_stats(p, &s));
    CHECK(s.workers_alive >= 1);
    CHECK_EQ(s.workers_idle, s.workers_alive);
    if (used >= 30 * 1000000)
        fprintf(stderr, "idle pool used %lld ms of CPU in 300 ms\n", (long long)(used / 1000000));
    CHECK(used < 30 * 1000000);
    CHECK_OK(crew_pool_destroy(p));
    return check_exit("test_idle");
}
#endif
