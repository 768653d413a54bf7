/* locked.c - the locked kinds of crew_queue: LIFO, PRIORITY, unbounded
 * FIFO (and bounded FIFOs larger than the ring's preallocation limit).
 *
 * One mutex guards one growable array of entries used three ways:
 *   FIFO      a circular buffer (first, count)
 *   LIFO      a stack (entries [0, count), top at count - 1)
 *   PRIORITY  a binary min-heap ordered by (compare(item), insertion number),
 *             so equal priorities come out in the order they were put.
 * Getters sleep on the futex word not_empty, putters on not_full, through
 * crew__wait_word_blocking (a pool worker blocked here runs no other task;
 * a replacement worker runs the queued work: sched/sched.h); each side counts its sleepers so nobody issues a wake
 * nobody waits for.  A waiter reads the word under mu, unlocks and sleeps
 * while the word still has that value; a waker changes the queue and bumps
 * the word under mu, so a change between the waiter's unlock and its sleep
 * makes the sleep return at once.  Deadlines are on crew_now_ns's clock.  The array grows by
 * doubling (amortised: no allocation per item in steady state) up to
 * maxsize for a bounded queue, and is never shrunk below its high-water
 * mark except by an immediate shutdown, which hands it to the drop callback
 * and frees it.  Semantics mirror Python 3.13's queue.Queue: README.md
 * (section 7 has the order of checks).  maxsize may change at any time
 * (under mu, crew__qlocked_set_maxsize), so puts re-read it on every pass;
 * a ring that moves here hands over its items and count of puts
 * (crew__qlocked_adopt, README.md section 10).
 */
#include "queue/queue_impl.h"

#include <stdlib.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/platform.h"
#include "sched/sched.h"

#define LOCKED_INITIAL_CAP 16

int crew__qlocked_init(crew_queue *q)
{
    struct crew__qlocked *l = &q->locked;
    if (pthread_mutex_init(&l->mu, NULL) != 0)
        return CREW_ENOMEM;
    atomic_init(&l->not_empty, 0);
    atomic_init(&l->not_full, 0);
    l->buf = NULL;
    l->cap = 0;
    l->first = 0;
    l->count = 0;
    l->next_seq = 0;
    l->getters_waiting = 0;
    l->putters_waiting = 0;
    l->shut = false;
    atomic_init(&l->puts, 0);
    atomic_init(&l->size, 0);
    atomic_init(&l->shut_flag, false);
    return 0;
}

/* The index in buf of the i-th entry in storage order (FIFO: oldest first). */
static size_t slot_of(const crew_queue *q, size_t i)
{
    const struct crew__qlocked *l = &q->locked;
    if (q->kind != CREW_QUEUE_FIFO)
        return i;
    size_t j = l->first + i;
    return j >= l->cap ? j - l->cap : j;
}

void crew__qlocked_fini(crew_queue *q)
{
    struct crew__qlocked *l = &q->locked;
    if (q->drop) {
        /* Storage order; for PRIORITY that is heap order, which is fine:
         * every item is dropped exactly once. */
        for (size_t i = 0; i < l->count; i++)
            q->drop(l->buf[slot_of(q, i)].item, q->drop_ctx);
    }
    crew__free(l->buf);
    l->buf = NULL;
    pthread_mutex_destroy(&l->mu);
}

/* Makes room for at least want entries (mu held).  CREW_ENOMEM leaves
 * everything as it was. */
static int reserve(crew_queue *q, size_t want)
{
    struct crew__qlocked *l = &q->locked;
    if (want <= l->cap)
        return 0;
    size_t ncap = l->cap ? l->cap : LOCKED_INITIAL_CAP;
    while (ncap < want) {
        if (ncap > SIZE_MAX / 2 / sizeof(struct crew__qentry))
            return CREW_ENOMEM;
        ncap *= 2;
    }
    size_t m = atomic_load_explicit(&q->maxsize, memory_order_relaxed); /* stable under mu */
    if (m && ncap > m)
        ncap = m > want ? m : want;
    struct crew__qentry *nb = crew__malloc(ncap * sizeof *nb);
    if (!nb)
        return CREW_ENOMEM;
    for (size_t i = 0; i < l->count; i++)
        nb[i] = l->buf[slot_of(q, i)];
    crew__free(l->buf);
    l->buf = nb;
    l->cap = ncap;
    l->first = 0;
    return 0;
}

static bool before(const crew_queue *q, const struct crew__qentry *a,
                   const struct crew__qentry *b)
{
    int c = q->compare(a->item, b->item, q->compare_ctx);
    return c < 0 || (c == 0 && a->seq < b->seq);
}

/* Adds one entry (mu held, room reserved). */
static void push(crew_queue *q, void *item)
{
    struct crew__qlocked *l = &q->locked;
    struct crew__qentry e = {item, l->next_seq++};
    if (q->kind == CREW_QUEUE_FIFO) {
        size_t j = l->first + l->count;
        l->buf[j >= l->cap ? j - l->cap : j] = e;
    } else if (q->kind == CREW_QUEUE_LIFO) {
        l->buf[l->count] = e;
    } else {
        size_t i = l->count;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!before(q, &e, &l->buf[parent]))
                break;
            l->buf[i] = l->buf[parent];
            i = parent;
        }
        l->buf[i] = e;
    }
    l->count++;
}

