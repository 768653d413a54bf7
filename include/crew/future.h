/*
 * crew/future.h - futures: the result of a submitted task
 * (Python's concurrent.futures.Future, wait and as_completed in C).
 *
 * States: PENDING (queued) -> RUNNING (a worker started it) -> DONE, or
 * PENDING -> CANCELLED.  DONE covers success (task returned 0), task error
 * (task returned non-zero) and broken (the pool broke before it ran).
 *
 * Reading the outcome: crew_future_result and its forms return
 *   0               the task returned 0; *result is its result
 *   CREW_ETASK      the task returned non-zero: *task_error is that status,
 *                   *result what the task stored (Python: the exception)
 *   CREW_ECANCELLED the task was cancelled (crew_future_cancel or shutdown)
 *   CREW_EBROKEN    the pool broke before the task ran
 *   CREW_EPENDING   (try_ form) not finished yet
 *   CREW_ETIMEDOUT  (timed forms) not finished in time
 *   CREW_EDEADLK    the wait could never end: called from inside the
 *                   future's own task, or the future's task waits (through a
 *                   chain of tasks of the same pool) for the caller's task.
 *                   Exactly one waiter of such a cycle gets this code; the
 *                   others complete normally once it returns.
 *   CREW_EINVAL     f is NULL or the timeout is negative
 * result and task_error may be NULL.
 *
 * Waiting inside a pool: when a task of a pool waits on a future (any form
 * that blocks, crew_wait, as_completed), its worker runs other queued tasks
 * of that pool until the future is done, so a task waiting on another task
 * never deadlocks the pool, even with one worker.  A wait with a deadline
 * (the _timed and _until forms) runs no other task: it blocks, and another
 * worker (a replacement if need be) runs the queued work, so the deadline
 * is kept whatever is queued.  See src/sched/README.md for the hazard helping
 * brings (a waiting task holding a lock) and crew_isolate (crew/pool.h)
 * for the isolation that avoids it.
 *
 * Done callbacks run exactly once: at once in the caller of
 * crew_future_add_done_callback if the future is already finished, else in
 * the thread that finishes it (a worker, or the thread that cancels it), in
 * the order they were added.  A callback may submit work, cancel or release
 * futures (including this one: the callback's own call keeps it alive until
 * the callback returns) and add callbacks.
 *
 * References: a future is reference counted.  crew_pool_submit gives the
 * caller one reference; crew_future_retain adds one; crew_future_release drops
 * one and frees the future with the last.  The pool keeps its own reference
 * while the task is queued or running, so releasing early is fine.  A future
 * may outlive its pool.
 *
 * Concurrency: every function may be called by any number of threads at once
 * on the same future, and from tasks and callbacks.
 */
#ifndef CREW_FUTURE_H
#define CREW_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crew/error.h"
#include "crew/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum crew_future_state {
    CREW_FUTURE_PENDING = 0,
    CREW_FUTURE_RUNNING = 1,
    CREW_FUTURE_DONE = 2,
    CREW_FUTURE_CANCELLED = 3
} crew_future_state;

typedef void (*crew_done_fn)(crew_future *f, void *ctx);

/* The state now (a snapshot).  NULL f: CREW_FUTURE_DONE is not returned;
 * use the bool queries, which return false for NULL. */
CREW_API crew_future_state crew_future_get_state(const crew_future *f);
CREW_API bool crew_future_done(const crew_future *f);      /* DONE or CANCELLED */
CREW_API bool crew_future_running(const crew_future *f);
CREW_API bool crew_future_cancelled(const crew_future *f);

/* Cancels the task if it has not started.  Returns true if the future is now
 * cancelled (also if it already was), false if it is running or done.  On
 * success waiters wake, done callbacks run in this thread, and the task's
 * cleanup receives arg. */
CREW_API bool crew_future_cancel(crew_future *f);

/* Waits until the future is DONE or CANCELLED: 0, CREW_ETIMEDOUT,
 * CREW_EDEADLK, CREW_EINVAL.  Does not count as looking at the error. */
CREW_API int crew_future_wait(crew_future *f);
CREW_API int crew_future_wait_timed(crew_future *f, int64_t timeout_ns);
CREW_API int crew_future_wait_until(crew_future *f, int64_t deadline_ns);

/* Waits, then reports the outcome (see the top of this file). */
CREW_API int crew_future_result(crew_future *f, void **result, int *task_error);
CREW_API int crew_future_try_result(crew_future *f, void **result, int *task_error);
CREW_API int crew_future_result_timed(crew_future *f, void **result, int *task_error,
                                      int64_t timeout_ns);
CREW_API int crew_future_result_until(crew_future *f, void **result, int *task_error,
                                      int64_t deadline_ns);

/* Adds a done callback (see above).  0, CREW_EINVAL (f or fn NULL),
 * CREW_ENOMEM (fn will not be called). */
CREW_API int crew_future_add_done_callback(crew_future *f, crew_done_fn fn, void *ctx);

/* Reference counting (see above).  NULL is ignored. */
CREW_API crew_future *crew_future_retain(crew_future *f);
CREW_API void crew_future_release(crew_future *f);

