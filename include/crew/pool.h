/*
 * crew/pool.h - the executor: a pool of worker threads that runs tasks and
 * returns futures (Python's concurrent.futures.ThreadPoolExecutor in C).
 *
 * A task is a function `int fn(void *arg, void **result)`.  It returns 0 on
 * success or a non-zero status of its own choosing: that status is the task's
 * error (Python's exception) and is kept in its future.  *result starts as
 * NULL; whatever the task stores there is the future's result.
 *
 * Workers: at most opts.workers threads (default: the number of online CPUs).
 * Python's default is min(32, cpus + 4) because its workers mostly wait on
 * I/O while holding no CPU; crew's workers are meant for CPU work and never
 * block on each other (a task waiting on another task runs queued work in the
 * meantime), so more threads than cores would only add switching.  Workers
 * start lazily: a new thread is created only when a task is submitted and no
 * idle worker can take it (as Python 3.8+ does).  A worker that finds no work
 * for idle_timeout_ns retires (GLib does this; Python never frees threads).
 * Threads are named "<name>-<index>" (see /proc/<pid>/task/<tid>/comm, gdb).
 * A new worker starts on a CPU of its own (the index-th of the CPUs the
 * process may use) and is then free to run on any of them: a starting point,
 * not pinning.
 *
 * Order: the tasks one thread submits start in submission order, except
 * that workers take short tasks several at a time, so a task may start up
 * to two such batches (64 tasks) before an earlier one (src/sched/README.md,
 * "Tasks in flight"; Python's executor keeps strict order).  A task never
 * waits behind a busy or blocked worker while another worker is idle.
 *
 * Which thread runs a task: a worker, or -- for a task with a future -- a
 * thread outside every pool that waits for it with crew_future_wait or
 * crew_future_result (no deadline) before any worker started it: that thread
 * is blocked anyway, so it takes the task over (exactly one of it, a worker
 * and a cancel wins the task) and runs it as a function call instead of
 * sleeping until a worker is free (oneTBB's and OpenMP's waits do the same).
 * It runs only the task it waits for, never unrelated work.  While it runs
 * it, crew_pool_current() returns the pool, and the task's own waits,
 * submits and shutdown calls behave as from a task of that pool (shutdown
 * with wait returns CREW_EDEADLK); thread-local state is the waiting
 * thread's.  Timed waits, crew_wait, crew_as_completed and waits from inside
 * a pool never do this.  opts.workers_only = true keeps every task on the
 * workers; a pool with an initializer (opts.init) is always so, since its
 * tasks may rely on what the initializer set up in their thread.
 *
 * Initializer: opts.init runs once in each worker before it takes any task.
 * If it returns non-zero the pool becomes broken (Python's BrokenThreadPool):
 * every pending task's future completes with CREW_EBROKEN (its cleanup runs),
 * and later submissions return CREW_EBROKEN.
 *
 * Ownership: crew_pool_submit returns a future holding one reference for the
 * caller, to be released with crew_future_release (crew/future.h).  With
 * out == NULL the task is fire-and-forget ("detached"): no future is handed
 * out.  The arg pointer belongs to the task once submit returns 0: if the task
 * never runs (cancelled, dropped by shutdown, pool broken) the cleanup
 * callback given to crew_pool_submit_ex (if any) receives it exactly once;
 * if the task runs, cleanup is not called.  When submit returns an error the
 * task was not queued, nothing was called and arg is still the caller's.
 *
 * No lost error: a task that fails (non-zero status) and whose error nobody
 * looked at (crew_future_result never returned CREW_ETASK for it before its
 * last reference went, or it was detached) is counted in
 * stats.unobserved and passed to opts.unobserved, if set.  That hook runs in
 * the thread that released the future's last reference (for a detached task:
 * the worker), possibly after crew_pool_destroy returned if futures outlive
 * the pool; its ctx must stay valid that long.
 *
 * fork(): a pool created before fork() is unusable in the child: every call on
 * it there returns CREW_EFORKED (crew_pool_destroy frees nothing then, since
 * the parent's threads do not exist in the child).  New pools in the child
 * work.
 *
 * Concurrency: every function may be called from any thread, and from inside
 * a task of any pool, except as noted (shutdown with wait and destroy from a
 * task of the same pool return CREW_EDEADLK).
 */
#ifndef CREW_POOL_H
#define CREW_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crew/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crew_pool crew_pool;
typedef struct crew_future crew_future;

typedef int (*crew_task_fn)(void *arg, void **result);
typedef void (*crew_cleanup_fn)(void *arg);
typedef int (*crew_init_fn)(void *ctx);
typedef void (*crew_unobserved_fn)(int task_error, void *ctx);

typedef struct crew_pool_options {
    unsigned workers;        /* maximum worker threads; 0 = online CPUs */
    const char *name;        /* thread-name prefix (up to 10 chars kept); default "crew" */
    crew_init_fn init;       /* run once in each worker; non-zero breaks the pool */
    void *init_ctx;
    int64_t idle_timeout_ns; /* retire a worker idle this long; 0 = 10 s; < 0 = never */
    crew_unobserved_fn unobserved; /* hook for errors nobody looked at */
    void *unobserved_ctx;
    bool workers_only;       /* tasks run only on workers, never on a waiting thread (above) */
} crew_pool_options;

