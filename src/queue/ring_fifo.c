/* ring_fifo.c - the bounded FIFO of crew_queue: a lock-free ring.
 *
 * A fixed array of cap slots, each with a sequence number, and two 64-bit
 * position counters, tail (next put) and head (next get), on their own cache
 * lines.  Position pos lives in slot pos % cap.  A producer claims positions
 * by CAS on tail once it has seen their slots free (seq == pos), fills them
 * and publishes each with seq = pos + 1; a consumer claims published
 * positions by CAS on head, reads them and frees each with seq = pos + cap
 * (free for the next lap).  So an item is handed out exactly once: only the
 * one CAS that moves head past its position may read it.  Steady state does
 * no allocation, no lock and no system call: one CAS and two slot accesses
 * per item on each side.
 *
 * Shutdown lives inside the counters: a SHUT bit in tail makes every
 * later CAS on tail fail, so a put either claimed its slot before the
 * shutdown or returns CREW_ESHUTDOWN; a DROP bit in head (immediate
 * shutdown) does the same to gets while the shutting-down thread drains the
 * ring into the drop callback.  crew_queue_set_maxsize uses the same
 * device: LIMITED in tail for a bound below the ring's size, MOVED in both
 * counters to move the ring to the locked store (README.md section 10).
 * Bit 63 (ATTN) goes with any of them, so the fast paths test only a sign.
 *
 * Waiting: a call that cannot proceed spins briefly, then yields, then
 * registers in cons_waiters/prod_waiters and sleeps on a futex word through
 * crew__wait_word_blocking (sched/sched.h: inside a pool worker it runs no
 * other task -- the task that would feed the queue, run on the waiter's
 * stack, could never let the waiter go on -- but stops counting as an
 * available worker, so a replacement runs the queued work); the other side
 * loads that count after its CAS and wakes only if it is non-zero, with a
 * plain futex wake of the word (which is what that wait sleeps on).  Why
 * no wake-up is lost (the Dekker pairing of those seq_cst operations) and
 * the rest of the design: README.md.
 */
#include "queue/queue_impl.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/compiler.h"
#include "base/platform.h"
#include "sched/sched.h"

/* How a waiting call backs off before it sleeps (README.md, section 3,
 * "Waiting and waking"): a few µs of spinning, two yields, then sleep.
 * Tuned on W3 (numbers in the doc); overridable with -D for experiments.
 * Not longer on purpose: on few cores a spinning consumer may be keeping
 * the producer it waits for off its core. */
#ifndef RING_SPIN_PAUSES
#define RING_SPIN_PAUSES 64 /* retries with a burst of cpu_relax between */
#endif
#ifndef RING_SPIN_YIELDS
#define RING_SPIN_YIELDS 2 /* then retries with a sched_yield between */
#endif
#ifndef RING_PAUSE_BURST
#define RING_PAUSE_BURST 2 /* cpu_relax calls in one burst (~30 ns each here) */
#endif
/* A position claimed by the other side but not yet published: retry after
 * a yield, and after this many yields nap for RING_NAP_NS at a time. */
#define RING_STALL_YIELDS 16
#define RING_NAP_NS 200000

#define POS(x) CREW__QPOS(x) /* the same bits in head and tail */

static inline struct crew__qslot *ring_slot(const crew_queue *q, uint64_t pos)
{
    return &q->slots[q->pow2 ? (pos & q->mask) : (pos % q->cap)];
}

int crew__qring_init(crew_queue *q)
{
    struct crew__qring *r = &q->ring;
    q->cap = atomic_load_explicit(&q->maxsize, memory_order_relaxed);
    atomic_init(&q->bound, q->cap);
    q->pow2 = (q->cap & (q->cap - 1)) == 0;
    q->mask = q->cap - 1;
    q->slots = crew__alloc_lines((size_t)q->cap * sizeof(struct crew__qslot));
    if (!q->slots)
        return CREW_ENOMEM;
    for (uint64_t i = 0; i < q->cap; i++) {
        atomic_init(&q->slots[i].seq, i);
        q->slots[i].item = NULL;
    }
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->cons_waiters, 0);
    atomic_init(&r->cons_word, 0);
    atomic_init(&r->prod_waiters, 0);
    atomic_init(&r->prod_word, 0);
    return 0;
}

