/* stress_submit.c - submissions from threads outside the pool: the
 * submitting threads' own rings (src/ring.h), their overflow into the
 * per-ring queue under a flood, ring reuse by short-lived threads, threads
 * that switch between pools, and shutdown racing with submits.
 *
 *   stress_submit [producers [tasks_per_producer [workers [rounds]]]]
 *   defaults: 4 producers, 5000 tasks each, 2 workers, 20 shutdown rounds
 *
 * Checked:
 *   1. flood: every task runs exactly once (a counter per task), also when
 *      the rings overflow (workers held back while the producers submit);
 *   2. order: with one worker and one producer, tasks run in submission
 *      order, across a ring overflow;
 *   3. many threads: more short-lived submitting threads than there are
 *      rings, more at once than there are rings (the rest use the injection
 *      queue), some alternating between two pools: every task ran once;
 *   4. shutdown during submits: every submit that returned 0 ran exactly
 *      once or (cancel_pending) was cleaned up exactly once; every submit
 *      that failed (CREW_ESHUTDOWN) did neither; the pool's counters agree;
 *   5. a task blocked outside crew (a condition variable) on a task
 *      submitted after it: a worker's batch (several ring entries taken at
 *      once) must not hold the second one while another worker is idle;
 *      run twice, the second time with a busy thread per CPU beside the
 *      pool, so that workers are preempted in the middle of taking a batch
 *      (the entries must stay in sight: another worker may neither run
 *      ahead of them to later tasks nor exit at shutdown past them);
 *   6. detached tasks without cleanup (ring entries without a block) under
 *      shutdown with cancel_pending: each ran at most once, and the pool's
 *      counters account for every one as completed or cancelled.
 * Prints the number of checked hand-offs for scripts/soak.sh: the tasks
 * that ran in a worker after a submit from another thread and were checked
 * to run exactly once (1-4, 6) or to have run (the pairs of 5).
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "support.h"

static int producers, per_producer, workers, rounds;
static long handoffs; /* main thread only */

/* ---- 1. flood ------------------------------------------------------------ */

static atomic_int *runs;
static crew_pool *flood_pool;

static int count_run(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add_explicit(&runs[(intptr_t)arg], 1, memory_order_relaxed);
    return 0;
}

static void *flood_producer(void *arg)
{
    int base = (int)(intptr_t)arg * per_producer;
    for (int i = 0; i < per_producer; i++) {
        crew_future *f = NULL;
        /* Mostly detached; every 7th with a future, released at once. */
        int rc = crew_pool_submit(flood_pool, count_run, (void *)(intptr_t)(base + i),
                                  i % 7 == 0 ? &f : NULL);
        CHECK_OK(rc);
        if (f)
            crew_future_release(f);
    }
    return NULL;
}

static void test_flood(void)
{
    int n = producers * per_producer;
    runs = calloc((size_t)n, sizeof *runs);
    flood_pool = make_pool((unsigned)workers);
    /* Hold every worker so that the rings fill and overflow. */
    blocker b[64];
    int nb = workers < 64 ? workers : 64;
    crew_future *bf[64];
    for (int i = 0; i < nb; i++) {
        b[i] = (blocker)BLOCKER_INIT;
        CHECK_OK(crew_pool_submit(flood_pool, task_block, &b[i], &bf[i]));
    }
    pthread_t th[64];
    int np = producers < 64 ? producers : 64;
    for (int i = 0; i < np; i++)
        pthread_create(&th[i], NULL, flood_producer, (void *)(intptr_t)i);
    nap_ms(5);
    for (int i = 0; i < nb; i++)
        gate_open(&b[i].release);
    for (int i = 0; i < np; i++)
        pthread_join(th[i], NULL);
    CHECK_OK(crew_pool_shutdown(flood_pool, true, false));
    for (int i = 0; i < np * per_producer; i++)
        if (atomic_load(&runs[i]) != 1) {
            CHECK_EQ(atomic_load(&runs[i]), 1);
            break;
        }
    handoffs += np * per_producer;
    crew_pool_stats s = stats_of(flood_pool);
    CHECK_EQ(s.completed, (uint64_t)(np * per_producer + nb));
    CHECK_EQ(s.queued, 0);
    for (int i = 0; i < nb; i++)
        crew_future_release(bf[i]);
    CHECK_OK(crew_pool_destroy(flood_pool));
    free(runs);
}

