/* deque.c - the per-worker work-stealing deque (Chase-Lev, C11 atomics).
 *
 * See deque.h for the contract and DEQUE.md for why it is correct: the
 * step numbers in the comments below (P1.., O1.., S1.., G1..) are the steps
 * named there.
 *
 * Glossary: top (t) = index of the oldest item; bottom (b) = one past the
 * newest item; items live at indices [t, b) of an unbounded virtual array,
 * index i in slot i & mask of the current ring.  Indices are int64_t and only
 * grow (2^63 pushes do not happen), so there is no wrap-around and no ABA on
 * top.
 *
 * No standalone fences: the two store-then-load (Dekker) orderings the
 * algorithm needs -- pop's "bottom = b-1, then read top" against steal's
 * "read top, then read bottom" -- use seq_cst on all four accesses, so they
 * are ordered in the single total order S.  Slots are _Atomic(void *) read
 * and written relaxed: their ordering comes from bottom (release/acquire)
 * and top (the CAS), so there is no data race in the C11 sense.
 */
#include "sched/deque.h"

#include <stdlib.h>

#include "crew/error.h"
#include "base/compiler.h"
#include "base/sys.h"

/* A zeroed ring of 2^log2 slots, or NULL.  calloc's all-zero bytes are a
 * valid NULL _Atomic(void *) on every platform crew supports; slots outside
 * [t, b) are never used for a returned item anyway (see DEQUE.md). */
static crew__deque_buf *deque_buf_new(unsigned log2)
{
    if (log2 > 40)
        return NULL;
    size_t n = (size_t)1 << log2;
    if (n > (SIZE_MAX - sizeof(crew__deque_buf)) / sizeof(_Atomic(void *)))
        return NULL;
    crew__deque_buf *a = crew__calloc(1, sizeof(crew__deque_buf) + n * sizeof(_Atomic(void *)));
    if (a == NULL)
        return NULL;
    a->mask = (int64_t)n - 1;
    a->next = NULL;
    return a;
}

static unsigned deque_log2(int64_t capacity)
{
    unsigned k = 0;
    while (((int64_t)1 << k) < capacity)
        k++;
    return k;
}

int crew__deque_init(crew__deque *d, unsigned log2_capacity)
{
    if (d == NULL || log2_capacity > CREW__DEQUE_MAX_LOG2)
        return CREW_EINVAL;
    crew__deque_buf *a = deque_buf_new(log2_capacity);
    if (a == NULL)
        return CREW_ENOMEM;
    /* No other thread may use d yet: whatever publishes d to them (thread
     * creation, a mutex, a release store) orders these plain inits. */
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->buf, a);
    d->retired = NULL;
    return CREW_OK;
}

void crew__deque_destroy(crew__deque *d)
{
    if (d == NULL)
        return;
    /* No concurrent use (contract): relaxed is enough, the caller's join or
     * lock orders this after every other thread's last access. */
    crew__free(atomic_load_explicit(&d->buf, memory_order_relaxed));
    atomic_store_explicit(&d->buf, NULL, memory_order_relaxed);
    crew__deque_buf *r = d->retired;
    while (r != NULL) {
        crew__deque_buf *next = r->next;
        crew__free(r);
        r = next;
    }
    d->retired = NULL;
}

/* Owner only.  Replaces ring a (full: b - t == capacity) by one twice as big
 * holding the same items [t, b) at the same indices.  Returns the new ring,
 * or NULL (nothing changed) if memory ran out.  DEQUE.md, "steal vs
 * grow". */
