/* test_queue_basic.c - crew_queue without concurrency: creation and bad
 * arguments, the order of each kind (FIFO, LIFO, PRIORITY and its
 * stability), try_ forms, size/empty/full, batch put/get, task_done counting
 * and the drop callback on destroy.  Every check runs on both
 * implementations: the lock-free ring (bounded FIFO) and the locked store. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "support.h"

static crew_queue *make(crew_queue_kind kind, size_t maxsize, crew_compare_fn cmp)
{
    crew_queue_options o;
    crew_queue_options_init(&o);
    o.kind = kind;
    o.maxsize = maxsize;
    o.compare = cmp;
    crew_queue *q = NULL;
    CHECK_OK(crew_queue_create(&q, &o));
    return q;
}

/* Priority = value / 10, so 31 and 35 tie. */
static int by_tens(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    long x = I(a) / 10, y = I(b) / 10;
    return x < y ? -1 : x > y;
}

static void test_bad_args(void)
{
    crew_queue *q = NULL;
    crew_queue_options o;
    void *it = P(7);
    size_t c = 99;
    void *arr[2] = {P(1), P(2)};

    CHECK_RC(crew_queue_create(NULL, NULL), CREW_EINVAL);
    crew_queue_options_init(&o);
    o.kind = (crew_queue_kind)42;
    CHECK_RC(crew_queue_create(&q, &o), CREW_EINVAL);
    o.kind = CREW_QUEUE_PRIORITY; /* without compare */
    CHECK_RC(crew_queue_create(&q, &o), CREW_EINVAL);
    crew_queue_options_init(NULL); /* harmless */

    CHECK_RC(crew_queue_destroy(NULL), CREW_EINVAL);
    CHECK_RC(crew_queue_put(NULL, it), CREW_EINVAL);
    CHECK_RC(crew_queue_try_put(NULL, it), CREW_EINVAL);
    CHECK_RC(crew_queue_put_timed(NULL, it, 1), CREW_EINVAL);
    CHECK_RC(crew_queue_put_until(NULL, it, 1), CREW_EINVAL);
    CHECK_RC(crew_queue_get(NULL, &it), CREW_EINVAL);
    CHECK_RC(crew_queue_try_get(NULL, &it), CREW_EINVAL);
    CHECK_RC(crew_queue_get_timed(NULL, &it, 1), CREW_EINVAL);
    CHECK_RC(crew_queue_get_until(NULL, &it, 1), CREW_EINVAL);
    CHECK_RC(crew_queue_put_many(NULL, arr, 2, &c), CREW_EINVAL);
    CHECK_RC(crew_queue_get_many(NULL, arr, 2, &c), CREW_EINVAL);
    CHECK_RC(crew_queue_task_done(NULL), CREW_EINVAL);
    CHECK_RC(crew_queue_join(NULL), CREW_EINVAL);
    CHECK_RC(crew_queue_join_timed(NULL, 1), CREW_EINVAL);
    CHECK_RC(crew_queue_join_until(NULL, 1), CREW_EINVAL);
    CHECK_RC(crew_queue_shutdown(NULL, false), CREW_EINVAL);
    CHECK_EQ(crew_queue_size(NULL), 0);
    CHECK(crew_queue_empty(NULL));
    CHECK(!crew_queue_full(NULL));
    CHECK_EQ(crew_queue_maxsize(NULL), 0);
    CHECK(!crew_queue_is_shutdown(NULL));

    /* Per-queue argument checks, on both implementations. */
    size_t sizes[] = {0, 4};
    for (int s = 0; s < 2; s++) {
        q = make(CREW_QUEUE_FIFO, sizes[s], NULL);
        CHECK_RC(crew_queue_get(q, NULL), CREW_EINVAL);
        CHECK_RC(crew_queue_try_get(q, NULL), CREW_EINVAL);
        CHECK_RC(crew_queue_get_timed(q, NULL, 1), CREW_EINVAL);
        CHECK_RC(crew_queue_get_until(q, NULL, 1), CREW_EINVAL);
        /* A negative timeout on a live queue: EINVAL, except a put on an
         * unbounded queue, which never waits (test_queue_maxsize.c has
         * Python's whole order of checks). */
        if (sizes[s])
            CHECK_RC(crew_queue_put_timed(q, it, -1), CREW_EINVAL);
        CHECK_RC(crew_queue_get_timed(q, &it, -1), CREW_EINVAL);
        CHECK_RC(crew_queue_join_timed(q, -1), CREW_EINVAL);
        CHECK_RC(crew_queue_put_many(q, NULL, 2, &c), CREW_EINVAL);
        CHECK_RC(crew_queue_put_many(q, arr, 0, &c), CREW_EINVAL);
        CHECK_RC(crew_queue_put_many(q, arr, 2, NULL), CREW_EINVAL);
        CHECK_RC(crew_queue_try_put_many(q, arr, 0, &c), CREW_EINVAL);
        CHECK_RC(crew_queue_put_many_timed(q, NULL, 2, &c, -5), CREW_EINVAL);
        CHECK_RC(crew_queue_put_many_timed(q, arr, 0, &c, -5), CREW_EINVAL);
        if (sizes[s])
            CHECK_RC(crew_queue_put_many_timed(q, arr, 2, &c, -5), CREW_EINVAL);
        CHECK_RC(crew_queue_get_many(q, NULL, 2, &c), CREW_EINVAL);
        CHECK_RC(crew_queue_get_many(q, arr, 0, &c), CREW_EINVAL);
        CHECK_RC(crew_queue_get_many(q, arr, 2, NULL), CREW_EINVAL);
        CHECK_RC(crew_queue_try_get_many(q, arr, 0, &c), CREW_EINVAL);
        CHECK_RC(crew_queue_get_many_timed(q, arr, 2, &c, -1), CREW_EINVAL);
        /* Nothing was queued by any of those. */
        CHECK_EQ(crew_queue_size(q), 0);
        CHECK_RC(crew_queue_task_done(q), CREW_ETOOMANY);
        CHECK_OK(crew_queue_destroy(q));
    }
    /* opts == NULL: unbounded FIFO. */
    CHECK_OK(crew_queue_create(&q, NULL));
    CHECK_EQ(crew_queue_maxsize(q), 0);
    CHECK_OK(crew_queue_put(q, P(1)));
    CHECK(!crew_queue_full(q));
    CHECK_OK(crew_queue_destroy(q));
}

