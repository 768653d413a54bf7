/* test_queue_maxsize.c - Python 3.13's mutable maxsize, readable
 * unfinished_tasks and order of checks for a negative timeout, on every kind
 * of crew_queue:
 *
 *   - growing maxsize wakes every blocked putter that now fits (not one);
 *   - shrinking below the size keeps every item; puts wait or fail until the
 *     size is under the new bound;
 *   - 0 makes a queue unbounded (wakes all blocked putters); unbounded to
 *     bounded works too; on a shut-down queue the value is recorded;
 *   - the ring (bounded FIFO of 2..2^22 slots) changes its bound in place
 *     up to its size, and moves to the locked store above it or at 0, with
 *     threads blocked in put or get at that moment;
 *   - crew_queue_unfinished_tasks through put, get, task_done, join,
 *     immediate shutdown and a ring's move;
 *   - put_timed/get_timed/put_many_timed/get_many_timed with a negative
 *     timeout answer in Python's order (shutdown, boundedness, timeout);
 *   - a race: producers and consumers blocked on both sides while another
 *     thread keeps changing maxsize (and moves the ring partway through);
 *     every item comes out exactly once, in order per producer for FIFOs.
 *     Counts: test_queue_maxsize [producers consumers items-per-producer].
 *
 * "Blocked" is observed through the queue's count of threads inside a
 * waiting path (src/queue/queue_impl.h), polled with a generous deadline.
 * No check depends on how long anything took. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "support.h"
#include "queue/queue_impl.h"

struct config {
    const char *name;
    crew_queue_kind kind;
    size_t maxsize;
};

static const struct config configs[] = {
    {"ring", CREW_QUEUE_FIFO, 8},
    {"ring-odd", CREW_QUEUE_FIFO, 7},
    {"lifo", CREW_QUEUE_LIFO, 8},
    {"priority", CREW_QUEUE_PRIORITY, 8},
    {"fifo-unbounded", CREW_QUEUE_FIFO, 0},
    {"fifo-one", CREW_QUEUE_FIFO, 1}, /* maxsize 1: the locked store */
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

static const struct config *cur; /* for messages */

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

static bool is_ring(crew_queue *q)
{
    return atomic_load(&q->ring_impl);
}

/* Waits (up to 10 s) until n threads are inside waiting paths of q. */
static void wait_blocked(crew_queue *q, unsigned n)
{
    POLL_NS(atomic_load(&q->blocked) == n, 10000 * MS);
    if (atomic_load(&q->blocked) != n)
        fprintf(stderr, "config %s: %u blocked, expected %u\n", cur->name,
                atomic_load(&q->blocked), n);
    CHECK_EQ(atomic_load(&q->blocked), n);
}

/* Takes everything with try_get into out (up to cap), returns the count. */
static size_t drain(crew_queue *q, long *out, size_t cap)
{
    size_t n = 0;
    void *x;
    while (crew_queue_try_get(q, &x) == 0) {
        if (n < cap)
            out[n] = I(x);
        n++;
    }
    return n;
}

/* ---- threads that put or get once ---------------------------------------- */

enum op { OP_PUT, OP_PUT_TIMED, OP_PUT_UNTIL, OP_PUT_MANY, OP_GET, OP_GET_TIMED, OP_GET_MANY };

struct one {
    crew_queue *q;
    enum op op;
    long item;
    long got;
    atomic_int done;
    int rc;
};

static void *one_main(void *arg)
{
    struct one *w = arg;
    void *x = NULL, *arr[1] = {P(w->item)};
    size_t cnt = 0;
    switch (w->op) {
    case OP_PUT: w->rc = crew_queue_put(w->q, P(w->item)); break;
    case OP_PUT_TIMED: w->rc = crew_queue_put_timed(w->q, P(w->item), 60000 * MS); break;
    case OP_PUT_UNTIL:
        w->rc = crew_queue_put_until(w->q, P(w->item), crew_now_ns() + 60000 * MS);
        break;
    case OP_PUT_MANY:
        w->rc = crew_queue_put_many(w->q, arr, 1, &cnt);
        if (w->rc == 0 && cnt != 1)
            w->rc = -998;
        break;
    case OP_GET: w->rc = crew_queue_get(w->q, &x); break;
    case OP_GET_TIMED: w->rc = crew_queue_get_timed(w->q, &x, 60000 * MS); break;
    case OP_GET_MANY:
        w->rc = crew_queue_get_many(w->q, arr, 1, &cnt);
        x = arr[0];
        break;
    }
    w->got = I(x);
    atomic_store(&w->done, 1);
    return NULL;
}