static crew__deque_buf *deque_grow(crew__deque *d, crew__deque_buf *a, int64_t t, int64_t b)
{
    crew__deque_buf *na = deque_buf_new(deque_log2(a->mask + 1) + 1);
    if (na == NULL)
        return NULL;
    /* G1: copy the live range.  t may be stale (smaller than the real top):
     * then a few already-stolen items are copied too, which is harmless --
     * their indices are below top, so no steal can succeed on them.  Relaxed
     * loads of our own earlier stores; the relaxed stores into na become
     * visible to thieves through G2's release. */
    for (int64_t i = t; i < b; i++)
        atomic_store_explicit(&na->slots[i & na->mask],
                              atomic_load_explicit(&a->slots[i & a->mask], memory_order_relaxed),
                              memory_order_relaxed);
    /* Keep the old ring until destroy: a thief that loaded d->buf before G2
     * may still read it (and its contents stay valid for every index it can
     * successfully steal, see DEQUE.md). */
    a->next = d->retired;
    d->retired = a;
    /* G2: publish.  Release: orders G1's copies (and the mask) before the
     * pointer; pairs with the acquire load of d->buf in steal (S3).  A thief
     * that then sees a bottom written after this point (P3, release, paired
     * with S2) is guaranteed to load this ring or a newer one. */
    atomic_store_explicit(&d->buf, na, memory_order_release);
    return na;
}

CREW__COLD int crew__deque_push_slow(crew__deque *d, void *item)
{
    /* P1 as in crew__deque_try_push; grow if still full (G1, G2). */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    crew__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
    if (b - t > a->mask) {
        a = deque_grow(d, a, t, b);
        if (a == NULL)
            return CREW_ENOMEM;
    }
    /* P2 and P3 as in crew__deque_try_push. */
    atomic_store_explicit(&a->slots[b & a->mask], item, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b + 1, memory_order_seq_cst);
    return CREW_OK;
}

/* The code of push and pop is crew__deque_try_push and _pop_fast in
 * deque.h (inlined into the scheduler's hot paths); their steps:
 *
 * push
 *   P1: bottom is written only by this thread: a relaxed load reads our
 *       own latest value.  top with acquire: pairs with the thieves'
 *       seq_cst (hence release) CAS on top (S5): if we see top > i, the
 *       thief's read of slot i (S4) happens-before our reuse of that slot,
 *       so it cannot read the new item.  A stale (smaller) t only makes the
 *       ring look fuller: we grow a bit early.  d->buf relaxed: the owner
 *       is its only writer.  Full (b - t > mask): crew__deque_push_slow.
 *   P2: the item into slot b.  Relaxed: made visible by P3's release.
 *   P3: publish.  seq_cst: a release (orders P2 and any G2 before the new
 *       bottom; pairs with the seq_cst, hence acquire, loads of bottom in
 *       steal S2 and size_hint), and a member of S, so the caller's next
 *       seq_cst load (the pool's sleeper count) is ordered after it: the
 *       Dekker pattern of the parking protocol, see deque.h.  Do not
 *       weaken.
 *
 * pop
 *   Owner only: relaxed reads of our own latest bottom and ring.
 *   O0: fast empty check.  top only increases, so a (possibly stale)
 *       relaxed top >= bottom proves the deque is empty now; nothing is
 *       ordered by it, and it saves O1's full barrier when the worker polls
 *       an empty deque.  If this t is stale, the slow path decides.
 *   O1: reserve slot b = bottom - 1.  seq_cst: together with O2 this is
 *       the owner's half of the Dekker pattern with steal's S1/S2: in S,
 *       either O1 comes before a thief's S2 (that thief sees the smaller
 *       bottom) or the thief's S1 comes before O2 (we see its top, or a
 *       later one).
 *   O2: t = top, seq_cst, after O1 in S (sequenced after it).  Also an
 *       acquire that pairs with the thieves' CAS (S5): their reads of the
 *       slots they took (S4) happen-before our later pushes that reuse
 *       those slots.
 *   t > b: empty after all (thieves took everything; t == b + 1).  O4: put
 *       bottom back to b + 1 == top.  This publishes no item: a thief that
 *       reads it either read top == b + 1 too (empty) or holds an older t
 *       that its CAS will find stale.  Release keeps the reasoning simple
 *       (pairs with S2, like P3).
 *   t < b: more than one item: no thief can reach index b; the slot is our
 *       own earlier store (P2 or G1), read relaxed.
 *   O3: the last item (t == b): race the thieves for it on top, exactly as
 *       a thief would.  seq_cst CAS pairs with the thieves' CAS (S5); only
 *       one of them moves top from t to t + 1.  Failure order relaxed: we
 *       only learn that a thief won.
 *   O4: top is now t + 1 either way: make the deque empty, bottom = top.
 *       Release pairs with S2 (as above). */
