/* test_map.c - crew_map (Executor.map): results in input order for n = 0, 1
 * and many with several chunk and buffer sizes, per-item errors in place,
 * the bound on chunks in flight, timed next returning the same item again,
 * destroy part-way (fn never called for the rest), crew_map_all, a map run
 * from inside a task of a one-worker pool, and bad arguments. */
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "support.h"

/* Inputs are small integers cast to pointers. */
static void **make_inputs(size_t n)
{
    void **in = malloc((n ? n : 1) * sizeof *in);
    for (size_t i = 0; i < n; i++)
        in[i] = (void *)(intptr_t)i;
    return in;
}

/* result = 3 * input + 1; every 7th item takes a little longer so that
 * chunks finish out of order. */
static int triple_task(void *arg, void **result)
{
    intptr_t v = (intptr_t)arg;
    if (v % 7 == 0)
        nap_us(100);
    *result = (void *)(3 * v + 1);
    return 0;
}

/* Items with v % 5 == 3 fail with status 100 + v (and still store a result). */
static int flaky_task(void *arg, void **result)
{
    intptr_t v = (intptr_t)arg;
    *result = (void *)(v * 2);
    return v % 5 == 3 ? (int)(100 + v) : 0;
}

static void test_args(void)
{
    crew_pool *p = make_pool_idle(1, 0);
    crew_map *m = NULL;
    void *in[1] = {NULL};
    CHECK_RC(crew_map_create(NULL, p, triple_task, in, 1, NULL), CREW_EINVAL);
    CHECK_RC(crew_map_create(&m, NULL, triple_task, in, 1, NULL), CREW_EINVAL);
    CHECK_RC(crew_map_create(&m, p, NULL, in, 1, NULL), CREW_EINVAL);
    CHECK_RC(crew_map_create(&m, p, triple_task, NULL, 1, NULL), CREW_EINVAL);
    CHECK_RC(crew_map_next(NULL, NULL, NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_map_destroy(NULL), CREW_EINVAL);
    CHECK_OK(crew_map_create(&m, p, triple_task, in, 1, NULL));
    CHECK_RC(crew_map_next_timed(m, NULL, NULL, NULL, -1), CREW_EINVAL);
    CHECK_OK(crew_map_destroy(m));
    /* n == 0 with NULL inputs is fine. */
    CHECK_OK(crew_map_create(&m, p, triple_task, NULL, 0, NULL));
    CHECK_RC(crew_map_next(m, NULL, NULL, NULL), CREW_EEMPTY);
    CHECK_OK(crew_map_destroy(m));
    /* A shut-down pool: the submit error. */
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_RC(crew_map_create(&m, p, triple_task, in, 1, NULL), CREW_ESHUTDOWN);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_order(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    size_t ns[] = {0, 1, 2, 10, 257};
    size_t css[] = {0, 1, 3, 100};
    size_t bss[] = {1, 2, 0};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof css / sizeof css[0]; b++)
            for (size_t c = 0; c < sizeof bss / sizeof bss[0]; c++) {
                size_t n = ns[a];
                void **in = make_inputs(n);
                crew_map_options o = {css[b], bss[c]};
                crew_map *m;
                CHECK_OK(crew_map_create(&m, p, triple_task, in, n, &o));
                size_t k = 0;
                for (;; k++) {
                    size_t idx = 99999;
                    void *r = NULL;
                    int err = -1;
                    int rc = crew_map_next(m, &idx, &r, &err);
                    if (rc == CREW_EEMPTY)
                        break;
                    CHECK_OK(rc);
                    CHECK_EQ(idx, k);
                    CHECK_EQ((intptr_t)r, 3 * (intptr_t)k + 1);
                    CHECK_EQ(err, 0);
                    if (rc != 0 || idx != k)
                        break;
                }
                CHECK_EQ(k, n);
                CHECK_RC(crew_map_next(m, NULL, NULL, NULL), CREW_EEMPTY);
                CHECK_OK(crew_map_destroy(m));
                free(in);
            }
    CHECK_OK(crew_pool_destroy(p));
}

static void test_item_errors(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    size_t n = 40;
    void **in = make_inputs(n);
    size_t css[] = {1, 4};
    for (int c = 0; c < 2; c++) {
        crew_map_options o = {css[c], 3};
        crew_map *m;
        CHECK_OK(crew_map_create(&m, p, flaky_task, in, n, &o));
        for (size_t k = 0; k < n; k++) {
            size_t idx;
            void *r;
            int err = -1;
            int rc = crew_map_next(m, &idx, &r, &err);
            CHECK_EQ(idx, k);
            CHECK_EQ((intptr_t)r, 2 * (intptr_t)k);
            if (k % 5 == 3) {
                CHECK_RC(rc, CREW_ETASK);
                CHECK_EQ(err, 100 + (int)k);
            } else {
                CHECK_OK(rc);
                CHECK_EQ(err, 0);
            }
        }
        CHECK_RC(crew_map_next(m, NULL, NULL, NULL), CREW_EEMPTY);
        CHECK_OK(crew_map_destroy(m));
    }

    /* crew_map_all: results and errors at their positions. */
    void **res = calloc(n, sizeof *res);
    int *errs = calloc(n, sizeof *errs);
    crew_map_options o = {3, 0};
    CHECK_RC(crew_map_all(p, flaky_task, in, n, res, errs, &o), CREW_ETASK);
    for (size_t k = 0; k < n; k++) {
        CHECK_EQ((intptr_t)res[k], 2 * (intptr_t)k);
        CHECK_EQ(errs[k], k % 5 == 3 ? 100 + (int)k : 0);
    }
    CHECK_OK(crew_map_all(p, triple_task, in, n, res, errs, NULL));
    for (size_t k = 0; k < n; k++) {
        CHECK_EQ((intptr_t)res[k], 3 * (intptr_t)k + 1);
        CHECK_EQ(errs[k], 0);
    }
    CHECK_OK(crew_map_all(p, triple_task, in, n, NULL, NULL, NULL));
    CHECK_OK(crew_map_all(p, triple_task, NULL, 0, NULL, NULL, NULL));
    CHECK_RC(crew_map_all(NULL, triple_task, in, n, NULL, NULL, NULL), CREW_EINVAL);
    free(res);
    free(errs);
    free(in);
    CHECK_OK(crew_pool_destroy(p));
}

/* The bound: chunk c is submitted only after chunk c - buffersize has been
 * consumed.  The tasks record the highest chunk that ever started; with a
 * slow consumer, the workers run ahead up to the bound and never past it. */
static atomic_long max_started;
static size_t bound_chunksize;

static int record_task(void *arg, void **result)
{
    long chunk = (long)((intptr_t)arg / (intptr_t)bound_chunksize);
    long cur = atomic_load(&max_started);
    while (chunk > cur && !atomic_compare_exchange_weak(&max_started, &cur, chunk))
        ;
    *result = arg;
    return 0;
}

static void check_bound(size_t chunksize, size_t buffersize, unsigned workers)
{
    crew_pool *p = make_pool_idle(workers, 0);
    size_t n = 12 * chunksize + 1;
    void **in = make_inputs(n);
    atomic_store(&max_started, -1);
    bound_chunksize = chunksize;
    crew_map_options o = {chunksize, buffersize};
    size_t bs = buffersize ? buffersize : 2 * workers;
    size_t nchunks = (n + chunksize - 1) / chunksize;
    crew_map *m;
    CHECK_OK(crew_map_create(&m, p, record_task, in, n, &o));
    for (size_t k = 0; k < n; k++) {
        long consumed_chunks = (long)(k / chunksize);
        long limit = consumed_chunks + (long)bs - 1;
        if (limit > (long)nchunks - 1)
            limit = (long)nchunks - 1;
        if (k % chunksize == 0) {
            /* The workers reach the bound (poll: seconds of slack)... */
            int64_t give_up = crew_now_ns() + 5000000000LL;
            while (atomic_load(&max_started) < limit && crew_now_ns() < give_up)
                nap_us(200);
            CHECK_EQ(atomic_load(&max_started), limit);
            /* ...and do not pass it, given time to try. */
            nap_us(3000);
        }
        CHECK(atomic_load(&max_started) <= limit);
        size_t idx;
        void *r;
        CHECK_OK(crew_map_next(m, &idx, &r, NULL));
        CHECK_EQ(idx, k);
        CHECK_EQ((intptr_t)r, (intptr_t)k);
    }
    CHECK_RC(crew_map_next(m, NULL, NULL, NULL), CREW_EEMPTY);
    CHECK_OK(crew_map_destroy(m));
    free(in);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_bound(void)
{
    check_bound(1, 1, 2);
    check_bound(1, 2, 2);
    check_bound(3, 2, 2);
    check_bound(1, 0, 2); /* default: 2 x workers = 4 */
    check_bound(2, 0, 1); /* default: 2 */
}

/* A timed next that times out returns the same item next time. */
static latch first_gate;
static atomic_int first_started;

static int gated_first_task(void *arg, void **result)
{
    if ((intptr_t)arg == 0) {
        atomic_store(&first_started, 1);
        latch_pass(&first_gate);
    }
    *result = arg;
    return 0;
}

static void test_timed(void)
{
    crew_pool *p = make_pool_idle(2, 0);
    size_t n = 5;
    void **in = make_inputs(n);
    atomic_store(&first_gate.open, 0);
    crew_map *m;
    CHECK_OK(crew_map_create(&m, p, gated_first_task, in, n, NULL));
    size_t idx = 77;
    void *r;
    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_map_next_timed(m, &idx, &r, NULL, 30000000), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 25000000);
    CHECK_RC(crew_map_next_until(m, &idx, &r, NULL, crew_now_ns()), CREW_ETIMEDOUT);
    CHECK_EQ(idx, 77);
    latch_open(&first_gate);
    for (size_t k = 0; k < n; k++) {
        CHECK_OK(crew_map_next_timed(m, &idx, &r, NULL, 10000000000LL));
        CHECK_EQ(idx, k);
        CHECK_EQ((intptr_t)r, (intptr_t)k);
    }
    CHECK_RC(crew_map_next_timed(m, &idx, &r, NULL, 0), CREW_EEMPTY);
    CHECK_OK(crew_map_destroy(m));
    free(in);
    CHECK_OK(crew_pool_destroy(p));
}

/* Destroy part-way: with one worker held by item 3, items 4..6 are queued;
 * destroy cancels them and waits for item 3.  A helper task on a second pool
 * opens item 3's gate once the three cancellations show in the stats. */
static atomic_int calls[64];
static latch item3_gate;

static int counting_task(void *arg, void **result)
{
    intptr_t v = (intptr_t)arg;
    atomic_fetch_add(&calls[v], 1);
    if (v == 3)
        latch_pass(&item3_gate);
    *result = arg;
    return 0;
}

static int opener_task(void *arg, void **result)
{
    (void)result;
    crew_pool *p = arg;
    int64_t give_up = crew_now_ns() + 5000000000LL;
    crew_pool_stats st = {0};
    while (crew_now_ns() < give_up) {
        if (crew_pool_get_stats(p, &st) == 0 && st.cancelled >= 3)
            break;
        nap_us(500);
    }
    latch_open(&item3_gate);
    return st.cancelled >= 3 ? 0 : 1;
}

static void test_destroy_midway(void)
{
    crew_pool *p = make_pool_idle(1, 0);
    crew_pool *helper = make_pool_idle(1, 0);
    size_t n = 50;
    void **in = make_inputs(n);
    for (int i = 0; i < 64; i++)
        atomic_store(&calls[i], 0);
    atomic_store(&item3_gate.open, 0);
    crew_map_options o = {1, 4};
    crew_map *m;
    /* As in test_shutdown_midway: the worker is busy until create returned,
     * so no chunk waits at the start gate (a worker blocked there gets a
     * replacement, which may take items 4..6 into its batch and run them
     * beside item 3 once the blocked one is back: failed under TSan). */
    blocker b = BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(p, task_block, &b, NULL));
    gate_pass(&b.started);
    CHECK_OK(crew_map_create(&m, p, counting_task, in, n, &o));
    gate_open(&b.release);
    for (size_t k = 0; k < 3; k++) {
        size_t idx;
        CHECK_OK(crew_map_next(m, &idx, NULL, NULL));
        CHECK_EQ(idx, k);
    }
    /* Items 3..6 are submitted now; wait until item 3 holds the worker. */
    int64_t give_up = crew_now_ns() + 5000000000LL;
    while (atomic_load(&calls[3]) == 0 && crew_now_ns() < give_up)
        nap_us(200);
    crew_future *op;
    CHECK_OK(crew_pool_submit(helper, opener_task, p, &op));
    CHECK_OK(crew_map_destroy(m));
    CHECK_OK(crew_future_result(op, NULL, NULL)); /* it saw the cancellations */
    crew_future_release(op);
    CHECK_OK(crew_pool_destroy(p));
    for (size_t k = 0; k < n; k++)
        CHECK_EQ(atomic_load(&calls[k]), k <= 3 ? 1 : 0);
    free(in);
    CHECK_OK(crew_pool_destroy(helper));

    /* Destroy right after create, and with nothing consumed, many times. */
    p = make_pool_idle(2, 0);
    in = make_inputs(n);
    for (int r = 0; r < 50; r++) {
        crew_map_options q = {(size_t)(1 + r % 4), (size_t)(r % 3)};
        CHECK_OK(crew_map_create(&m, p, triple_task, in, n, &q));
        if (r % 2)
            CHECK_OK(crew_map_next(m, NULL, NULL, NULL));
        CHECK_OK(crew_map_destroy(m));
    }
    free(in);
    CHECK_OK(crew_pool_destroy(p));
}

