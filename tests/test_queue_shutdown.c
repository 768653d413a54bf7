/* test_queue_shutdown.c - Python 3.13 shutdown semantics of crew_queue, with
 * threads blocked in put, get and join when it happens; the drop callback;
 * idempotence; and destroy refusing (CREW_EBUSY) while threads are blocked.
 *
 * "Blocked" is observed, not guessed: the test reads the queue's internal
 * count of threads inside a waiting path (src/queue_impl.h) and polls it
 * with a generous deadline. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "support.h"
#include "queue/queue_impl.h"

struct config {
    const char *name;
    crew_queue_kind kind;
    size_t maxsize;
};

static const struct config configs[] = {
    {"ring", CREW_QUEUE_FIFO, 4},
    {"ring-odd", CREW_QUEUE_FIFO, 5},
    {"lifo", CREW_QUEUE_LIFO, 4},
    {"priority", CREW_QUEUE_PRIORITY, 4},
    {"fifo-unbounded", CREW_QUEUE_FIFO, 0},
    {"fifo-one", CREW_QUEUE_FIFO, 1}, /* maxsize 1: the locked store */
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

/* Drop callback: records which items it saw (items are small numbers). */
struct drops {
    int n;
    int seen[256];
};

static void record_drop(void *item, void *ctx)
{
    struct drops *d = ctx;
    long i = I(item);
    if (i >= 0 && i < 256)
        d->seen[i]++;
    d->n++;
}

static crew_queue *make(const struct config *c, struct drops *d)
{
    crew_queue_options o;
    crew_queue_options_init(&o);
    o.kind = c->kind;
    o.maxsize = c->maxsize;
    o.compare = by_value;
    if (d) {
        memset(d, 0, sizeof *d);
        o.drop = record_drop;
        o.drop_ctx = d;
    }
    crew_queue *q = NULL;
    CHECK_OK(crew_queue_create(&q, &o));
    return q;
}

/* Waits (up to 10 s) until n threads are inside waiting paths of q. */
static void wait_blocked(crew_queue *q, unsigned n)
{
    POLL_NS(atomic_load(&q->blocked) == n, 10000 * MS);
    CHECK_EQ(atomic_load(&q->blocked), n);
}

enum op { OP_GET, OP_GET_TIMED, OP_GET_MANY, OP_PUT, OP_PUT_TIMED, OP_PUT_MANY, OP_JOIN,
          OP_JOIN_TIMED };

struct waiter {
    crew_queue *q;
    enum op op;
    long item;
    int rc;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    void *x = NULL, *arr[2] = {P(w->item), P(w->item + 1)};
    size_t cnt;
    switch (w->op) {
    case OP_GET: w->rc = crew_queue_get(w->q, &x); break;
    case OP_GET_TIMED: w->rc = crew_queue_get_timed(w->q, &x, 60000 * MS); break;
    case OP_GET_MANY: w->rc = crew_queue_get_many(w->q, arr, 2, &cnt); break;
    case OP_PUT: w->rc = crew_queue_put(w->q, P(w->item)); break;
    case OP_PUT_TIMED: w->rc = crew_queue_put_timed(w->q, P(w->item), 60000 * MS); break;
    case OP_PUT_MANY: w->rc = crew_queue_put_many(w->q, arr, 2, &cnt); break;
    case OP_JOIN: w->rc = crew_queue_join(w->q); break;
    case OP_JOIN_TIMED: w->rc = crew_queue_join_timed(w->q, 60000 * MS); break;
    }
    return NULL;
}

#define NW 3

static void start_waiters(pthread_t *t, struct waiter *w, crew_queue *q, const enum op *ops,
                          long first_item)
{
    for (int i = 0; i < NW; i++) {
        w[i].q = q;
        w[i].op = ops[i];
        w[i].item = first_item + 10 * i;
        w[i].rc = -999;
        CHECK_EQ(pthread_create(&t[i], NULL, waiter_main, &w[i]), 0);
    }
}

static void join_waiters(pthread_t *t, struct waiter *w, int want)
{
    for (int i = 0; i < NW; i++) {
        pthread_join(t[i], NULL);
        CHECK_RC(w[i].rc, want);
    }
}

/* Gets blocked on an empty queue all wake with CREW_ESHUTDOWN (plain and
 * immediate); puts and gets afterwards fail the Python way. */