int crew__deque_push(crew__deque *d, void *item)
{
    if (d == NULL || item == NULL)
        return CREW_EINVAL;
    return crew__deque_push_fast(d, item);
}

void *crew__deque_pop(crew__deque *d)
{
    return crew__deque_pop_fast(d);
}

void *crew__deque_steal(crew__deque *d, int *lost_race)
{
    /* S1: seq_cst, the thief's half of the Dekker pattern with O1/O2 (and
     * an acquire: pairs with other thieves' S5 and the owner's O3). */
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    /* S2: seq_cst, after S1 in S.  An acquire: pairs with P3 (and the
     * release stores O4), so the item at index t -- and the ring it was
     * written into -- are visible below. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    if (t >= b) {
        if (lost_race != NULL)
            *lost_race = 0;
        return NULL;
    }
    /* S3: the ring, AFTER S2.  Acquire pairs with grow's release (G2).
     * Because S2 synchronized with the push that published index t (or a
     * later one), which came after any growth that preceded it, this load
     * returns the ring index t was written into, or a newer one into which
     * G1 copied it.  Loading the ring before S2 could return an older ring
     * that never held index t (DEQUE.md, "steal vs grow"). */
    crew__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_acquire);
    /* S4: read the item before claiming it: once top moves past t the owner
     * may overwrite the slot.  Relaxed: ordered by S2/S3 above; the value is
     * only used if S5 succeeds, which proves it was index t's item. */
    void *item = atomic_load_explicit(&a->slots[t & a->mask], memory_order_relaxed);
    /* S5: claim index t.  seq_cst CAS: a release that pairs with push's
     * acquire load of top (P1) so S4 happens-before any reuse of the slot,
     * and the single arbiter against other thieves' S5 and the owner's O3.
     * Failure order relaxed: we only learn that we lost. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed)) {
        if (lost_race != NULL)
            *lost_race = 1;
        return NULL;
    }
    if (lost_race != NULL)
        *lost_race = 0;
    return item;
}

int64_t crew__deque_size_hint(const crew__deque *d)
{
    /* seq_cst loads, top then bottom like S1/S2: a parking worker that did
     * a seq_cst RMW on the pool's sleeper count and then sees 0 here knows a
     * later push (P3, seq_cst) will see its count.  Both pair with the
     * writers as steal's loads do. */
    int64_t t = atomic_load_explicit(&((crew__deque *)d)->top, memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&((crew__deque *)d)->bottom, memory_order_seq_cst);
    return b > t ? b - t : 0;
}

int64_t crew__deque_capacity(const crew__deque *d)
{
    /* Acquire pairs with G2 so that the mask read is the published one. */
    crew__deque_buf *a = atomic_load_explicit(&((crew__deque *)d)->buf, memory_order_acquire);
    return a->mask + 1;
}

bool crew__deque_valid(const crew__deque *d)
{
    if (!d)
        return false;
    const crew__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_acquire);
    if (!a || a->mask < 0 || ((a->mask + 1) & a->mask) != 0)
        return false;
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t < 0 || b < t || b - t > a->mask + 1)
        return false;
    for (int64_t i = t; i < b; i++)
        if (!atomic_load_explicit(&a->slots[i & a->mask], memory_order_relaxed))
            return false;
    for (const crew__deque_buf *r = d->retired; r; r = r->next)
        if (r->mask >= a->mask)
            return false;
    return true;
}
