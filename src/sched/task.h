/* task.h - internal: the records the scheduler moves around.
 *
 * Two kinds of task travel through the injection queue and the worker
 * deques: futures (crew_pool_submit) and group jobs (crew_group_spawn).  Both
 * start with a crew__task header: the link used by the injection queue and a
 * word whose top bit says which kind it is.
 *
 * Both records come from the block allocator (alloc.h): CREW__BLOCK_SIZE
 * bytes each, so a pending task costs one block and nothing else (the
 * injection queue is intrusive, a deque slot is one pointer).
 */
#ifndef CREW_SRC_TASK_H
#define CREW_SRC_TASK_H

#include <stdatomic.h>
#include <stdint.h>

#include "crew/future.h"
#include "crew/group.h"

#define CREW__KIND_FUTURE 0x80000000u
#define CREW__KIND_INLINE 0x40000000u

typedef struct crew__task {
    /* Injection-queue link while queued (written by the pushing thread,
     * read by the consumer after the push's release: see inject.c).  While a
     * future runs, it holds the running worker (deadlock detection). */
    _Atomic(struct crew__task *) next;
    /* Futures: the state word (future.c).  Jobs: CREW__KIND_FUTURE clear. */
    _Atomic uint32_t word;
    /* Futures: the reference count.  Jobs: unused. */
    _Atomic uint32_t aux;
    /* The isolation region it was created in (crew_isolate), or 0: set by
     * its creator before it is queued, immutable after. */
    uintptr_t iso;
} crew__task;

/* ---- futures ------------------------------------------------------------
 * state word layout (crew_future.hdr.word): */
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

struct crew__cb;

struct crew_future {
    crew__task hdr;           /* link, state word, reference count (hdr.aux; the
                                 pool holds one reference while queued/running) */
    union {
        crew_task_fn fn;      /* until the task starts (read once by the runner) */
        void *result;         /* written by the runner before the state turns DONE */
    } u1;
    union {
        void *arg;            /* the task's argument; the runner or cancel consumes it */
        crew_cleanup_fn free_result; /* a created future's (pool NULL): frees its result */
    } u3;
    union {
        crew_cleanup_fn cleanup; /* until the task starts or is cancelled (NULL: created) */
        int error;               /* the task's status, written before DONE */
    } u2;
    crew_pool *pool;          /* set at submit, NULL for a created future; immutable */
    struct crew__cb *cbs;     /* done callbacks: protected by the stripe lock (future.c) */
};

/* ---- group jobs ---------------------------------------------------------- */
typedef struct crew__group_impl crew__group_impl;

typedef struct crew__job {
    crew__task hdr;           /* link + kind word (0) */
    crew_job_fn fn;
    void *arg;
    crew__group_impl *group;  /* the group it belongs to (outlives the job) */
    void (*skip)(void *arg);  /* called instead of fn when the job is skipped (may be NULL) */
} crew__job;

/* The private layout behind crew_group (group.c). */
struct crew__group_impl {
    crew_pool *pool;          /* immutable after init */
    /* Futex word: jobs spawned and not finished (low 31 bits) and
     * CREW__GS_WAITER.  Spawners add, runners subtract (acq_rel); a runner's
     * decrement is its last access to the group (the group may live on the
     * waiter's stack), the wake that may follow is a system call on the
     * address only. */
    _Atomic uint32_t state;
    _Atomic uint32_t flags;   /* CREW__GF_*: fetch_or by runners and cancel */
    _Atomic int error;        /* first failing job's status (first CAS from 0 wins) */
    crew__group_impl *parent; /* group of the job that created this one (isolation); immutable */
};

#define CREW__GS_WAITER 0x80000000u /* a waiter may sleep on state: wake it */
#define CREW__GS_COUNT 0x7fffffffu
#define CREW__GF_FAILED 0x1u
#define CREW__GF_CANCELLED 0x2u
#define CREW__GF_BROKEN 0x4u    /* a job was dropped because the pool broke */

/* Runs a future's task (future.c) or a job (group.c) on the calling worker. */
void crew__future_run(crew_future *f);
void crew__job_run(crew__job *j);
/* Skips a job that will never run (broken != 0: because the pool broke). */
void crew__job_drop(crew__job *j, int broken);

/* Fails a queued task that will never run because the pool broke or shut
 * down with cancel: futures complete as broken (broken != 0) or cancelled
 * and the pool's reference is dropped; jobs are skipped and their group is
 * marked cancelled. */
void crew__task_drop(crew__task *t, int broken);

struct crew__worker;
/* An inline detached task (ring.h) taken from a ring: run it, or count it
 * as cancelled or broken. */
void crew__inline_run(struct crew__worker *w, crew_pool *p, crew_task_fn fn, void *arg);
void crew__inline_drop(crew_pool *p, int broken);

#endif