/* A pool shut down with cancel_pending while a map runs: the cancelled
 * chunks report CREW_ECANCELLED, and chunks submitted after the shutdown
 * report CREW_ESHUTDOWN, each at its items; iteration still ends. */
static void test_shutdown_midway(void)
{
    crew_pool *p = make_pool_idle(1, 0);
    size_t n = 20;
    void **in = make_inputs(n);
    atomic_store(&first_gate.open, 0);
    crew_map_options o = {1, 3};
    crew_map *m;
    atomic_store(&first_started, 0);
    /* The worker is busy until create returned: item 0 then finds the
     * map's start gate open.  (A chunk that starts before create opened
     * it waits there, helping -- and may start items 1 and 2, which then
     * cannot be cancelled; TSan's timing made that frequent.) */
    blocker b = BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(p, task_block, &b, NULL));
    gate_pass(&b.started);
    CHECK_OK(crew_map_create(&m, p, gated_first_task, in, n, &o));
    gate_open(&b.release);
    int64_t give_up = crew_now_ns() + 5000000000LL;
    while (!atomic_load(&first_started) && crew_now_ns() < give_up)
        nap_us(200);
    CHECK_OK(crew_pool_shutdown(p, false, true)); /* cancels items 1, 2 */
    latch_open(&first_gate);
    size_t k = 0;
    int rc;
    size_t idx;
    while ((rc = crew_map_next(m, &idx, NULL, NULL)) != CREW_EEMPTY) {
        CHECK_EQ(idx, k);
        if (k == 0)
            CHECK_OK(rc);
        else if (k <= 2)
            CHECK_RC(rc, CREW_ECANCELLED);
        else
            CHECK_RC(rc, CREW_ESHUTDOWN);
        k++;
    }
    CHECK_EQ(k, n);
    CHECK_OK(crew_map_destroy(m));
    free(in);
    CHECK_OK(crew_pool_destroy(p));
}