/* ---- futures you complete yourself (Python's Future()) -----------------
 * A future that no task backs: whoever holds it completes it, as executors,
 * event-loop bridges and remote clients do (crew's remote module hands out
 * its futures this way).  It works everywhere a pool's future works:
 * results and timed waits, done callbacks, crew_wait, crew_as_completed,
 * reference counting; a wait on it inside a worker helps with the worker's
 * pool meanwhile (it has no task that a wait cycle could go through, so
 * CREW_EDEADLK never comes from it).  Its states follow Python's:
 *   PENDING --set_running_or_notify_cancel--> RUNNING --set_*--> DONE
 *   PENDING --set_result / set_error--> DONE
 *   PENDING --crew_future_cancel--> CANCELLED (cancel fails once running
 *   or done, as Python's)
 * Completing a finished future is CREW_ESTATE (Python's InvalidStateError),
 * never a crash; of several threads completing it at once exactly one
 * succeeds.  Done callbacks run in the completing (or cancelling) thread.
 * Errors nobody looked at are not counted anywhere: there is no pool.
 * Releasing the last reference of one that nobody completed frees it; its
 * done callbacks are never called (nothing will complete it). */

/* Creates a PENDING future; *out holds one reference.  free_result (may be
 * NULL) receives the result (if not NULL) when the last reference goes:
 * the future then owns what it was completed with.  CREW_EINVAL (out
 * NULL), CREW_ENOMEM. */
CREW_API int crew_future_create(crew_future **out, crew_cleanup_fn free_result);

/* Python's set_running_or_notify_cancel: PENDING -> RUNNING and 0 (go on
 * with the work); CREW_ECANCELLED if it was cancelled (do not do the work:
 * its waiters and callbacks were already told); CREW_ESTATE if it is
 * running or finished; CREW_EINVAL (f NULL, or a pool's future). */
CREW_API int crew_future_set_running_or_notify_cancel(crew_future *f);

/* Completes f with result: DONE, waiters woken, done callbacks run here.
 * 0; CREW_ESTATE if f is already finished (done or cancelled: the result is
 * not taken, free_result is not called for it); CREW_EINVAL (f NULL, or a
 * pool's future, which only its task completes). */
CREW_API int crew_future_set_result(crew_future *f, void *result);

/* Python's set_exception: completes f as failed with task_error (non-zero),
 * which crew_future_result reports as CREW_ETASK with *task_error set and
 * *result = result (NULL or a description, freed like a result).  Codes as
 * crew_future_set_result, and CREW_EINVAL for task_error 0. */
CREW_API int crew_future_set_error(crew_future *f, int task_error, void *result);

/* ---- waiting on many futures ---------------------------------------- */

typedef enum crew_wait_mode {
    CREW_FIRST_COMPLETED = 1, /* any future finished (done or cancelled) */
    CREW_FIRST_EXCEPTION = 2, /* any future failed (CREW_ETASK or CREW_EBROKEN);
                                 if none fails, the same as ALL_COMPLETED */
    CREW_ALL_COMPLETED = 3    /* every future finished */
} crew_wait_mode;

/* Python's concurrent.futures.wait.  Waits until mode's condition holds, then
 * sets done[i] (if done is not NULL) to whether fs[i] is finished and *ndone
 * (if not NULL) to how many are.  Returns 0 when the condition holds,
 * CREW_ETIMEDOUT if time ran out first (done and ndone are still filled),
 * CREW_EINVAL for a NULL fs with n > 0, a NULL entry, a bad mode or a negative
 * timeout, CREW_ENOMEM.  n == 0 returns 0 at once.  The same future may appear
 * twice (*ndone counts entries).  Unlike crew_future_wait, crew_wait does not
 * detect wait cycles: waiting on your own future from inside its task blocks
 * until the timeout. */
CREW_API int crew_wait(crew_future *const *fs, size_t n, crew_wait_mode mode, bool *done,
                       size_t *ndone);
CREW_API int crew_wait_timed(crew_future *const *fs, size_t n, crew_wait_mode mode,
                             bool *done, size_t *ndone, int64_t timeout_ns);
CREW_API int crew_wait_until(crew_future *const *fs, size_t n, crew_wait_mode mode,
                             bool *done, size_t *ndone, int64_t deadline_ns);

/* ---- as_completed ---------------------------------------------------- */

typedef struct crew_as_completed crew_as_completed;

/* Python's as_completed: an iterator that yields each of fs[0..n) once, in
 * the order they finish (those already finished first).  Duplicates in fs are
 * yielded once.  The iterator holds its own reference on each future.
 * CREW_EINVAL, CREW_ENOMEM. */
CREW_API int crew_as_completed_create(crew_as_completed **out, crew_future *const *fs,
                                      size_t n);

/* *f receives the next finished future (a borrowed pointer, valid while the
 * caller's own reference or the iterator lives).  Returns 0, CREW_EEMPTY when
 * every future has been yielded, CREW_ETIMEDOUT (timed forms; pass one
 * deadline to every call for Python's overall timeout), CREW_EINVAL. */
CREW_API int crew_as_completed_next(crew_as_completed *it, crew_future **f);
CREW_API int crew_as_completed_next_timed(crew_as_completed *it, crew_future **f,
                                          int64_t timeout_ns);
CREW_API int crew_as_completed_next_until(crew_as_completed *it, crew_future **f,
                                          int64_t deadline_ns);

/* Frees the iterator and its references.  Must not race with next. */
CREW_API void crew_as_completed_destroy(crew_as_completed *it);

#ifdef __cplusplus
}
#endif

#endif /* CREW_FUTURE_H */