static void test_blocked_getters(const struct config *c, bool immediate)
{
    static const enum op ops[NW] = {OP_GET, OP_GET_TIMED, OP_GET_MANY};
    struct drops d;
    crew_queue *q = make(c, &d);
    pthread_t t[NW];
    struct waiter w[NW];
    start_waiters(t, w, q, ops, 100);
    wait_blocked(q, NW);
    /* destroy refuses while they wait, and changes nothing */
    CHECK_RC(crew_queue_destroy(q), CREW_EBUSY);
    CHECK(!crew_queue_is_shutdown(q));
    CHECK_OK(crew_queue_shutdown(q, immediate));
    join_waiters(t, w, CREW_ESHUTDOWN);
    CHECK(crew_queue_is_shutdown(q));
    void *x = P(5);
    CHECK_RC(crew_queue_try_put(q, P(1)), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_put(q, P(1)), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_put_timed(q, P(1), 0), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_try_get(q, &x), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_get(q, &x), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_get_timed(q, &x, 10 * MS), CREW_ESHUTDOWN);
    CHECK_EQ(I(x), 5);
    CHECK_EQ(d.n, 0);
    CHECK_OK(crew_queue_join(q));
    CHECK_OK(crew_queue_destroy(q));
}

/* Puts blocked on a full queue all wake with CREW_ESHUTDOWN; their items
 * never entered the queue.  A plain shutdown leaves the queued items for
 * gets; an immediate one drops exactly them. */
static void test_blocked_putters(const struct config *c, bool immediate)
{
    static const enum op ops[NW] = {OP_PUT, OP_PUT_TIMED, OP_PUT_MANY};
    if (!c->maxsize)
        return;
    struct drops d;
    crew_queue *q = make(c, &d);
    for (size_t i = 0; i < c->maxsize; i++)
        CHECK_OK(crew_queue_put(q, P(i + 1)));
    pthread_t t[NW];
    struct waiter w[NW];
    start_waiters(t, w, q, ops, 100);
    wait_blocked(q, NW);
    CHECK_RC(crew_queue_destroy(q), CREW_EBUSY);
    CHECK_OK(crew_queue_shutdown(q, immediate));
    join_waiters(t, w, CREW_ESHUTDOWN);
    void *x;
    if (immediate) {
        CHECK_EQ(d.n, (int)c->maxsize);
        for (size_t i = 0; i < c->maxsize; i++)
            CHECK_EQ(d.seen[i + 1], 1);
        CHECK_EQ(crew_queue_size(q), 0);
        CHECK_RC(crew_queue_try_get(q, &x), CREW_ESHUTDOWN);
        /* dropped items count as done */
        CHECK_OK(crew_queue_join_timed(q, 0));
        CHECK_RC(crew_queue_task_done(q), CREW_ETOOMANY);
    } else {
        /* gets drain what was queued, then fail */
        CHECK_EQ(crew_queue_size(q), c->maxsize);
        long sum = 0;
        for (size_t i = 0; i < c->maxsize; i++) {
            CHECK_OK(crew_queue_get_timed(q, &x, 1000 * MS));
            sum += I(x);
        }
        CHECK_EQ(sum, (long)(c->maxsize * (c->maxsize + 1) / 2));
        CHECK_RC(crew_queue_get(q, &x), CREW_ESHUTDOWN);
        CHECK_RC(crew_queue_try_get(q, &x), CREW_ESHUTDOWN);
        CHECK_EQ(d.n, 0);
        /* a later immediate shutdown finds nothing left to drop */
        CHECK_OK(crew_queue_shutdown(q, true));
        CHECK_EQ(d.n, 0);
    }
    CHECK_OK(crew_queue_destroy(q));
    CHECK_EQ(d.n, immediate ? (int)c->maxsize : 0); /* destroy dropped nothing more */
}

/* Joiners: a plain shutdown does not end a join; an immediate one does
 * when every unfinished task was still queued. */
static void test_blocked_joiners(const struct config *c)
{
    static const enum op ops[NW] = {OP_JOIN, OP_JOIN_TIMED, OP_JOIN};
    struct drops d;
    crew_queue *q = make(c, &d);
    void *x;
    /* One item taken and not yet done, and nq still queued. */
    int nq = c->maxsize == 1 ? 1 : 2;
    CHECK_OK(crew_queue_put(q, P(1)));
    CHECK_OK(crew_queue_get(q, &x));
    for (int i = 0; i < nq; i++)
        CHECK_OK(crew_queue_put(q, P(2 + i)));
    pthread_t t[NW];
    struct waiter w[NW];
    start_waiters(t, w, q, ops, 0);
    wait_blocked(q, NW);
    CHECK_RC(crew_queue_destroy(q), CREW_EBUSY);
    CHECK_OK(crew_queue_shutdown(q, false));
    /* they woke, re-checked and sleep again */
    nap_ms(30);
    wait_blocked(q, NW);
    for (int i = 0; i < NW; i++)
        CHECK_EQ(w[i].rc, -999);
    CHECK_OK(crew_queue_shutdown(q, true));
    CHECK_EQ(d.n, nq);
    /* still one unfinished task: the joiners keep waiting */
    CHECK_RC(crew_queue_join_timed(q, 20 * MS), CREW_ETIMEDOUT);
    wait_blocked(q, NW);
    CHECK_OK(crew_queue_task_done(q));
    join_waiters(t, w, 0);
    CHECK_OK(crew_queue_destroy(q));
}