/* Called by destroy with no other call running: drops what is left (a
 * moved ring's items belong to the locked store). */
void crew__qring_fini(crew_queue *q)
{
    struct crew__qring *r = &q->ring;
    if (!atomic_load_explicit(&q->ring_impl, memory_order_relaxed)) {
        crew__free(q->slots);
        q->slots = NULL;
        return;
    }
    uint64_t h = POS(atomic_load_explicit(&r->head, memory_order_relaxed));
    uint64_t t = POS(atomic_load_explicit(&r->tail, memory_order_relaxed));
    for (uint64_t pos = h; pos < t; pos++) {
        if (q->drop)
            q->drop(ring_slot(q, pos)->item, q->drop_ctx);
    }
    crew__free(q->slots);
    q->slots = NULL;
}

/* Bumps a futex word and wakes up to n sleepers on it.  The bump makes a
 * sleeper that read the word before it (and has not slept yet) return from
 * its futex wait at once. */
static void ring_wake(_Atomic uint32_t *word, size_t n)
{
    /* Pairs with the sleeper's seq_cst load of the word before it checks. */
    atomic_fetch_add_explicit(word, 1, memory_order_seq_cst);
    crew__futex_wake(word, n > INT_MAX ? INT_MAX : (int)n);
}

/* How many of n positions from pos a put may claim under a bound below the
 * ring's size (LIMITED in tail; 0: full by the bound).  The slots cannot
 * tell, head must.  head only grows, so a stale one overstates the size:
 * with pos read before it, pos - h >= bound means the queue held at least
 * bound items when pos was read (README.md section 10). */
static uint64_t ring_room(const crew_queue *q, uint64_t pos, uint64_t n)
{
    /* The caller's acquire load of tail that saw LIMITED pairs with the
     * release of set_maxsize's RMW that set it, so this reads that bound or
     * a later one (a put concurrent with a change may use either, as in
     * Python, where the attribute is set outside the queue's mutex). */
    uint64_t bound = atomic_load_explicit(&q->bound, memory_order_relaxed);
    uint64_t h = POS(atomic_load_explicit(&q->ring.head, memory_order_relaxed));
    uint64_t used = pos > h ? pos - h : 0;
    if (used >= bound)
        return 0;
    return bound - used < n ? bound - used : n;
}

static long ring_try_put_attn(crew_queue *q, void *const *items, size_t n);

/* Claims up to n free positions at the tail and fills them with items[0..).
 * Returns how many were put (> 0), 0 if the ring is full, CREW_ESHUTDOWN or
 * CREW__QMOVED.  tv is tail's value with its bits, pos its position.
 * Compiled twice: the steady-state copy (attn false) sees no ATTN bit, so
 * tv is pos and nothing but the position is looked at; on ATTN it hands
 * over to the other copy (ring_try_put_attn), out of line, so the fast
 * path's code is what it would be without the bits. */