/* Puts 1..n one by one, gets them all, returns them in out. */
static void put_get_all(crew_queue *q, const long *in, long *out, int n)
{
    for (int i = 0; i < n; i++)
        CHECK_OK(crew_queue_put(q, P(in[i])));
    CHECK_EQ(crew_queue_size(q), n);
    for (int i = 0; i < n; i++) {
        void *x = NULL;
        CHECK_OK(crew_queue_get(q, &x));
        out[i] = I(x);
    }
    CHECK(crew_queue_empty(q));
}

static void test_orders(void)
{
    long in[8] = {5, 3, 8, 1, 9, 2, 7, 4}, out[8];
    size_t sizes[] = {0, 8, 1000, 3}; /* unbounded, ring pow2, ring non-pow2, small */
    for (int s = 0; s < 3; s++) {
        crew_queue *q = make(CREW_QUEUE_FIFO, sizes[s], NULL);
        put_get_all(q, in, out, 8);
        CHECK(memcmp(in, out, sizeof in) == 0);
        CHECK_OK(crew_queue_destroy(q));

        q = make(CREW_QUEUE_LIFO, sizes[s], NULL);
        put_get_all(q, in, out, 8);
        for (int i = 0; i < 8; i++)
            CHECK_EQ(out[i], in[7 - i]);
        CHECK_OK(crew_queue_destroy(q));
    }
    /* Priority by tens, equal priorities in insertion order. */
    long pin[10] = {35, 12, 31, 50, 19, 11, 38, 5, 13, 0};
    long pwant[10] = {5, 0, 12, 19, 11, 13, 35, 31, 38, 50};
    for (int s = 0; s < 2; s++) {
        crew_queue *q = make(CREW_QUEUE_PRIORITY, s ? 10 : 0, by_tens);
        long pout[10];
        put_get_all(q, pin, pout, 10);
        for (int i = 0; i < 10; i++)
            CHECK_EQ(pout[i], pwant[i]);
        CHECK_OK(crew_queue_destroy(q));
    }
    /* A long run of equal priorities stays stable through heap churn. */
    crew_queue *q = make(CREW_QUEUE_PRIORITY, 0, by_tens);
    for (long i = 0; i < 500; i++)
        CHECK_OK(crew_queue_put(q, P((i % 3) * 10 + (i % 3))));
    for (int i = 0; i < 500; i++) {
        void *x;
        CHECK_OK(crew_queue_get(q, &x));
        CHECK_EQ(I(x) / 10, i < 167 ? 0 : i < 334 ? 1 : 2);
    }
    CHECK_OK(crew_queue_destroy(q));
}

