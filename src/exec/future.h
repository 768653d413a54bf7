/* future.h - internal: the layout of a future and what the executor's
 * files share about it (future.c, future_wait.c, future_create.c,
 * submit.c, waitset.c, map.c).
 *
 * A future is one task record (sched/task.h) of kind CREW__KIND_FUTURE:
 * the task a pool runs and the object its submitter waits on, in one
 * 64-byte block.  A future that no task backs (crew_future_create) has the
 * same layout with pool NULL.
 *
 * The state word (hdr.word) holds the state in its low two bits and flags
 * above; every transition is a CAS on it (future.c has the table).
 *
 * Protection legend:
 *   I  immutable once submitted (or created)
 *   S  written by the thread that wins the state CAS, before its release
 *      (DONE: result and error), read after an acquire load that sees it
 *   L  under the callbacks' stripe lock (future.c)
 *   A  atomic (hdr.word: CAS acq_rel; hdr.aux: the reference count)
 *   D  under the pool's deadlock_lock (written and read there only: the
 *      wait-cycle check of future_wait.c; relaxed where atomic)
 */
#ifndef CREW_SRC_EXEC_FUTURE_H
#define CREW_SRC_EXEC_FUTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/alloc.h" /* CREW__BLOCK_SIZE */
#include "base/tls.h"
#include "crew/future.h"
#include "sched/sched.h"
#include "sched/task.h"

/* The executor's kinds of task (sched/task.h; exec/kinds.c). */
#define CREW__KIND_JOB 0u
#define CREW__KIND_FUTURE 2u

/* State word layout (crew_future.hdr.word, below the kind bits). */
#define CREW__FS_MASK 0x3u        /* crew_future_state value */
#define CREW__FS_WAITERS 0x4u     /* someone sleeps on the word: wake on change */
#define CREW__FS_HAS_CBS 0x8u     /* callbacks were added: take the stripe lock */
#define CREW__FS_OBSERVED 0x10u   /* the error was returned by a result call */
#define CREW__FS_DETACHED 0x20u   /* no future was handed out */
#define CREW__FS_FAILED 0x40u     /* DONE with a non-zero task status */
#define CREW__FS_BROKEN 0x80u     /* DONE because the pool broke first */
#define CREW__FS_PINNED 0x100u    /* CANCELLED, and the canceller still counts it
                                     in the pool: the entry must not be dropped */
#define CREW__FS_SETTING 0x200u   /* a created future being completed: no longer
                                     PENDING for cancel, not yet DONE */
#define CREW__FS_OUTSIDE 0x400u   /* started by a waiting thread outside the pool
                                     (crew__future_run_outside): hdr.next is still
                                     the queue's link, not a runner */
#define CREW__FS_OUTWAIT 0x800u   /* OUTSIDE, and its runner waits for a future of
                                     the same pool: u2.outrec says for which
                                     (set and cleared under deadlock_lock) */

struct crew__cb;

/* A thread outside the pool running a task of it (crew__future_run_outside)
 * while that task waits for another future of the pool: what it waits for,
 * for wait-cycle detection (future_wait.c).  On the waiting thread's stack. */
typedef struct crew__outrec {
    _Atomic(crew_future *) waiting_on; /* D */
} crew__outrec;

struct crew_future {
    /* A: link while queued (then: the runner, for wait-cycle detection),
     * state word, reference count (hdr.aux: the pool holds one while the
     * task is queued or running); I: kind and region. */
    crew__task hdr;
    union {
        crew_task_fn fn;      /* I until the task starts (read once by the runner) */
        void *result;         /* S: written before the state turns DONE */
    } u1;
    union {
        void *arg;            /* I: the task's argument; the runner or cancel consumes it */
        crew_cleanup_fn free_result; /* I: a created future's: frees its result */
    } u3;
    union {
        crew_cleanup_fn cleanup; /* I until the task starts or is cancelled (NULL: created) */
        /* D while CREW__FS_OUTWAIT: the waiting thread outside the pool
         * that runs the task, in a wait of its own (future_wait.c). */
        struct crew__outrec *outrec;
        int error;               /* S: the task's status, written before DONE */
    } u2;
    crew_pool *pool;          /* I: set at submit; NULL for a created future */
    struct crew__cb *cbs;     /* L: done callbacks */
};

_Static_assert(sizeof(struct crew_future) <= CREW__BLOCK_SIZE, "a future is one task block");

static inline uint32_t crew__fstate(uint32_t word)
{
    return word & CREW__FS_MASK;
}

static inline bool crew__finished(uint32_t word)
{
    return crew__fstate(word) >= CREW_FUTURE_DONE;
}

/* CAS from PENDING to `to` (a state and maybe flags; the other flags are
 * kept).  Returns the word before the CAS; *ok is false (and the word
 * unchanged) if the future was no longer PENDING (or being set). */
uint32_t crew__future_leave_pending(crew_future *f, uint32_t to, bool *ok);

/* Wakes waiters and runs callbacks after a transition whose previous word
 * was old.  The caller holds a reference for the duration. */
void crew__future_after_transition(crew_future *f, uint32_t old);

/* The outcome of a finished (or not) future: 0, CREW_ETASK, CREW_ECANCELLED,
 * CREW_EBROKEN, CREW_EPENDING.  observe marks a task error as looked at. */
int crew__future_outcome(crew_future *f, void **result, int *task_error, bool observe);

/* The outcome without marking its error as looked at (crew_wait's
 * FIRST_EXCEPTION). */
static inline int crew__future_peek(const crew_future *f)
{
    return crew__future_outcome((crew_future *)f, NULL, NULL, false);
}

/* Removes a done callback added with crew_future_add_done_callback (the first
 * one with this fn and ctx).  Returns true if it was removed and will never
 * run, false if it has run, is running, or was not found.  Used by waits that
 * give up (timeouts) to take back their listener. */
bool crew__future_remove_done_callback(crew_future *f, crew_done_fn fn, void *ctx);

/* For a thread outside every pool about to wait forever for f (a pool's
 * future, not started): takes f's task over and runs it here, if f's pool
 * allows it (sched.h, crew__outside_begin) and no worker or cancel got it
 * first.  True if it ran (f is DONE), false if the caller must wait. */
bool crew__future_run_outside(crew_future *f);

/* The future whose task this thread runs by crew__future_run_outside (the
 * innermost), or NULL. */
extern CREW__TLS crew_future *crew__outside_task;

/* The kind's operations (exec/kinds.c). */
extern const crew__task_ops crew__future_ops;

#endif
