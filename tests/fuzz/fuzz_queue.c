/* fuzz_queue.c - crew_queue against a reference model, one thread.
 *
 * The input is a program: a queue configuration (kind, maxsize) followed by
 * operations -- every put and get form, put_many/get_many, task_done, join,
 * the snapshots, shutdown (plain or immediate), destroy and re-create,
 * changes of maxsize on the live queue (growing, shrinking below the
 * current size, unbounded; a bounded FIFO's ring changes its bound in place
 * or moves to the locked store), and calls with bad arguments.  The model is a plain array of the items queued
 * with their priority and put number, the unfinished-task count and the
 * shutdown flag; it says what every call must return:
 *   - the code (0, EFULL, EEMPTY, ETIMEDOUT, ESHUTDOWN, ETOOMANY, EINVAL),
 *     and *count of the batch forms, 0 on every error; *item untouched on
 *     error;
 *   - the item, in the kind's order: FIFO, LIFO, or the smallest priority
 *     with ties in put order;
 *   - size, empty, full, maxsize, is_shutdown after every operation, and the
 *     unfinished count through join_timed(q, 0) (0 iff it is zero) and
 *     crew_queue_unfinished_tasks;
 *   - which items the drop callback receives (immediate shutdown, destroy):
 *     exactly the ones queued, each once (as a set: the drop order is not
 *     specified).
 * Every item is a distinct pointer; a per-item state array catches an item
 * handed out twice, one never put, one dropped and gotten, and compare
 * called on an item that is not in the queue.
 *
 * A blocking form is called only when the model says it will not block;
 * otherwise the program uses the try_, timed (0 or a few microseconds) or
 * until (a past or near deadline) form, so no input can hang.
 *
 * Program layout (bytes; see README.md): one configuration byte, then
 * operations, each an opcode byte followed by its argument bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* ---- items ------------------------------------------------------------- */

/* An item is (id << 3 | priority), id >= 1, so never NULL and distinct. */
#define ITEM(id, prio) ((void *)(uintptr_t)(((uintptr_t)(id) << 3) | (uintptr_t)(prio)))
#define ITEM_ID(x) ((size_t)((uintptr_t)(x) >> 3))
#define ITEM_PRIO(x) ((unsigned)((uintptr_t)(x) & 7))

enum item_state { NEVER = 0, PUTTING, QUEUED, GOTTEN, DROPPED, REFUSED };

typedef struct entry {
    void *item;
    uint64_t seq; /* put number: orders equal priorities */
} entry;

typedef struct model {
    crew_queue *q; /* NULL between destroy and the next create */
    crew_queue_kind kind;
    size_t maxsize;
    entry *e; /* the queued items, in put order */
    size_t n, cap;
    uint64_t next_seq;
    uint64_t unfinished;
    bool shut;
    /* per-item states, indexed by id */
    unsigned char *state;
    size_t nids, idcap;
    /* items the drop callback received during the current call */
    void **dropped;
    size_t ndropped, dropcap;
    bool dropping; /* a call that may drop is in progress */
} model;

static model M;

static void *new_item(unsigned prio)
{
    if (M.nids + 1 >= M.idcap) {
        size_t nc = M.idcap ? 2 * M.idcap : 256;
        unsigned char *ns = fz_calloc(nc, 1);
        if (M.state)
            memcpy(ns, M.state, M.idcap);
        free(M.state);
        M.state = ns;
        M.idcap = nc;
    }
    size_t id = ++M.nids;
    M.state[id] = NEVER;
    return ITEM(id, prio & 7);
}

static unsigned char *state_of(void *item)
{
    size_t id = ITEM_ID(item);
    FZ_CHECK(id >= 1 && id <= M.nids); /* an item crew made up */
    return &M.state[id];
}

/* ---- callbacks --------------------------------------------------------- */

