/* stress_queue.c - every item put into a crew_queue is delivered exactly once.
 *
 *   stress_queue [producers] [consumers] [items] [capacity] [kind] [rounds]
 *
 * kind: fifo, lifo or priority; capacity 0 = unbounded.  Defaults: 4 4
 * 100000 64 2, and without a kind argument the run covers the ring (fifo
 * 64), an unbounded fifo, lifo 64 and priority 64, in a few seconds, also
 * under TSan.
 *
 * Each round has two phases on a fresh queue:
 *   1. Producers put (producer id, sequence number) items using every form
 *      (put, try_put, put_timed, put_many, try_put_many), consumers take them
 *      with every form (get, try_get, get_timed with short timeouts that do
 *      expire, get_many, get_many_timed) and mark a bitmap with atomic
 *      fetch_or, so a duplicate is caught the moment it happens; each
 *      consumed item gets a task_done.  main joins the queue, checks every
 *      bit is set, then shuts the queue down and the consumers exit on
 *      CREW_ESHUTDOWN.
 *   2. The same traffic, but main shuts the queue down immediately in the
 *      middle.  Producers record which puts succeeded; at the end every item
 *      put was either consumed or passed to the drop callback, exactly once,
 *      and join returns.
 * The position counters start at 0 each round; near-wrap behaviour of the
 * slot sequence numbers is covered by every lap of a small ring.
 *
 * Prints the number of checked hand-offs for scripts/soak.sh: every item a
 * put accepted, each delivered exactly once to a consumer thread or to the
 * drop callback in the main thread.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "support.h"

static long nprod = 4, ncons = 4, nitems = 100000, capacity = 64, rounds = 2;
static crew_queue_kind kind = CREW_QUEUE_FIFO;
static long per_prod;

static crew_queue *q;
static _Atomic uint64_t *taken;   /* bit per item: consumed or dropped */
static _Atomic uint64_t *put_ok;  /* bit per item: put succeeded */
static atomic_long dup_count, timeouts, batches;
static long handoffs; /* main thread only */
static atomic_bool stop_producers;

/* Item i of producer p is encoded as index + 1 (never NULL). */
static void *encode(long p, long i)
{
    return (void *)(uintptr_t)(p * per_prod + i + 1);
}

static long decode(void *x)
{
    return (long)(uintptr_t)x - 1;
}

static void mark(_Atomic uint64_t *bits, long idx, bool count_dup)
{
    uint64_t bit = UINT64_C(1) << (idx % 64);
    /* relaxed: the bitmap is read after the threads are joined */
    uint64_t old = atomic_fetch_or_explicit(&bits[idx / 64], bit, memory_order_relaxed);
    if ((old & bit) && count_dup) {
        fprintf(stderr, "item %ld delivered twice\n", idx);
        atomic_fetch_add(&dup_count, 1);
    }
}

static bool is_set(_Atomic uint64_t *bits, long idx)
{
    return atomic_load_explicit(&bits[idx / 64], memory_order_relaxed) &
           (UINT64_C(1) << (idx % 64));
}

static int compare(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    /* priority by sequence number within producer, so order mixes */
    long x = decode((void *)a) % per_prod, y = decode((void *)b) % per_prod;
    return x < y ? -1 : x > y;
}

static void drop(void *item, void *ctx)
{
    (void)ctx;
    mark(taken, decode(item), true);
}

