/* sched.h - internal: what the scheduler offers the executor layer
 * (src/exec/: futures, groups, map, wait sets) and the queues.
 *
 * Queueing a task: crew__sched_push(p, t) puts a task record (whose kind's
 * operations the scheduler calls, task.h) on the calling worker's own deque
 * if it is a worker of p, else on the calling thread's submission ring (or
 * the injection queue), and makes sure a worker will run it.  A detached
 * task without cleanup needs no record at all: crew__sched_push_inline.
 *
 * Waiting.  Any crew call that blocks on a condition uses crew__wait_word,
 * so that a worker never just sleeps while its pool has queued work: inside
 * a worker, a wait without deadline runs queued tasks of its pool (its own
 * deque, the batches, the submission rings, the injection queue, then
 * steals) until *word != value; when no work is left (or the wait has a
 * deadline) it sleeps on the word, and while it sleeps the pool does not
 * count it as an available worker (a replacement may be started so that
 * queued tasks do not wait behind blocked workers).  Outside a worker it
 * spins briefly, then sleeps.  See README.md, "Waiting inside the pool".
 *
 * The protocol for the waited-on side: change *word (any atomic RMW or
 * seq_cst store), then call crew__wake_word(word).  Waiters load the word,
 * check their condition, and only then call crew__wait_word with the value
 * they loaded, so no wake-up is lost.
 *
 * Counting belongs to the scheduler: the runners of tasks report with the
 * crew__count_* calls below, and crew_pool_get_stats adds them up.
 */
#ifndef CREW_SRC_SCHED_SCHED_H
#define CREW_SRC_SCHED_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/alloc.h"
#include "base/compiler.h"
#include "base/tls.h"
#include "crew/pool.h"
#include "sched/pool.h"
#include "sched/task.h"

/* The worker running on this thread (NULL outside any pool). */
extern CREW__TLS crew__worker *crew__self;

/* The isolation region the calling thread is in (crew_isolate), or 0.
 * Tasks a worker creates for its own pool carry it (crew__task.iso, set by
 * the creator with crew__iso_for); a wait inside a region runs only tasks
 * of that region meanwhile; while a worker runs a task, it is that task's
 * region. */
extern CREW__TLS uintptr_t crew__iso;

/* The context of the task the calling worker runs, for its runner's use
 * (exec/group.c: the job's group, the parent of groups created inside it),
 * or NULL.  Every runner sets it for its task and restores it after
 * (futures clear it, jobs set their group), so nothing leaks from one task
 * into another run by a helping wait inside it. */
extern CREW__TLS void *crew__task_ctx;

/* The pool whose task a thread outside every pool is running because it
 * waited for it (crew__outside_begin), or NULL: crew_pool_current's answer
 * there. */
extern CREW__TLS crew_pool *crew__outside_pool;

/* A thread outside every pool, about to wait forever for task t of p that
 * has not started, asks to run it itself.  Nonzero if p allows it (not
 * workers_only, no shutdown begun, not broken): the caller then tries to
 * claim the task and calls crew__outside_end with the answer whatever the
 * outcome; while it runs the task, crew_pool_current() is p.  A
 * shutdown(wait) of p waits until every such run has ended.
 *
 * A thread with a submission ring of p announces the run on its ring (a
 * store on a line it owns, checked by shutdown after a heavy fence, as a
 * push is); if t is its last push and still the ring's only entry, it
 * also takes t back with a taker's CAS on the ring's head: CREW__OUT_OWNED,
 * and the caller holds the reference the queue held.  Any other thread
 * counts itself in the pool (two read-modify-writes on a shared line). */
int crew__outside_begin(crew_pool *p, crew__task *t);
#define CREW__OUT_COUNTED 1 /* counted in the pool */
#define CREW__OUT_RING 2    /* announced on the caller's ring */
#define CREW__OUT_OWNED 3   /* announced, and t's entry retracted */

/* After crew__outside_begin's answer how: ran is true if the caller
 * claimed and ran the task, whose status was rc (counted in p's
 * statistics).  p must not be touched after this (unless the caller has a
 * ring of p, which holds a reference). */
void crew__outside_end(crew_pool *p, int how, bool ran, int rc);

/* The region a task created now for pool p belongs to. */
static inline uintptr_t crew__iso_for(const crew_pool *p)
{
    crew__worker *self = crew__self;
    return self && self->pool == p ? crew__iso : 0;
}