static int compare(const void *a, const void *b, void *ctx)
{
    FZ_CHECK(ctx == &M);
    unsigned sa = *state_of((void *)a), sb = *state_of((void *)b);
    /* Only items being put or queued may be compared. */
    FZ_CHECK(sa == PUTTING || sa == QUEUED);
    FZ_CHECK(sb == PUTTING || sb == QUEUED);
    unsigned pa = ITEM_PRIO(a), pb = ITEM_PRIO(b);
    return pa < pb ? -1 : pa > pb;
}

static void drop(void *item, void *ctx)
{
    FZ_CHECK(ctx == &M);
    FZ_CHECK(M.dropping); /* only immediate shutdown and destroy drop */
    unsigned char *s = state_of(item);
    FZ_CHECK(*s == QUEUED); /* each queued item dropped once, nothing else */
    *s = DROPPED;
    if (M.ndropped == M.dropcap) {
        size_t nc = M.dropcap ? 2 * M.dropcap : 64;
        void **nd = fz_calloc(nc, sizeof *nd);
        if (M.dropped)
            memcpy(nd, M.dropped, M.ndropped * sizeof *nd);
        free(M.dropped);
        M.dropped = nd;
        M.dropcap = nc;
    }
    M.dropped[M.ndropped++] = item;
}

/* ---- the model --------------------------------------------------------- */

static bool m_full(void)
{
    return M.maxsize > 0 && M.n >= M.maxsize;
}

static size_t m_room(void)
{
    return M.maxsize == 0 ? SIZE_MAX : M.n >= M.maxsize ? 0 : M.maxsize - M.n;
}

static void m_push(void *item)
{
    if (M.n == M.cap) {
        size_t nc = M.cap ? 2 * M.cap : 64;
        entry *ne = fz_calloc(nc, sizeof *ne);
        if (M.e)
            memcpy(ne, M.e, M.n * sizeof *ne);
        free(M.e);
        M.e = ne;
        M.cap = nc;
    }
    M.e[M.n].item = item;
    M.e[M.n].seq = M.next_seq++;
    M.n++;
    M.unfinished++;
}

/* Index of the entry the next get returns (M.n > 0). */
static size_t m_next_index(void)
{
    if (M.kind == CREW_QUEUE_FIFO)
        return 0;
    if (M.kind == CREW_QUEUE_LIFO)
        return M.n - 1;
    size_t best = 0;
    for (size_t i = 1; i < M.n; i++) {
        unsigned pi = ITEM_PRIO(M.e[i].item), pb = ITEM_PRIO(M.e[best].item);
        if (pi < pb || (pi == pb && M.e[i].seq < M.e[best].seq))
            best = i;
    }
    return best;
}

static void *m_pop(void)
{
    size_t i = m_next_index();
    void *item = M.e[i].item;
    memmove(&M.e[i], &M.e[i + 1], (M.n - i - 1) * sizeof *M.e);
    M.n--;
    return item;
}

/* Checks that the drop callback received exactly the model's queued items
 * (each once: drop() already refused anything not QUEUED), then empties the
 * model's store. */
static void m_drop_all(void)
{
    FZ_EQ(M.ndropped, M.n);
    for (size_t i = 0; i < M.n; i++)
        FZ_EQ(*state_of(M.e[i].item), DROPPED);
    uint64_t k = M.n;
    M.unfinished = M.unfinished > k ? M.unfinished - k : 0;
    M.n = 0;
    M.ndropped = 0;
}

/* ---- the calls, each checked against the model ------------------------ */

/* A timeout for the timed forms when the call would block: mostly 0, now
 * and then a few microseconds so the waiting path runs too. */
static int64_t pick_timeout(fz_in *in)
{
    static const int64_t t[8] = {0, 0, 0, 0, 0, 1000, 5000, 20000};
    return t[fz_pick(in, 8)];
}