static void *producer(void *arg)
{
    long p = (long)(intptr_t)arg;
    unsigned r = (unsigned)p * 2654435761u + 1;
    long i = 0;
    while (i < per_prod && !atomic_load_explicit(&stop_producers, memory_order_relaxed)) {
        r = r * 1103515245u + 12345u;
        int form = (int)((r >> 16) % 8);
        int rc;
        if (form == 0 || form == 1) { /* batch */
            void *items[8];
            long n = per_prod - i < 8 ? per_prod - i : 8;
            for (long k = 0; k < n; k++)
                items[k] = encode(p, i + k);
            size_t c = 0;
            rc = form == 0 ? crew_queue_put_many(q, items, (size_t)n, &c)
                           : crew_queue_put_many_timed(q, items, (size_t)n, &c, 2 * MS);
            if (rc == 0) {
                CHECK(c >= 1 && c <= (size_t)n);
                for (size_t k = 0; k < c; k++)
                    mark(put_ok, p * per_prod + i + (long)k, false);
                i += (long)c;
                atomic_fetch_add_explicit(&batches, 1, memory_order_relaxed);
            }
        } else if (form == 2) {
            rc = crew_queue_try_put(q, encode(p, i));
            if (rc == 0)
                mark(put_ok, p * per_prod + i++, false);
            else if (rc == CREW_EFULL)
                rc = 0;
        } else if (form == 3) {
            rc = crew_queue_put_timed(q, encode(p, i), 1 * MS);
            if (rc == 0)
                mark(put_ok, p * per_prod + i++, false);
            else if (rc == CREW_ETIMEDOUT)
                rc = 0;
        } else {
            rc = crew_queue_put(q, encode(p, i));
            if (rc == 0)
                mark(put_ok, p * per_prod + i++, false);
        }
        if (rc == CREW_ESHUTDOWN)
            break;
        if (rc != 0 && rc != CREW_ETIMEDOUT) {
            CHECK_OK(rc);
            break;
        }
    }
    return NULL;
}

static void consumed(void *x)
{
    mark(taken, decode(x), true);
    int rc = crew_queue_task_done(q);
    CHECK_OK(rc);
}

static void *consumer(void *arg)
{
    unsigned r = (unsigned)(intptr_t)arg * 40503u + 7;
    for (;;) {
        r = r * 1103515245u + 12345u;
        int form = (int)((r >> 16) % 8);
        int rc;
        void *x;
        if (form == 0 || form == 1) {
            void *items[8];
            size_t c = 0;
            rc = form == 0 ? crew_queue_get_many(q, items, 8, &c)
                           : crew_queue_get_many_timed(q, items, 8, &c, 1 * MS);
            if (rc == 0) {
                CHECK(c >= 1 && c <= 8);
                for (size_t k = 0; k < c; k++)
                    consumed(items[k]);
            }
        } else if (form == 2) {
            rc = crew_queue_try_get(q, &x);
            if (rc == 0)
                consumed(x);
            else if (rc == CREW_EEMPTY)
                rc = 0;
        } else if (form == 3) {
            rc = crew_queue_get_timed(q, &x, 100000); /* 0.1 ms: often expires */
            if (rc == 0)
                consumed(x);
            else if (rc == CREW_ETIMEDOUT)
                atomic_fetch_add_explicit(&timeouts, 1, memory_order_relaxed);
        } else {
            rc = crew_queue_get(q, &x);
            if (rc == 0)
                consumed(x);
        }
        if (rc == CREW_ESHUTDOWN)
            break;
        if (rc != 0 && rc != CREW_ETIMEDOUT) {
            CHECK_OK(rc);
            break;
        }
    }
    return NULL;
}

