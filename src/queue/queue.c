/* queue.c - crew_queue's public API: argument checks, the forms of every
 * blocking call (try_, timed, until), dispatch to the ring (bounded FIFO,
 * ring_fifo.c) or the locked store (locked.c), and the unfinished-task
 * count behind task_done/join, which is the same for both.
 *
 * task_done/join without a lock: the number of puts is read from the
 * implementation (for the ring, simply tail), and done counts task_done
 * calls plus items dropped by an immediate shutdown.  The unfinished count is
 * puts - done; done never passes puts (every increment is a CAS that checks).
 * Joiners sleep on join_word and are woken by whoever brings done up to puts.
 * The pairing of those operations: README.md, "task_done and join".
 *
 * crew_queue_set_maxsize changes the bound of a live queue under the locked
 * store's mutex; a ring asked for a bound above its capacity, or for none,
 * moves its items to the locked store for good (README.md, section 10).
 * Calls dispatch on ring_impl; a ring put or get that meets the move is
 * made again on the locked store by ring_fifo.c.
 */
#include "crew/queue.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/platform.h"
#include "queue/queue_impl.h"
#include "sched/sched.h"

void crew_queue_options_init(crew_queue_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->kind = CREW_QUEUE_FIFO;
}

int crew_queue_create(crew_queue **out, const crew_queue_options *opts)
{
    crew_queue_options defaults;
    if (!out)
        return CREW_EINVAL;
    if (!opts) {
        crew_queue_options_init(&defaults);
        opts = &defaults;
    }
    if (opts->kind != CREW_QUEUE_FIFO && opts->kind != CREW_QUEUE_LIFO &&
        opts->kind != CREW_QUEUE_PRIORITY)
        return CREW_EINVAL;
    if (opts->kind == CREW_QUEUE_PRIORITY && !opts->compare)
        return CREW_EINVAL;
    crew_queue *q = crew__alloc_lines(sizeof(crew_queue));
    if (!q)
        return CREW_ENOMEM;
    memset(q, 0, sizeof *q);
    q->kind = opts->kind;
    atomic_init(&q->maxsize, opts->maxsize);
    q->compare = opts->compare;
    q->compare_ctx = opts->compare_ctx;
    q->drop = opts->drop;
    q->drop_ctx = opts->drop_ctx;
    q->slots = NULL;
    atomic_init(&q->shut_hint, false);
    atomic_init(&q->done, 0);
    atomic_init(&q->join_waiters, 0);
    atomic_init(&q->join_word, 0);
    atomic_init(&q->blocked, 0);
    /* The ring needs two slots at least: with one, "published for pos"
     * (seq == pos + 1) and "free for pos + 1" (pos + cap) would coincide. */
    bool ring = q->kind == CREW_QUEUE_FIFO && opts->maxsize >= 2 &&
                (uint64_t)opts->maxsize <= CREW__QRING_MAX_SLOTS;
    atomic_init(&q->ring_impl, ring);
    atomic_init(&q->bound, 0);
    /* Every queue has the locked store: a ring uses its mutex and may move
     * into it. */
    int rc = crew__qlocked_init(q);
    if (rc != 0) {
        crew__free(q);
        return rc;
    }
    if (ring && (rc = crew__qring_init(q)) != 0) {
        crew__qlocked_fini(q);
        crew__free(q);
        return rc;
    }
    *out = q;
    return 0;
}

int crew_queue_destroy(crew_queue *q)
{
    if (!q)
        return CREW_EINVAL;
    /* Pairs with the seq_cst RMWs on blocked in every waiting path. */
    if (atomic_load_explicit(&q->blocked, memory_order_seq_cst) != 0)
        return CREW_EBUSY;
    if (q->slots)
        crew__qring_fini(q);
    crew__qlocked_fini(q);
    crew__free(q);
    return 0;
}

/* Acquire: pairs with the release of ring_impl = false in a move, so a
 * caller that sees the locked store sees it holding the ring's items. */
static bool is_ring(const crew_queue *q)
{
    return atomic_load_explicit(&q->ring_impl, memory_order_acquire);
}

/* The number of successful puts.  Across a move it continues from the
 * ring's frozen tail, so it only grows. */
static uint64_t puts_of(const crew_queue *q)
{
    return is_ring(q) ? crew__qring_puts(q) : crew__qlocked_puts(q);
}