/* One single-item put, in the form chosen by `form`. */
static void op_put(fz_in *in)
{
    unsigned form = fz_pick(in, 4), prio = fz_byte(in);
    void *x = new_item(prio);
    int want = M.shut ? CREW_ESHUTDOWN : 0;
    bool would_block = !M.shut && m_full();
    int rc;
    *state_of(x) = PUTTING;
    switch (form) {
    case 0: /* put: blocks only if full, then the timed form with 0 */
        if (!would_block) {
            fz_trace("put item %zu prio %u", ITEM_ID(x), ITEM_PRIO(x));
            rc = crew_queue_put(M.q, x);
        } else {
            fz_trace("put_timed item %zu 0 (put would block)", ITEM_ID(x));
            rc = crew_queue_put_timed(M.q, x, 0);
            want = CREW_ETIMEDOUT;
        }
        break;
    case 1:
        fz_trace("try_put item %zu prio %u", ITEM_ID(x), ITEM_PRIO(x));
        rc = crew_queue_try_put(M.q, x);
        if (would_block)
            want = CREW_EFULL;
        break;
    case 2: {
        int64_t t = would_block ? pick_timeout(in) : 1000000000;
        fz_trace("put_timed item %zu prio %u, %lld ns", ITEM_ID(x), ITEM_PRIO(x), (long long)t);
        rc = crew_queue_put_timed(M.q, x, t);
        if (would_block)
            want = CREW_ETIMEDOUT;
        break;
    }
    default: {
        /* until: a past deadline is a single try; a near one waits a bit. */
        int64_t dl = crew_now_ns() + (would_block ? pick_timeout(in) - 1000 : 1000000000);
        fz_trace("put_until item %zu prio %u, now%+lld ns", ITEM_ID(x), ITEM_PRIO(x),
                 (long long)(dl - crew_now_ns()));
        rc = crew_queue_put_until(M.q, x, dl);
        if (would_block)
            want = CREW_ETIMEDOUT;
        break;
    }
    }
    FZ_RC(rc, want);
    if (rc == 0) {
        *state_of(x) = QUEUED;
        m_push(x);
    } else {
        *state_of(x) = REFUSED;
    }
}

static void op_put_many(fz_in *in)
{
    unsigned form = fz_pick(in, 3), n = fz_pick(in, 9);
    void *items[8];
    for (unsigned i = 0; i < n; i++) {
        items[i] = new_item(fz_byte(in));
        *state_of(items[i]) = PUTTING;
    }
    size_t count = 12345;
    int want = 0, rc;
    size_t want_count = n < m_room() ? n : m_room();
    bool would_block = !M.shut && want_count == 0;
    if (n == 0) {
        /* n == 0 is EINVAL in every form. */
        fz_trace("put_many n=0");
        rc = form == 0 ? crew_queue_put_many(M.q, items, 0, &count)
                       : crew_queue_try_put_many(M.q, items, 0, &count);
        FZ_RC(rc, CREW_EINVAL);
        return;
    }
    if (M.shut) {
        want = CREW_ESHUTDOWN;
        want_count = 0;
    }
    if (form == 0 && !would_block) {
        fz_trace("put_many n=%u", n);
        rc = crew_queue_put_many(M.q, items, n, &count);
    } else if (form == 1) {
        fz_trace("try_put_many n=%u", n);
        rc = crew_queue_try_put_many(M.q, items, n, &count);
        if (would_block)
            want = CREW_EFULL;
    } else {
        int64_t t = would_block ? pick_timeout(in) : 1000000000;
        fz_trace("put_many_timed n=%u %lld", n, (long long)t);
        rc = crew_queue_put_many_timed(M.q, items, n, &count, t);
        if (would_block)
            want = CREW_ETIMEDOUT;
    }
    FZ_RC(rc, want);
    FZ_EQ(count, rc == 0 ? want_count : 0);
    for (unsigned i = 0; i < n; i++) {
        if (rc == 0 && i < want_count) {
            *state_of(items[i]) = QUEUED;
            m_push(items[i]);
        } else {
            *state_of(items[i]) = REFUSED;
        }
    }
}

