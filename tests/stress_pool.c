/* stress_pool.c - many threads submit to one pool at once; each future is
 * handled at random: waited on, cancelled, released at once, detached, kept
 * and waited on later, or given a done callback.  At the end every task ran
 * exactly once or was cancelled exactly once (its cleanup ran), and the
 * pool's counters, the unobserved-error hook and the callbacks agree.
 *
 *   stress_pool [producers [tasks_per_producer [workers]]]
 *   defaults: 3 producers, 3000 tasks each, 2 workers
 *
 * Prints the number of checked hand-offs for scripts/soak.sh: the tasks that
 * ran (each passed from a producer thread to a worker and checked to run
 * exactly once; the cancelled ones never changed threads).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum action { WAIT, CANCEL, RELEASE, DETACH, KEEP, CALLBACK, NACTIONS };

typedef struct rec {
    atomic_int ran;
    atomic_int cleaned;
    int action;    /* written by the producer before submit */
    int fails;     /* written by the producer before submit */
    int observed;  /* crew_future_result returned CREW_ETASK; producer only */
    int cancel_ok; /* crew_future_cancel returned true; producer only */
} rec;

static rec *recs;
static crew_pool *pool;
static int per_producer;
static atomic_int hook_calls;
static atomic_int callbacks;

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int task_run(void *arg, void **result)
{
    rec *r = arg;
    atomic_fetch_add(&r->ran, 1);
    *result = r;
    if (r->action == KEEP) { /* a little work, so some tasks overlap */
        uint64_t x = (uint64_t)(uintptr_t)r;
        for (int i = 0; i < 200; i++)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        *result = x == 0 ? NULL : r; /* never NULL in practice; keeps x used */
    }
    return r->fails ? 3 : 0;
}

static void cleanup(void *arg)
{
    atomic_fetch_add(&((rec *)arg)->cleaned, 1);
}

static void hook(int task_error, void *ctx)
{
    (void)ctx;
    CHECK_EQ(task_error, 3);
    atomic_fetch_add(&hook_calls, 1);
}

static void on_done(crew_future *f, void *ctx)
{
    (void)ctx;
    CHECK(crew_future_done(f));
    atomic_fetch_add(&callbacks, 1);
}

/* Checks what crew_future_result returned for r. */
static void check_outcome(rec *r, int rc, void *res)
{
    if (r->fails) {
        CHECK_RC(rc, CREW_ETASK);
        r->observed = rc == CREW_ETASK;
    } else {
        CHECK_OK(rc);
    }
    CHECK(res == r);
}

static void *producer_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);
    crew_future **kept = calloc((size_t)per_producer, sizeof *kept);
    int nkept = 0;
    for (int i = 0; i < per_producer; i++) {
        rec *r = &recs[id * per_producer + i];
        uint64_t x = next_rand(&seed);
        r->action = (int)(x % NACTIONS);
        r->fails = (x >> 8) % 5 == 0;
        crew_future *f = NULL;
        if (r->action == DETACH) {
            CHECK_OK(crew_pool_submit_ex(pool, task_run, r, cleanup, NULL));
            continue;
        }
        CHECK_OK(crew_pool_submit_ex(pool, task_run, r, cleanup, &f));
        if (!f)
            continue;
        void *res = NULL;
        int rc;
        switch (r->action) {
        case WAIT:
            rc = crew_future_result(f, &res, NULL);
            check_outcome(r, rc, res);
            crew_future_release(f);
            break;
        case CANCEL:
            r->cancel_ok = crew_future_cancel(f);
            if (r->cancel_ok) {
                CHECK_RC(crew_future_result(f, &res, NULL), CREW_ECANCELLED);
            } else {
                rc = crew_future_result(f, &res, NULL);
                check_outcome(r, rc, res);
            }
            crew_future_release(f);
            break;
        case RELEASE:
            crew_future_release(f);
            break;
        case KEEP:
            kept[nkept++] = f;
            break;
        case CALLBACK:
            CHECK_OK(crew_future_add_done_callback(f, on_done, NULL));
            crew_future_release(f);
            break;
        }
    }
    for (int k = 0; k < nkept; k++) { /* waited on, never looked at */
        CHECK_OK(crew_future_wait(kept[k]));
        CHECK(crew_future_done(kept[k]));
        crew_future_release(kept[k]);
    }
    free(kept);
    return NULL;
}

int main(int argc, char **argv)
{
    int producers = argc > 1 ? atoi(argv[1]) : 3;
    per_producer = argc > 2 ? atoi(argv[2]) : 3000;
    unsigned workers = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
    if (producers < 1 || per_producer < 1) {
        fprintf(stderr, "usage: stress_pool [producers [tasks_per_producer [workers]]]\n");
        return 2;
    }
    int n = producers * per_producer;
    recs = calloc((size_t)n, sizeof *recs);
    pthread_t *th = calloc((size_t)producers, sizeof *th);
    if (!recs || !th)
        return 2;

    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = workers;
    o.unobserved = hook;
    CHECK_OK(crew_pool_create(&pool, &o));
    int64_t t0 = crew_now_ns();
    for (int i = 0; i < producers; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, producer_main, (void *)(intptr_t)i), 0);
    for (int i = 0; i < producers; i++)
        pthread_join(th[i], NULL);
    CHECK_OK(crew_pool_shutdown(pool, true, false));
    int64_t t1 = crew_now_ns();

    crew_pool_stats s;
    CHECK_OK(crew_pool_get_stats(pool, &s));
    long ran_ok = 0, ran_failed = 0, cancelled = 0, unobserved = 0, with_callback = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        rec *r = &recs[i];
        int ran = atomic_load(&r->ran), cleaned = atomic_load(&r->cleaned);
        if (ran + cleaned != 1 || cleaned != r->cancel_ok) {
            if (bad++ < 10)
                fprintf(stderr, "task %d (action %d): ran %d, cleaned %d, cancel returned %d\n",
                        i, r->action, ran, cleaned, r->cancel_ok);
        }
        ran_ok += ran && !r->fails;
        ran_failed += ran && r->fails;
        cancelled += cleaned;
        unobserved += ran && r->fails && !r->observed;
        with_callback += r->action == CALLBACK;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(s.completed, ran_ok);
    CHECK_EQ(s.failed, ran_failed);
    CHECK_EQ(s.cancelled, cancelled);
    CHECK_EQ(s.queued, 0);
    CHECK_EQ(s.running, 0);
    CHECK_EQ(s.workers_alive, 0);
    CHECK_EQ(s.unobserved, unobserved);
    CHECK_EQ(atomic_load(&hook_calls), unobserved);
    CHECK_EQ(atomic_load(&callbacks), with_callback);
    CHECK_OK(crew_pool_destroy(pool));
    printf("stress_pool: %d producers x %d tasks, %u workers: %ld ok, %ld failed, %ld cancelled, "
           "%ld unobserved, %.1f ms\n",
           producers, per_producer, workers, ran_ok, ran_failed, cancelled, unobserved,
           (double)(t1 - t0) / 1e6);
    if (atomic_load(&check_failures_) == 0)
        printf("stress_pool: %ld checked hand-offs\n", ran_ok + ran_failed);
    free(recs);
    free(th);
    return check_exit("stress_pool");
}