#define NT 4

static void start(pthread_t *t, struct one *w, crew_queue *q, int i, enum op op, long item)
{
    w[i].q = q;
    w[i].op = op;
    w[i].item = item;
    w[i].got = -1;
    w[i].rc = -999;
    atomic_store(&w[i].done, 0);
    CHECK_EQ(pthread_create(&t[i], NULL, one_main, &w[i]), 0);
}

static int count_done(struct one *w, int n)
{
    int d = 0;
    for (int i = 0; i < n; i++)
        d += atomic_load(&w[i].done);
    return d;
}

/* Starts NT putters (every blocking form) of items 101..104 on a full q. */
static void start_putters(pthread_t *t, struct one *w, crew_queue *q)
{
    static const enum op ops[NT] = {OP_PUT, OP_PUT_TIMED, OP_PUT_UNTIL, OP_PUT_MANY};
    for (int i = 0; i < NT; i++)
        start(t, w, q, i, ops[i], 101 + i);
}

/* Fills q with 1..m (m = its maxsize) and checks it is full. */
static void fill(crew_queue *q)
{
    size_t m = crew_queue_maxsize(q);
    for (size_t i = 0; i < m; i++)
        CHECK_OK(crew_queue_try_put(q, P(i + 1)));
    CHECK(crew_queue_full(q));
    CHECK_RC(crew_queue_try_put(q, P(999)), CREW_EFULL);
}

/* Every value 1..m and 101..100+k exactly once among vals[0..n). */
static void check_items(const long *vals, size_t n, size_t m, int k)
{
    CHECK_EQ(n, m + (size_t)k);
    int seen[256] = {0};
    for (size_t i = 0; i < n && i < 256; i++)
        if (vals[i] >= 0 && vals[i] < 256)
            seen[vals[i]]++;
    for (size_t i = 1; i <= m; i++)
        CHECK_EQ(seen[i], 1);
    for (int i = 0; i < k; i++)
        CHECK_EQ(seen[101 + i], 1);
}

/* ---- growing ------------------------------------------------------------- */

/* NT putters blocked on a full queue of bound m.  Growing by 2 lets exactly
 * two in, and the other two stay blocked; growing by 2 more lets both in,
 * without any get in between (a wake of one putter per change would leave
 * some asleep).  For a ring, m is below its size so the bound changes in
 * place; `beyond` grows past the ring's size instead (the move). */
static void test_grow(const struct config *c, bool beyond)
{
    crew_queue *q = make(c);
    bool ring = is_ring(q);
    if (beyond && !ring) {
        CHECK_OK(crew_queue_destroy(q));
        return;
    }
    size_t m = ring && !beyond ? 3 : c->maxsize ? c->maxsize : 3;
    CHECK_OK(crew_queue_set_maxsize(q, m)); /* unbounded -> bounded too */
    CHECK_EQ(crew_queue_maxsize(q), m);
    fill(q);
    pthread_t t[NT];
    struct one w[NT];
    start_putters(t, w, q);
    wait_blocked(q, NT);
    CHECK_EQ(count_done(w, NT), 0);

    CHECK_OK(crew_queue_set_maxsize(q, m + 2));
    POLL(count_done(w, NT) == 2);
    CHECK_EQ(count_done(w, NT), 2);
    wait_blocked(q, 2);
    nap_ms(10); /* the two others must stay out: the queue is full again */
    CHECK_EQ(count_done(w, NT), 2);
    CHECK_EQ(crew_queue_size(q), m + 2);
    CHECK(crew_queue_full(q));
    CHECK_EQ(is_ring(q), ring && !beyond); /* within the ring's size: no move */

    size_t grown = beyond ? (size_t)c->maxsize * 4 : m + 4;
    CHECK_OK(crew_queue_set_maxsize(q, grown));
    POLL(count_done(w, NT) == NT);
    CHECK_EQ(count_done(w, NT), NT);
    for (int i = 0; i < NT; i++) {
        pthread_join(t[i], NULL);
        CHECK_OK(w[i].rc);
    }
    CHECK_EQ(crew_queue_size(q), m + NT);
    CHECK_EQ(crew_queue_maxsize(q), grown);
    CHECK_EQ(crew_queue_full(q), grown == m + NT);
    if (beyond)
        CHECK(!is_ring(q)); /* moved for good */
    long vals[64];
    size_t n = drain(q, vals, 64);
    check_items(vals, n, m, NT);
    if (c->kind == CREW_QUEUE_FIFO) /* the items queued first still lead */
        for (size_t i = 0; i < m; i++)
            CHECK_EQ(vals[i], (long)i + 1);
    CHECK_EQ(crew_queue_unfinished_tasks(q), m + NT);
    CHECK_OK(crew_queue_destroy(q));
}

