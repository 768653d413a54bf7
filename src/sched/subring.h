/* subring.h - internal: a submitting thread's own ring of tasks (its
 * submission ring).
 *
 * A thread outside the pool that submits to it claims one of the pool's
 * rings and keeps it (thread-local) until it exits or submits to another
 * pool.  Only the owner pushes; any worker takes, oldest first.  A push
 * writes only cache lines that the owner's thread already holds (a slot and
 * the tail; the owner's copy of head is refreshed only when the ring looks
 * full) and uses no read-modify-write and no fence (the injection queue's
 * CAS it replaced bounced one shared line between the submitter and the
 * workers: README.md, "Approaches rejected").  An entry is a pair
 * (crew__rslot): a detached task without cleanup travels as (fn, arg), with
 * no block at all; workers move entries into their own batches
 * (crew__batch) several at a time (README.md, "Where work goes").
 *
 * Protection legend: O the ring's owner (the submitting thread; ownership
 * moves with the owner word's acquire CAS and release store), A atomic
 * (orders at each field), I immutable.  A worker's batch: O its worker
 * (fills), A head (any taker's CAS), tail and filling (owner's release
 * stores).
 *
 * Synchronization table:
 *   push, producer fields   the owner only (ownership moves with the
 *                           acquire CAS on owner and its release store)
 *   in_submit               stored by the owner (1 relaxed, then a light
 *                           fence; 0 with release); loaded with acquire by
 *                           shutdown's sealing after its heavy fence
 *   in_run                  the same pattern for the owner's outside runs;
 *                           shutdown(wait) sleeps on it (futex) until 0,
 *                           and an owner that drops it to 0 after the
 *                           SHUTDOWN flag wakes it
 *   retract                 the owner takes its last push back with a
 *                           taker's CAS on head (crew__outside_begin,
 *                           submit.c)
 *   take, nonempty          any thread, any time (take: CAS on head)
 *   ovq                     pushed by the owner; taken like any injection
 *                           queue (inject.h)
 *   init, destroy           alone (the pool creates it under its lock and
 *                           frees it with itself)
 *
 * Exactly once: a taker reads the slot at head, then CASes head from that
 * value; the owner reuses a slot only after it has loaded (acquire) a head
 * past it, which the winning taker's CAS (release) published after its read.
 * Visibility: the owner stores the slot and then the tail (release); a
 * taker loads the tail (acquire) before the slot, and the task's fields with
 * it.
 *
 * The owner's announcement word `in_submit` lets shutdown know that no
 * submit is between its check of the pool's flags and its push (wake.c,
 * README.md "Shutdown").
 */
#ifndef CREW_SRC_SCHED_SUBRING_H
#define CREW_SRC_SCHED_SUBRING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "crew/pool.h"
#include "sched/inject.h"
#include "sched/task.h"
#include "base/sys.h" /* CREW__CACHE_LINE */

#define CREW__RING_CAP 1024u
#define CREW__BATCH_CAP 32u

/* An entry of a ring or of a worker's batch: an inline task (fn, arg: a
 * detached task submitted without cleanup, which needs no block), or
 * fn == NULL and arg a crew__task block (a future, or a detached task with
 * a cleanup).  Relaxed atomics: published by the tail's release store. */
typedef struct crew__rslot {
    _Atomic(crew_task_fn) fn;
    _Atomic(void *) arg;
} crew__rslot;

/* What a taker gets for an inline entry: a crew__task-shaped holder of the
 * taking thread (its kind is CREW__KIND_INLINE), which crew__run_task reads
 * before it calls fn, so the holder is free again while fn runs. */
typedef struct crew__inline {
    crew__task hdr;
    crew_task_fn fn;
    void *arg;
} crew__inline;

/* A worker's batch: entries it moved from a ring with one CAS, which it
 * then takes one at a time, and which any other worker may steal (an
 * entry never waits behind a worker that is busy or blocked).  Only the
 * owner fills it, and only when it is empty; anyone takes with a CAS on
 * head.  Indices only grow, so a taker that read a slot before a refill
 * fails its CAS.
 *
 * filling names the source (a ring, for the ring and its overflow queue;
 * or the pool's injection queue) while the owner moves submitted tasks
 * from it into the batch, from before it takes them until the tail is
 * published: the tasks are then in nobody's sight, so meanwhile other
 * workers take nothing from that source (they would run ahead of these)
 * and do not count the pool as out of work (find.c, crew__find_work,
 * crew__work_visible).  NULL otherwise. */
typedef struct crew__batch {
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t head; /* next index to take (CAS) */
    _Atomic uint64_t tail;              /* one past the last entry (owner, release) */
    _Atomic(void *) filling;            /* owner: relaxed source before, release NULL after */
    crew__rslot slot[CREW__BATCH_CAP];
} crew__batch;

