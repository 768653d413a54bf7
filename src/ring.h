/* ring.h - internal: a submitting thread's own ring of tasks.
 *
 * A thread outside the pool that submits to it claims one of the pool's
 * rings and keeps it (thread-local) until it exits or submits to another
 * pool.  Only the owner pushes; any worker takes, oldest first.  A push
 * writes only cache lines that the owner's thread already holds (a slot and
 * the tail; the owner's copy of head is refreshed only when the ring looks
 * full) and uses no read-modify-write and no fence (W1 in
 * docs/BENCHMARKS.md: 31.7 -> 24.7 ns per task against the injection queue's
 * CAS, with the allocator changes of the same commit).
 *
 * Synchronization table:
 *   push, producer fields   the owner only (ownership moves with the
 *                           acquire CAS on owner and its release store)
 *   in_submit               stored by the owner (1 relaxed, then a light
 *                           fence; 0 with release); loaded with acquire by
 *                           shutdown's sealing after its heavy fence
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
 * submit is between its check of the pool's flags and its push (pool.c,
 * docs/SCHEDULER.md "Shutdown").
 */
#ifndef CREW_SRC_RING_H
#define CREW_SRC_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "crew/pool.h"
#include "inject.h"
#include "task.h"

#define CREW__RING_CAP 1024u

typedef struct crew__ring {
    /* Written by the owner only, read by takers. */
    _Alignas(64) _Atomic uint64_t tail;   /* next index to fill (release store) */
    /* The owner's line: takers never read it, so it stays in the owner's
     * cache (shutdown reads in_submit, statistics read submitted). */
    _Alignas(64) _Atomic uint32_t in_submit; /* 1 while the owner is inside a submit */
    bool overflow;                        /* owner: tasks go to ovq, not the ring */
    unsigned overflow_n;                  /* owner: submits since, to pace the checks */
    uint64_t head_seen;                   /* owner: last head it loaded */
    _Atomic uint64_t submitted;           /* owner: statistics (relaxed load + store) */
    /* Taker line. */
    _Alignas(64) _Atomic uint64_t head;   /* next index to take (CAS) */
    /* 0: free; 1: claimed by a thread (acquire CAS 0 -> 1, release store 0). */
    _Atomic uint32_t owner;
    crew_pool *pool;                      /* immutable */
    _Alignas(64) _Atomic(crew__task *) slot[CREW__RING_CAP];
    /* Where the owner's tasks go while the ring is full (and until both are
     * empty again, to keep them in order): an intrusive queue, so a flood
     * costs no memory beyond the task blocks. */
    crew__inject ovq;
} crew__ring;

void crew__ring_init(crew__ring *r, crew_pool *p);

/* Owner: appends t.  Returns false if the ring is full (t not queued). */
static inline bool crew__ring_push(crew__ring *r, crew__task *t)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (tail - r->head_seen >= CREW__RING_CAP) {
        /* acquire: pairs with the taker's release CAS, after which the slot
         * we are about to reuse has been read. */
        r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail - r->head_seen >= CREW__RING_CAP)
            return false;
    }
    atomic_store_explicit(&r->slot[tail & (CREW__RING_CAP - 1)], t, memory_order_relaxed);
    /* release: the slot and the task's fields before the new tail. */
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return true;
}

/* Any thread: the oldest task, or NULL if the ring is empty.  *tail_seen is
 * the caller's memory of the tail (0 the first time): the tail's line is
 * written by every push, so a taker loads it only when head has caught up
 * with what it last saw. */
crew__task *crew__ring_take(crew__ring *r, uint64_t *tail_seen);

/* Any thread: true if the ring may hold a task.  seq_cst loads (plain
 * loads on x86): a parking worker's look for work (docs/SCHEDULER.md). */
static inline bool crew__ring_nonempty(crew__ring *r)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_seq_cst);
    return atomic_load_explicit(&r->tail, memory_order_seq_cst) != h;
}

#endif