/* ---- shrinking ----------------------------------------------------------- */

/* A queue holding 6 items shrunk to 2 keeps all 6; puts fail (try_, timed)
 * or wait (blocking) until the size is below 2; a blocked putter goes in
 * only then.  Nothing else moves: the items come out as the kind says. */
static void test_shrink(const struct config *c)
{
    crew_queue *q = make(c);
    bool ring = is_ring(q);
    if (c->maxsize && c->maxsize < 6)
        CHECK_OK(crew_queue_set_maxsize(q, 6)); /* fifo-one: grow first */
    for (long i = 1; i <= 6; i++)
        CHECK_OK(crew_queue_put(q, P(i)));
    CHECK_OK(crew_queue_set_maxsize(q, 2));
    CHECK_EQ(is_ring(q), ring && c->maxsize >= 6);
    CHECK_EQ(crew_queue_size(q), 6);
    CHECK(crew_queue_full(q));
    void *two[2] = {P(90), P(91)};
    size_t cnt = 7;
    CHECK_RC(crew_queue_try_put(q, P(99)), CREW_EFULL);
    CHECK_RC(crew_queue_put_timed(q, P(99), 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_put_timed(q, P(99), 2 * MS), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_put_until(q, P(99), 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_queue_try_put_many(q, two, 2, &cnt), CREW_EFULL);
    CHECK_EQ(cnt, 0);

    pthread_t t[1];
    struct one w[1];
    start(t, w, q, 0, OP_PUT, 101);
    wait_blocked(q, 1);
    long got[16];
    size_t ng = 0;
    void *x;
    for (int i = 0; i < 4; i++) { /* 6 -> 2 items: still not below 2 */
        CHECK_OK(crew_queue_get(q, &x));
        got[ng++] = I(x);
    }
    nap_ms(10);
    CHECK_EQ(atomic_load(&w[0].done), 0);
    CHECK_EQ(crew_queue_size(q), 2);
    CHECK_RC(crew_queue_try_put(q, P(99)), CREW_EFULL);
    CHECK_OK(crew_queue_get(q, &x)); /* 1 item: the putter goes in */
    got[ng++] = I(x);
    pthread_join(t[0], NULL);
    CHECK_OK(w[0].rc);
    CHECK_EQ(crew_queue_size(q), 2);
    CHECK_RC(crew_queue_try_put(q, P(99)), CREW_EFULL);
    CHECK_OK(crew_queue_get(q, &x));
    got[ng++] = I(x);
    CHECK_OK(crew_queue_try_put_many(q, two, 2, &cnt)); /* room for one */
    CHECK_EQ(cnt, 1);
    ng += drain(q, got + ng, 16 - ng);
    CHECK_EQ(ng, 8);
    if (c->kind == CREW_QUEUE_FIFO) {
        static const long want[8] = {1, 2, 3, 4, 5, 6, 101, 90};
        for (int i = 0; i < 8; i++)
            CHECK_EQ(got[i], want[i]);
    } else if (c->kind == CREW_QUEUE_PRIORITY) {
        for (int i = 0; i < 5; i++)
            CHECK_EQ(got[i], i + 1);
    } else { /* LIFO: 6 5 4 3, then 2, then 101 on top of 1 */
        static const long want[8] = {6, 5, 4, 3, 2, 101, 90, 1};
        for (int i = 0; i < 8; i++)
            CHECK_EQ(got[i], want[i]);
    }
    CHECK_EQ(crew_queue_unfinished_tasks(q), 8);
    CHECK_OK(crew_queue_destroy(q));
}

/* ---- 0: unbounded -------------------------------------------------------- */

/* Blocked putters on a full queue all go in when maxsize becomes 0; the
 * queue then takes any number of items; bounding it again works. */
static void test_zero(const struct config *c)
{
    crew_queue *q = make(c);
    size_t m = c->maxsize ? c->maxsize : 2;
    CHECK_OK(crew_queue_set_maxsize(q, m));
    fill(q);
    pthread_t t[NT];
    struct one w[NT];
    start_putters(t, w, q);
    wait_blocked(q, NT);
    CHECK_OK(crew_queue_set_maxsize(q, 0));
    for (int i = 0; i < NT; i++) {
        pthread_join(t[i], NULL);
        CHECK_OK(w[i].rc);
    }
    CHECK(!is_ring(q));
    CHECK_EQ(crew_queue_maxsize(q), 0);
    CHECK(!crew_queue_full(q));
    for (long i = 0; i < 100; i++)
        CHECK_OK(crew_queue_try_put(q, P(150 + i)));
    CHECK_EQ(crew_queue_size(q), m + NT + 100);
    CHECK(!crew_queue_full(q));
    /* Bounded again, far below the size: full until drained below it. */
    CHECK_OK(crew_queue_set_maxsize(q, 5));
    CHECK(crew_queue_full(q));
    CHECK_RC(crew_queue_try_put(q, P(99)), CREW_EFULL);
    long vals[256];
    size_t n = drain(q, vals, 256);
    CHECK_EQ(n, m + NT + 100);
    if (c->kind == CREW_QUEUE_FIFO) {
        for (size_t i = 0; i < m; i++)
            CHECK_EQ(vals[i], (long)i + 1);
        for (size_t i = 0; i < 100; i++)
            CHECK_EQ(vals[m + NT + i], 150 + (long)i);
    }
    int seen[256] = {0};
    for (size_t i = 0; i < n && i < 256; i++)
        if (vals[i] >= 0 && vals[i] < 256)
            seen[vals[i]]++;
    for (int v = 0; v < 256; v++)
        CHECK_EQ(seen[v], (v >= 1 && v <= (int)m) || (v >= 101 && v < 101 + NT) ||
                                  (v >= 150 && v < 250));
    CHECK_OK(crew_queue_try_put(q, P(1)));
    CHECK_EQ(crew_queue_unfinished_tasks(q), m + NT + 100 + 1);
    CHECK_OK(crew_queue_destroy(q));
}

/* A ring moved to the locked store while getters wait on it (empty): they
 * get the items put afterwards; while putters wait on it (full): they go
 * in.  The unfinished count continues across the move. */
static void test_move_blocked(const struct config *c)
{
    crew_queue *q = make(c);
    if (!is_ring(q)) {
        CHECK_OK(crew_queue_destroy(q));
        return;
    }
    static const enum op gops[3] = {OP_GET, OP_GET_TIMED, OP_GET_MANY};
    pthread_t t[NT];
    struct one w[NT];
    CHECK_OK(crew_queue_put(q, P(7)));
    void *x;
    CHECK_OK(crew_queue_get(q, &x));
    CHECK_OK(crew_queue_task_done(q));
    CHECK_OK(crew_queue_put(q, P(8))); /* unfinished: 1 */
    CHECK_OK(crew_queue_get(q, &x));
    for (int i = 0; i < 3; i++)
        start(t, w, q, i, gops[i], 0);
    wait_blocked(q, 3);
    CHECK_OK(crew_queue_set_maxsize(q, 0));
    CHECK(!is_ring(q));
    CHECK_EQ(crew_queue_unfinished_tasks(q), 1);
    for (long i = 0; i < 3; i++)
        CHECK_OK(crew_queue_put(q, P(201 + i)));
    int seen[3] = {0};
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK_OK(w[i].rc);
        if (w[i].got >= 201 && w[i].got <= 203)
            seen[w[i].got - 201]++;
    }
    for (int i = 0; i < 3; i++)
        CHECK_EQ(seen[i], 1);
    CHECK_EQ(crew_queue_unfinished_tasks(q), 4);
    CHECK_OK(crew_queue_destroy(q));

    /* Full ring, putters blocked, moved by a bound above its size. */
    q = make(c);
    fill(q);
    start_putters(t, w, q);
    wait_blocked(q, NT);
    CHECK_EQ(crew_queue_unfinished_tasks(q), c->maxsize);
    CHECK_OK(crew_queue_set_maxsize(q, c->maxsize + NT));
    for (int i = 0; i < NT; i++) {
        pthread_join(t[i], NULL);
        CHECK_OK(w[i].rc);
    }
    CHECK(!is_ring(q));
    CHECK(crew_queue_full(q));
    CHECK_EQ(crew_queue_unfinished_tasks(q), c->maxsize + NT);
    long vals[64];
    size_t n = drain(q, vals, 64);
    check_items(vals, n, c->maxsize, NT);
    for (size_t i = 0; i < c->maxsize; i++)
        CHECK_EQ(vals[i], (long)i + 1);
    /* Later bounds within the old size keep the locked store. */
    CHECK_OK(crew_queue_set_maxsize(q, 2));
    CHECK(!is_ring(q));
    CHECK_OK(crew_queue_try_put(q, P(1)));
    CHECK_OK(crew_queue_try_put(q, P(2)));
    CHECK_RC(crew_queue_try_put(q, P(3)), CREW_EFULL);
    CHECK_OK(crew_queue_destroy(q));
}

/* ---- shut down ----------------------------------------------------------- */

/* Python: setting maxsize on a shut-down queue works (the attribute is
 * set); puts keep raising ShutDown, gets drain what is left. */
static void test_shutdown(const struct config *c, bool immediate)
{
    crew_queue *q = make(c);
    bool ring = is_ring(q);
    CHECK_OK(crew_queue_put(q, P(1)));
    CHECK_OK(crew_queue_shutdown(q, immediate));
    static const size_t values[] = {0, 1, 3, 1000, 0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        CHECK_OK(crew_queue_set_maxsize(q, values[i]));
        CHECK_EQ(crew_queue_maxsize(q), values[i]);
        CHECK_EQ(crew_queue_full(q), !immediate && values[i] == 1);
        CHECK_RC(crew_queue_try_put(q, P(2)), CREW_ESHUTDOWN);
        CHECK_RC(crew_queue_put(q, P(2)), CREW_ESHUTDOWN);
    }
    CHECK_EQ(is_ring(q), ring); /* a shut-down ring never moves */
    void *x = NULL;
    if (!immediate) {
        CHECK_OK(crew_queue_get(q, &x));
        CHECK_EQ(I(x), 1);
    }
    CHECK_RC(crew_queue_get(q, &x), CREW_ESHUTDOWN);
    CHECK_EQ(crew_queue_unfinished_tasks(q), immediate ? 0 : 1);
    CHECK_OK(crew_queue_destroy(q));
}

/* ---- unfinished_tasks ---------------------------------------------------- */

struct finisher {
    crew_queue *q;
    int n;
    int rc;
};

static void *finisher_main(void *arg)
{
    struct finisher *f = arg;
    f->rc = 0;
    for (int i = 0; i < f->n; i++) {
        void *x;
        int rc = crew_queue_get(f->q, &x);
        if (rc == 0)
            rc = crew_queue_task_done(f->q);
        if (rc != 0)
            f->rc = rc;
    }
    return NULL;
}

static void test_unfinished(const struct config *c)
{
    crew_queue *q = make(c);
    CHECK_EQ(crew_queue_unfinished_tasks(q), 0);
    CHECK_RC(crew_queue_task_done(q), CREW_ETOOMANY);
    CHECK_EQ(crew_queue_unfinished_tasks(q), 0);
    void *x;
    CHECK_OK(crew_queue_put(q, P(1)));
    CHECK_EQ(crew_queue_unfinished_tasks(q), 1);
    CHECK_OK(crew_queue_get(q, &x));
    CHECK_EQ(crew_queue_unfinished_tasks(q), 1); /* a get does not finish it */
    CHECK_OK(crew_queue_task_done(q));
    CHECK_EQ(crew_queue_unfinished_tasks(q), 0);
    CHECK_RC(crew_queue_try_put(q, P(2)), 0);
    CHECK_RC(crew_queue_put_timed(q, P(3), 0), c->maxsize == 1 ? CREW_ETIMEDOUT : 0);
    size_t want = c->maxsize == 1 ? 1 : 2;
    CHECK_EQ(crew_queue_unfinished_tasks(q), want);
    CHECK_RC(crew_queue_try_put(q, P(4)), c->maxsize && c->maxsize <= want ? CREW_EFULL : 0);
    if (!(c->maxsize && c->maxsize <= want))
        want++;
    CHECK_EQ(crew_queue_unfinished_tasks(q), want);
    /* join returns once another thread has finished them all. */
    CHECK_RC(crew_queue_join_timed(q, 0), CREW_ETIMEDOUT);
    struct finisher f = {q, (int)want, -999};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, finisher_main, &f), 0);
    CHECK_OK(crew_queue_join(q));
    CHECK_EQ(crew_queue_unfinished_tasks(q), 0);
    pthread_join(t, NULL);
    CHECK_OK(f.rc);
    /* An immediate shutdown counts the items it drops as done. */
    CHECK_OK(crew_queue_set_maxsize(q, 0));
    for (long i = 0; i < 5; i++)
        CHECK_OK(crew_queue_put(q, P(10 + i)));
    CHECK_OK(crew_queue_get(q, &x));
    CHECK_EQ(crew_queue_unfinished_tasks(q), 5);
    CHECK_OK(crew_queue_shutdown(q, true));
    CHECK_EQ(crew_queue_unfinished_tasks(q), 1); /* the one gotten */
    CHECK_OK(crew_queue_task_done(q));
    CHECK_EQ(crew_queue_unfinished_tasks(q), 0);
    CHECK_OK(crew_queue_destroy(q));
}

