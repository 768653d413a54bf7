/* deque.h - internal: the per-worker work-stealing deque (Chase-Lev).
 *
 * Each worker owns one deque.  The owner pushes and pops at the bottom end
 * (LIFO: the most recently spawned task runs first, while its data is still
 * in cache); any other thread steals from the top end (FIFO: the oldest, and
 * in fork-join usually the biggest, piece of work).  The ring grows (doubles)
 * when full and never shrinks; outgrown rings stay allocated until destroy
 * because a thief may still be reading one.
 *
 * The algorithm is Chase and Lev's (SPAA 2005) with the C11 memory orders of
 * Le, Pop, Cohen and Zappa Nardelli ("Correct and efficient work-stealing for
 * weak memory models", PPoPP 2013), rewritten without standalone fences: the
 * orderings the paper gets from atomic_thread_fence come from seq_cst
 * operations on top and bottom instead (ThreadSanitizer does not model
 * fences).  Why every item is taken exactly once -- the races pop vs steal on
 * the last item, steal vs steal and steal vs grow, step by step -- is written
 * up in DEQUE.md.
 *
 * Protection legend: top A (CAS by thieves and the owner's last take),
 * bottom A written by the owner only, buf A replaced by the owner only,
 * retired O (owner only).
 *
 * Synchronization table: who may call what at the same time.
 *
 *   call          caller           may run concurrently with
 *   init/destroy  anyone           nothing on the same deque
 *   push, pop     the owner only   steal and size_hint from any thread
 *   steal         any thread       push, pop, steal, size_hint
 *   size_hint     any thread       anything
 *   capacity      any thread       anything
 *
 * Ordering promises the scheduler relies on:
 *
 *  - push stores the new bottom with a seq_cst operation, after the item is
 *    in its slot.  A caller that does a seq_cst load after push returns (the
 *    pool loads its count of sleeping workers) is therefore ordered after the
 *    publication in the single total order S of seq_cst operations.  With a
 *    parking worker that first increments that count (seq_cst RMW) and then
 *    looks for work with seq_cst loads (steal, size_hint), this is a Dekker
 *    pattern: either the pusher sees the sleeper and wakes it, or the sleeper
 *    sees the item; never neither.  Do not weaken push's bottom store.
 *  - steal and size_hint load top and bottom with seq_cst, so they take part
 *    in that Dekker pattern from the sleeper's side.
 *  - An item taken by pop or steal was fully written (everything the pusher
 *    did before push happens-before whatever the taker does after getting
 *    it): push's bottom store is a release and steal/pop read bottom or top
 *    with acquire (or are the pushing thread).
 *
 * Items are non-NULL pointers; NULL means "nothing".  The deque never looks
 * at or frees items.  pop, steal, size_hint and capacity take an initialized
 * deque (not checked: they are the scheduler's hot path); init, destroy and
 * push check their arguments.
 *
 * Layout: top and bottom sit on separate cache lines (CREW__CACHE_LINE) so
 * that thieves CASing top do not keep stealing the owner's line.  The struct
 * is declared with that alignment: embed it in memory from crew__alloc_lines
 * (or static/automatic storage) -- plain malloc only guarantees 16 and UBSan
 * reports misaligned member accesses.
 */
#ifndef CREW_SRC_DEQUE_H
#define CREW_SRC_DEQUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/compiler.h"
#include "base/sys.h" /* CREW__CACHE_LINE */

/* Largest log2_capacity crew__deque_init accepts (2^30 slots = 8 GiB). */
#define CREW__DEQUE_MAX_LOG2 30

/* A ring of 2^k slots.  Declared here so that push and pop can be inlined
 * into the scheduler's hot paths (crew__deque_push_fast, _pop_fast). */
typedef struct crew__deque_buf crew__deque_buf;
struct crew__deque_buf {
    /* Number of slots - 1 (slots are a power of two).  Written once before
     * the ring is published (init, or grow's release store of d->buf) and
     * immutable afterwards, so thieves may read it without atomics. */
    int64_t mask;
    /* Next outgrown ring on d->retired.  Owner only; thieves never read it. */
    crew__deque_buf *next;
    /* The items.  Written by the owner (push, grow's copy), read by the
     * owner (pop) and thieves (steal); all accesses relaxed. */
    _Atomic(void *) slots[];
};

typedef struct crew__deque {
    /* Index of the oldest item, the next one thieves take.  Only ever
     * increases.  Written only by seq_cst CAS: by thieves, and by the owner
     * when it takes the last item.  Read by everyone. */
    _Alignas(CREW__CACHE_LINE) _Atomic int64_t top;
    /* Index one past the newest item.  Written only by the owner (push, pop);
     * read by thieves and size_hint.  bottom - top is the number of items
     * (transiently -1 while pop finds the deque empty). */
    _Alignas(CREW__CACHE_LINE) _Atomic int64_t bottom;
    /* The current ring.  Replaced (release) only by the owner when it grows;
     * read by thieves (acquire) after they have read top and bottom. */
    _Atomic(crew__deque_buf *) buf;
    /* Outgrown rings, linked through their next field.  Owner only (pushed in
     * grow, freed in destroy); thieves never follow this list. */
    crew__deque_buf *retired;
} crew__deque;