typedef struct crew__subring {
    /* Written by the owner only, read by takers. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t tail;   /* next index to fill (release store) */
    /* Entries the owner took back to run them itself (crew__outside_begin;
     * relaxed load + store).  A hint for the workers, which read it with
     * the tail (find.c): no correctness rests on it. */
    _Atomic uint64_t retracted;
    /* The owner's line: takers never read it, so it stays in the owner's
     * cache (shutdown reads in_submit, statistics read submitted). */
    _Alignas(CREW__CACHE_LINE) _Atomic uint32_t in_submit; /* 1 while the owner is inside a submit */
    bool overflow;                        /* owner: tasks go to ovq, not the ring */
    unsigned overflow_n;                  /* owner: submits since, to pace the checks */
    uint64_t head_seen;                   /* owner: last head it loaded */
    _Atomic uint64_t submitted;           /* owner: statistics (relaxed load + store) */
    /* Tasks of p the owner runs itself because it waits for them
     * (crew__outside_begin, sched.h): how deep (an outside run may wait for
     * another), stored like in_submit (relaxed then a light fence; release
     * when it drops) and waited for by shutdown (futex); and how many ended,
     * for the statistics (relaxed load + store). */
    _Atomic uint32_t in_run;
    _Atomic uint64_t run_done, run_failed;
    /* Taker line. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t head;   /* next index to take (CAS) */
    /* 0: free; 1: claimed by a thread (acquire CAS 0 -> 1, release store 0). */
    _Atomic uint32_t owner;
    crew_pool *pool;                      /* immutable */
    _Alignas(CREW__CACHE_LINE) crew__rslot slot[CREW__RING_CAP];
    /* Where the owner's tasks go while the ring is full (and until both are
     * empty again, to keep them in order): an intrusive queue, so a flood
     * costs no memory beyond the task blocks. */
    crew__inject ovq;
} crew__subring;

void crew__subring_init(crew__subring *r, crew_pool *p);

/* Owner: appends an entry (fn, arg) (see crew__rslot).  Returns false if
 * the ring is full (nothing queued). */
static inline bool crew__subring_push_owner(crew__subring *r, crew_task_fn fn, void *arg)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (tail - r->head_seen >= CREW__RING_CAP) {
        /* acquire: pairs with the taker's release CAS, after which the slot
         * we are about to reuse has been read. */
        r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail - r->head_seen >= CREW__RING_CAP)
            return false;
    }
    crew__rslot *sl = &r->slot[tail & (CREW__RING_CAP - 1)];
    atomic_store_explicit(&sl->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&sl->arg, arg, memory_order_relaxed);
    /* release: the slot and the task's fields before the new tail. */
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return true;
}

/* Any thread: the oldest task, or NULL if the ring is empty (an inline
 * entry comes back as &inl->hdr, filled in).  *tail_seen is
 * the caller's memory of the tail (0 the first time): the tail's line is
 * written by every push, so a taker loads it only when head has caught up
 * with what it last saw. */
crew__task *crew__subring_take(crew__subring *r, uint64_t *tail_seen, crew__inline *inl);

/* The taken entry as a task: the block, or inl filled in for an inline one. */
static inline crew__task *crew__rslot_task(crew_task_fn fn, void *arg, crew__inline *inl)
{
    if (!fn)
        return arg;
    inl->fn = fn;
    inl->arg = arg;
    return &inl->hdr;
}

void crew__batch_init(crew__batch *b);

/* Owner of b, which must be empty: moves up to max (<= CREW__BATCH_CAP)
 * of ring r's oldest entries into b with one CAS on r's head.  Returns how
 * many (0: r was empty).  tail_seen as for crew__subring_take. */
unsigned crew__batch_fill_owner(crew__batch *b, crew__subring *r, uint64_t *tail_seen, unsigned max);

/* Owner of b, which must be empty: puts n (<= CREW__BATCH_CAP) blocks in
 * it, in order. */
void crew__batch_put_owner(crew__batch *b, crew__task **t, unsigned n);

/* Any thread: b's oldest entry as a task (inl as for crew__subring_take), or
 * NULL if b is empty. */
crew__task *crew__batch_take(crew__batch *b, crew__inline *inl);

/* Any thread: true if b may hold an entry (seq_cst loads, like
 * crew__subring_nonempty). */
static inline bool crew__batch_nonempty(crew__batch *b)
{
    uint64_t h = atomic_load_explicit(&b->head, memory_order_seq_cst);
    return atomic_load_explicit(&b->tail, memory_order_seq_cst) != h;
}

/* Any thread: the source b's owner is moving tasks from, or NULL.  Load it
 * before looking at b's entries: a NULL stored after the tail (release)
 * shows that tail.  Whoever saw the tasks leave their ring or queue (an
 * acquire of the head that the owner's claim wrote) sees the source here,
 * or that NULL. */
static inline void *crew__batch_filling(crew__batch *b)
{
    return atomic_load_explicit(&b->filling, memory_order_seq_cst);
}

/* At a quiescent point (no push or take running): true if the invariants
 * hold -- head <= tail, no more entries than slots, nobody inside a submit
 * (ring), nobody filling and no more entries than slots (batch).  For
 * assertions and stress programs. */
bool crew__subring_valid(crew__subring *r);
bool crew__batch_valid(crew__batch *b);

/* Owner of b: true if b is empty (the precondition of a fill). */
static inline bool crew__batch_empty_owner(crew__batch *b)
{
    /* acquire: every taker's read of the slots is done before we reuse them. */
    return atomic_load_explicit(&b->head, memory_order_acquire) ==
           atomic_load_explicit(&b->tail, memory_order_relaxed);
}

/* Any thread: true if the ring may hold a task.  seq_cst loads (plain
 * loads on x86): a parking worker's look for work (README.md). */
static inline bool crew__subring_nonempty(crew__subring *r)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_seq_cst);
    return atomic_load_explicit(&r->tail, memory_order_seq_cst) != h;
}

#endif