/* ---- 2. order ------------------------------------------------------------ */

static int *order_seen;
static int order_len; /* written by the one worker only */

static int record_order(void *arg, void **result)
{
    (void)result;
    order_seen[order_len++] = (int)(intptr_t)arg;
    return 0;
}

static void test_order(void)
{
    int n = 3000; /* more than a ring holds, so part goes to the overflow queue */
    order_seen = calloc((size_t)n, sizeof *order_seen);
    order_len = 0;
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *bf;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &bf));
    gate_pass(&b.started);
    for (int i = 0; i < n; i++) {
        CHECK_OK(crew_pool_submit(p, record_order, (void *)(intptr_t)i, NULL));
        if (i == n / 2)
            gate_open(&b.release); /* let it run while we are still submitting */
    }
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_EQ(order_len, n);
    handoffs += order_len;
    for (int i = 0; i < n && i < order_len; i++)
        if (order_seen[i] != i) {
            CHECK_EQ(order_seen[i], i);
            break;
        }
    crew_future_release(bf);
    CHECK_OK(crew_pool_destroy(p));
    free(order_seen);
}

/* ---- 3. many short-lived threads, two pools ---------------------------- */

static crew_pool *pool_a, *pool_b;
static atomic_int ran_a, ran_b;
static pthread_barrier_t all_hold_rings; /* wave 0: every thread holds a ring at once */

static int inc_a(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&ran_a, 1);
    return 0;
}

static int inc_b(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&ran_b, 1);
    return 0;
}

static void *short_lived(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (int i = 0; i < 20; i++) {
        if (i == 1 && k < 80)
            pthread_barrier_wait(&all_hold_rings);
        if (k % 3 == 0 && i % 2) /* alternates between the pools */
            CHECK_OK(crew_pool_submit(pool_b, inc_b, NULL, NULL));
        else
            CHECK_OK(crew_pool_submit(pool_a, inc_a, NULL, NULL));
    }
    return NULL;
}

static void test_many_threads(void)
{
    pool_a = make_pool((unsigned)workers);
    pool_b = make_pool(1);
    atomic_store(&ran_a, 0);
    atomic_store(&ran_b, 0);
    /* 400 threads in all, more than the 64 rings a pool has; in the first
     * wave 80 of them hold one at the same time, so 16 or more find none
     * free and go through the injection queue. */
    enum { WAVES = 5, PER_WAVE = 80 };
    pthread_barrier_init(&all_hold_rings, NULL, PER_WAVE);
    int want_a = 0, want_b = 0;
    for (int w = 0; w < WAVES; w++) {
        pthread_t th[PER_WAVE];
        for (int i = 0; i < PER_WAVE; i++) {
            int k = w * PER_WAVE + i;
            want_a += k % 3 == 0 ? 10 : 20;
            want_b += k % 3 == 0 ? 10 : 0;
            pthread_create(&th[i], NULL, short_lived, (void *)(intptr_t)k);
        }
        for (int i = 0; i < PER_WAVE; i++)
            pthread_join(th[i], NULL);
    }
    pthread_barrier_destroy(&all_hold_rings);
    CHECK_OK(crew_pool_destroy(pool_a));
    CHECK_OK(crew_pool_destroy(pool_b));
    CHECK_EQ(atomic_load(&ran_a), want_a);
    CHECK_EQ(atomic_load(&ran_b), want_b);
    handoffs += want_a + want_b;
}

/* ---- 3b. a pool destroyed while a submitting thread still holds its ring:
 * the thread's exit releases the ring and frees the pool (ASan's leak check
 * would report it otherwise); a submit after the destroy from that thread
 * is refused, not a crash (it keeps the pool's memory alive). */

static crew_pool *late_pool;
static gate late_destroyed = GATE_INIT;

static void *late_submitter(void *arg)
{
    (void)arg;
    CHECK_OK(crew_pool_submit(late_pool, inc_a, NULL, NULL));
    gate_pass(&late_destroyed);
    /* crew_pool_destroy returned in main: the memory is still ours. */
    CHECK_RC(crew_pool_submit(late_pool, inc_a, NULL, NULL), CREW_ESHUTDOWN);
    return NULL;
}