typedef struct crew_pool_stats {
    unsigned workers_alive;  /* worker threads that exist now */
    unsigned workers_idle;   /* of those, waiting for work */
    uint64_t queued;         /* submitted, not started, not cancelled */
    uint64_t running;        /* started, not finished */
    uint64_t completed;      /* ran and returned 0 */
    uint64_t failed;         /* ran and returned non-zero, or failed as broken */
    uint64_t cancelled;      /* cancelled or dropped before they started */
    uint64_t unobserved;     /* failed and nobody looked at the error */
} crew_pool_stats;

/* Defaults: workers 0 (online CPUs), name "crew", no init, idle 10 s. */
CREW_API void crew_pool_options_init(crew_pool_options *opts);

/* Creates a pool (opts may be NULL).  No thread is started yet.
 * CREW_EINVAL (out NULL, workers > 4096), CREW_ENOMEM. */
CREW_API int crew_pool_create(crew_pool **out, const crew_pool_options *opts);

/* Submits fn(arg).  *out receives a new future (one reference for the
 * caller); out == NULL submits a detached task.  Returns 0, CREW_EINVAL
 * (p or fn NULL), CREW_ESHUTDOWN, CREW_EBROKEN, CREW_EFORKED, CREW_ENOMEM,
 * CREW_ETHREAD (no worker exists and none could be started). */
CREW_API int crew_pool_submit(crew_pool *p, crew_task_fn fn, void *arg, crew_future **out);
CREW_API int crew_pool_submit_ex(crew_pool *p, crew_task_fn fn, void *arg,
                                 crew_cleanup_fn cleanup, crew_future **out);

/* Python's shutdown(wait, cancel_futures).  Afterwards submit returns
 * CREW_ESHUTDOWN.  cancel_pending cancels every task still queued: its
 * future becomes CANCELLED, its waiters wake, its done callbacks run and its
 * cleanup runs -- in the calling thread for tasks submitted from outside the
 * pool; tasks submitted by running tasks are cancelled by the worker that
 * reaches them.  A task a worker has already taken is that worker's (at most
 * one per worker, as in Python, whose threads take a task off the queue
 * before they start it): the task whose submit started the worker runs;
 * one a worker took off the queues and has not started yet is cancelled by
 * that worker, possibly after shutdown returned.  Group jobs (crew/group.h) belong to work that has already
 * started and are not cancelled.  Tasks already queued and not cancelled
 * still run, on as many workers as the pool may have (workers are started
 * for them if needed).  wait blocks until every task has finished and every
 * worker has exited; should queued tasks be left that no thread can be
 * started for (thread creation failing), they are cancelled instead of
 * waited for forever.  Idempotent: a second call can still cancel or wait.
 * Returns 0, CREW_EINVAL (p NULL), CREW_EFORKED, or CREW_EDEADLK for
 * wait == true from a task of this pool (nothing done). */
CREW_API int crew_pool_shutdown(crew_pool *p, bool wait, bool cancel_pending);

/* crew_pool_shutdown(p, true, false), then releases the pool.  Futures stay
 * valid until released.  Returns 0, CREW_EINVAL, CREW_EFORKED (nothing is
 * freed in a forked child), or CREW_EDEADLK from a task of this pool.  A
 * thread that submits to a pool keeps a small per-thread submission ring of
 * it (about 17 KB, src/sched/README.md); the pool's memory is freed once the
 * calling thread and every other thread that submitted to it have released
 * theirs: at destroy for the calling thread, at exit or at their first
 * submit to another pool for the others. */
CREW_API int crew_pool_destroy(crew_pool *p);

/* Fills *out with a snapshot of the counters.  0, CREW_EINVAL, CREW_EFORKED. */
CREW_API int crew_pool_get_stats(crew_pool *p, crew_pool_stats *out);

/* The pool whose worker is running the calling thread (or whose task a
 * waiting thread outside the pool is running, see above), or NULL. */
CREW_API crew_pool *crew_pool_current(void);

/* ---- isolation (oneTBB's this_task_arena::isolate) ---------------------
 * A crew wait inside a worker (crew_future_wait and result, crew_wait,
 * as_completed, map, crew_group_wait) runs queued tasks of its pool
 * meanwhile, so that waiting never deadlocks the pool.  (The queues'
 * blocking calls and every wait with a deadline run nothing: they block,
 * and a replacement worker runs the queued work -- a producer run on the
 * stack of its blocked consumer could never let that consumer go on.)  The hazard: a task that waits while holding a lock may run an
 * unrelated task that wants the same lock.  crew_isolate(fn, ctx) runs
 * fn(ctx) in the calling thread as an isolation region: every crew wait
 * made inside it (by fn or by anything fn calls, at any depth) runs only
 * tasks submitted or spawned inside the region, by fn or by those tasks
 * themselves, never other queued work; when there is none to run, it
 * blocks as a blocked worker does (another worker, or a replacement
 * started for the purpose, runs the rest).  Regions nest: a wait runs only
 * tasks of the innermost region around it.  Tasks of a region may still be
 * run by other workers (stolen), as any task.  Outside a worker crew_isolate
 * only calls fn: a thread outside the pool never runs queued tasks while it
 * waits.  crew_group_wait_isolated (crew/group.h) is the same rule for one
 * group's jobs.
 *
 * Returns what fn returned, or CREW_EINVAL if fn is NULL. */
typedef int (*crew_isolated_fn)(void *ctx);
CREW_API int crew_isolate(crew_isolated_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* CREW_POOL_H */
