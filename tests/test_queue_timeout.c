/* test_queue_timeout.c - every timed and deadline path of crew_queue: put on
 * a full queue, get on an empty one, join with unfinished tasks; relative
 * timeouts of 0 and negative ones; until-forms with past deadlines; and the
 * waits that end because another thread acted (put, get, task_done).
 * Timing checks are lower bounds only ("a 50 ms wait did not return before
 * 45 ms").  Runs on the ring (bounded FIFO) and the locked kinds. */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "support.h"

struct config {
    const char *name;
    crew_queue_kind kind;
    size_t maxsize;
};

static const struct config configs[] = {
    {"ring", CREW_QUEUE_FIFO, 2},
    {"ring-odd", CREW_QUEUE_FIFO, 3},
    {"lifo", CREW_QUEUE_LIFO, 2},
    {"priority", CREW_QUEUE_PRIORITY, 2},
    {"fifo-unbounded", CREW_QUEUE_FIFO, 0},
    {"fifo-one", CREW_QUEUE_FIFO, 1}, /* maxsize 1: the locked store */
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

static crew_queue *make(const struct config *c)
{
    crew_queue_options o;
    crew_queue_options_init(&o);
    o.kind = c->kind;
    o.maxsize = c->maxsize;
    o.compare = by_value;
    crew_queue *q = NULL;
    CHECK_OK(crew_queue_create(&q, &o));
    return q;
}

static void fill(crew_queue *q)
{
    size_t n = crew_queue_maxsize(q);
    for (size_t i = 0; i < n; i++)
        CHECK_OK(crew_queue_try_put(q, P(i + 1)));
    CHECK(crew_queue_full(q));
}

/* ---- timeouts that expire ------------------------------------------------ */

static void test_put_timeouts(const struct config *c)
{
    if (!c->maxsize)
        return; /* an unbounded queue is never full */
    crew_queue *q = make(c);
    fill(q);
    size_t cnt = 7;
    void *two[2] = {P(91), P(92)};

    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_queue_put_timed(q, P(99), 50 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 45 * MS);
    CHECK_RC(crew_queue_put_timed(q, P(99), 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_put_until(q, P(99), crew_now_ns() - 1), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_put_until(q, P(99), 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_put_until(q, P(99), INT64_MIN), CREW_ETIMEDOUT);
    t0 = crew_now_ns();
    CHECK_RC(crew_queue_put_until(q, P(99), t0 + 30 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 27 * MS);
    t0 = crew_now_ns();
    CHECK_RC(crew_queue_put_many_timed(q, two, 2, &cnt, 30 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 27 * MS);
    CHECK_EQ(cnt, 0);
    t0 = crew_now_ns();
    CHECK_RC(crew_queue_put_many_until(q, two, 2, &cnt, t0 + 30 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 27 * MS);
    CHECK_RC(crew_queue_put_many_until(q, two, 2, &cnt, INT64_MIN), CREW_ETIMEDOUT);
    CHECK_EQ(cnt, 0);
    CHECK_RC(crew_queue_try_put(q, P(99)), CREW_EFULL);
    CHECK_EQ(crew_queue_size(q), c->maxsize);

    /* Not full: a past deadline still puts. */
    void *x;
    CHECK_OK(crew_queue_get(q, &x));
    CHECK_OK(crew_queue_put_until(q, P(5), 0));
    CHECK_OK(crew_queue_get(q, &x));
    CHECK_OK(crew_queue_put_timed(q, P(6), 0));
    CHECK_OK(crew_queue_destroy(q));
}

static void test_get_timeouts(const struct config *c)
{
    crew_queue *q = make(c);
    void *x = P(1234), *arr[3];
    size_t cnt = 7;
    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_queue_get_timed(q, &x, 50 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 45 * MS);
    CHECK_RC(crew_queue_get_timed(q, &x, 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_get_until(q, &x, crew_now_ns() - 1), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_get_until(q, &x, INT64_MIN), CREW_ETIMEDOUT);
    t0 = crew_now_ns();
    CHECK_RC(crew_queue_get_until(q, &x, t0 + 30 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 27 * MS);
    t0 = crew_now_ns();
    CHECK_RC(crew_queue_get_many_timed(q, arr, 3, &cnt, 30 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 27 * MS);
    CHECK_EQ(cnt, 0);
    t0 = crew_now_ns();
    CHECK_RC(crew_queue_get_many_until(q, arr, 3, &cnt, t0 + 30 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 27 * MS);
    CHECK_RC(crew_queue_get_many_until(q, arr, 3, &cnt, 0), CREW_ETIMEDOUT);
    CHECK_EQ(cnt, 0);
    /* With items, a past deadline still gets them. */
    CHECK_OK(crew_queue_put(q, P(3)));
    CHECK_OK(crew_queue_get_many_until(q, arr, 3, &cnt, 0));
    CHECK_EQ(cnt, 1);
    CHECK_EQ(I(arr[0]), 3);
    CHECK_OK(crew_queue_put_many_until(q, arr, 1, &cnt, INT64_MIN));
    CHECK_EQ(cnt, 1);
    CHECK_OK(crew_queue_get(q, &arr[1]));
    CHECK_EQ(I(arr[1]), 3);
    CHECK_EQ(I(x), 1234); /* untouched on error */
    /* With an item, a past deadline still gets it. */
    CHECK_OK(crew_queue_put(q, P(8)));
    CHECK_OK(crew_queue_get_until(q, &x, 0));
    CHECK_EQ(I(x), 8);
    CHECK_OK(crew_queue_put(q, P(9)));
    CHECK_OK(crew_queue_get_timed(q, &x, 0));
    CHECK_EQ(I(x), 9);
    CHECK_OK(crew_queue_destroy(q));
}

static void test_join_timeouts(const struct config *c)
{
    crew_queue *q = make(c);
    CHECK_OK(crew_queue_join_timed(q, 0));
    CHECK_OK(crew_queue_join_until(q, INT64_MIN));
    CHECK_OK(crew_queue_put(q, P(1)));
    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_queue_join_timed(q, 50 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 45 * MS);
    CHECK_RC(crew_queue_join_timed(q, 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_join_until(q, crew_now_ns() - 1), CREW_ETIMEDOUT);
    t0 = crew_now_ns();
    CHECK_RC(crew_queue_join_until(q, t0 + 30 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 27 * MS);
    CHECK_OK(crew_queue_task_done(q));
    CHECK_OK(crew_queue_join_timed(q, 0));
    CHECK_OK(crew_queue_destroy(q));
}

/* ---- waits that another thread ends -------------------------------------- */

struct helper {
    crew_queue *q;
    long delay_ms;
    int what; /* 0 put, 1 get, 2 task_done */
    int rc;
};

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    nap_ms(h->delay_ms);
    void *x;
    if (h->what == 0)
        h->rc = crew_queue_put(h->q, P(42));
    else if (h->what == 1)
        h->rc = crew_queue_get(h->q, &x);
    else
        h->rc = crew_queue_task_done(h->q);
    return NULL;
}

static void start(pthread_t *t, struct helper *h, crew_queue *q, int what)
{
    h->q = q;
    h->delay_ms = 20;
    h->what = what;
    h->rc = -999;
    CHECK_EQ(pthread_create(t, NULL, helper_main, h), 0);
}

static void test_waits_end(const struct config *c)
{
    crew_queue *q = make(c);
    pthread_t t;
    struct helper h;
    void *x = NULL;

    /* get_timed woken by a put. */
    start(&t, &h, q, 0);
    CHECK_OK(crew_queue_get_timed(q, &x, 10000 * MS));
    CHECK_EQ(I(x), 42);
    pthread_join(t, NULL);
    CHECK_OK(h.rc);

    /* get_until woken by a put. */
    start(&t, &h, q, 0);
    CHECK_OK(crew_queue_get_until(q, &x, crew_now_ns() + 10000 * MS));
    pthread_join(t, NULL);

    /* blocking get_many woken by a put. */
    void *arr[4];
    size_t cnt = 0;
    start(&t, &h, q, 0);
    CHECK_OK(crew_queue_get_many(q, arr, 4, &cnt));
    CHECK_EQ(cnt, 1);
    pthread_join(t, NULL);

    if (c->maxsize) {
        /* put_timed / put / put_many woken by a get. */
        fill(q);
        start(&t, &h, q, 1);
        CHECK_OK(crew_queue_put_timed(q, P(7), 10000 * MS));
        pthread_join(t, NULL);
        CHECK_OK(h.rc);
        start(&t, &h, q, 1);
        CHECK_OK(crew_queue_put(q, P(8)));
        pthread_join(t, NULL);
        void *two[2] = {P(9), P(10)};
        start(&t, &h, q, 1);
        CHECK_OK(crew_queue_put_many_timed(q, two, 2, &cnt, 10000 * MS));
        CHECK_EQ(cnt, 1); /* one slot was freed */
        pthread_join(t, NULL);
        while (crew_queue_try_get(q, &x) == 0) {
        }
    }

    /* join woken by task_done: every put so far still unfinished; mark all
     * but one done here, the helper does the last. */
    for (;;) {
        int rc = crew_queue_task_done(q);
        if (rc == CREW_ETOOMANY)
            break;
        CHECK_OK(rc);
    }
    CHECK_OK(crew_queue_put(q, P(1)));
    CHECK_OK(crew_queue_get(q, &x));
    start(&t, &h, q, 2);
    CHECK_OK(crew_queue_join_timed(q, 10000 * MS));
    pthread_join(t, NULL);
    CHECK_OK(h.rc);
    CHECK_OK(crew_queue_destroy(q));
}

int main(void)
{
    for (size_t i = 0; i < NCONFIGS; i++) {
        test_put_timeouts(&configs[i]);
        test_get_timeouts(&configs[i]);
        test_join_timeouts(&configs[i]);
        test_waits_end(&configs[i]);
    }
    return check_exit("test_queue_timeout");
}