/* Checks one item a get returned against the model's next one. */
static void got(void *x)
{
    FZ_CHECK(M.n > 0);
    unsigned char *s = state_of(x);
    FZ_EQ(*s, QUEUED); /* not twice, not a dropped or refused one */
    void *want = m_pop();
    if (x != want) {
        char msg[160];
        snprintf(msg, sizeof msg, "get returned item %zu (prio %u), expected item %zu (prio %u)",
                 ITEM_ID(x), ITEM_PRIO(x), ITEM_ID(want), ITEM_PRIO(want));
        fz_fail(__FILE__, __LINE__, msg);
    }
    *s = GOTTEN;
}

static void op_get(fz_in *in)
{
    unsigned form = fz_pick(in, 4);
    void *const untouched = (void *)(uintptr_t)0xdeadbeef;
    void *x = untouched;
    bool would_block = M.n == 0 && !M.shut;
    int want = M.n > 0 ? 0 : M.shut ? CREW_ESHUTDOWN : 0;
    int rc;
    switch (form) {
    case 0:
        if (!would_block) {
            fz_trace("get");
            rc = crew_queue_get(M.q, &x);
        } else {
            fz_trace("get_timed 0 (get would block)");
            rc = crew_queue_get_timed(M.q, &x, 0);
            want = CREW_ETIMEDOUT;
        }
        break;
    case 1:
        fz_trace("try_get");
        rc = crew_queue_try_get(M.q, &x);
        if (would_block)
            want = CREW_EEMPTY;
        break;
    case 2: {
        int64_t t = would_block ? pick_timeout(in) : 1000000000;
        fz_trace("get_timed %lld", (long long)t);
        rc = crew_queue_get_timed(M.q, &x, t);
        if (would_block)
            want = CREW_ETIMEDOUT;
        break;
    }
    default: {
        int64_t dl = crew_now_ns() + (would_block ? pick_timeout(in) - 1000 : 1000000000);
        fz_trace("get_until now%+lld", (long long)(dl - crew_now_ns()));
        rc = crew_queue_get_until(M.q, &x, dl);
        if (would_block)
            want = CREW_ETIMEDOUT;
        break;
    }
    }
    FZ_RC(rc, want);
    if (rc == 0)
        got(x);
    else
        FZ_CHECK(x == untouched);
}

static void op_get_many(fz_in *in)
{
    unsigned form = fz_pick(in, 3), n = fz_pick(in, 9);
    void *items[8];
    size_t count = 12345;
    int rc;
    if (n == 0) {
        fz_trace("get_many n=0");
        rc = form == 0 ? crew_queue_get_many(M.q, items, 0, &count)
                       : crew_queue_try_get_many(M.q, items, 0, &count);
        FZ_RC(rc, CREW_EINVAL);
        return;
    }
    bool would_block = M.n == 0 && !M.shut;
    size_t want_count = n < M.n ? n : M.n;
    int want = M.n > 0 ? 0 : M.shut ? CREW_ESHUTDOWN : 0;
    if (form == 0 && !would_block) {
        fz_trace("get_many n=%u", n);
        rc = crew_queue_get_many(M.q, items, n, &count);
    } else if (form == 1) {
        fz_trace("try_get_many n=%u", n);
        rc = crew_queue_try_get_many(M.q, items, n, &count);
        if (would_block)
            want = CREW_EEMPTY;
    } else {
        int64_t t = would_block ? pick_timeout(in) : 1000000000;
        fz_trace("get_many_timed n=%u %lld", n, (long long)t);
        rc = crew_queue_get_many_timed(M.q, items, n, &count, t);
        if (would_block)
            want = CREW_ETIMEDOUT;
    }
    FZ_RC(rc, want);
    FZ_EQ(count, rc == 0 ? want_count : 0);
    if (rc == 0)
        for (size_t i = 0; i < count; i++)
            got(items[i]);
}

/* crew_queue_set_maxsize: any new bound, also below the current size (the
 * items stay; puts fail until gets bring the size under it) and 0
 * (unbounded).  The model only records it: m_full and m_room follow. */