static void run_phase(bool immediate_midway)
{
    size_t words = (size_t)(nitems + 63) / 64;
    taken = calloc(words, sizeof *taken);
    put_ok = calloc(words, sizeof *put_ok);
    if (!taken || !put_ok) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    atomic_store(&stop_producers, false);
    crew_queue_options o;
    crew_queue_options_init(&o);
    o.kind = kind;
    o.maxsize = (size_t)capacity;
    o.compare = compare;
    o.drop = drop;
    CHECK_OK(crew_queue_create(&q, &o));

    pthread_t *pt = calloc((size_t)nprod, sizeof *pt), *ct = calloc((size_t)ncons, sizeof *ct);
    for (long i = 0; i < ncons; i++)
        CHECK_EQ(pthread_create(&ct[i], NULL, consumer, (void *)(intptr_t)i), 0);
    for (long i = 0; i < nprod; i++)
        CHECK_EQ(pthread_create(&pt[i], NULL, producer, (void *)(intptr_t)i), 0);

    if (immediate_midway) {
        /* Shut down once about half the items went through. */
        int64_t end = crew_now_ns() + 20000 * MS;
        long half = nitems / 2;
        for (;;) {
            long n = 0;
            for (size_t w = 0; w < words; w++)
                n += __builtin_popcountll(atomic_load_explicit(&put_ok[w], memory_order_relaxed));
            if (n >= half || crew_now_ns() > end)
                break;
            nap_us(200);
        }
        CHECK_OK(crew_queue_shutdown(q, true));
        for (long i = 0; i < nprod; i++)
            pthread_join(pt[i], NULL);
    } else {
        for (long i = 0; i < nprod; i++)
            pthread_join(pt[i], NULL);
        CHECK_OK(crew_queue_join(q));
        /* Joined: every item was consumed and marked done. */
        for (long i = 0; i < nitems; i++) {
            if (!is_set(taken, i)) {
                fprintf(stderr, "item %ld never delivered\n", i);
                CHECK(0);
                break;
            }
        }
        CHECK_EQ(crew_queue_size(q), 0);
        CHECK_OK(crew_queue_shutdown(q, false));
    }
    for (long i = 0; i < ncons; i++)
        pthread_join(ct[i], NULL);
    /* Every successful put was consumed or dropped (duplicates were caught
     * as they happened), and nothing else was. */
    long put = 0;
    for (long i = 0; i < nitems; i++) {
        bool p = is_set(put_ok, i), t = is_set(taken, i);
        put += p;
        if (p != t) {
            fprintf(stderr, "item %ld: put %d, delivered %d\n", i, p, t);
            CHECK(0);
            break;
        }
    }
    if (!immediate_midway)
        CHECK_EQ(put, nitems);
    handoffs += put;
    CHECK_OK(crew_queue_join_timed(q, 10000 * MS));
    CHECK_OK(crew_queue_destroy(q));
    free(pt);
    free(ct);
    free(taken);
    free(put_ok);
}

int main(int argc, char **argv)
{
    nprod = arg_long(argc, argv, 1, nprod);
    ncons = arg_long(argc, argv, 2, ncons);
    nitems = arg_long(argc, argv, 3, nitems);
    capacity = arg_long(argc, argv, 4, capacity);
    if (argc > 5) {
        if (strcmp(argv[5], "lifo") == 0)
            kind = CREW_QUEUE_LIFO;
        else if (strcmp(argv[5], "priority") == 0)
            kind = CREW_QUEUE_PRIORITY;
        else if (strcmp(argv[5], "fifo") != 0) {
            fprintf(stderr, "kind: fifo, lifo or priority\n");
            return 2;
        }
    }
    rounds = arg_long(argc, argv, 6, rounds);
    if (nprod < 1 || ncons < 1 || nitems < 1 || capacity < 0 || rounds < 1) {
        fprintf(stderr, "usage: %s [producers] [consumers] [items] [capacity] [kind] [rounds]\n",
                argv[0]);
        return 2;
    }
    per_prod = (nitems + nprod - 1) / nprod;
    nitems = per_prod * nprod;
    /* One configuration from argv, or the default tour of all of them. */
    struct {
        crew_queue_kind kind;
        long capacity;
    } tour[] = {{kind, capacity},
                {CREW_QUEUE_FIFO, 0},
                {CREW_QUEUE_LIFO, capacity},
                {CREW_QUEUE_PRIORITY, capacity}};
    int ntour = argc > 5 ? 1 : 4;
    for (int c = 0; c < ntour; c++) {
        kind = tour[c].kind;
        capacity = tour[c].capacity;
        atomic_store(&timeouts, 0);
        atomic_store(&batches, 0);
        for (long r = 0; r < rounds; r++) {
            run_phase(false);
            run_phase(true);
        }
        printf("stress_queue: %ld producers, %ld consumers, %ld items, capacity %ld, %s, "
               "%ld rounds; %ld get timeouts, %ld batches\n",
               nprod, ncons, nitems, capacity,
               kind == CREW_QUEUE_FIFO ? "fifo" : kind == CREW_QUEUE_LIFO ? "lifo" : "priority",
               rounds, atomic_load(&timeouts), atomic_load(&batches));
    }
    CHECK_EQ(atomic_load(&dup_count), 0);
    if (atomic_load(&check_failures_) == 0)
        printf("stress_queue: %ld checked hand-offs\n", handoffs);
    return check_exit("stress_queue");
}
