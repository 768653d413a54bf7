/* task.h - internal: what the scheduler moves around, and how it runs a
 * task without knowing what the task is.
 *
 * Every queued task starts with a crew__task header: the link of the
 * injection queue, a word whose top two bits say which kind it is, a word
 * the kind uses as it likes, and the isolation region it belongs to.  The
 * scheduler runs or drops a task through its kind's operations
 * (crew__task_kinds[kind]->run / ->drop), as libuv calls w->work and Linux
 * work->func: the worker loop does not know futures or group jobs.  Which
 * kinds exist is the executor layer's business (exec/kinds.c defines the
 * table); the scheduler's own kind is the inline entry of a submission
 * ring (a detached task that needs no block, subring.h).
 *
 * Records come from the block allocator (base/alloc.h): one
 * CREW__BLOCK_SIZE block per pending task and nothing else (the injection
 * queue is intrusive, a deque slot is one pointer).
 *
 * Protection legend (here and in the other scheduler headers):
 *   I  immutable once the record is queued (written by its creator before
 *      the queue's release)
 *   Q  the queue that holds the record (its link), then the taker
 *   K  the kind's own rules (see its file)
 */
#ifndef CREW_SRC_SCHED_TASK_H
#define CREW_SRC_SCHED_TASK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct crew__worker;
typedef struct crew_pool crew_pool;

typedef struct crew__task {
    /* Q: the injection queue's link while queued (written by the pushing
     * thread, read by the consumer after the push's release: inject.c).
     * K: after that, the kind's (a running future keeps its runner here). */
    _Atomic(struct crew__task *) next;
    /* I: the kind (top two bits, CREW__KIND_OF) and CREW__TASK_COUNTED;
     * K: the other bits. */
    _Atomic uint32_t word;
    /* K */
    _Atomic uint32_t aux;
    /* I: the isolation region it was created in (crew_isolate), or 0. */
    uintptr_t iso;
} crew__task;

/* ---- kinds ------------------------------------------------------------- */

#define CREW__KIND_SHIFT 30u
#define CREW__KINDS 4u
#define CREW__KIND_MASK (3u << CREW__KIND_SHIFT)
/* The kind bits of word for kind k, and the kind of a word. */
#define CREW__KIND_BITS(k) ((uint32_t)(k) << CREW__KIND_SHIFT)
#define CREW__KIND_OF(word) ((unsigned)((word) >> CREW__KIND_SHIFT))

/* In the word, set by the creator: crew_pool_get_stats counts this task
 * (pool tasks yes, group jobs no).  The scheduler counts it submitted; its
 * run and drop count the rest (sched.h). */
#define CREW__TASK_COUNTED (1u << 29)

/* The scheduler's own kind: an inline entry of a submission ring, handed
 * to the worker in a holder of its own (subring.h).  Kinds 0, 2 and 3 are
 * the executor's (exec/kinds.c). */
#define CREW__KIND_INLINE 1u

typedef struct crew__task_ops {
    /* Runs t, which worker w took off the queues; t is the runner's to
     * free.  Counts what it does with the counting calls of sched.h. */
    void (*run)(struct crew__worker *w, crew__task *t);
    /* t, a task of pool p, will never run: p broke (broken != 0) or shut
     * down with cancel_pending.  Hands its argument back (cleanup, skip),
     * finishes it and counts it (crew__count_dropped); called by the thread
     * that took t off the queues. */
    void (*drop)(crew_pool *p, crew__task *t, int broken);
    /* Whether shutdown(cancel_pending) drops queued tasks of this kind
     * (futures) or leaves them to run (group jobs, which belong to work
     * that has already started). */
    bool cancel_at_shutdown;
} crew__task_ops;

/* Indexed by CREW__KIND_OF(word); defined by the executor layer
 * (exec/kinds.c), which knows every kind. */
extern const crew__task_ops *const crew__task_kinds[CREW__KINDS];

static inline const crew__task_ops *crew__task_ops_of(const crew__task *t)
{
    return crew__task_kinds[CREW__KIND_OF(atomic_load_explicit(&t->word, memory_order_relaxed))];
}

#endif