static CREW__ALWAYS_INLINE long ring_put_claim(crew_queue *q, void *const *items, size_t n,
                                               uint64_t tv, const bool attn)
{
    struct crew__qring *r = &q->ring;
    /* The ATTN copy reads tail with acquire: a value that has LIMITED was
     * written by set_maxsize's RMW or by a CAS after it (its release
     * sequence), so the bound stored before that RMW is visible. */
    const memory_order tail_mo = attn ? memory_order_acquire : memory_order_relaxed;
    uint64_t pos, k;
    for (;;) {
        uint64_t room = n;
        pos = tv;
        if (tv & CREW__QATTN) {
            if (!attn)
                return ring_try_put_attn(q, items, n);
            if (tv & (CREW__QTAIL_SHUT | CREW__QMOVED_BIT))
                return (tv & CREW__QMOVED_BIT) ? CREW__QMOVED : CREW_ESHUTDOWN;
            /* LIMITED (README.md section 10). */
            pos = POS(tv);
            room = ring_room(q, pos, n);
            if (room == 0)
                return 0;
        }
        /* Acquire pairs with the release store of seq = pos (initial) or
         * pos - cap + cap by the consumer that freed the slot, so its read of
         * the old item happens before our write. */
        uint64_t seq = atomic_load_explicit(&ring_slot(q, pos)->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            /* Free: count how many positions after it are free too. */
            k = 1;
            while (k < room && k < q->cap &&
                   atomic_load_explicit(&ring_slot(q, pos + k)->seq, memory_order_acquire) ==
                       pos + k)
                k++;
            /* seq_cst: this CAS is the "publish" half of the Dekker pair with
             * a consumer that registers in cons_waiters and then loads tail
             * (README.md).  It fails if any bit changed meanwhile (SHUT,
             * MOVED, LIMITED), and keeps the bits it saw. */
            if (atomic_compare_exchange_weak_explicit(&r->tail, &tv, tv + k,
                                                      memory_order_seq_cst, tail_mo))
                break;
        } else if (diff < 0) {
            /* The slot still holds the item of the previous lap: full,
             * unless our tv is stale. */
            uint64_t now = atomic_load_explicit(&r->tail, tail_mo);
            if (now == tv)
                return 0;
            tv = now;
        } else {
            tv = atomic_load_explicit(&r->tail, tail_mo);
        }
    }
    for (uint64_t i = 0; i < k; i++) {
        struct crew__qslot *s = ring_slot(q, pos + i);
        s->item = items[i];
        /* Publish: pairs with the consumer's acquire load of seq. */
        atomic_store_explicit(&s->seq, pos + i + 1, memory_order_release);
    }
    return (long)k;
}

static CREW__COLD long ring_try_put_attn(crew_queue *q, void *const *items, size_t n)
{
    return ring_put_claim(q, items, n, atomic_load_explicit(&q->ring.tail, memory_order_acquire),
                          true);
}

static long ring_try_put(crew_queue *q, void *const *items, size_t n)
{
    uint64_t tv = atomic_load_explicit(&q->ring.tail, memory_order_relaxed);
    return ring_put_claim(q, items, n, tv, false);
}

/* What ring_try_get returns besides a count and CREW_ESHUTDOWN: the ring is
 * shut down but positions claimed before the shutdown are not published yet
 * (the caller retries shortly; those items must still come out). */
#define RING_PENDING (-1000)

/* Claims up to n published positions at the head into items[0..).  Returns
 * how many were taken (> 0), 0 if the ring is empty, CREW_ESHUTDOWN, or
 * RING_PENDING. */
