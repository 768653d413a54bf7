/* inject.h - internal: the pool's injection queue.
 *
 * Tasks submitted from threads outside the pool go here (and to each
 * submission ring's overflow queue); workers take them in batches into
 * their own batches (find.c, take_inject), where other workers can
 * take them too.  It is an intrusive multi-producer queue (Vyukov's): a push is
 * one CAS on the producer end plus one store; consumers take turns through a
 * try-lock (a busy consumer means another worker is already taking work).
 *
 * Closing: crew__inject_close sets a bit in the producer end, so every push
 * either completed its CAS before the close (the task is in the queue) or
 * fails with CREW_ESHUTDOWN.  No task can slip in after the close.
 *
 * Protection legend: tail A (producers' CAS, seq_cst), head and the links
 * A but written only by the holder of lock (the consumer try-lock, A:
 * acquire exchange / release store), dummy I (the queue's own node).
 *
 * Synchronization table:
 *   push, close, maybe_nonempty   any thread, any time
 *   pop_batch                     any thread; consumers exclude each other
 *                                 with the try-lock (a loser gets 0)
 *   init, destroy                 alone
 *
 * Ordering: push's CAS on the producer end is seq_cst, and maybe_nonempty
 * reads it with seq_cst: with the pool's sleeping-worker count this forms
 * the Dekker pattern described in README.md (a submitter that pushes
 * and then loads the count, against a worker that increments the count and
 * then looks here: one of them sees the other).
 */
#ifndef CREW_SRC_SCHED_INJECT_H
#define CREW_SRC_SCHED_INJECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/task.h"
#include "base/sys.h" /* CREW__CACHE_LINE */

typedef struct crew__inject {
    /* Producer end: the last task pushed, with CREW__INJ_CLOSED in bit 0.
     * CAS by producers (seq_cst). */
    _Alignas(CREW__CACHE_LINE) _Atomic uintptr_t tail;
    /* Consumer end: the oldest node not yet returned (possibly the dummy).
     * Written by the lock holder (release), read by maybe_nonempty. */
    _Alignas(CREW__CACHE_LINE) _Atomic(crew__task *) head;
    /* Consumer try-lock: 0 free, 1 held (acquire exchange / release store). */
    _Atomic uint32_t lock;
    /* The queue's own dummy node (never returned). */
    crew__task dummy;
} crew__inject;

#define CREW__INJ_CLOSED ((uintptr_t)1)

void crew__inject_init(crew__inject *q);

/* 0, or CREW_ESHUTDOWN once closed (the task was not queued). */
int crew__inject_push(crew__inject *q, crew__task *t);

/* Pushes even when closed: for work that was already accepted before the
 * close (jobs of running tasks moved by shutdown). */
void crew__inject_push_accepted(crew__inject *q, crew__task *t);

/* Closes the producer end (idempotent). */
void crew__inject_close(crew__inject *q);

/* Takes up to max tasks in FIFO order into out[]; returns how many.  0 means
 * empty, or another consumer holds the lock, or a producer is between its
 * CAS and its link (retry soon). */
size_t crew__inject_try_pop_batch(crew__inject *q, crew__task **out, size_t max);

/* True if the queue may hold a task (seq_cst read of the producer end). */
bool crew__inject_maybe_nonempty(crew__inject *q);

/* At a quiescent point (no push or pop running): true if the queue's
 * invariants hold -- the consumer lock is free, the chain from the consumer
 * end reaches the producer end within limit links without a cycle, every
 * link but the last is set, the dummy appears at most once.  Stores the
 * number of tasks in *count (may be NULL).  For assertions and stress
 * programs. */
bool crew__inject_valid(crew__inject *q, size_t limit, size_t *count);

#endif
