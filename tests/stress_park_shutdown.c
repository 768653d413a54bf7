/* stress_park_shutdown.c - shutdown meeting workers on their way to park.
 *
 * A parking worker stores its park word, then counts itself sleeping;
 * shutdown wakes every worker whose park word is set, without looking at
 * the count, and takes each one out of the count.  So for a moment the
 * sleeping count may be below zero.  It used to be the low field of the
 * pool's counts word, where that borrowed from the count of live workers
 * (a checked build's assertion caught it in test_pool_memory; this program
 * makes the moment frequent): the fields must stay apart, the number of
 * live and idle workers must stay sane, and every shutdown must end with
 * no worker left.
 *
 *   stress_park_shutdown [rounds]   default 20000 (2000 under sanitizers) */
#include "check.h"
#include "support.h"

int main(int argc, char **argv)
{
#if defined(CREW_SANITIZER_BUILD)
    long rounds = arg_long(argc, argv, 1, 2000);
#else
    long rounds = arg_long(argc, argv, 1, 20000);
#endif
    long bad = 0;
    for (long r = 0; r < rounds; r++) {
        crew_pool *p = make_pool_idle(2, -1);
        atomic_int n = 0;
        crew_future *f[2];
        CHECK_OK(crew_pool_submit(p, task_count, &n, &f[0]));
        CHECK_OK(crew_pool_submit(p, task_count, &n, &f[1]));
        CHECK_OK(crew_future_wait(f[0]));
        CHECK_OK(crew_future_wait(f[1]));
        release_all(f, 2);
        /* The workers spin for a while, then park; a shutdown makes a
         * spinning worker park at once: shut down at once, or a little
         * later. */
        if (r % 4 == 3)
            nap_us((unsigned)(r % 40));
        crew_pool_stats s = stats_of(p);
        if (s.workers_alive > 2 || s.workers_idle > 2) {
            if (bad++ < 5)
                fprintf(stderr, "round %ld before shutdown: %u alive, %u idle\n", r,
                        s.workers_alive, s.workers_idle);
        }
        CHECK_OK(crew_pool_shutdown(p, true, false));
        s = stats_of(p);
        if (s.workers_alive != 0 || s.workers_idle != 0) {
            if (bad++ < 5)
                fprintf(stderr, "round %ld after shutdown: %u alive, %u idle\n", r,
                        s.workers_alive, s.workers_idle);
        }
        CHECK_EQ(atomic_load(&n), 2);
        CHECK_OK(crew_pool_destroy(p));
    }
    CHECK_EQ(bad, 0);
    printf("stress_park_shutdown: %ld rounds\n", rounds);
    return check_exit("stress_park_shutdown");
}