/* Removes the entry the next get returns (mu held, count > 0). */
static void *pop(crew_queue *q)
{
    struct crew__qlocked *l = &q->locked;
    void *item;
    if (q->kind == CREW_QUEUE_FIFO) {
        item = l->buf[l->first].item;
        l->first = l->first + 1 == l->cap ? 0 : l->first + 1;
        l->count--;
    } else if (q->kind == CREW_QUEUE_LIFO) {
        item = l->buf[--l->count].item;
    } else {
        item = l->buf[0].item;
        struct crew__qentry last = l->buf[--l->count];
        size_t i = 0, n = l->count;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= n)
                break;
            if (c + 1 < n && before(q, &l->buf[c + 1], &l->buf[c]))
                c++;
            if (!before(q, &l->buf[c], &last))
                break;
            l->buf[i] = l->buf[c];
            i = c;
        }
        if (n > 0)
            l->buf[i] = last;
    }
    return item;
}

/* Sleeps on word until it is bumped or deadline (mu held on entry and on
 * return).  Returns CREW_ETIMEDOUT once the deadline has passed. */
static int word_wait(crew_queue *q, _Atomic uint32_t *word, int64_t deadline)
{
    struct crew__qlocked *l = &q->locked;
    if (deadline != CREW__FOREVER && crew_now_ns() >= deadline)
        return CREW_ETIMEDOUT;
    /* Read under mu: any later bump (also under mu) changes it. */
    uint32_t v = atomic_load_explicit(word, memory_order_relaxed);
    pthread_mutex_unlock(&l->mu);
    int rc = crew__wait_word_blocking(word, v, deadline);
    pthread_mutex_lock(&l->mu);
    return rc;
}

/* Wakes up to n of the `waiting` sleepers on word (mu held). */
static void word_wake(_Atomic uint32_t *word, unsigned waiting, size_t n)
{
    if (waiting == 0)
        return;
    /* relaxed: mu orders it against the sleepers' read of the word. */
    atomic_fetch_add_explicit(word, 1, memory_order_relaxed);
    crew__futex_wake(word, n >= waiting ? (int)waiting : (int)n);
}

/* bad: the caller gave a negative relative timeout (wait is true). */
static int locked_put(crew_queue *q, void *const *items, size_t n, size_t *count, bool wait,
                      int64_t deadline, bool bad)
{
    struct crew__qlocked *l = &q->locked;
    bool counted = false;
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    size_t m = 0;
    for (;;) {
        /* Python checks shutdown first, then whether the queue is bounded,
         * then a negative timeout, then fullness, and shutdown again after
         * every wait.  maxsize is re-read every time (set_maxsize writes it
         * under mu). */
        if (l->shut) {
            rc = CREW_ESHUTDOWN;
            break;
        }
        m = atomic_load_explicit(&q->maxsize, memory_order_relaxed);
        if (!m)
            break;
        if (bad) {
            rc = CREW_EINVAL;
            break;
        }
        if (l->count < m)
            break;
        if (!wait) {
            rc = CREW_EFULL;
            break;
        }
        if (!counted) {
            counted = true;
            atomic_fetch_add_explicit(&q->blocked, 1, memory_order_seq_cst);
        }
        l->putters_waiting++;
        int w = word_wait(q, &l->not_full, deadline);
        l->putters_waiting--;
        if (w == CREW_ETIMEDOUT && !l->shut) {
            m = atomic_load_explicit(&q->maxsize, memory_order_relaxed);
            if (m && l->count >= m) {
                rc = CREW_ETIMEDOUT;
                break;
            }
        }
    }
    if (rc == 0) {
        size_t k = n;
        if (m && k > m - l->count)
            k = m - l->count;
        rc = reserve(q, l->count + k);
        if (rc == 0) {
            for (size_t i = 0; i < k; i++)
                push(q, items[i]);
            *count = k;
            atomic_store_explicit(&l->size, l->count, memory_order_relaxed);
            /* seq_cst: read by task_done/join without mu (queue.c). */
            atomic_fetch_add_explicit(&l->puts, k, memory_order_seq_cst);
            word_wake(&l->not_empty, l->getters_waiting, k);
        }
    }
    pthread_mutex_unlock(&l->mu);
    if (counted) /* the last access to q */
        atomic_fetch_sub_explicit(&q->blocked, 1, memory_order_seq_cst);
    return rc;
}

int crew__qlocked_put(crew_queue *q, void *const *items, size_t n, size_t *count, bool wait,
                      int64_t deadline)
{
    return locked_put(q, items, n, count, wait, deadline, false);
}

int crew__qlocked_put_bad_timeout(crew_queue *q, void *const *items, size_t n, size_t *count)
{
    return locked_put(q, items, n, count, true, CREW__FOREVER, true);
}