/* ---- queueing ------------------------------------------------------------ */

/* crew__sched_push from a thread that is not a worker of p. */
int crew__sched_push_outside(crew_pool *p, crew__task *t);

/* Queues task t, which crew_pool_get_stats does not count (a group job),
 * on self's own deque, self being the calling worker, and runs the wake
 * rule: 0 or CREW_ENOMEM (the deque could not grow; t was not queued).
 * Inline: the fork-join spawn path. */
static CREW__ALWAYS_INLINE int crew__sched_push_own(crew__worker *self, crew__task *t)
{
    CREW__ASSERT(self == crew__self);
    if (CREW__UNLIKELY(crew__deque_push_fast(&self->dq, t) != 0))
        return CREW_ENOMEM;
    crew__pool_notify_pushed(self->pool);
    return 0;
}

/* Queues task t for p (see above).  0, or on error (t was not queued):
 * CREW_ENOMEM (a deque could not grow), and from outside the pool
 * CREW_ESHUTDOWN, CREW_EBROKEN, CREW_EFORKED, CREW_ETHREAD, CREW_ENOMEM.  A
 * task from a worker of p is accepted after shutdown too (work already
 * started).  Inline: fork-join spawns come this way, from a worker to its
 * own deque, with no lock. */
static inline int crew__sched_push(crew_pool *p, crew__task *t)
{
    crew__worker *self = crew__self;
    if (CREW__UNLIKELY(!self || self->pool != p))
        return crew__sched_push_outside(p, t);
    /* Read before the push: once pushed, t may be stolen, run and freed. */
    bool counted = atomic_load_explicit(&t->word, memory_order_relaxed) & CREW__TASK_COUNTED;
    int rc = crew__sched_push_own(self, t);
    if (CREW__UNLIKELY(rc != 0))
        return rc;
    if (counted)
        atomic_fetch_add_explicit(&p->submitted, 1, memory_order_relaxed); /* only counted */
    return 0;
}

/* crew__sched_push_inline's answer when the entry needs a record. */
#define CREW__NEEDS_BLOCK (-1000)

/* Queues the detached task fn(arg) from a thread that is not a worker of
 * p, with no record, on the calling thread's submission ring: 0, the
 * errors of crew__sched_push, or CREW__NEEDS_BLOCK when it cannot (no
 * ring, or the ring is in overflow): then queue a record instead. */
int crew__sched_push_inline(crew_pool *p, crew_task_fn fn, void *arg);

/* ---- a worker's own blocks -------------------------------------------------
 * A fork-join worker frees a job's block as it runs the job and allocates
 * one for each job it spawns.  The blocks it frees with
 * crew__worker_block_give wait in a short list in its crew__worker (at most
 * CREW__WORKER_BLOCKS: beyond that they go to the block allocator, so that
 * a worker that only runs jobs others spawned hands them back), and
 * crew__worker_block_take gives the last one back first: a few
 * instructions each way with no thread-local lookup (the caller has its
 * worker at hand), and the block comes back while its line is still in
 * this core's cache.  The worker empties the list into the allocator
 * before it exits (worker.c).  In builds whose blocks are malloc'd
 * (CREW_BLOCKS_MALLOC, for ASan) the list stays empty, so that every
 * block is freed and ASan sees any later use. */
#define CREW__WORKER_BLOCKS 32

/* A block from w's list, or NULL (then crew__block_alloc).  Owner only. */
static inline void *crew__worker_block_take(crew__worker *w)
{
#if defined(CREW_BLOCKS_MALLOC)
    (void)w;
    return NULL;
#else
    void **b = (void **)w->blocks;
    if (CREW__LIKELY(b != NULL)) {
        w->blocks = *b;
        w->nblocks--;
    }
    return b;
#endif
}

/* Frees block b (non-NULL) into w's list, or to the allocator if the list
 * is full.  Owner only. */
static inline void crew__worker_block_give(crew__worker *w, void *b)
{
#if !defined(CREW_BLOCKS_MALLOC)
    if (CREW__LIKELY(w->nblocks < CREW__WORKER_BLOCKS)) {
        *(void **)b = w->blocks;
        w->blocks = b;
        w->nblocks++;
        return;
    }
#else
    (void)w;
#endif
    crew__block_free(b);
}