/* ---- negative timeouts: Python's order of checks ------------------------- */

static void test_negative_timeout(const struct config *c, bool moved)
{
    crew_queue *q = make(c);
    if (moved) { /* a ring moved to the locked store, bounded again */
        if (!is_ring(q)) {
            CHECK_OK(crew_queue_destroy(q));
            return;
        }
        CHECK_OK(crew_queue_set_maxsize(q, c->maxsize * 2));
        CHECK(!is_ring(q));
    }
    bool bounded = crew_queue_maxsize(q) > 0;
    void *x = P(77), *arr[3] = {P(1), P(2), P(3)};
    size_t cnt = 7;

    /* Live and empty.  put: EINVAL on a bounded queue even with room;
     * an unbounded one takes the item (Python never looks at the timeout). */
    CHECK_RC(crew_queue_put_timed(q, P(5), -1), bounded ? CREW_EINVAL : 0);
    CHECK_RC(crew_queue_put_many_timed(q, arr, 3, &cnt, -1), bounded ? CREW_EINVAL : 0);
    CHECK_EQ(cnt, bounded ? 0 : 3);
    CHECK_EQ(crew_queue_size(q), bounded ? 0 : 4);
    while (crew_queue_try_get(q, &x) == 0) {
    }
    x = P(77);
    CHECK_RC(crew_queue_get_timed(q, &x, -1), CREW_EINVAL);
    CHECK_RC(crew_queue_get_many_timed(q, arr, 3, &cnt, INT64_MIN), CREW_EINVAL);
    CHECK_EQ(cnt, 0);
    /* With an item queued: get still rejects the timeout, item stays. */
    CHECK_OK(crew_queue_put(q, P(6)));
    CHECK_RC(crew_queue_get_timed(q, &x, -1), CREW_EINVAL);
    CHECK_RC(crew_queue_get_many_timed(q, arr, 3, &cnt, -1), CREW_EINVAL);
    CHECK_EQ(I(x), 77);
    CHECK_EQ(crew_queue_size(q), 1);
    /* Argument errors come first, whatever the state. */
    CHECK_RC(crew_queue_get_timed(q, NULL, -1), CREW_EINVAL);
    CHECK_RC(crew_queue_put_many_timed(q, NULL, 1, &cnt, -1), CREW_EINVAL);
    CHECK_RC(crew_queue_put_many_timed(q, arr, 0, &cnt, -1), CREW_EINVAL);
    CHECK_RC(crew_queue_get_many_timed(q, arr, 3, NULL, -1), CREW_EINVAL);
    CHECK_RC(crew_queue_put_timed(NULL, P(1), -1), CREW_EINVAL);
    CHECK_RC(crew_queue_get_timed(NULL, &x, -1), CREW_EINVAL);

    /* Shut down with an item: puts say ShutDown before the timeout; gets
     * reject it (not empty yet). */
    CHECK_OK(crew_queue_shutdown(q, false));
    CHECK_RC(crew_queue_put_timed(q, P(5), -1), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_put_many_timed(q, arr, 3, &cnt, -1), CREW_ESHUTDOWN);
    CHECK_EQ(cnt, 0);
    CHECK_RC(crew_queue_get_timed(q, &x, -1), CREW_EINVAL);
    CHECK_RC(crew_queue_get_many_timed(q, arr, 3, &cnt, -1), CREW_EINVAL);
    CHECK_EQ(crew_queue_size(q), 1);
    /* Shut down and empty: ShutDown first. */
    CHECK_OK(crew_queue_get(q, &x));
    CHECK_EQ(I(x), 6);
    CHECK_RC(crew_queue_get_timed(q, &x, -1), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_get_many_timed(q, arr, 3, &cnt, -5), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_get_timed(q, NULL, -1), CREW_EINVAL);
    CHECK_RC(crew_queue_join_timed(q, -1), CREW_EINVAL); /* no timeout in Python */
    /* The until forms have no invalid deadline: a past one is one try. */
    CHECK_RC(crew_queue_put_until(q, P(5), INT64_MIN), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_get_until(q, &x, INT64_MIN), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_put_many_until(q, arr, 3, &cnt, INT64_MIN), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_get_many_until(q, arr, 3, &cnt, INT64_MIN), CREW_ESHUTDOWN);
    CHECK_OK(crew_queue_destroy(q));

    /* Immediate shutdown with items: empty at once, so ShutDown. */
    q = make(c);
    CHECK_OK(crew_queue_put(q, P(1)));
    CHECK_OK(crew_queue_shutdown(q, true));
    CHECK_RC(crew_queue_get_timed(q, &x, -1), CREW_ESHUTDOWN);
    CHECK_RC(crew_queue_put_timed(q, P(1), -1), CREW_ESHUTDOWN);
    CHECK_OK(crew_queue_destroy(q));

    /* until forms on a live unbounded queue: a past deadline still puts. */
    if (!bounded) {
        q = make(c);
        CHECK_OK(crew_queue_put_until(q, P(1), INT64_MIN));
        CHECK_OK(crew_queue_put_many_until(q, arr, 3, &cnt, INT64_MIN));
        CHECK_EQ(cnt, 3);
        CHECK_EQ(crew_queue_size(q), 4);
        CHECK_OK(crew_queue_destroy(q));
    }
}