static long ring_try_get(crew_queue *q, void **items, size_t n)
{
    struct crew__qring *r = &q->ring;
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t k;
    for (;;) {
        if (pos & CREW__QATTN) /* DROP or MOVED */
            return (pos & CREW__QMOVED_BIT) ? CREW__QMOVED : CREW_ESHUTDOWN;
        /* Acquire pairs with the producer's release store of seq = pos + 1,
         * so the item it wrote is visible. */
        uint64_t seq = atomic_load_explicit(&ring_slot(q, pos)->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - (pos + 1));
        if (diff == 0) {
            k = 1;
            while (k < n && k < q->cap &&
                   atomic_load_explicit(&ring_slot(q, pos + k)->seq, memory_order_acquire) ==
                       pos + k + 1)
                k++;
            /* seq_cst: Dekker pair with a producer that registers in
             * prod_waiters and then loads head.  Fails if DROP was set. */
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + k,
                                                      memory_order_seq_cst,
                                                      memory_order_relaxed))
                break;
        } else if (diff < 0) {
            uint64_t now = atomic_load_explicit(&r->head, memory_order_relaxed);
            if (now != pos) {
                pos = now;
                continue;
            }
            /* Empty at pos (or its put is not published yet).  Shut down?
             * The hint (a read-mostly line) spares us pulling the
             * producers' tail line on every empty check; seq_cst pairs with
             * the hint store and the fetch_or of SHUT in shutdown. */
            if (!atomic_load_explicit(&q->shut_hint, memory_order_seq_cst))
                return 0;
            uint64_t t = atomic_load_explicit(&r->tail, memory_order_seq_cst);
            if (!(t & CREW__QTAIL_SHUT))
                return 0;
            return POS(t) <= pos ? CREW_ESHUTDOWN : RING_PENDING;
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
    for (uint64_t i = 0; i < k; i++) {
        struct crew__qslot *s = ring_slot(q, pos + i);
        items[i] = s->item;
        /* Free the slot for the next lap: pairs with the producer's acquire
         * load of seq in ring_try_put. */
        atomic_store_explicit(&s->seq, pos + i + q->cap, memory_order_release);
    }
    return (long)k;
}

static bool deadline_passed(int64_t deadline)
{
    return deadline != CREW__FOREVER && crew_now_ns() >= deadline;
}

/* A short nap on word while the other side finishes a claimed position. */
static void ring_nap(_Atomic uint32_t *word, uint32_t w, int64_t deadline)
{
    int64_t nap = crew__deadline_after(RING_NAP_NS);
    crew__wait_word_blocking(word, w, nap < deadline ? nap : deadline);
}

/* One step of a slow path's wait before it registers and sleeps: pause
 * spins first, then (now counted as blocked, so destroy refuses to run; the
 * pause spin is as short as a fast path) yields.  Returns true to retry at
 * once, false when it is time to register as a waiter and sleep. */
static bool ring_backoff(crew_queue *q, unsigned *spins, bool *counted)
{
    if (*spins >= RING_SPIN_PAUSES && !*counted) {
        *counted = true;
        /* seq_cst: pairs with destroy's seq_cst load of blocked. */
        atomic_fetch_add_explicit(&q->blocked, 1, memory_order_seq_cst);
    }
    if (*spins < RING_SPIN_PAUSES + RING_SPIN_YIELDS) {
        crew__backoff_spins((*spins)++, RING_SPIN_PAUSES, RING_PAUSE_BURST);
        return true;
    }
    return false;
}

