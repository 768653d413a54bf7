/*
 * crew/group.h - structured fork-join: task groups and parallel-for
 * (TBB's task_group and parallel_for, OpenMP's task/taskwait).
 *
 * A group collects jobs `int fn(void *arg)`.  crew_group_wait returns when
 * every job spawned into the group has finished.  The first job to return
 * non-zero fails the group: jobs of the group not yet started are skipped
 * (never run), later spawns are skipped, and wait reports that first status.
 *
 * A crew_group is caller-allocated (usually on the stack) so that fork-join
 * needs no heap allocation: spawning from a worker stores the job in the
 * worker's own task storage and pushes it on the worker's own deque, where
 * it runs in LIFO order unless an idle worker steals it.
 *
 * Waiting inside a worker runs other work until the group is done (its own
 * deque first, then the workers' batches, the submission rings, the
 * injection queue, then steals from other workers), so nesting never
 * deadlocks.  Hazard: a job that waits while holding a lock may run an
 * unrelated task that wants the same lock.  crew_group_wait_isolated runs
 * only jobs of this group and of groups spawned from them while it waits;
 * other work waits.  crew_isolate (crew/pool.h) does the same for every wait
 * inside a function.  See src/sched/README.md.
 *
 * Concurrency: spawn may be called from any thread (a job of the group may
 * spawn more jobs into it); wait, wait_isolated and destroy by one thread,
 * after which the group may be reused (init again) or forgotten.
 */
#ifndef CREW_GROUP_H
#define CREW_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "crew/error.h"
#include "crew/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*crew_job_fn)(void *arg);

/* Storage for a group.  Its fields are private. */
typedef struct crew_group {
    uint64_t opaque_[8];
} crew_group;

/* Prepares g for pool p.  Returns 0, CREW_EINVAL (g or p NULL), and from
 * a thread that is not a worker of p: CREW_ESHUTDOWN, CREW_EBROKEN,
 * CREW_EFORKED (a task of p may still fork and join after a shutdown). */
CREW_API int crew_group_init(crew_group *g, crew_pool *p);

/* Spawns fn(arg) into g.  Returns 0; CREW_ECANCELLED (the group has failed
 * or was cancelled: fn will not run); CREW_ENOMEM; CREW_EINVAL (g or fn
 * NULL, g not initialised); and from a thread that is not a worker of g's
 * pool: CREW_ESHUTDOWN, CREW_EBROKEN, CREW_EFORKED, CREW_ETHREAD (no worker
 * exists and none could be started).  On an error fn will not run. */
CREW_API int crew_group_spawn(crew_group *g, crew_job_fn fn, void *arg);

/* Waits for every job of g.  Returns 0, or CREW_ETASK with the first failing
 * job's status in *task_error (may be NULL), or CREW_EBROKEN if jobs were
 * dropped because the pool broke (its initializer failed), or
 * CREW_ECANCELLED if the group was cancelled and no job failed; CREW_EINVAL
 * (g NULL or not initialised).  Afterwards g holds no jobs. */
CREW_API int crew_group_wait(crew_group *g, int *task_error);
CREW_API int crew_group_wait_isolated(crew_group *g, int *task_error);

/* Skips every job of g not yet started (wait still reports
 * CREW_ECANCELLED).  0, or CREW_EINVAL (g NULL or not initialised). */
CREW_API int crew_group_cancel(crew_group *g);

/* Calls body(lo, hi, ctx) on pieces [lo, hi) covering [begin, end), each of
 * at most grain indexes (grain 0: about 8 pieces per worker), in parallel,
 * splitting the range recursively.  Returns 0, or CREW_ETASK with the first
 * non-zero status of body in *task_error (pieces not started then are
 * skipped); CREW_EINVAL (p or body NULL, begin > end); CREW_EBROKEN (the
 * pool broke before every piece ran); and, called from a thread that is not
 * a worker of p, the errors of queueing the first piece, with nothing run:
 * CREW_ENOMEM, CREW_ESHUTDOWN, CREW_EBROKEN, CREW_EFORKED, CREW_ETHREAD.
 * Inside a worker a piece that cannot be spawned (out of memory) runs in
 * the calling thread instead. */
typedef int (*crew_range_fn)(size_t lo, size_t hi, void *ctx);
CREW_API int crew_parallel_for(crew_pool *p, size_t begin, size_t end, size_t grain,
                               crew_range_fn body, void *ctx, int *task_error);

#ifdef __cplusplus
}
#endif

#endif /* CREW_GROUP_H */