/* ---- put and get: every form funnels into one call per side ------------ */

/* Tail calls: the ring's put and get make the call on the locked store
 * themselves when they find the ring moved (the move holds the locked
 * store's mutex until it is done). */
static int do_put(crew_queue *q, void *const *items, size_t n, size_t *count, bool wait,
                  int64_t deadline)
{
    return is_ring(q) ? crew__qring_put(q, items, n, count, wait, deadline)
                      : crew__qlocked_put(q, items, n, count, wait, deadline);
}

static int do_get(crew_queue *q, void **items, size_t n, size_t *count, bool wait,
                  int64_t deadline)
{
    return is_ring(q) ? crew__qring_get(q, items, n, count, wait, deadline)
                      : crew__qlocked_get(q, items, n, count, wait, deadline);
}

/* A negative relative timeout, in Python's order of checks: put raises
 * ShutDown if shut down, then puts without waiting if the queue is
 * unbounded, and only then rejects the timeout; get raises ShutDown if shut
 * down and empty, else rejects the timeout.  Arguments were checked. */
static int put_bad_timeout(crew_queue *q, void *const *items, size_t n, size_t *count)
{
    if (is_ring(q)) {
        int rc = crew__qring_bad_timeout(q, true);
        if (rc != CREW__QMOVED)
            return rc;
    }
    return crew__qlocked_put_bad_timeout(q, items, n, count);
}

static int get_bad_timeout(crew_queue *q)
{
    if (is_ring(q)) {
        int rc = crew__qring_bad_timeout(q, false);
        if (rc != CREW__QMOVED)
            return rc;
    }
    return crew__qlocked_get_bad_timeout(q);
}

int crew_queue_put(crew_queue *q, void *item)
{
    size_t c;
    if (!q)
        return CREW_EINVAL;
    return do_put(q, &item, 1, &c, true, CREW__FOREVER);
}

int crew_queue_try_put(crew_queue *q, void *item)
{
    size_t c;
    if (!q)
        return CREW_EINVAL;
    return do_put(q, &item, 1, &c, false, 0);
}

int crew_queue_put_timed(crew_queue *q, void *item, int64_t timeout_ns)
{
    size_t c;
    if (!q)
        return CREW_EINVAL;
    if (timeout_ns < 0)
        return put_bad_timeout(q, &item, 1, &c);
    return do_put(q, &item, 1, &c, true, crew__deadline_after(timeout_ns));
}

int crew_queue_put_until(crew_queue *q, void *item, int64_t deadline_ns)
{
    size_t c;
    if (!q)
        return CREW_EINVAL;
    return do_put(q, &item, 1, &c, true, deadline_ns);
}

int crew_queue_get(crew_queue *q, void **item)
{
    size_t c;
    if (!q || !item)
        return CREW_EINVAL;
    return do_get(q, item, 1, &c, true, CREW__FOREVER);
}

int crew_queue_try_get(crew_queue *q, void **item)
{
    size_t c;
    if (!q || !item)
        return CREW_EINVAL;
    return do_get(q, item, 1, &c, false, 0);
}

int crew_queue_get_timed(crew_queue *q, void **item, int64_t timeout_ns)
{
    size_t c;
    if (!q || !item)
        return CREW_EINVAL;
    if (timeout_ns < 0)
        return get_bad_timeout(q);
    return do_get(q, item, 1, &c, true, crew__deadline_after(timeout_ns));
}

int crew_queue_get_until(crew_queue *q, void **item, int64_t deadline_ns)
{
    size_t c;
    if (!q || !item)
        return CREW_EINVAL;
    return do_get(q, item, 1, &c, true, deadline_ns);
}

/* Batch forms: on error *count is 0 and nothing was put or taken.  The
 * arguments are checked first; a negative timeout then follows the single
 * call's order. */
static bool many_args_ok(const crew_queue *q, const void *items, size_t n, size_t *count)
{
    if (!q || !items || !count || n == 0)
        return false;
    *count = 0;
    return true;
}

static int put_many(crew_queue *q, void *const *items, size_t n, size_t *count, bool wait,
                    int64_t deadline)
{
    if (!many_args_ok(q, items, n, count))
        return CREW_EINVAL;
    return do_put(q, items, n, count, wait, deadline);
}