static int ring_put_slow(crew_queue *q, void *const *items, size_t n, size_t *count,
                         int64_t deadline)
{
    struct crew__qring *r = &q->ring;
    unsigned spins = 0, stalls = 0;
    bool counted = false;
    long k;
    for (;;) {
        k = ring_try_put(q, items, n);
        if (k != 0)
            break;
        if (deadline_passed(deadline)) {
            k = CREW_ETIMEDOUT;
            break;
        }
        if (ring_backoff(q, &spins, &counted))
            continue;
        /* Register, then re-check against head: a consumer whose CAS on
         * head comes after our load will see prod_waiters != 0 and wake us
         * (README.md, "Why no wake-up is lost"). */
        atomic_fetch_add_explicit(&r->prod_waiters, 1, memory_order_seq_cst);
        uint32_t w = atomic_load_explicit(&r->prod_word, memory_order_seq_cst);
        /* head before tail: tail only grows, so t - h cannot underflow. */
        uint64_t h = atomic_load_explicit(&r->head, memory_order_seq_cst);
        uint64_t t = atomic_load_explicit(&r->tail, memory_order_seq_cst);
        /* seq_cst: pairs with set_maxsize's store of a larger bound and
         * its bump of prod_word that follows (README.md section 10). */
        uint64_t bound = atomic_load_explicit(&q->bound, memory_order_seq_cst);
        if (t & (CREW__QTAIL_SHUT | CREW__QMOVED_BIT)) {
            /* the retry returns CREW_ESHUTDOWN or CREW__QMOVED */
        } else if (POS(t) - POS(h) >= bound) {
            crew__wait_word_blocking(&r->prod_word, w, deadline);
            stalls = 0;
        } else if (++stalls < RING_STALL_YIELDS) {
            sched_yield(); /* a consumer is freeing the slot */
        } else {
            ring_nap(&r->prod_word, w, deadline);
        }
        atomic_fetch_sub_explicit(&r->prod_waiters, 1, memory_order_seq_cst);
    }
    if (k > 0) {
        *count = (size_t)k;
        /* Pairs with a consumer's fetch_add on cons_waiters (Dekker). */
        if (atomic_load_explicit(&r->cons_waiters, memory_order_seq_cst) != 0)
            ring_wake(&r->cons_word, (size_t)k);
    }
    /* The last access to q: destroy may run once this is done. */
    if (counted)
        atomic_fetch_sub_explicit(&q->blocked, 1, memory_order_seq_cst);
    if (k == CREW__QMOVED) /* the same call, on the locked store */
        return crew__qlocked_put(q, items, n, count, true, deadline);
    return k > 0 ? 0 : (int)k;
}

int crew__qring_put(crew_queue *q, void *const *items, size_t n, size_t *count, bool wait,
                    int64_t deadline)
{
    struct crew__qring *r = &q->ring;
    long k = ring_try_put(q, items, n);
    if (k > 0) {
        *count = (size_t)k;
        /* seq_cst load after our seq_cst CAS on tail: pairs with a
         * consumer's fetch_add on cons_waiters (README.md). */
        if (atomic_load_explicit(&r->cons_waiters, memory_order_seq_cst) != 0)
            ring_wake(&r->cons_word, (size_t)k);
        return 0;
    }
    if (k < 0) {
        if (k == CREW__QMOVED) /* the same call, on the locked store */
            return crew__qlocked_put(q, items, n, count, wait, deadline);
        return (int)k;
    }
    if (!wait)
        return CREW_EFULL;
    return ring_put_slow(q, items, n, count, deadline);
}

static int ring_get_slow(crew_queue *q, void **items, size_t n, size_t *count, bool wait,
                         int64_t deadline)
{
    struct crew__qring *r = &q->ring;
    unsigned spins = 0, stalls = 0;
    bool counted = false;
    long k;
    for (;;) {
        k = ring_try_get(q, items, n);
        if (k == RING_PENDING) {
            /* Shut down with puts still publishing: they finish soon. */
            sched_yield();
            continue;
        }
        if (k != 0) /* items, CREW_ESHUTDOWN or CREW__QMOVED */
            break;
        if (!wait) {
            k = CREW_EEMPTY;
            break;
        }
        if (deadline_passed(deadline)) {
            k = CREW_ETIMEDOUT;
            break;
        }
        if (ring_backoff(q, &spins, &counted))
            continue;
        /* Register, then re-check against tail: a producer whose CAS on
         * tail comes after our load will see cons_waiters != 0. */
        atomic_fetch_add_explicit(&r->cons_waiters, 1, memory_order_seq_cst);
        uint32_t w = atomic_load_explicit(&r->cons_word, memory_order_seq_cst);
        uint64_t h = atomic_load_explicit(&r->head, memory_order_seq_cst);
        uint64_t t = atomic_load_explicit(&r->tail, memory_order_seq_cst);
        if (h & CREW__QATTN) {
            /* the retry returns CREW_ESHUTDOWN or CREW__QMOVED */
        } else if (POS(t) > POS(h)) {
            /* An item is claimed; it may not be published yet. */
            if (++stalls < RING_STALL_YIELDS)
                sched_yield();
            else
                ring_nap(&r->cons_word, w, deadline);
        } else if (t & CREW__QTAIL_SHUT) {
            /* shut down and empty: the retry returns CREW_ESHUTDOWN */
        } else {
            crew__wait_word_blocking(&r->cons_word, w, deadline);
            stalls = 0;
        }
        atomic_fetch_sub_explicit(&r->cons_waiters, 1, memory_order_seq_cst);
    }
    if (k > 0) {
        *count = (size_t)k;
        /* Pairs with a producer's fetch_add on prod_waiters (Dekker). */
        if (atomic_load_explicit(&r->prod_waiters, memory_order_seq_cst) != 0)
            ring_wake(&r->prod_word, (size_t)k);
    }
    if (counted) /* the last access to q */
        atomic_fetch_sub_explicit(&q->blocked, 1, memory_order_seq_cst);
    if (k == CREW__QMOVED) /* the same call, on the locked store */
        return crew__qlocked_get(q, items, n, count, wait, deadline);
    return k > 0 ? 0 : (int)k;
}