/* Initializes an empty deque with room for 2^log2_capacity items before its
 * first growth.  Returns 0, CREW_EINVAL (d NULL or log2_capacity >
 * CREW__DEQUE_MAX_LOG2) or CREW_ENOMEM (d is then not initialized). */
int crew__deque_init(crew__deque *d, unsigned log2_capacity);

/* Frees every ring.  No other call may run on d at the same time or later
 * (until init again).  Items still inside are not touched: take them out
 * first if they own memory.  d NULL does nothing. */
void crew__deque_destroy(crew__deque *d);

/* Owner only.  Pushes item (non-NULL) at the bottom.  When the ring is full
 * it doubles first.  Returns 0, CREW_ENOMEM (growth failed: the item was not
 * pushed and the deque is unchanged) or CREW_EINVAL (d or item NULL).  The
 * bottom update is a seq_cst operation (see the ordering promises above). */
int crew__deque_push(crew__deque *d, void *item);

/* Owner only.  Takes the newest item (LIFO), or returns NULL when the deque
 * is empty or a thief won the last item. */
void *crew__deque_pop(crew__deque *d);

/* crew__deque_push without the argument checks (d and item non-NULL),
 * inlined into the scheduler's spawn path; the growth is out of line
 * (crew__deque_push_slow), so the fast path needs no saved registers. */
static inline int crew__deque_push_fast(crew__deque *d, void *item);

/* crew__deque_pop inlined (the same function: deque.c's pop calls it). */
static inline void *crew__deque_pop_fast(crew__deque *d);

/* Any thread.  Takes the oldest item (FIFO).  Returns NULL with
 * *lost_race = 0 when the deque looked empty, or NULL with *lost_race = 1
 * when another thief or the owner took that item first (the deque may still
 * have items: retrying makes sense).  On success *lost_race = 0.  lost_race
 * may be NULL. */
void *crew__deque_steal(crew__deque *d, int *lost_race);

/* Any thread.  The number of items at some recent moment (bottom - top from
 * two seq_cst loads, clamped at 0): may be stale by the time it returns. */
int64_t crew__deque_size_hint(const crew__deque *d);

/* Any thread.  The current ring's number of slots (a power of two; grows,
 * never shrinks); for tests and statistics. */
int64_t crew__deque_capacity(const crew__deque *d);

/* At a quiescent point (no push, pop or steal running): true if d's
 * invariants hold -- a ring of a power-of-two size, top <= bottom, no more
 * items than slots, every item in [top, bottom) non-NULL, the retired rings
 * smaller than the current one.  For assertions and stress programs. */
bool crew__deque_valid(const crew__deque *d);

/* ---- the inline fast paths (steps of DEQUE.md; the comments are in
 * deque.c, whose crew__deque_push and crew__deque_pop are these) ---------- */

/* Owner only: pushes item (non-NULL) if the ring has room; false (and
 * nothing done) if it is full. */
static inline bool crew__deque_try_push(crew__deque *d, void *item)
{
    /* P1 (relaxed bottom: ours; acquire top: pairs with the thieves' S5). */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    crew__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
    if (CREW__UNLIKELY(b - t > a->mask))
        return false;
    /* P2, then P3: seq_cst publication (the Dekker pattern of deque.h). */
    atomic_store_explicit(&a->slots[b & a->mask], item, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b + 1, memory_order_seq_cst);
    return true;
}

/* Push's slow path: grows the ring, then pushes (crew__deque_push's
 * results). */
int crew__deque_push_slow(crew__deque *d, void *item);

static inline int crew__deque_push_fast(crew__deque *d, void *item)
{
    if (CREW__LIKELY(crew__deque_try_push(d, item)))
        return 0;
    return crew__deque_push_slow(d, item);
}

static inline void *crew__deque_pop_fast(crew__deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* O0: a (possibly stale) top >= bottom proves the deque empty. */
    if (atomic_load_explicit(&d->top, memory_order_relaxed) >= b)
        return NULL;
    b -= 1;
    crew__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
    /* O1, O2: seq_cst store then seq_cst load (against steal's S1/S2). */
    atomic_store_explicit(&d->bottom, b, memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    if (CREW__UNLIKELY(t > b)) {
        /* O4 when empty after all: bottom back to b + 1 == top. */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
        return NULL;
    }
    void *item = atomic_load_explicit(&a->slots[b & a->mask], memory_order_relaxed);
    if (CREW__LIKELY(t < b))
        return item; /* more than one item: no thief can reach index b */
    /* O3: the last item: race the thieves for it on top; O4 either way. */
    int64_t expected = t;
    if (!atomic_compare_exchange_strong_explicit(&d->top, &expected, t + 1,
                                                 memory_order_seq_cst, memory_order_relaxed))
        item = NULL;
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return item;
}

#endif