static int get_many(crew_queue *q, void **items, size_t n, size_t *count, bool wait,
                    int64_t deadline)
{
    if (!many_args_ok(q, items, n, count))
        return CREW_EINVAL;
    return do_get(q, items, n, count, wait, deadline);
}

int crew_queue_put_many(crew_queue *q, void *const *items, size_t n, size_t *count)
{
    return put_many(q, items, n, count, true, CREW__FOREVER);
}

int crew_queue_try_put_many(crew_queue *q, void *const *items, size_t n, size_t *count)
{
    return put_many(q, items, n, count, false, 0);
}

int crew_queue_put_many_timed(crew_queue *q, void *const *items, size_t n, size_t *count,
                              int64_t timeout_ns)
{
    if (timeout_ns < 0) {
        if (!many_args_ok(q, items, n, count))
            return CREW_EINVAL;
        return put_bad_timeout(q, items, n, count);
    }
    return put_many(q, items, n, count, true, crew__deadline_after(timeout_ns));
}

int crew_queue_put_many_until(crew_queue *q, void *const *items, size_t n, size_t *count,
                              int64_t deadline_ns)
{
    return put_many(q, items, n, count, true, deadline_ns);
}

int crew_queue_get_many(crew_queue *q, void **items, size_t n, size_t *count)
{
    return get_many(q, items, n, count, true, CREW__FOREVER);
}

int crew_queue_try_get_many(crew_queue *q, void **items, size_t n, size_t *count)
{
    return get_many(q, items, n, count, false, 0);
}

int crew_queue_get_many_timed(crew_queue *q, void **items, size_t n, size_t *count,
                              int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return many_args_ok(q, items, n, count) ? get_bad_timeout(q) : CREW_EINVAL;
    return get_many(q, items, n, count, true, crew__deadline_after(timeout_ns));
}

int crew_queue_get_many_until(crew_queue *q, void **items, size_t n, size_t *count,
                              int64_t deadline_ns)
{
    return get_many(q, items, n, count, true, deadline_ns);
}

/* ---- snapshots ----------------------------------------------------------- */

size_t crew_queue_size(const crew_queue *q)
{
    if (!q)
        return 0;
    return is_ring(q) ? crew__qring_size(q) : crew__qlocked_size(q);
}

bool crew_queue_empty(const crew_queue *q)
{
    return crew_queue_size(q) == 0;
}

bool crew_queue_full(const crew_queue *q)
{
    if (!q)
        return false;
    size_t m = atomic_load_explicit(&q->maxsize, memory_order_relaxed);
    return m > 0 && crew_queue_size(q) >= m;
}

size_t crew_queue_maxsize(const crew_queue *q)
{
    return q ? atomic_load_explicit(&q->maxsize, memory_order_relaxed) : 0;
}

int crew_queue_set_maxsize(crew_queue *q, size_t maxsize)
{
    if (!q)
        return CREW_EINVAL;
    int rc = 0;
    /* The locked store's mutex serializes every change of bound or
     * representation, and the ring's shutdown against a move. */
    pthread_mutex_lock(&q->locked.mu);
    if (atomic_load_explicit(&q->ring_impl, memory_order_relaxed))
        rc = crew__qring_set_maxsize(q, maxsize);
    else
        crew__qlocked_set_maxsize(q, maxsize);
    pthread_mutex_unlock(&q->locked.mu);
    return rc;
}

bool crew_queue_is_shutdown(const crew_queue *q)
{
    if (!q)
        return false;
    return is_ring(q) ? crew__qring_is_shutdown(q) : crew__qlocked_is_shutdown(q);
}

/* ---- task_done and join -------------------------------------------------- */

/* Called after done moved up to d: wakes joiners if the unfinished count
 * was zero at that moment.  seq_cst loads after the seq_cst CAS on done:
 * the waker half of the Dekker pair with join_wait (README.md). */
static void maybe_wake_joiners(crew_queue *q, uint64_t d)
{
    if (puts_of(q) != d)
        return;
    if (atomic_load_explicit(&q->join_waiters, memory_order_seq_cst) == 0)
        return;
    atomic_fetch_add_explicit(&q->join_word, 1, memory_order_seq_cst);
    crew__futex_wake_all(&q->join_word);
}