int crew__qring_get(crew_queue *q, void **items, size_t n, size_t *count, bool wait,
                    int64_t deadline)
{
    struct crew__qring *r = &q->ring;
    long k = ring_try_get(q, items, n);
    if (k > 0) {
        *count = (size_t)k;
        /* seq_cst load after our seq_cst CAS on head: pairs with a
         * producer's fetch_add on prod_waiters. */
        if (atomic_load_explicit(&r->prod_waiters, memory_order_seq_cst) != 0)
            ring_wake(&r->prod_word, (size_t)k);
        return 0;
    }
    if (k == CREW_ESHUTDOWN)
        return CREW_ESHUTDOWN;
    if (k == CREW__QMOVED) /* the same call, on the locked store */
        return crew__qlocked_get(q, items, n, count, wait, deadline);
    if (k == 0 && !wait)
        return CREW_EEMPTY;
    /* Waiting, or RING_PENDING (which even a try_ get waits out: those
     * items were put before the shutdown and must come out). */
    return ring_get_slow(q, items, n, count, wait, deadline);
}

size_t crew__qring_size(const crew_queue *q)
{
    const struct crew__qring *r = &q->ring;
    /* head first: tail only grows, so t >= h unless both moved a lot. */
    uint64_t h = POS(atomic_load_explicit(&r->head, memory_order_acquire));
    uint64_t t = POS(atomic_load_explicit(&r->tail, memory_order_acquire));
    if (t <= h)
        return 0;
    return t - h > q->cap ? (size_t)q->cap : (size_t)(t - h);
}

uint64_t crew__qring_puts(const crew_queue *q)
{
    /* Every position below tail was claimed by a put that succeeds. seq_cst:
     * read by join/task_done in their Dekker pairs (queue.c). */
    return POS(atomic_load_explicit(&q->ring.tail, memory_order_seq_cst));
}

bool crew__qring_is_shutdown(const crew_queue *q)
{
    return atomic_load_explicit(&q->ring.tail, memory_order_acquire) & CREW__QTAIL_SHUT;
}

