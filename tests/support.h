/* support.h - helpers shared by the test and stress programs.
 *
 * Include after check.h (the pool helpers CHECK what they create).  All
 * functions are static inline, so a program that uses only some of them
 * compiles without unused-function warnings.  What is here:
 *
 *   gate      one-shot event (mutex + condvar); gate_pass blocks for good
 *   latch     one-shot event (atomic flag, polled); latch_pass gives up
 *             after 10 s so a bug cannot hang ctest
 *   blocker   a task that says it started, then waits for its release
 *   nap_ms, nap_us, POLL, POLL_NS   sleeping and polling with a deadline
 *   blocker, hold_after_wait   tasks that hold a worker (until released; after a wait);
 *             check_alone_after_wait: nothing runs beside one that is back
 *   make_pool, make_pool_idle, stats_of, release_all
 *   small tasks: task_noop, task_value, task_count, task_square, job_count
 *   meet      tasks that wait until enough of them run at once
 *   slot      counts a task's runs, cleanups and done callbacks
 *   P, I, MS, by_value   for the queue tests; arg_long for argv counts
 */
#ifndef CREW_TESTS_SUPPORT_H
#define CREW_TESTS_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* ---- numbers and items ------------------------------------------------- */

#define MS 1000000LL                  /* one millisecond in nanoseconds */
#define P(i) ((void *)(uintptr_t)(i)) /* a small number as a queue item */
#define I(p) ((long)(uintptr_t)(p))   /* and back */

/* Compares two items made with P() by their number (a crew_compare_fn). */
static inline int by_value(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    return I(a) < I(b) ? -1 : I(a) > I(b);
}

/* argv[i] as a number (atol), or dflt when there are not that many
 * arguments: for a stress program's optional counts. */
static inline long arg_long(int argc, char **argv, int i, long dflt)
{
    return argc > i ? atol(argv[i]) : dflt;
}

/* ---- sleeping and polling ---------------------------------------------- */

/* Sleeps about ms milliseconds. */
static inline void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sleeps about us microseconds. */
static inline void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Polls cond every millisecond until it holds or ns nanoseconds have passed
 * (monotonic clock); the caller CHECKs cond after. */
#define POLL_NS(cond, ns)                                                  \
    do {                                                                   \
        int64_t poll_end_ = crew_now_ns() + (ns);                          \
        while (!(cond) && crew_now_ns() < poll_end_)                       \
            nap_ms(1);                                                     \
    } while (0)

/* POLL_NS with a 5 s deadline. */
#define POLL(cond) POLL_NS(cond, 5000000000LL)

/* ---- gate: a one-shot event, mutex + condvar --------------------------- */

/* gate_pass blocks until gate_open has been called (once is enough). */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open; /* protected by mu */
} gate;
#define GATE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

static inline void gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static inline void gate_pass(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* ---- latch: a one-shot event, atomic flag ------------------------------ */

/* Zero-initialised ({0}) it is closed.  latch_pass polls every 200 us and
 * gives up after 10 s, so a bug cannot hang ctest. */
typedef struct latch {
    atomic_int open; /* set once by latch_open */
} latch;

static inline void latch_open(latch *l)
{
    /* seq_cst; pairs with the load in latch_pass. */
    atomic_store_explicit(&l->open, 1, memory_order_seq_cst);
}

static inline void latch_pass(latch *l)
{
    int64_t give_up = crew_now_ns() + 10 * 1000000000LL;
    /* seq_cst; pairs with the store in latch_open. */
    while (!atomic_load_explicit(&l->open, memory_order_seq_cst) && crew_now_ns() < give_up)
        nap_us(200);
}

/* ---- blocker: a task that holds a worker until released ---------------- */

/* task_block opens `started`, then waits until `release` opens. */
typedef struct blocker {
    gate started;
    gate release;
} blocker;
#define BLOCKER_INIT {GATE_INIT, GATE_INIT}

static inline int task_block(void *arg, void **result)
{
    blocker *b = arg;
    (void)result;
    gate_open(&b->started);
    gate_pass(&b->release);
    return 0;
}

/* ---- hold_after_wait: a task that waits for a future, then stays busy -- */

/* task_hold waits for wait_for -- timed: a worker blocked in a timed wait
 * runs nothing meanwhile; untimed: a helping wait, which looks for work
 * every 10 ms while blocked -- then sets back and stays busy, without a
 * crew wait, until hold opens.  Zero-initialised apart from wait_for and
 * timed. */
typedef struct hold_after_wait {
    crew_future *wait_for;
    bool timed;
    atomic_int back;
    latch hold;
} hold_after_wait;

static inline int task_hold(void *arg, void **result)
{
    hold_after_wait *h = arg;
    (void)result;
    int rc = h->timed ? crew_future_wait_timed(h->wait_for, 10000 * MS)
                      : crew_future_wait(h->wait_for);
    atomic_store(&h->back, 1);
    latch_pass(&h->hold);
    return rc;
}

/* ---- pools ------------------------------------------------------------- */

/* A pool of at most `workers` threads; a worker idle for idle_ns retires
 * (0: the default 10 s; < 0: never).  NULL (and a failed CHECK) on error. */
static inline crew_pool *make_pool_idle(unsigned workers, int64_t idle_ns)
{
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = workers;
    o.idle_timeout_ns = idle_ns;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));
    return p;
}