/* ---- the race ------------------------------------------------------------ */

static long RP = 3, RC = 3, RN = 3000;

struct race {
    crew_queue *q;
    const struct config *c;
    atomic_int producers_left;
    atomic_int stop_changer;
    atomic_uchar *seen; /* RP * RN counters */
};

struct prod {
    struct race *r;
    long id;
    int rc;
};

struct cons {
    struct race *r;
    long *last; /* RP entries: the last sequence number seen per producer */
    long got;
    int rc;
    bool fifo_ok;
};

#define ITEM_OF(p, i) ((p) * RN + (i) + 1)

static void *race_prod(void *arg)
{
    struct prod *p = arg;
    crew_queue *q = p->r->q;
    p->rc = 0;
    long i = 0;
    unsigned form = (unsigned)p->id;
    while (i < RN) {
        int rc;
        size_t cnt = 1;
        switch (form++ % 4) {
        case 0: rc = crew_queue_put(q, P(ITEM_OF(p->id, i))); break;
        case 1: /* short timeouts: they expire now and then, and retry */
            rc = crew_queue_put_timed(q, P(ITEM_OF(p->id, i)), 200000);
            break;
        case 2: rc = crew_queue_try_put(q, P(ITEM_OF(p->id, i))); break;
        default: {
            void *arr[3];
            size_t n = (size_t)(RN - i < 3 ? RN - i : 3);
            for (size_t k = 0; k < n; k++)
                arr[k] = P(ITEM_OF(p->id, i + (long)k));
            rc = crew_queue_put_many(q, arr, n, &cnt);
            break;
        }
        }
        if (rc == 0)
            i += (long)cnt;
        else if (rc == CREW_EFULL || rc == CREW_ETIMEDOUT)
            nap_us(50);
        else {
            p->rc = rc;
            break;
        }
    }
    atomic_fetch_sub(&p->r->producers_left, 1);
    return NULL;
}