/* Orders by item / 1000; payload below that is the insertion number. */
static int by_thousands(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    long x = I(a) / 1000, y = I(b) / 1000;
    return x < y ? -1 : x > y;
}

static void test_priority_stability(void)
{
    crew_queue *q = make(CREW_QUEUE_PRIORITY, 0, by_thousands);
    /* 300 items, priorities 0..4 in a scrambled pattern. */
    for (long i = 0; i < 300; i++) {
        long prio = (i * 7 + 3) % 5;
        CHECK_OK(crew_queue_put(q, P(prio * 1000 + i)));
    }
    long prev = -1;
    for (int i = 0; i < 300; i++) {
        void *x;
        CHECK_OK(crew_queue_get(q, &x));
        /* Non-decreasing priority, and within a priority increasing seq. */
        CHECK(I(x) > prev);
        prev = I(x);
    }
    CHECK_OK(crew_queue_destroy(q));
}

static void test_try_and_snapshots(void)
{
    crew_queue_kind kinds[] = {CREW_QUEUE_FIFO, CREW_QUEUE_LIFO, CREW_QUEUE_PRIORITY};
    for (int k = 0; k < 3; k++) {
        crew_queue *q = make(kinds[k], 3, by_tens);
        void *x = P(77);
        CHECK_EQ(crew_queue_maxsize(q), 3);
        CHECK(crew_queue_empty(q));
        CHECK(!crew_queue_full(q));
        CHECK_RC(crew_queue_try_get(q, &x), CREW_EEMPTY);
        CHECK_EQ(I(x), 77); /* untouched on error */
        CHECK_OK(crew_queue_try_put(q, P(10)));
        CHECK_OK(crew_queue_try_put(q, P(20)));
        CHECK_EQ(crew_queue_size(q), 2);
        CHECK(!crew_queue_full(q));
        CHECK_OK(crew_queue_try_put(q, P(30)));
        CHECK(crew_queue_full(q));
        CHECK_RC(crew_queue_try_put(q, P(40)), CREW_EFULL);
        CHECK_EQ(crew_queue_size(q), 3);
        CHECK_OK(crew_queue_try_get(q, &x));
        CHECK_EQ(I(x), kinds[k] == CREW_QUEUE_LIFO ? 30 : 10);
        CHECK(!crew_queue_full(q));
        CHECK(!crew_queue_is_shutdown(q));
        /* Wrap around the ring many times. */
        for (long i = 0; i < 1000; i++) {
            CHECK_OK(crew_queue_try_put(q, P(i)));
            CHECK_OK(crew_queue_try_get(q, &x));
        }
        CHECK_EQ(crew_queue_size(q), 2);
        CHECK_OK(crew_queue_destroy(q));
    }
    /* The smallest bounded FIFOs: 1 (locked store) and 2 (smallest ring). */
    for (size_t m = 1; m <= 2; m++) {
        crew_queue *q = make(CREW_QUEUE_FIFO, m, NULL);
        void *x;
        for (long lap = 0; lap < 10; lap++) {
            for (size_t i = 0; i < m; i++)
                CHECK_OK(crew_queue_try_put(q, P(lap * 10 + (long)i)));
            CHECK(crew_queue_full(q));
            CHECK_RC(crew_queue_try_put(q, P(99)), CREW_EFULL);
            for (size_t i = 0; i < m; i++) {
                CHECK_OK(crew_queue_try_get(q, &x));
                CHECK_EQ(I(x), lap * 10 + (long)i);
            }
            CHECK_RC(crew_queue_try_get(q, &x), CREW_EEMPTY);
        }
        CHECK_OK(crew_queue_destroy(q));
    }
    /* Unbounded: never full, grows. */
    crew_queue *q = make(CREW_QUEUE_FIFO, 0, NULL);
    for (long i = 0; i < 10000; i++)
        CHECK_OK(crew_queue_try_put(q, P(i)));
    CHECK_EQ(crew_queue_size(q), 10000);
    CHECK(!crew_queue_full(q));
    for (long i = 0; i < 10000; i++) {
        void *x;
        CHECK_OK(crew_queue_try_get(q, &x));
        CHECK_EQ(I(x), i);
    }
    CHECK_OK(crew_queue_destroy(q));
    /* A bounded FIFO too large for the preallocated ring still works. */
    q = make(CREW_QUEUE_FIFO, ((size_t)1 << 22) + 1, NULL);
    CHECK_OK(crew_queue_put(q, P(1)));
    CHECK_OK(crew_queue_put(q, P(2)));
    void *x;
    CHECK_OK(crew_queue_get(q, &x));
    CHECK_EQ(I(x), 1);
    CHECK_OK(crew_queue_destroy(q));
}