/* A broken pool (its worker initializer fails): every item reports
 * CREW_EBROKEN, whether its chunk was queued before the pool broke or
 * submitted after. */
static int failing_init(void *ctx)
{
    (void)ctx;
    return 1;
}

static void test_broken(void)
{
    crew_pool_options po;
    crew_pool_options_init(&po);
    po.workers = 1;
    po.init = failing_init;
    crew_pool *p;
    CHECK_OK(crew_pool_create(&p, &po));
    size_t n = 9;
    void **in = make_inputs(n);
    crew_map_options o = {2, 2};
    crew_map *m;
    int rc = crew_map_create(&m, p, triple_task, in, n, &o);
    CHECK(rc == 0 || rc == CREW_EBROKEN);
    if (rc == 0) {
        size_t k = 0, idx;
        while ((rc = crew_map_next(m, &idx, NULL, NULL)) != CREW_EEMPTY) {
            CHECK_EQ(idx, k);
            CHECK_RC(rc, CREW_EBROKEN);
            k++;
        }
        CHECK_EQ(k, n);
        CHECK_OK(crew_map_destroy(m));
    }
    int errs[9];
    rc = crew_map_all(p, triple_task, in, n, NULL, errs, &o);
    CHECK_RC(rc, CREW_EBROKEN);
    free(in);
    crew_pool_destroy(p); /* may report the pool's own breakage */
}

/* A task of a one-worker pool maps over that same pool. */
typedef struct nested {
    crew_pool *p;
    long sum;
} nested;

static int mapping_task(void *arg, void **result)
{
    (void)result;
    nested *t = arg;
    void *in[10];
    void *res[10];
    for (intptr_t i = 0; i < 10; i++)
        in[i] = (void *)i;
    crew_map_options o = {2, 2};
    int rc = crew_map_all(t->p, triple_task, in, 10, res, NULL, &o);
    for (int i = 0; i < 10 && rc == 0; i++)
        t->sum += (long)(intptr_t)res[i];
    return rc;
}

static void test_inside_task(void)
{
    crew_pool *p = make_pool_idle(1, 0);
    nested t = {p, 0};
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, mapping_task, &t, &f));
    CHECK_OK(crew_future_result_timed(f, NULL, NULL, 10000000000LL));
    CHECK_EQ(t.sum, 3 * 45 + 10);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    test_args();
    test_order();
    test_item_errors();
    test_bound();
    test_timed();
    test_destroy_midway();
    test_shutdown_midway();
    test_broken();
    test_inside_task();
    return check_exit("test_map");
}