static const size_t new_sizes[] = {0, 1, 2, 3, 4, 5, 8, 100};

static void op_set_maxsize(fz_in *in)
{
    size_t n = new_sizes[fz_pick(in, sizeof new_sizes / sizeof new_sizes[0])];
    fz_trace("set_maxsize %zu (%zu queued, was %zu)", n, M.n, M.maxsize);
    FZ_RC(crew_queue_set_maxsize(M.q, n), 0);
    M.maxsize = n;
}

static void op_task_done(void)
{
    fz_trace("task_done (unfinished %llu)", (unsigned long long)M.unfinished);
    int rc = crew_queue_task_done(M.q);
    if (M.unfinished > 0) {
        FZ_RC(rc, 0);
        M.unfinished--;
    } else {
        FZ_RC(rc, CREW_ETOOMANY);
    }
}

static void op_join(fz_in *in)
{
    unsigned form = fz_pick(in, 3);
    int want = M.unfinished ? CREW_ETIMEDOUT : 0, rc;
    if (form == 0 && M.unfinished == 0) {
        fz_trace("join");
        rc = crew_queue_join(M.q);
    } else if (form == 1) {
        int64_t t = M.unfinished ? pick_timeout(in) : 0;
        fz_trace("join_timed %lld", (long long)t);
        rc = crew_queue_join_timed(M.q, t);
    } else {
        int64_t dl = crew_now_ns() + (M.unfinished ? pick_timeout(in) - 1000 : 0);
        fz_trace("join_until now%+lld", (long long)(dl - crew_now_ns()));
        rc = crew_queue_join_until(M.q, dl);
    }
    FZ_RC(rc, want);
}

static void op_shutdown(fz_in *in)
{
    bool immediate = fz_pick(in, 2);
    fz_trace("shutdown %s (%zu queued)", immediate ? "immediate" : "plain", M.n);
    M.dropping = immediate;
    M.ndropped = 0;
    FZ_RC(crew_queue_shutdown(M.q, immediate), 0);
    M.dropping = false;
    M.shut = true;
    if (immediate)
        m_drop_all();
    else
        FZ_EQ(M.ndropped, 0);
}

/* Destroys the queue (leftover items go to drop) and forgets the model's
 * store; the next operation creates a new queue. */
static void destroy_queue(void)
{
    fz_trace("destroy (%zu queued)", M.n);
    M.dropping = true;
    M.ndropped = 0;
    FZ_RC(crew_queue_destroy(M.q), 0);
    M.dropping = false;
    m_drop_all();
    M.q = NULL;
}

static void create_queue(fz_in *in)
{
    static const size_t sizes[8] = {0, 0, 1, 2, 3, 4, 5, 8};
    unsigned c = fz_byte(in);
    crew_queue_options o;
    crew_queue_options_init(&o);
    o.kind = (crew_queue_kind)(c % 3);
    o.maxsize = sizes[(c / 3) % 8];
    o.compare = compare;
    o.compare_ctx = &M;
    o.drop = drop;
    o.drop_ctx = &M;
    fz_trace("create %s maxsize %zu",
             o.kind == CREW_QUEUE_FIFO ? "fifo" : o.kind == CREW_QUEUE_LIFO ? "lifo" : "priority",
             o.maxsize);
    FZ_RC(crew_queue_create(&M.q, &o), 0);
    FZ_CHECK(M.q != NULL);
    M.kind = o.kind;
    M.maxsize = o.maxsize;
    M.n = 0;
    M.unfinished = 0;
    M.next_seq = 0;
    M.shut = false;
}

/* Calls with bad arguments: each must return its error and change nothing
 * (the invariant check after the operation sees the same queue). */