static void race_take(struct cons *c, void *x)
{
    long v = I(x) - 1;
    if (v < 0 || v >= RP * RN) {
        c->rc = -997;
        return;
    }
    atomic_fetch_add(&c->r->seen[v], 1);
    long pid = v / RN, seq = v % RN;
    if (seq <= c->last[pid])
        c->fifo_ok = false;
    c->last[pid] = seq;
    c->got++;
}

static void *race_cons(void *arg)
{
    struct cons *c = arg;
    crew_queue *q = c->r->q;
    c->rc = 0;
    unsigned form = 0;
    for (;;) {
        void *arr[4], *x;
        size_t cnt = 0;
        int rc;
        switch (form++ % 3) {
        case 0: rc = crew_queue_get(q, &x); break;
        case 1: rc = crew_queue_get_timed(q, &x, 200000); break;
        default:
            rc = crew_queue_get_many(q, arr, 4, &cnt);
            if (rc == 0)
                for (size_t k = 0; k < cnt; k++)
                    race_take(c, arr[k]);
            break;
        }
        if (rc == CREW_ESHUTDOWN)
            break;
        if (rc == CREW_ETIMEDOUT)
            continue;
        if (rc != 0) {
            c->rc = rc;
            break;
        }
        if (cnt == 0)
            race_take(c, x);
    }
    return NULL;
}