/* Immediate shutdown while getters drain concurrently: every item is
 * either gotten or dropped, exactly once. */
struct drainer {
    crew_queue *q;
    int got[256];
};

static void *drainer_main(void *arg)
{
    struct drainer *dr = arg;
    void *x;
    for (;;) {
        int rc = crew_queue_get(dr->q, &x);
        if (rc != 0) {
            CHECK_RC(rc, CREW_ESHUTDOWN);
            break;
        }
        dr->got[I(x)]++;
        crew_queue_task_done(dr->q);
    }
    return NULL;
}

static void test_immediate_race(const struct config *c)
{
    for (int round = 0; round < 20; round++) {
        struct drops d;
        crew_queue *q = make(c, &d);
        struct drainer dr[2];
        pthread_t t[2];
        memset(dr, 0, sizeof dr);
        int put = 0;
        for (int i = 0; i < 2; i++) {
            dr[i].q = q;
            CHECK_EQ(pthread_create(&t[i], NULL, drainer_main, &dr[i]), 0);
        }
        for (int i = 0; i < 200; i++) {
            if (crew_queue_put_timed(q, P(i), 1000 * MS) == 0)
                put++;
            if (i == 100 + round * 4)
                break;
        }
        CHECK_OK(crew_queue_shutdown(q, true));
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < put; i++)
            CHECK_EQ(dr[0].got[i] + dr[1].got[i] + d.seen[i], 1);
        CHECK_OK(crew_queue_join_timed(q, 1000 * MS));
        CHECK_OK(crew_queue_destroy(q));
    }
}

static void test_idempotent(const struct config *c)
{
    struct drops d;
    crew_queue *q = make(c, &d);
    int n = c->maxsize == 1 ? 1 : 2;
    for (int i = 1; i <= n; i++)
        CHECK_OK(crew_queue_put(q, P(i)));
    CHECK_OK(crew_queue_shutdown(q, false));
    CHECK_OK(crew_queue_shutdown(q, false));
    CHECK_EQ(crew_queue_size(q), n);
    CHECK_OK(crew_queue_shutdown(q, true)); /* still drops what is left */
    CHECK_EQ(d.n, n);
    CHECK_OK(crew_queue_shutdown(q, true));
    CHECK_EQ(d.n, n);
    CHECK(crew_queue_empty(q));
    CHECK_OK(crew_queue_join(q));
    size_t cnt = 9;
    void *arr[2] = {P(1), P(2)};
    CHECK_RC(crew_queue_put_many(q, arr, 2, &cnt), CREW_ESHUTDOWN);
    CHECK_EQ(cnt, 0);
    CHECK_RC(crew_queue_try_get_many(q, arr, 2, &cnt), CREW_ESHUTDOWN);
    CHECK_OK(crew_queue_destroy(q));
    CHECK_EQ(d.n, n);
}

/* destroy busy, then the queue still works and destroy succeeds later. */
static void test_destroy_busy(const struct config *c)
{
    crew_queue *q = make(c, NULL);
    pthread_t t;
    struct waiter w = {q, OP_GET, 0, -999};
    CHECK_EQ(pthread_create(&t, NULL, waiter_main, &w), 0);
    wait_blocked(q, 1);
    CHECK_RC(crew_queue_destroy(q), CREW_EBUSY);
    CHECK_OK(crew_queue_put(q, P(3)));
    pthread_join(t, NULL);
    CHECK_OK(w.rc);
    CHECK_OK(crew_queue_destroy(q));
}

int main(void)
{
    for (size_t i = 0; i < NCONFIGS; i++) {
        const struct config *c = &configs[i];
        test_blocked_getters(c, false);
        test_blocked_getters(c, true);
        test_blocked_putters(c, false);
        test_blocked_putters(c, true);
        test_blocked_joiners(c);
        test_immediate_race(c);
        test_idempotent(c);
        test_destroy_busy(c);
    }
    return check_exit("test_queue_shutdown");
}