static void op_bad(fz_in *in)
{
    unsigned which = fz_pick(in, 12);
    void *x = NULL, *items[2] = {NULL, NULL};
    size_t count = 7;
    fz_trace("bad call %u", which);
    switch (which) {
    case 0:
        FZ_RC(crew_queue_put(NULL, x), CREW_EINVAL);
        FZ_RC(crew_queue_try_put(NULL, x), CREW_EINVAL);
        FZ_RC(crew_queue_get(NULL, &x), CREW_EINVAL);
        break;
    case 1:
        FZ_RC(crew_queue_get(M.q, NULL), CREW_EINVAL);
        FZ_RC(crew_queue_try_get(M.q, NULL), CREW_EINVAL);
        FZ_RC(crew_queue_get_timed(M.q, NULL, 0), CREW_EINVAL);
        break;
    case 2:
        /* A negative timeout, in Python's order of checks: a put checks
         * shutdown, then boundedness (an unbounded queue would take the
         * item: not tried here), then the timeout; a get checks "shut down
         * and empty", then the timeout. */
        if (M.shut || M.maxsize)
            FZ_RC(crew_queue_put_timed(M.q, ITEM(1, 0), -1), M.shut ? CREW_ESHUTDOWN : CREW_EINVAL);
        FZ_RC(crew_queue_get_timed(M.q, &x, -1),
              M.shut && M.n == 0 ? CREW_ESHUTDOWN : CREW_EINVAL);
        FZ_RC(crew_queue_join_timed(M.q, -1), CREW_EINVAL);
        break;
    case 3:
        FZ_RC(crew_queue_put_many(M.q, NULL, 1, &count), CREW_EINVAL);
        FZ_RC(crew_queue_put_many(M.q, items, 1, NULL), CREW_EINVAL);
        FZ_RC(crew_queue_get_many(M.q, NULL, 1, &count), CREW_EINVAL);
        FZ_RC(crew_queue_get_many(M.q, items, 1, NULL), CREW_EINVAL);
        break;
    case 4: /* as case 2 */
        if (M.shut || M.maxsize)
            FZ_RC(crew_queue_put_many_timed(M.q, items, 1, &count, -1),
                  M.shut ? CREW_ESHUTDOWN : CREW_EINVAL);
        FZ_RC(crew_queue_get_many_timed(M.q, items, 1, &count, -1),
              M.shut && M.n == 0 ? CREW_ESHUTDOWN : CREW_EINVAL);
        break;
    case 5:
        FZ_RC(crew_queue_task_done(NULL), CREW_EINVAL);
        FZ_RC(crew_queue_join(NULL), CREW_EINVAL);
        FZ_RC(crew_queue_shutdown(NULL, true), CREW_EINVAL);
        FZ_RC(crew_queue_destroy(NULL), CREW_EINVAL);
        break;
    case 6:
        FZ_EQ(crew_queue_size(NULL), 0);
        FZ_CHECK(crew_queue_empty(NULL));
        FZ_CHECK(!crew_queue_full(NULL));
        FZ_EQ(crew_queue_maxsize(NULL), 0);
        FZ_CHECK(!crew_queue_is_shutdown(NULL));
        break;
    case 7: {
        crew_queue_options o;
        crew_queue_options_init(&o);
        crew_queue *q2 = (crew_queue *)&o; /* must stay untouched */
        o.kind = (crew_queue_kind)(3 + fz_pick(in, 100));
        FZ_RC(crew_queue_create(&q2, &o), CREW_EINVAL);
        FZ_CHECK(q2 == (crew_queue *)&o);
        o.kind = CREW_QUEUE_PRIORITY;
        o.compare = NULL;
        FZ_RC(crew_queue_create(&q2, &o), CREW_EINVAL);
        FZ_RC(crew_queue_create(NULL, NULL), CREW_EINVAL);
        break;
    }
    case 8:
        FZ_RC(crew_queue_put_until(NULL, x, 0), CREW_EINVAL);
        FZ_RC(crew_queue_get_until(M.q, NULL, 0), CREW_EINVAL);
        FZ_RC(crew_queue_join_until(NULL, 0), CREW_EINVAL);
        break;
    case 9:
        FZ_RC(crew_queue_try_put_many(NULL, items, 1, &count), CREW_EINVAL);
        FZ_RC(crew_queue_try_get_many(NULL, items, 1, &count), CREW_EINVAL);
        FZ_RC(crew_queue_set_maxsize(NULL, 1), CREW_EINVAL);
        break;
    case 10:
        /* get_timed with a NULL out-pointer also when an item is there */
        FZ_RC(crew_queue_get_until(M.q, NULL, crew_now_ns() + 1000000000), CREW_EINVAL);
        break;
    default: {
        /* A default-options queue: unbounded FIFO; used and destroyed here. */
        crew_queue *q2 = NULL;
        FZ_RC(crew_queue_create(&q2, NULL), 0);
        FZ_RC(crew_queue_put(q2, ITEM(1, 0)), 0);
        FZ_EQ(crew_queue_maxsize(q2), 0);
        FZ_CHECK(!crew_queue_full(q2));
        FZ_RC(crew_queue_try_get(q2, &x), 0);
        FZ_CHECK(x == ITEM(1, 0));
        FZ_RC(crew_queue_task_done(q2), 0);
        FZ_RC(crew_queue_task_done(q2), CREW_ETOOMANY);
        FZ_RC(crew_queue_destroy(q2), 0);
        break;
    }
    }
}