/* ---- counting --------------------------------------------------------------- */

/* A task of worker w starts; it finished with status rc (0: completed). */
static inline void crew__count_started(crew__worker *w)
{
    /* relaxed load + store: only the owner writes (pool.h). */
    atomic_store_explicit(&w->n_started,
                          atomic_load_explicit(&w->n_started, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static inline void crew__count_finished(crew__worker *w, int rc)
{
    _Atomic uint64_t *c = rc ? &w->n_failed : &w->n_completed;
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* A task of p will never run: cancelled, or failed because p broke. */
static inline void crew__count_dropped(crew_pool *p, int broken)
{
    atomic_fetch_add_explicit(broken ? &p->broken : &p->cancelled, 1, memory_order_relaxed);
}

/* A failed task's error nobody looked at: counted, and p's hook called. */
void crew__count_unobserved(crew_pool *p, int task_error);

/* References on p held by other objects (a failed future until its last
 * release, for the unobserved hook).  The last release frees p. */
void crew__pool_retain(crew_pool *p);
void crew__pool_release(crew_pool *p);

/* The number of worker threads p may run at once (its configured maximum). */
unsigned crew__pool_max_workers(const crew_pool *p);

/* ---- running and waiting ------------------------------------------------- */

/* Which tasks a waiting worker may run meanwhile: fn(t, ctx) true.  NULL
 * (every task, or in an isolation region only the region's). */
typedef struct crew__accept {
    bool (*fn)(const crew__task *t, const void *ctx);
    const void *ctx;
} crew__accept;

/* One task to run for worker w, or NULL (README.md, "Where work goes").
 * With acc (or inside an isolation region), only tasks acc accepts, and
 * only from w's own deque (an isolated wait); the ones on top that it does
 * not accept move to the injection queue. */
crew__task *crew__find_work(crew__worker *w, const crew__accept *acc);

/* crew__find_work for a caller that has already popped t (or NULL) off
 * w's own deque (crew__deque_pop_fast) and did not run it: the rest of
 * the search from there, as if crew__find_work had popped t itself. */
crew__task *crew__find_work_after(crew__worker *w, const crew__accept *acc, crew__task *t);

/* Makes w's next crew__find_work look at every submission ring, including
 * those it would skip for a while (find.c, "Rings whose owner runs its own
 * tasks"): for a worker about to park, since whatever makes it go on (its
 * last look, a wake, work seen as it retires) may be for a task on such a
 * ring. */
void crew__find_skip_none(crew__worker *w);

/* Runs t, which worker w took off the queues (or drops it, if the pool
 * broke or shut down with cancel). */
void crew__run_task(crew__worker *w, crew__task *t);

/* Runs fn(arg) on worker w as a detached pool task: counted, with no task
 * context, a non-zero status counted as an error nobody can look at. */
void crew__run_detached(crew__worker *w, crew_task_fn fn, void *arg);

/* Returns 0 once *word != value (or spuriously: callers loop), or
 * CREW_ETIMEDOUT when deadline_ns (absolute, crew_now_ns; CREW__FOREVER for
 * none) has passed.  Inside an isolation region, runs only its tasks. */
int crew__wait_word(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns);

/* crew__wait_word that runs no other task meanwhile: inside a worker it
 * blocks at once (a replacement worker runs the queued work).  For waits on
 * other running tasks, which a task run on the waiter's stack could never
 * let go on (a consumer blocked in a queue get that ran its producer
 * nested: the producer, blocked on the full queue, waits for the consumer
 * frame under it).  The queues wait this way. */
int crew__wait_word_blocking(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns);

/* crew__wait_word, but only tasks acc accepts are run meanwhile. */
int crew__wait_word_isolated(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns,
                             const crew__accept *acc);

/* Wakes every thread blocked in crew__wait_word on word. */
void crew__wake_word(_Atomic uint32_t *word);

/* Clears what self's wait published for wait-cycle detection
 * (crew__worker.waiting_on, under deadlock_lock): it is about to run another
 * task inside its wait, and waits for nobody meanwhile. */
void crew__withdraw_wait(crew__worker *self);

/* The scheduler's own kind (task.h): the operations of an inline entry. */
extern const crew__task_ops crew__inline_ops;

#endif
