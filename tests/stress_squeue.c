/* stress_squeue.c - every item put into a crew_squeue is delivered exactly
 * once, in per-producer order.
 *
 *   stress_squeue [producers] [consumers] [items]
 *
 * Defaults (8 2 200000) run in a few seconds, also under TSan.  Producers
 * alternate crew_squeue_put (malloc'd node) and crew_squeue_put_node (a
 * preallocated node per item); consumers use get, try_get and get_timed
 * with short timeouts, mark a bitmap with atomic fetch_or (a duplicate is
 * caught when it happens) and check that each producer's items reach them
 * in increasing order (the queue is one FIFO, so any one consumer sees any
 * one producer's items in put order).  At the end every bit must be set.
 * Prints the number of checked hand-offs (every item, producer thread to
 * consumer thread) for scripts/soak.sh.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "support.h"

static long nprod = 8, ncons = 2, nitems = 200000, per_prod;
static crew_squeue *q;
static crew_snode *nodes;
static _Atomic uint64_t *seen;
static atomic_long consumed, dups, order_errors, timeouts;

static void *producer(void *arg)
{
    long p = (long)(intptr_t)arg;
    for (long i = 0; i < per_prod; i++) {
        long idx = p * per_prod + i;
        void *item = (void *)(uintptr_t)(idx + 1);
        int rc = (i % 3 == 0) ? crew_squeue_put(q, item)
                              : crew_squeue_put_node(q, &nodes[idx], item);
        CHECK_OK(rc);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    long *last = malloc((size_t)nprod * sizeof *last);
    for (long p = 0; p < nprod; p++)
        last[p] = -1;
    for (unsigned n = 0; atomic_load_explicit(&consumed, memory_order_relaxed) < nitems; n++) {
        void *x;
        int rc = n % 3 == 0   ? crew_squeue_try_get(q, &x)
                 : n % 3 == 1 ? crew_squeue_get_timed(q, &x, 200000) /* 0.2 ms */
                              : crew_squeue_get_timed(q, &x, 10 * MS);
        if (rc == CREW_EEMPTY || rc == CREW_ETIMEDOUT) {
            if (rc == CREW_ETIMEDOUT)
                atomic_fetch_add_explicit(&timeouts, 1, memory_order_relaxed);
            continue;
        }
        CHECK_OK(rc);
        long idx = (long)(uintptr_t)x - 1;
        uint64_t bit = UINT64_C(1) << (idx % 64);
        if (atomic_fetch_or_explicit(&seen[idx / 64], bit, memory_order_relaxed) & bit)
            atomic_fetch_add(&dups, 1);
        long p = idx / per_prod, i = idx % per_prod;
        if (i <= last[p])
            atomic_fetch_add(&order_errors, 1);
        last[p] = i;
        atomic_fetch_add_explicit(&consumed, 1, memory_order_relaxed);
    }
    free(last);
    return NULL;
}

int main(int argc, char **argv)
{
    nprod = arg_long(argc, argv, 1, nprod);
    ncons = arg_long(argc, argv, 2, ncons);
    nitems = arg_long(argc, argv, 3, nitems);
    if (nprod < 1 || ncons < 1 || nitems < 1) {
        fprintf(stderr, "usage: %s [producers] [consumers] [items]\n", argv[0]);
        return 2;
    }
    per_prod = (nitems + nprod - 1) / nprod;
    nitems = per_prod * nprod;
    nodes = malloc((size_t)nitems * sizeof *nodes);
    seen = calloc((size_t)(nitems + 63) / 64, sizeof *seen);
    pthread_t *t = malloc((size_t)(nprod + ncons) * sizeof *t);
    if (!nodes || !seen || !t)
        return 2;
    CHECK_OK(crew_squeue_create(&q));
    for (long i = 0; i < ncons; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, consumer, NULL), 0);
    for (long i = 0; i < nprod; i++)
        CHECK_EQ(pthread_create(&t[ncons + i], NULL, producer, (void *)(intptr_t)i), 0);
    for (long i = 0; i < nprod + ncons; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(atomic_load(&dups), 0);
    CHECK_EQ(atomic_load(&order_errors), 0);
    CHECK_EQ(atomic_load(&consumed), nitems);
    for (long i = 0; i < nitems; i++) {
        if (!(atomic_load(&seen[i / 64]) & (UINT64_C(1) << (i % 64)))) {
            fprintf(stderr, "item %ld never delivered\n", i);
            CHECK(0);
            break;
        }
    }
    CHECK(crew_squeue_empty(q));
    CHECK_OK(crew_squeue_destroy(q, NULL, NULL));
    printf("stress_squeue: %ld producers, %ld consumers, %ld items; %ld get timeouts\n", nprod,
           ncons, nitems, atomic_load(&timeouts));
    if (atomic_load(&check_failures_) == 0)
        printf("stress_squeue: %ld checked hand-offs\n", nitems);
    free(nodes);
    free(seen);
    free(t);
    return check_exit("stress_squeue");
}
