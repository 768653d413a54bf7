/* fib.c - fork-join with crew_group: the recursive Fibonacci number.
 *
 *   fib [n [workers]]      n defaults to 30, workers to the number of CPUs
 *
 * fib(n) = fib(n - 1) + fib(n - 2).  Each call spawns fib(n - 1) as a job into
 * a group, computes fib(n - 2) itself, then waits for the group.  While it
 * waits, the worker runs other jobs (its own first, then stolen ones), so the
 * deep recursion never blocks a thread.  The group lives on the stack: a
 * spawn from a worker allocates nothing.
 *
 * Below CUTOFF the plain recursion is faster than spawning; real code always
 * has such a cutoff.  Run with a cutoff of 2 (every call spawns) to measure
 * the cost of a spawn.
 */
#include <stdio.h>
#include <stdlib.h>

#include "crew.h"

static int cutoff = 20;

static long fib_seq(int n)
{
    return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

/* One job: computes fib(n) into result. */
typedef struct fib_job {
    crew_pool *pool;
    int n;
    long result;
} fib_job;

static long fib_par(crew_pool *pool, int n);

static int fib_job_run(void *arg)
{
    fib_job *job = arg;
    job->result = fib_par(job->pool, job->n);
    return 0;
}

static long fib_par(crew_pool *pool, int n)
{
    if (n < cutoff)
        return fib_seq(n);

    crew_group g;
    fib_job child = {pool, n - 1, 0};
    if (crew_group_init(&g, pool) != 0 || crew_group_spawn(&g, fib_job_run, &child) != 0)
        return fib_seq(n); /* could not fork: do it all here */

    long b = fib_par(pool, n - 2); /* our half, while the child may be stolen */

    if (crew_group_wait(&g, NULL) != 0) /* child.result is ready after this */
        return -1;
    return child.result + b;
}

/* The root runs as a task, so the whole tree is inside the pool. */
static int fib_task(void *arg, void **result)
{
    fib_job *job = arg;
    (void)result;
    job->result = fib_par(crew_pool_current(), job->n);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 30;
    crew_pool_options opts;
    crew_pool_options_init(&opts);
    opts.workers = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
    if (argc > 3)
        cutoff = atoi(argv[3]) < 2 ? 2 : atoi(argv[3]);
    if (n < 0 || n > 60) {
        fprintf(stderr, "usage: fib [n (0-60) [workers [cutoff]]]\n");
        return 2;
    }

    crew_pool *pool;
    int rc = crew_pool_create(&pool, &opts);
    if (rc != 0) {
        fprintf(stderr, "crew_pool_create: %s\n", crew_strerror(rc));
        return 1;
    }

    /* Workers start lazily: run a small tree first so the timing below
     * measures fork-join, not thread creation. */
    fib_job warm = {pool, n < 25 ? n : 25, 0};
    crew_future *f;
    if (crew_pool_submit(pool, fib_task, &warm, &f) == 0) {
        crew_future_wait(f);
        crew_future_release(f);
    }

    int64_t t0 = crew_now_ns();
    fib_job root = {pool, n, 0};
    rc = crew_pool_submit(pool, fib_task, &root, &f);
    if (rc == 0) {
        rc = crew_future_result(f, NULL, NULL);
        crew_future_release(f);
    }
    int64_t t1 = crew_now_ns();
    long seq = fib_seq(n);
    int64_t t2 = crew_now_ns();

    crew_pool_stats st;
    crew_pool_get_stats(pool, &st);
    crew_pool_destroy(pool);
    if (rc != 0) {
        fprintf(stderr, "fib task: %s\n", crew_strerror(rc));
        return 1;
    }

    printf("fib(%d) = %ld   (%u workers, cutoff %d)\n", n, root.result, st.workers_alive, cutoff);
    printf("parallel   %8.2f ms\n", (double)(t1 - t0) / 1e6);
    printf("sequential %8.2f ms   fib = %ld\n", (double)(t2 - t1) / 1e6, seq);
    if (root.result != seq) {
        fprintf(stderr, "MISMATCH\n");
        return 1;
    }
    return 0;
}