/* After every operation: the snapshots and the unfinished count. */
static void check_invariants(void)
{
    FZ_EQ(crew_queue_size(M.q), M.n);
    FZ_EQ(crew_queue_empty(M.q), M.n == 0);
    FZ_EQ(crew_queue_full(M.q), m_full());
    FZ_EQ(crew_queue_maxsize(M.q), M.maxsize);
    FZ_EQ(crew_queue_is_shutdown(M.q), M.shut);
    FZ_RC(crew_queue_join_timed(M.q, 0), M.unfinished ? CREW_ETIMEDOUT : 0);
    FZ_EQ(crew_queue_unfinished_tasks(M.q), M.unfinished);
}

enum {
    OP_PUT,
    OP_PUT2, /* puts twice as likely as the rest: queues fill up */
    OP_PUT_MANY,
    OP_GET,
    OP_GET_MANY,
    OP_TASK_DONE,
    OP_JOIN,
    OP_SHUTDOWN,
    OP_DESTROY,
    OP_BAD,
    OP_SET_MAXSIZE, /* last: the seeds' opcodes below it read as before */
    NOPS
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_trace_init();
    fz_in in = {data, size, 0};
    memset(&M, 0, sizeof M);
    fz_opno = 0;
    create_queue(&in);
    /* A bound on the program's length keeps every input quick. */
    for (long op = 1; fz_more(&in) && op <= 4000; op++) {
        fz_opno = op;
        if (!M.q)
            create_queue(&in);
        switch (fz_pick(&in, NOPS)) {
        case OP_PUT:
        case OP_PUT2:
            op_put(&in);
            break;
        case OP_PUT_MANY:
            op_put_many(&in);
            break;
        case OP_GET:
            op_get(&in);
            break;
        case OP_GET_MANY:
            op_get_many(&in);
            break;
        case OP_TASK_DONE:
            op_task_done();
            break;
        case OP_JOIN:
            op_join(&in);
            break;
        case OP_SHUTDOWN:
            op_shutdown(&in);
            break;
        case OP_DESTROY:
            destroy_queue();
            continue;
        case OP_SET_MAXSIZE:
            op_set_maxsize(&in);
            break;
        default:
            op_bad(&in);
            break;
        }
        check_invariants();
    }
    if (M.q)
        destroy_queue();
    /* Every item crew accepted ended gotten or dropped, exactly once. */
    for (size_t id = 1; id <= M.nids; id++)
        FZ_CHECK(M.state[id] == GOTTEN || M.state[id] == DROPPED || M.state[id] == REFUSED);
    free(M.e);
    free(M.state);
    free(M.dropped);
    memset(&M, 0, sizeof M);
    return 0;
}