static void test_batch(void)
{
    crew_queue_kind kinds[] = {CREW_QUEUE_FIFO, CREW_QUEUE_LIFO, CREW_QUEUE_PRIORITY};
    for (int k = 0; k < 3; k++) {
        crew_queue *q = make(kinds[k], 5, by_tens);
        void *in[8], *out[8];
        size_t c = 99;
        for (int i = 0; i < 8; i++)
            in[i] = P((i + 1) * 10);
        /* As many as fit, in order. */
        CHECK_OK(crew_queue_try_put_many(q, in, 3, &c));
        CHECK_EQ(c, 3);
        CHECK_OK(crew_queue_put_many(q, in + 3, 5, &c));
        CHECK_EQ(c, 2);
        CHECK_EQ(crew_queue_size(q), 5);
        c = 99;
        CHECK_RC(crew_queue_try_put_many(q, in, 2, &c), CREW_EFULL);
        CHECK_EQ(c, 0);
        CHECK_RC(crew_queue_put_many_timed(q, in, 2, &c, 0), CREW_ETIMEDOUT);
        CHECK_EQ(c, 0);
        /* get_many takes up to n, in single-get order. */
        CHECK_OK(crew_queue_get_many(q, out, 2, &c));
        CHECK_EQ(c, 2);
        if (kinds[k] == CREW_QUEUE_LIFO) {
            CHECK_EQ(I(out[0]), 50);
            CHECK_EQ(I(out[1]), 40);
        } else {
            CHECK_EQ(I(out[0]), 10);
            CHECK_EQ(I(out[1]), 20);
        }
        CHECK_OK(crew_queue_try_get_many(q, out, 8, &c));
        CHECK_EQ(c, 3);
        if (kinds[k] == CREW_QUEUE_LIFO) {
            CHECK_EQ(I(out[0]), 30);
            CHECK_EQ(I(out[2]), 10);
        } else {
            CHECK_EQ(I(out[0]), 30);
            CHECK_EQ(I(out[2]), 50);
        }
        CHECK_RC(crew_queue_try_get_many(q, out, 8, &c), CREW_EEMPTY);
        CHECK_EQ(c, 0);
        CHECK_RC(crew_queue_get_many_timed(q, out, 8, &c, 0), CREW_ETIMEDOUT);
        /* Batch puts count for task_done like single puts. */
        for (int i = 0; i < 5; i++)
            CHECK_OK(crew_queue_task_done(q));
        CHECK_RC(crew_queue_task_done(q), CREW_ETOOMANY);
        CHECK_OK(crew_queue_join_timed(q, 0));
        CHECK_OK(crew_queue_destroy(q));
    }
    /* Unbounded: all of a batch goes in; a ring batch across wrap-around. */
    crew_queue *q = make(CREW_QUEUE_FIFO, 0, NULL);
    void *big[100];
    size_t c;
    for (int i = 0; i < 100; i++)
        big[i] = P(i);
    CHECK_OK(crew_queue_put_many(q, big, 100, &c));
    CHECK_EQ(c, 100);
    CHECK_OK(crew_queue_destroy(q));
    q = make(CREW_QUEUE_FIFO, 7, NULL);
    long next_in = 0, next_out = 0;
    for (int round = 0; round < 50; round++) {
        void *in[5], *out[5];
        for (int i = 0; i < 5; i++)
            in[i] = P(next_in + i);
        CHECK_OK(crew_queue_try_put_many(q, in, 5, &c));
        next_in += (long)c;
        CHECK_OK(crew_queue_try_get_many(q, out, 4, &c));
        for (size_t i = 0; i < c; i++)
            CHECK_EQ(I(out[i]), next_out++);
    }
    CHECK_OK(crew_queue_destroy(q));
}