/* A pool of at most `workers` threads that never retire. */
static inline crew_pool *make_pool(unsigned workers)
{
    return make_pool_idle(workers, -1);
}

/* p's counters (all bits set if crew_pool_get_stats fails its CHECK). */
static inline crew_pool_stats stats_of(crew_pool *p)
{
    crew_pool_stats s;
    memset(&s, 0xff, sizeof s);
    CHECK_OK(crew_pool_get_stats(p, &s));
    return s;
}

/* Releases fs[0..n). */
static inline void release_all(crew_future **fs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        crew_future_release(fs[i]);
}

/* ---- small tasks and jobs ---------------------------------------------- */

/* Does nothing; result stays unset. */
static inline int task_noop(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

/* Its result is its argument. */
static inline int task_value(void *arg, void **result)
{
    *result = arg;
    return 0;
}

/* Adds one to the atomic_int arg. */
static inline int task_count(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

/* Its result is arg * arg (arg an integer cast to a pointer). */
static inline int task_square(void *arg, void **result)
{
    intptr_t x = (intptr_t)arg;
    *result = (void *)(x * x);
    return 0;
}

/* A group job: adds one to the atomic_int arg. */
static inline int job_count(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

/* ---- hold_after_wait, continued ---------------------------------------- */

/* Task h runs on a one-worker pool p and waits for blocker b's task:
 * releases b, waits until h's wait is over, and checks that a task
 * submitted while h holds its worker does not run (a one-worker pool runs
 * one task at a time, also after a replacement stood in for h's worker),
 * then runs once h lets go.  Returns that task's future, done. */
static inline crew_future *check_alone_after_wait(crew_pool *p, blocker *b, hold_after_wait *h)
{
    gate_open(&b->release);
    POLL(atomic_load(&h->back));
    atomic_int count = 0;
    crew_future *f = NULL;
    CHECK_OK(crew_pool_submit(p, task_count, &count, &f));
    nap_ms(50);
    /* h's worker is busy: a one-worker pool runs nothing else. */
    CHECK_EQ(atomic_load(&count), 0);
    CHECK(!crew_future_done(f));
    latch_open(&h->hold);
    CHECK_OK(crew_future_result_timed(f, NULL, NULL, 10000 * MS));
    CHECK_EQ(atomic_load(&count), 1);
    return f;
}

/* ---- meet: tasks waiting until enough of them run at once -------------- */

typedef struct meet {
    atomic_int arrived;
    int want; /* set before the tasks start */
} meet;

/* Counts the caller in, then polls (up to 5 s) until `want` callers have
 * arrived; returns whether they all did. */
static inline bool meet_arrive(meet *m)
{
    atomic_fetch_add(&m->arrived, 1);
    POLL(atomic_load(&m->arrived) >= m->want);
    return atomic_load(&m->arrived) >= m->want;
}

/* ---- slot: what happened to one task ----------------------------------- */

/* Pass a slot to task_slot with cleanup_slot as the cleanup; a test may add
 * a done callback of its own that fills in the last two fields. */
typedef struct slot {
    atomic_int ran;
    atomic_int cleaned;
    atomic_int called_back;
    pthread_t callback_thread; /* written by the callback, read after */
} slot;

static inline int task_slot(void *arg, void **result)
{
    (void)result;
    atomic_fetch_add(&((slot *)arg)->ran, 1);
    return 0;
}

static inline void cleanup_slot(void *arg)
{
    atomic_fetch_add(&((slot *)arg)->cleaned, 1);
}

#endif