int crew__qring_shutdown(crew_queue *q, bool immediate, uint64_t *dropped_out)
{
    struct crew__qring *r = &q->ring;
    uint64_t dropped = 0;
    /* locked.mu orders the shutdown against a move to the locked store:
     * either the move came first (the locked store shuts down instead), or
     * SHUT is set first and no move ever happens (set_maxsize checks SHUT
     * under mu).  Only the bits are set under mu; the drain below runs
     * without it, so the drop callback never runs under a queue lock. */
    pthread_mutex_lock(&q->locked.mu);
    if (!atomic_load_explicit(&q->ring_impl, memory_order_relaxed)) {
        pthread_mutex_unlock(&q->locked.mu);
        return CREW__QMOVED;
    }
    /* From here on no CAS on tail succeeds: tail is frozen (pairs with the
     * seq_cst tail loads in ring_try_get and the sleepers' re-checks). */
    atomic_fetch_or_explicit(&r->tail, CREW__QATTN | CREW__QTAIL_SHUT, memory_order_seq_cst);
    atomic_store_explicit(&q->shut_hint, true, memory_order_seq_cst);
    uint64_t h = CREW__QHEAD_DROP;
    if (immediate) /* From here on no CAS on head succeeds: only we move it. */
        h = atomic_fetch_or_explicit(&r->head, CREW__QATTN | CREW__QHEAD_DROP,
                                     memory_order_seq_cst);
    pthread_mutex_unlock(&q->locked.mu);
    if (!(h & CREW__QHEAD_DROP)) {
        /* Let blocked getters leave at once; then drain. */
        ring_wake(&r->cons_word, INT_MAX);
        uint64_t t = POS(atomic_load_explicit(&r->tail, memory_order_seq_cst));
        for (uint64_t pos = POS(h); pos < t; pos++) {
            struct crew__qslot *s = ring_slot(q, pos);
            /* A put that claimed pos before SHUT may still be filling
             * it; acquire pairs with its release store. */
            for (unsigned k = 0; atomic_load_explicit(&s->seq, memory_order_acquire) != pos + 1; k++)
                crew__backoff(k);
            void *item = s->item;
            atomic_store_explicit(&s->seq, pos + q->cap, memory_order_release);
            if (q->drop)
                q->drop(item, q->drop_ctx);
            dropped++;
        }
        atomic_store_explicit(&r->head, t | CREW__QATTN | CREW__QHEAD_DROP, memory_order_seq_cst);
    }
    /* Every blocked put and get re-checks and sees SHUT. */
    ring_wake(&r->prod_word, INT_MAX);
    ring_wake(&r->cons_word, INT_MAX);
    *dropped_out = dropped;
    return 0;
}

int crew__qring_bad_timeout(const crew_queue *q, bool put)
{
    const struct crew__qring *r = &q->ring;
    if (put) {
        /* A ring is always bounded: Python's put checks shutdown, then
         * (bounded) rejects the timeout. */
        uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (t & CREW__QMOVED_BIT)
            return CREW__QMOVED;
        return (t & CREW__QTAIL_SHUT) ? CREW_ESHUTDOWN : CREW_EINVAL;
    }
    /* get: ShutDown if shut down and empty, else the timeout is rejected.
     * head before tail: if tail is shut with no position past h, the queue
     * was shut down and empty when tail was read (head >= h then); if not,
     * it was not both when head was read (tail then was frozen past h, or
     * not shut yet). */
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (h & CREW__QMOVED_BIT)
        return CREW__QMOVED;
    if (h & CREW__QHEAD_DROP)
        return CREW_ESHUTDOWN;
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if ((t & CREW__QTAIL_SHUT) && POS(t) <= POS(h))
        return CREW_ESHUTDOWN;
    return CREW_EINVAL;
}

/* Moves the ring's items to the locked store for good (locked.mu held, not
 * shut down).  README.md section 10 has the steps and why no item is lost
 * or duplicated. */
