/* stress_churn.c - many short-lived submitting threads: memory stays flat.
 *
 *   stress_churn [threads [waves_per_sample]]   defaults: 4000 threads, 25
 *
 * Waves of 8 threads: each thread submits one task to a shared pool (2
 * workers), waits for its result, releases the future and exits; the main
 * thread joins the wave and starts the next.  A thread-per-request server
 * does this all day, so crew's footprint must be set by the tasks alive at
 * once (alloc.h), not by the number of threads that ever submitted.
 *
 * Checked: every task ran exactly once and its future gave its result; and
 * after a warm-up (the first quarter of the waves, at least 50: glibc's
 * stack cache and malloc arenas fill up there), the process's footprint
 * stays within a small bound of the first sample's: resident memory
 * (VmRSS) grows by at most 8 MiB and mapped address space (VmSize) by at
 * most 64 MiB, sampled every waves_per_sample waves (the largest growth at
 * any sample counts).  A leak of a few hundred bytes of address space per
 * thread is past the bound within a few thousand threads.
 *
 * The memory check runs in the plain builds only: the sanitizer builds give
 * task blocks to malloc (CREW_SANITIZER_BUILD, alloc.h), and ASan's
 * quarantine and TSan's shadow memory grow on their own; there the figures
 * are printed, not checked.  Prints the number of checked hand-offs (one per
 * thread: a task passed from the submitting thread to a worker) for
 * scripts/soak.sh.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "support.h"

#define WAVE 8
#define RSS_BOUND_KB (8 * 1024)
#define VM_BOUND_KB (64 * 1024)

static crew_pool *pool;
static atomic_uchar *ran;   /* per thread: times its task ran */
static atomic_long failures;

static int task_mark(void *arg, void **result)
{
    long i = (long)(intptr_t)arg;
    atomic_fetch_add(&ran[i], 1);
    *result = arg;
    return 0;
}

static void *submitter(void *arg)
{
    crew_future *f = NULL;
    void *res = NULL;
    int rc = crew_pool_submit(pool, task_mark, arg, &f);
    if (rc == 0)
        rc = crew_future_result(f, &res, NULL);
    if (rc != 0 || res != arg) {
        fprintf(stderr, "thread %ld: %s\n", (long)(intptr_t)arg, crew_err_name(rc));
        atomic_fetch_add(&failures, 1);
    }
    crew_future_release(f);
    return NULL;
}

/* VmRSS and VmSize of this process in KiB (0 if /proc is not there). */
static void footprint(long *rss_kb, long *vm_kb)
{
    *rss_kb = *vm_kb = 0;
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return;
    char line[256];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = atol(line + 6);
        else if (strncmp(line, "VmSize:", 7) == 0)
            *vm_kb = atol(line + 7);
    }
    fclose(fp);
}

int main(int argc, char **argv)
{
    long threads = arg_long(argc, argv, 1, 4000);
    long every = arg_long(argc, argv, 2, 25);
    if (threads < WAVE || every < 1) {
        fprintf(stderr, "usage: stress_churn [threads >= %d [waves_per_sample]]\n", WAVE);
        return 2;
    }
    long waves = threads / WAVE;
    threads = waves * WAVE;
    ran = calloc((size_t)threads, sizeof *ran);
    if (!ran)
        return 2;
    pool = make_pool_idle(2, 0);
    long warm = waves / 4 > 50 ? waves / 4 : 50;
    if (warm >= waves)
        warm = waves - 1;
    long rss0 = 0, vm0 = 0, rss_max = 0, vm_max = 0, rss = 0, vm = 0;
    int64_t t0 = crew_now_ns();
    for (long w = 0; w < waves; w++) {
        pthread_t th[WAVE];
        int started = 0;
        for (int k = 0; k < WAVE; k++) {
            long i = w * WAVE + k;
            if (pthread_create(&th[k], NULL, submitter, (void *)(intptr_t)i) != 0) {
                fprintf(stderr, "pthread_create failed at thread %ld\n", i);
                atomic_fetch_add(&failures, 1);
                break;
            }
            started++;
        }
        for (int k = 0; k < started; k++)
            pthread_join(th[k], NULL);
        if (w == warm) {
            footprint(&rss0, &vm0);
            rss_max = rss0;
            vm_max = vm0;
        } else if (w > warm && ((w - warm) % every == 0 || w == waves - 1)) {
            footprint(&rss, &vm);
            rss_max = rss > rss_max ? rss : rss_max;
            vm_max = vm > vm_max ? vm : vm_max;
        }
    }
    double secs = (double)(crew_now_ns() - t0) / 1e9;
    CHECK_OK(crew_pool_destroy(pool));
    long twice = 0, never = 0;
    for (long i = 0; i < threads; i++) {
        unsigned r = atomic_load(&ran[i]);
        twice += r > 1;
        never += r == 0;
    }
    CHECK_EQ(atomic_load(&failures), 0);
    CHECK_EQ(twice, 0);
    CHECK_EQ(never, 0);
    printf("stress_churn: %ld threads in waves of %d, %.2f s; after %ld warm-up waves: "
           "VmRSS %ld -> %ld KiB (max %ld, +%ld), VmSize %ld -> %ld KiB (max %ld, +%ld)\n",
           threads, WAVE, secs, warm, rss0, rss, rss_max, rss_max - rss0, vm0, vm, vm_max,
           vm_max - vm0);
#ifndef CREW_SANITIZER_BUILD
    if (rss_max - rss0 > RSS_BOUND_KB || vm_max - vm0 > VM_BOUND_KB) {
        fprintf(stderr, "stress_churn: the footprint grew with the number of threads that "
                        "submitted (bounds: VmRSS +%d KiB, VmSize +%d KiB)\n",
                RSS_BOUND_KB, VM_BOUND_KB);
        CHECK(0);
    }
#endif
    if (never == 0 && twice == 0 && atomic_load(&failures) == 0)
        printf("stress_churn: %ld checked hand-offs\n", threads);
    free(ran);
    return check_exit("stress_churn");
}