static void test_task_done(void)
{
    size_t sizes[] = {0, 4};
    for (int s = 0; s < 2; s++) {
        crew_queue *q = make(CREW_QUEUE_FIFO, sizes[s], NULL);
        CHECK_OK(crew_queue_join(q)); /* nothing put: returns at once */
        CHECK_RC(crew_queue_task_done(q), CREW_ETOOMANY);
        CHECK_OK(crew_queue_put(q, P(1)));
        CHECK_OK(crew_queue_put(q, P(2)));
        CHECK_RC(crew_queue_join_timed(q, 0), CREW_ETIMEDOUT);
        CHECK_RC(crew_queue_join_until(q, crew_now_ns() - 1000), CREW_ETIMEDOUT);
        void *x;
        CHECK_OK(crew_queue_get(q, &x));
        CHECK_OK(crew_queue_task_done(q));
        CHECK_RC(crew_queue_join_timed(q, 0), CREW_ETIMEDOUT);
        /* As in Python, task_done need not follow a get. */
        CHECK_OK(crew_queue_task_done(q));
        CHECK_OK(crew_queue_join(q));
        CHECK_OK(crew_queue_join_until(q, 0));
        CHECK_RC(crew_queue_task_done(q), CREW_ETOOMANY);
        CHECK_OK(crew_queue_destroy(q));
    }
}

struct drops {
    int n;
    long seen[64];
};

static void record_drop(void *item, void *ctx)
{
    struct drops *d = ctx;
    if (d->n < 64)
        d->seen[d->n] = I(item);
    d->n++;
}

static void test_destroy_drops(void)
{
    crew_queue_kind kinds[] = {CREW_QUEUE_FIFO, CREW_QUEUE_FIFO, CREW_QUEUE_LIFO,
                               CREW_QUEUE_PRIORITY};
    size_t sizes[] = {16, 0, 0, 16};
    for (int k = 0; k < 4; k++) {
        struct drops d = {0, {0}};
        crew_queue_options o;
        crew_queue_options_init(&o);
        o.kind = kinds[k];
        o.maxsize = sizes[k];
        o.compare = by_tens;
        o.drop = record_drop;
        o.drop_ctx = &d;
        crew_queue *q;
        CHECK_OK(crew_queue_create(&q, &o));
        for (long i = 1; i <= 10; i++)
            CHECK_OK(crew_queue_put(q, P(i * 100)));
        void *x;
        CHECK_OK(crew_queue_get(q, &x));
        CHECK_OK(crew_queue_destroy(q));
        CHECK_EQ(d.n, 9);
        long sum = 0;
        for (int i = 0; i < d.n && i < 64; i++)
            sum += d.seen[i];
        CHECK_EQ(sum + I(x), 5500);
    }
}

int main(void)
{
    test_bad_args();
    test_orders();
    test_priority_stability();
    test_try_and_snapshots();
    test_batch();
    test_task_done();
    test_destroy_drops();
    return check_exit("test_queue_basic");
}