/* Keeps changing maxsize among small bounds (putters block), the ring's
 * size and more; partway through, a bound above the ring's size moves it.
 * Stops when told. */
static void *race_changer(void *arg)
{
    struct race *r = arg;
    static const size_t small[] = {1, 2, 3, 5, 1, 8, 2, 4};
    unsigned k = 0;
    bool moved = false;
    for (;;) {
        bool stop = atomic_load(&r->stop_changer);
        size_t m = small[k % 8];
        if (r->c->maxsize == 0 && k % 5 == 4)
            m = 0;
        if (!moved && (stop || k == 40 || atomic_load(&r->producers_left) < RP)) {
            /* partway through (at the latest at the end) */
            m = r->c->maxsize ? r->c->maxsize * 3 : 0;
            moved = true;
        } else if (stop) {
            break;
        }
        k++;
        if (crew_queue_set_maxsize(r->q, m) != 0)
            break;
        nap_us(100 + 37 * (k % 7));
    }
    return NULL;
}

static void test_race(const struct config *c)
{
    struct race r;
    r.q = make(c);
    r.c = c;
    atomic_init(&r.producers_left, (int)RP);
    atomic_init(&r.stop_changer, 0);
    r.seen = calloc((size_t)(RP * RN), sizeof *r.seen);
    struct prod *ps = calloc((size_t)RP, sizeof *ps);
    struct cons *cs = calloc((size_t)RC, sizeof *cs);
    pthread_t *pt = calloc((size_t)RP, sizeof *pt), *ct = calloc((size_t)RC, sizeof *ct), cht;
    CHECK(r.seen && ps && cs && pt && ct);
    for (long i = 0; i < RC; i++) {
        cs[i].r = &r;
        cs[i].last = malloc((size_t)RP * sizeof(long));
        for (long j = 0; j < RP; j++)
            cs[i].last[j] = -1;
        cs[i].fifo_ok = true;
        CHECK_EQ(pthread_create(&ct[i], NULL, race_cons, &cs[i]), 0);
    }
    for (long i = 0; i < RP; i++) {
        ps[i].r = &r;
        ps[i].id = i;
        CHECK_EQ(pthread_create(&pt[i], NULL, race_prod, &ps[i]), 0);
    }
    CHECK_EQ(pthread_create(&cht, NULL, race_changer, &r), 0);
    for (long i = 0; i < RP; i++) {
        pthread_join(pt[i], NULL);
        CHECK_OK(ps[i].rc);
    }
    atomic_store(&r.stop_changer, 1);
    pthread_join(cht, NULL);
    CHECK_OK(crew_queue_shutdown(r.q, false));
    long total = 0;
    for (long i = 0; i < RC; i++) {
        pthread_join(ct[i], NULL);
        CHECK_OK(cs[i].rc);
        if (c->kind == CREW_QUEUE_FIFO && !cs[i].fifo_ok)
            fprintf(stderr, "config %s: consumer %ld saw a producer's items out of order\n",
                    c->name, i);
        if (c->kind == CREW_QUEUE_FIFO)
            CHECK(cs[i].fifo_ok);
        total += cs[i].got;
        free(cs[i].last);
    }
    CHECK_EQ(total, RP * RN);
    long bad = 0;
    for (long v = 0; v < RP * RN; v++)
        bad += atomic_load(&r.seen[v]) != 1;
    if (bad)
        fprintf(stderr, "config %s: %ld items not seen exactly once\n", c->name, bad);
    CHECK_EQ(bad, 0);
    if (c->maxsize >= 2)
        CHECK(!is_ring(r.q)); /* the move happened during the run */
    CHECK_EQ(crew_queue_unfinished_tasks(r.q), (size_t)(RP * RN));
    CHECK_OK(crew_queue_destroy(r.q));
    free(r.seen);
    free(ps);
    free(cs);
    free(pt);
    free(ct);
}

int main(int argc, char **argv)
{
    RP = arg_long(argc, argv, 1, RP);
    RC = arg_long(argc, argv, 2, RC);
    RN = arg_long(argc, argv, 3, RN);
    CHECK_RC(crew_queue_set_maxsize(NULL, 1), CREW_EINVAL);
    CHECK_EQ(crew_queue_unfinished_tasks(NULL), 0);
    for (size_t i = 0; i < NCONFIGS; i++) {
        cur = &configs[i];
        test_grow(cur, false);
        test_grow(cur, true);
        test_shrink(cur);
        test_zero(cur);
        test_move_blocked(cur);
        test_shutdown(cur, false);
        test_shutdown(cur, true);
        test_unfinished(cur);
        test_negative_timeout(cur, false);
        test_negative_timeout(cur, true);
        test_race(cur);
    }
    return check_exit("test_queue_maxsize");
}