static int ring_move(crew_queue *q, size_t maxsize)
{
    struct crew__qring *r = &q->ring;
    /* Allocated before anything changes, so failing leaves the ring as it
     * was.  At most cap items can be in the ring. */
    size_t ecap = q->cap < 16 ? 16 : (size_t)q->cap;
    struct crew__qentry *buf = crew__malloc(ecap * sizeof *buf);
    if (!buf)
        return CREW_ENOMEM;
    /* 1. Freeze tail: every later CAS of a put fails and sees MOVED; the
     *    positions below t were claimed by puts that succeed. */
    uint64_t t = atomic_fetch_or_explicit(&r->tail, CREW__QATTN | CREW__QMOVED_BIT,
                                          memory_order_seq_cst);
    /* 2. Freeze head likewise: the positions below h were claimed by gets. */
    uint64_t h = atomic_fetch_or_explicit(&r->head, CREW__QATTN | CREW__QMOVED_BIT,
                                          memory_order_seq_cst);
    CREW__ASSERT(!(t & CREW__QTAIL_SHUT) && !(h & CREW__QHEAD_DROP));
    t = POS(t);
    h = POS(h);
    CREW__ASSERT(h <= t && t - h <= q->cap);
    /* 3. Take positions h..t-1 in order, waiting for puts that claimed
     *    them to publish (acquire pairs with their release of seq).  The
     *    slots are left as they are: nothing claims them again, and gets
     *    that claimed positions below h may still be reading theirs. */
    size_t count = 0;
    for (uint64_t pos = h; pos < t; pos++) {
        struct crew__qslot *s = ring_slot(q, pos);
        for (unsigned k = 0; atomic_load_explicit(&s->seq, memory_order_acquire) != pos + 1; k++)
            crew__backoff(k);
        buf[count].item = s->item;
        buf[count].seq = count;
        count++;
    }
    /* 4. The locked store takes them and continues the count of puts from
     *    t; then the switch (release: pairs with the acquire loads of
     *    ring_impl, so who sees false sees the store filled). */
    atomic_store_explicit(&q->maxsize, maxsize, memory_order_relaxed);
    crew__qlocked_adopt(q, buf, ecap, count, t);
    atomic_store_explicit(&q->ring_impl, false, memory_order_seq_cst);
    /* 5. Wake every ring sleeper: it retries, finds MOVED and comes to the
     *    locked store (whose mutex we hold until the caller is done). */
    ring_wake(&r->prod_word, INT_MAX);
    ring_wake(&r->cons_word, INT_MAX);
    return 0;
}

int crew__qring_set_maxsize(crew_queue *q, size_t maxsize)
{
    struct crew__qring *r = &q->ring;
    CREW__ASSERT(atomic_load_explicit(&q->ring_impl, memory_order_relaxed));
    /* SHUT is set only under locked.mu, which we hold: stable. */
    if (atomic_load_explicit(&r->tail, memory_order_relaxed) & CREW__QTAIL_SHUT) {
        /* No put succeeds any more, whatever the bound: as Python, just
         * record the value (full() and maxsize() report it). */
        atomic_store_explicit(&q->maxsize, maxsize, memory_order_relaxed);
        return 0;
    }
    if (maxsize == 0 || (uint64_t)maxsize > q->cap)
        return ring_move(q, maxsize);
    uint64_t old = atomic_load_explicit(&q->bound, memory_order_relaxed);
    atomic_store_explicit(&q->maxsize, maxsize, memory_order_relaxed);
    /* The bound first, then the bit (README.md section 10).  Below cap,
     * LIMITED sends every put through ring_room: a put whose CAS lands after
     * this fetch_or saw the bit (the CAS compares the whole word), and its
     * acquire fence after that pairs with this release, so it reads this
     * bound or a later one.  At cap the bit goes (no SHUT or MOVED can be
     * there: we hold mu and the ring is live, so ATTN goes with it). */
    atomic_store_explicit(&q->bound, (uint64_t)maxsize, memory_order_seq_cst);
    if ((uint64_t)maxsize < q->cap)
        atomic_fetch_or_explicit(&r->tail, CREW__QATTN | CREW__QTAIL_LIMITED,
                                 memory_order_seq_cst);
    else
        atomic_fetch_and_explicit(&r->tail, ~(CREW__QATTN | CREW__QTAIL_LIMITED),
                                  memory_order_seq_cst);
    /* Then the bump: a producer that registered and then read the old bound
     * (seq_cst, ring_put_slow) read prod_word before this bump, so its futex
     * wait returns at once. */
    if (maxsize > old)
        ring_wake(&r->prod_word, INT_MAX);
    return 0;
}