int crew_queue_task_done(crew_queue *q)
{
    if (!q)
        return CREW_EINVAL;
    uint64_t d = atomic_load_explicit(&q->done, memory_order_relaxed);
    for (;;) {
        /* puts only grows, so d < puts still holds when the CAS lands. */
        if (d >= puts_of(q))
            return CREW_ETOOMANY;
        if (atomic_compare_exchange_weak_explicit(&q->done, &d, d + 1, memory_order_seq_cst,
                                                  memory_order_relaxed))
            break;
    }
    maybe_wake_joiners(q, d + 1);
    return 0;
}

/* Counts n items dropped by an immediate shutdown as done, as Python does
 * ("if unfinished_tasks > 0: unfinished_tasks -= 1" per item). */
static void count_dropped(crew_queue *q, uint64_t n)
{
    uint64_t d = atomic_load_explicit(&q->done, memory_order_relaxed), nd;
    do {
        uint64_t p = puts_of(q);
        nd = d + n > p ? p : d + n;
        if (nd <= d)
            return;
    } while (!atomic_compare_exchange_weak_explicit(&q->done, &d, nd, memory_order_seq_cst,
                                                    memory_order_relaxed));
    maybe_wake_joiners(q, nd);
}

/* The unfinished count was zero at some moment during the call.  Reads done
 * before puts: both only grow and done <= puts, so equal values mean
 * puts - done was 0 when done was read. */
size_t crew_queue_unfinished_tasks(const crew_queue *q)
{
    if (!q)
        return 0;
    /* done before puts, as in all_done: done <= puts, so no underflow. */
    uint64_t d = atomic_load_explicit(&q->done, memory_order_seq_cst);
    return (size_t)(puts_of(q) - d);
}

static bool all_done(const crew_queue *q)
{
    uint64_t d = atomic_load_explicit(&q->done, memory_order_seq_cst);
    return d == puts_of(q);
}

static int join_until(crew_queue *q, int64_t deadline)
{
    if (all_done(q))
        return 0;
    atomic_fetch_add_explicit(&q->blocked, 1, memory_order_seq_cst);
    int rc = 0;
    for (;;) {
        /* Register, read the word, then re-check (the sleeper half of the
         * Dekker pair with maybe_wake_joiners). */
        atomic_fetch_add_explicit(&q->join_waiters, 1, memory_order_seq_cst);
        uint32_t w = atomic_load_explicit(&q->join_word, memory_order_seq_cst);
        if (all_done(q)) {
            atomic_fetch_sub_explicit(&q->join_waiters, 1, memory_order_seq_cst);
            break;
        }
        int r = crew__wait_word_blocking(&q->join_word, w, deadline);
        atomic_fetch_sub_explicit(&q->join_waiters, 1, memory_order_seq_cst);
        if (r == CREW_ETIMEDOUT) {
            rc = all_done(q) ? 0 : CREW_ETIMEDOUT;
            break;
        }
    }
    atomic_fetch_sub_explicit(&q->blocked, 1, memory_order_seq_cst);
    return rc;
}

int crew_queue_join(crew_queue *q)
{
    if (!q)
        return CREW_EINVAL;
    return join_until(q, CREW__FOREVER);
}

int crew_queue_join_timed(crew_queue *q, int64_t timeout_ns)
{
    if (!q || timeout_ns < 0)
        return CREW_EINVAL;
    return join_until(q, crew__deadline_after(timeout_ns));
}

int crew_queue_join_until(crew_queue *q, int64_t deadline_ns)
{
    if (!q)
        return CREW_EINVAL;
    return join_until(q, deadline_ns);
}

/* ---- shutdown ------------------------------------------------------------ */

int crew_queue_shutdown(crew_queue *q, bool immediate)
{
    if (!q)
        return CREW_EINVAL;
    uint64_t dropped = 0;
    if (!is_ring(q) || crew__qring_shutdown(q, immediate, &dropped) == CREW__QMOVED)
        dropped = crew__qlocked_shutdown(q, immediate);
    if (immediate && dropped)
        count_dropped(q, dropped);
    /* Every blocked joiner wakes and re-checks (Python notifies
     * all_tasks_done only on immediate; waking on both is harmless). */
    atomic_fetch_add_explicit(&q->join_word, 1, memory_order_seq_cst);
    crew__futex_wake_all(&q->join_word);
    return 0;
}