static void test_destroy_before_exit(void)
{
    atomic_store(&ran_a, 0);
    late_pool = make_pool(1);
    pthread_t th;
    pthread_create(&th, NULL, late_submitter, NULL);
    POLL(atomic_load(&ran_a) == 1);
    CHECK_OK(crew_pool_destroy(late_pool));
    gate_open(&late_destroyed);
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&ran_a), 1);
}

/* ---- 4. shutdown racing with submits ----------------------------------- */

typedef struct srec {
    atomic_int ran, cleaned;
    int accepted; /* submit returned 0; written by its producer */
} srec;

static srec *srecs;
static crew_pool *race_pool;
static atomic_int race_go;

static int srec_run(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add(&((srec *)arg)->ran, 1);
    return 0;
}

static void srec_cleanup(void *arg)
{
    atomic_fetch_add(&((srec *)arg)->cleaned, 1);
}

static void *race_producer(void *arg)
{
    srec *mine = &srecs[(intptr_t)arg * per_producer];
    while (!atomic_load(&race_go))
        ;
    for (int i = 0; i < per_producer; i++) {
        crew_future *f = NULL;
        int rc = crew_pool_submit_ex(race_pool, srec_run, &mine[i], srec_cleanup,
                                     i % 2 ? &f : NULL);
        if (rc == 0) {
            mine[i].accepted = 1;
            if (f)
                crew_future_release(f);
        } else {
            CHECK_RC(rc, CREW_ESHUTDOWN);
            break; /* every later submit fails too */
        }
    }
    return NULL;
}

static void test_shutdown_race(void)
{
    int np = producers < 64 ? producers : 64;
    int n = np * per_producer;
    srecs = calloc((size_t)n, sizeof *srecs);
    for (int round = 0; round < rounds; round++) {
        memset(srecs, 0, (size_t)n * sizeof *srecs);
        race_pool = make_pool((unsigned)workers);
        atomic_store(&race_go, 0);
        pthread_t th[64];
        for (int i = 0; i < np; i++)
            pthread_create(&th[i], NULL, race_producer, (void *)(intptr_t)i);
        atomic_store(&race_go, 1);
        nap_us(50 + 37 * round);
        bool cancel = round % 2;
        CHECK_OK(crew_pool_shutdown(race_pool, true, cancel));
        for (int i = 0; i < np; i++)
            pthread_join(th[i], NULL);
        int accepted = 0, ran = 0, cleaned = 0;
        for (int i = 0; i < n; i++) {
            srec *r = &srecs[i];
            int a = atomic_load(&r->ran), c = atomic_load(&r->cleaned);
            if (r->accepted) {
                accepted++;
                ran += a;
                cleaned += c;
                if (a + c != 1) {
                    fprintf(stderr, "round %d task %d: ran %d cleaned %d\n", round, i, a, c);
                    CHECK_EQ(a + c, 1);
                }
                if (!cancel)
                    CHECK_EQ(c, 0);
            } else if (a || c) {
                fprintf(stderr, "round %d task %d: refused but ran %d cleaned %d\n", round, i,
                        a, c);
                CHECK(0);
            }
        }
        handoffs += ran;
        crew_pool_stats s = stats_of(race_pool);
        CHECK_EQ(s.completed, (uint64_t)ran);
        CHECK_EQ(s.cancelled, (uint64_t)cleaned);
        CHECK_EQ(s.queued, 0);
        CHECK_OK(crew_pool_destroy(race_pool));
        if (getenv("STRESS_VERBOSE"))
            printf("round %d: %d of %d accepted, %d ran, %d cancelled\n", round, accepted, n, ran, cleaned);
    }
    free(srecs);
}

/* ---- 5. a foreign wait on a later task ----------------------------------- */

typedef struct pair {
    pthread_mutex_t m;
    pthread_cond_t c;
    int posted;
    int waited_ok; /* 1: the waiter saw the post, -1: it gave up */
} pair;

static int pair_wait(void *arg, void **result)
{
    (void)result;
    pair *pr = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* pthread_cond_timedwait's clock */
    until.tv_sec += 10;
    pthread_mutex_lock(&pr->m);
    int rc = 0;
    while (!pr->posted && rc == 0)
        rc = pthread_cond_timedwait(&pr->c, &pr->m, &until);
    pr->waited_ok = pr->posted ? 1 : -1;
    pthread_mutex_unlock(&pr->m);
    return 0;
}

static int pair_post(void *arg, void **result)
{
    (void)result;
    pair *pr = arg;
    pthread_mutex_lock(&pr->m);
    pr->posted = 1;
    pthread_cond_signal(&pr->c);
    pthread_mutex_unlock(&pr->m);
    return 0;
}

