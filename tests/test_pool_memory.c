/* test_pool_memory.c - an idle pool is small: its workers are allocated as
 * they start, not all up front (issue 12).  100 pools that never started a
 * thread must add at most 16 KB each to the process (the pool and its
 * table of worker pointers; a worker slot is about 1 KB, and every pool has
 * room for its workers plus 256 replacements).  Then each pool runs a task
 * and must still work.  Sanitizer builds pad every allocation: the memory
 * check is skipped there. */
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "support.h"

/* Resident memory in bytes (/proc/self/statm), or 0 if unknown. */
static long long rss_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    long long size = 0, rss = 0;
    if (!fp)
        return 0;
    if (fscanf(fp, "%lld %lld", &size, &rss) != 2)
        rss = 0;
    fclose(fp);
    return rss * sysconf(_SC_PAGESIZE);
}

int main(void)
{
    enum { N = 100 };
    static crew_pool *pools[N];
    long long before = rss_bytes();
    for (int i = 0; i < N; i++)
        pools[i] = make_pool_idle(2, 0);
    long long after = rss_bytes();
    long long per_pool = (after - before) / N;
    printf("test_pool_memory: %lld bytes per idle pool\n", per_pool);
#if !defined(CREW_SANITIZER_BUILD)
    if (before && after)
        CHECK(per_pool <= 16 * 1024);
#endif
    for (int i = 0; i < N; i++) {
        atomic_int n = 0;
        crew_future *f;
        CHECK_OK(crew_pool_submit(pools[i], task_count, &n, &f));
        CHECK_OK(crew_future_result(f, NULL, NULL));
        CHECK_EQ(atomic_load(&n), 1);
        crew_future_release(f);
        CHECK_OK(crew_pool_destroy(pools[i]));
    }
    return check_exit("test_pool_memory");
}
