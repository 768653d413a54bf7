/* test_alloc_churn.c - the task-block allocator's footprint does not grow
 * with the number of threads that ever submitted (issue 11, bug 3).
 *
 * Waves of 8 short-lived threads each submit one task with a future, wait
 * for it and exit.  Each thread takes blocks from the shared depot or a
 * bump range; when it exits it must give back what it holds (its cache,
 * its spill, the rest of its range), or the next threads map new regions.
 * The process's mapped address space (/proc/self/statm) after the last wave
 * must stay within a few regions of what it was after the warm-up waves.
 * ASan builds allocate blocks with malloc (alloc.h): the footprint check
 * is meaningless there, and only the functional part runs. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "support.h"

static crew_pool *pool;

static void *one_submitter(void *arg)
{
    atomic_int *count = arg;
    crew_future *f;
    CHECK_OK(crew_pool_submit(pool, task_count, count, &f));
    CHECK_OK(crew_future_wait(f));
    crew_future_release(f);
    return NULL;
}

/* Mapped address space in bytes, or 0 if unknown. */
static long long vm_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    long long pages = 0;
    if (!fp)
        return 0;
    if (fscanf(fp, "%lld", &pages) != 1)
        pages = 0;
    fclose(fp);
    return pages * sysconf(_SC_PAGESIZE);
}

static void wave(atomic_int *count)
{
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, one_submitter, count), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
}

int main(int argc, char **argv)
{
#if defined(CREW_SANITIZER_BUILD)
    long waves = arg_long(argc, argv, 1, 300); /* threads are slow to start there */
#else
    long waves = arg_long(argc, argv, 1, 2000);
#endif
    pool = make_pool(2);
    atomic_int count = 0;
    for (int i = 0; i < 50; i++)
        wave(&count);
    long long before = vm_bytes();
    for (long i = 0; i < waves; i++)
        wave(&count);
    long long after = vm_bytes();
    CHECK_EQ(atomic_load(&count), (50 + waves) * 8);
    printf("test_alloc_churn: %ld threads, address space %+lld KiB\n", waves * 8,
           (after - before) / 1024);
#if !defined(CREW_BLOCKS_MALLOC_TEST)
    /* 8 MiB: a handful of 1 MiB regions of slack for the threads alive at
     * once; the old allocator grew by about 190 KiB per thread. */
    if (before && after)
        CHECK(after - before < 8LL << 20);
#endif
    CHECK_OK(crew_pool_destroy(pool));
    return check_exit("test_alloc_churn");
}
