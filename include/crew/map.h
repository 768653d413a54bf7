/*
 * crew/map.h - Executor.map in C: apply a task function to every input and
 * read the results back in input order.
 *
 * Differences from Python's Executor.map, where C has no exceptions:
 *   - each item's error is reported at its own position (CREW_ETASK with the
 *     item's status) and the iteration goes on; Python stops at the first
 *     exception;
 *   - the number of tasks in flight is bounded by default (buffersize
 *     defaults to 2 x the pool's workers; Python 3.14's buffersize defaults to
 *     unbounded), so a million inputs never queue a million tasks.  A new task
 *     is submitted each time the caller consumes a finished chunk.
 *
 * Every input i is passed as fn(inputs[i], &result).  With chunksize c, one
 * task runs c consecutive inputs one after another.  The inputs array must
 * stay valid until crew_map_destroy.
 *
 * Concurrency: one crew_map object is used by one thread at a time.
 */
#ifndef CREW_MAP_H
#define CREW_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "crew/error.h"
#include "crew/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crew_map crew_map;

typedef struct crew_map_options {
    size_t chunksize;  /* inputs per task; 0 = 1 */
    size_t buffersize; /* most chunks submitted and not yet consumed; 0 = 2 x workers */
} crew_map_options;

/* Starts the map: submits up to buffersize chunks at once.  All or
 * nothing: on an error fn has run on no input (chunks already submitted
 * wait at the map's start gate until the last one is accepted, and give up
 * if one was not).  Returns 0, CREW_EINVAL (out, p or fn NULL, inputs NULL
 * with n > 0), CREW_ENOMEM, or a submit error of crew_pool_submit:
 * CREW_ESHUTDOWN, CREW_EBROKEN, CREW_EFORKED, CREW_ETHREAD. */
CREW_API int crew_map_create(crew_map **out, crew_pool *p, crew_task_fn fn,
                             void *const *inputs, size_t n, const crew_map_options *opts);

/* The next result in input order.  *index (may be NULL) receives the input's
 * position.  Returns, for that item: 0 (*result set), CREW_ETASK
 * (*task_error set), CREW_ECANCELLED (its chunk was cancelled by a pool
 * shutdown), CREW_EBROKEN (the pool broke first), or the error that kept
 * its chunk from being submitted when an earlier chunk was consumed:
 * CREW_ESHUTDOWN, CREW_EBROKEN, CREW_ENOMEM, CREW_ETHREAD; iteration goes
 * on with the next item either way.  Then CREW_EEMPTY after the last item,
 * CREW_ETIMEDOUT (timed forms; the same item is returned by the next
 * call), CREW_EINVAL (m NULL, or a negative timeout). */
CREW_API int crew_map_next(crew_map *m, size_t *index, void **result, int *task_error);
CREW_API int crew_map_next_timed(crew_map *m, size_t *index, void **result,
                                 int *task_error, int64_t timeout_ns);
CREW_API int crew_map_next_until(crew_map *m, size_t *index, void **result,
                                 int *task_error, int64_t deadline_ns);

/* Cancels the chunks not started, waits for the running ones and frees m. */
CREW_API int crew_map_destroy(crew_map *m);

/* Convenience: runs the whole map and stores results[i] and errors[i] (either
 * may be NULL; errors[i] is 0 or the item's status, or a CREW_E* code if the
 * item did not run).  Returns 0 if every item returned 0, else CREW_ETASK
 * (or the first crew error). */
CREW_API int crew_map_all(crew_pool *p, crew_task_fn fn, void *const *inputs, size_t n,
                          void **results, int *errors, const crew_map_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* CREW_MAP_H */