/* A thread that keeps a CPU busy until told to stop (it yields now and then,
 * so it only competes with the workers, as a loaded machine would). */
static atomic_int hogs_stop;

static void *hog_main(void *arg)
{
    (void)arg;
    unsigned long n = 0;
    while (!atomic_load_explicit(&hogs_stop, memory_order_relaxed))
        if (++n % 100000 == 0)
            sched_yield();
    return NULL;
}

static void test_foreign_wait(int hogs)
{
    enum { PAIRS = 200 };
    pthread_t hog[8];
    if (hogs > 8)
        hogs = 8;
    atomic_store(&hogs_stop, 0);
    for (int i = 0; i < hogs; i++)
        CHECK_EQ(pthread_create(&hog[i], NULL, hog_main, NULL), 0);
    crew_pool *p = make_pool(2);
    static pair prs[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        pthread_mutex_init(&prs[i].m, NULL);
        pthread_cond_init(&prs[i].c, NULL);
        prs[i].posted = 0;
        prs[i].waited_ok = 0;
    }
    for (int i = 0; i < PAIRS; i++) {
        /* Short tasks first, so that workers take big batches; then the
         * waiter and, right behind it, the task it waits for. */
        for (int k = 0; k < 64; k++)
            CHECK_OK(crew_pool_submit(p, task_noop, NULL, NULL));
        CHECK_OK(crew_pool_submit(p, pair_wait, &prs[i], NULL));
        CHECK_OK(crew_pool_submit(p, pair_post, &prs[i], NULL));
        if (i % 20 == 19)
            nap_ms(1); /* let the workers go idle and park now and then */
    }
    CHECK_OK(crew_pool_shutdown(p, true, false));
    atomic_store(&hogs_stop, 1);
    for (int i = 0; i < hogs; i++)
        CHECK_EQ(pthread_join(hog[i], NULL), 0);
    for (int i = 0; i < PAIRS; i++) {
        if (prs[i].waited_ok != 1)
            fprintf(stderr, "foreign wait (%d busy threads): pair %d stuck\n", hogs, i);
        CHECK_EQ(prs[i].waited_ok, 1);
        handoffs += 2;
        pthread_mutex_destroy(&prs[i].m);
        pthread_cond_destroy(&prs[i].c);
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- 6. blockless entries and cancel_pending ----------------------------- */

static void test_inline_cancel(void)
{
    int n = 3000; /* more than a ring holds: part of them take blocks */
    runs = calloc((size_t)n, sizeof *runs);
    crew_pool *p = make_pool(1);
    blocker b = BLOCKER_INIT;
    crew_future *bf;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &bf));
    gate_pass(&b.started);
    for (int i = 0; i < n; i++)
        CHECK_OK(crew_pool_submit(p, count_run, (void *)(intptr_t)i, NULL));
    CHECK_OK(crew_pool_shutdown(p, false, true));
    gate_open(&b.release);
    CHECK_OK(crew_pool_shutdown(p, true, false));
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int r = atomic_load(&runs[i]);
        CHECK(r == 0 || r == 1);
        ran += r;
    }
    handoffs += ran;
    crew_pool_stats s = stats_of(p);
    CHECK_EQ(s.completed, (uint64_t)ran + 1);
    CHECK_EQ(s.cancelled + (uint64_t)ran, (uint64_t)n);
    CHECK_EQ(s.queued, 0);
    CHECK_EQ(s.running, 0);
    crew_future_release(bf);
    CHECK_OK(crew_pool_destroy(p));
    free(runs);
}

int main(int argc, char **argv)
{
    producers = (int)arg_long(argc, argv, 1, 4);
    per_producer = (int)arg_long(argc, argv, 2, 5000);
    workers = (int)arg_long(argc, argv, 3, 2);
    rounds = (int)arg_long(argc, argv, 4, 20);
    test_flood();
    test_order();
    test_many_threads();
    test_destroy_before_exit();
    test_shutdown_race();
    test_foreign_wait(0);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    test_foreign_wait(ncpu > 0 ? (int)ncpu : 2);
    test_inline_cancel();
    if (atomic_load(&check_failures_) == 0)
        printf("stress_submit: %ld checked hand-offs\n", handoffs);
    return check_exit("stress_submit");
}
