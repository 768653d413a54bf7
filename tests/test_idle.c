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

#if defined(CREW_SANITIZER_BUILD)
int main(void)
{
    printf("test_idle: skipped under sanitizers\n");
    return 0;
}
#else
static int nothing(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static int64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int main(void)
{
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 4;
    o.idle_timeout_ns = -1; /* stay parked, never retire */
    crew_pool *p;
    CHECK_OK(crew_pool_create(&p, &o));
    /* Wake every worker with a burst, then let them go idle. */
    crew_future *fs[64];
    for (int i = 0; i < 64; i++)
        CHECK_OK(crew_pool_submit(p, nothing, NULL, &fs[i]));
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