int crew__qlocked_get_bad_timeout(crew_queue *q)
{
    struct crew__qlocked *l = &q->locked;
    /* Python: shut down and empty raises ShutDown before the timeout is
     * looked at; otherwise a negative timeout is a ValueError, even with
     * items queued. */
    pthread_mutex_lock(&l->mu);
    int rc = l->shut && l->count == 0 ? CREW_ESHUTDOWN : CREW_EINVAL;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int crew__qlocked_get(crew_queue *q, void **items, size_t n, size_t *count, bool wait,
                      int64_t deadline)
{
    struct crew__qlocked *l = &q->locked;
    bool counted = false;
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        if (l->count > 0)
            break;
        if (l->shut) {
            rc = CREW_ESHUTDOWN;
            break;
        }
        if (!wait) {
            rc = CREW_EEMPTY;
            break;
        }
        if (!counted) {
            counted = true;
            atomic_fetch_add_explicit(&q->blocked, 1, memory_order_seq_cst);
        }
        l->getters_waiting++;
        int w = word_wait(q, &l->not_empty, deadline);
        l->getters_waiting--;
        if (w == CREW_ETIMEDOUT && l->count == 0 && !l->shut) {
            rc = CREW_ETIMEDOUT;
            break;
        }
    }
    if (rc == 0) {
        size_t k = n < l->count ? n : l->count;
        for (size_t i = 0; i < k; i++)
            items[i] = pop(q);
        *count = k;
        atomic_store_explicit(&l->size, l->count, memory_order_relaxed);
        /* Unconditional: the queue may have been bounded since those
         * putters went to sleep (word_wake does nothing without them). */
        word_wake(&l->not_full, l->putters_waiting, k);
    }
    pthread_mutex_unlock(&l->mu);
    if (counted)
        atomic_fetch_sub_explicit(&q->blocked, 1, memory_order_seq_cst);
    return rc;
}

size_t crew__qlocked_size(const crew_queue *q)
{
    /* A snapshot: written under mu after every change. */
    return atomic_load_explicit(&q->locked.size, memory_order_relaxed);
}

uint64_t crew__qlocked_puts(const crew_queue *q)
{
    /* Pairs with the seq_cst fetch_add in put (queue.c's Dekker pairs). */
    return atomic_load_explicit(&q->locked.puts, memory_order_seq_cst);
}

bool crew__qlocked_is_shutdown(const crew_queue *q)
{
    return atomic_load_explicit(&q->locked.shut_flag, memory_order_acquire);
}

uint64_t crew__qlocked_shutdown(crew_queue *q, bool immediate)
{
    struct crew__qlocked *l = &q->locked;
    struct crew__qentry *buf = NULL;
    size_t first = 0, count = 0, cap = 0;
    pthread_mutex_lock(&l->mu);
    l->shut = true;
    atomic_store_explicit(&l->shut_flag, true, memory_order_release);
    if (immediate) {
        /* Take the whole store out; drop it after unlocking so the drop
         * callback never runs under our lock.  No put can succeed any more,
         * so the store stays empty. */
        buf = l->buf;
        first = l->first;
        count = l->count;
        cap = l->cap;
        l->buf = NULL;
        l->cap = l->first = l->count = 0;
        atomic_store_explicit(&l->size, 0, memory_order_relaxed);
    }
    word_wake(&l->not_empty, l->getters_waiting, SIZE_MAX);
    word_wake(&l->not_full, l->putters_waiting, SIZE_MAX);
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < count; i++) {
        size_t j = q->kind == CREW_QUEUE_FIFO ? (first + i) % cap : i;
        if (q->drop)
            q->drop(buf[j].item, q->drop_ctx);
    }
    crew__free(buf);
    return count;
}

void crew__qlocked_set_maxsize(crew_queue *q, size_t maxsize)
{
    struct crew__qlocked *l = &q->locked;
    size_t old = atomic_load_explicit(&q->maxsize, memory_order_relaxed);
    atomic_store_explicit(&q->maxsize, maxsize, memory_order_relaxed);
    /* Growing (or becoming unbounded) may let every blocked putter in:
     * wake them all; those that still do not fit sleep again.  Python sets
     * the attribute without notifying anyone (README.md, section 10). */
    if (old && (!maxsize || maxsize > old))
        word_wake(&l->not_full, l->putters_waiting, SIZE_MAX);
}

void crew__qlocked_adopt(crew_queue *q, struct crew__qentry *buf, size_t cap, size_t count,
                         uint64_t puts)
{
    struct crew__qlocked *l = &q->locked;
    CREW__ASSERT(l->count == 0 && l->buf == NULL && !l->shut && count <= cap);
    l->buf = buf;
    l->cap = cap;
    l->first = 0;
    l->count = count;
    l->next_seq = count;
    atomic_store_explicit(&l->size, count, memory_order_relaxed);
    /* seq_cst like every write of puts; it is published to readers
     * without mu by the release store of ring_impl = false that follows. */
    atomic_store_explicit(&l->puts, puts, memory_order_seq_cst);
}
