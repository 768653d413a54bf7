/* scheduler.h - internal: what the scheduler (pool.c) offers the other modules.
 *
 * Waiting inside the pool.  Any crew call that blocks on a condition uses
 * crew__wait_word, so that a worker never just sleeps while its pool has
 * queued work: inside a worker it runs queued tasks of its pool (own deque,
 * then the injection queue, then steals) until *word != value; when no work
 * is left it sleeps on the word, and while it sleeps the pool does not count
 * it as an available worker (a replacement may be started so that queued
 * tasks do not wait behind blocked workers).  Outside a worker it is a plain
 * futex wait.  See docs/SCHEDULER.md.
 *
 * The protocol for the waited-on side: change *word (any atomic RMW or
 * seq_cst store), then call crew__wake_word(word).  Waiters load the word,
 * check their condition, and only then call crew__wait_word with the value
 * they loaded, so no wake-up is lost.
 */
#ifndef CREW_SRC_SCHEDULER_H
#define CREW_SRC_SCHEDULER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "crew/future.h"

/* Returns 0 once *word != value (or spuriously: callers loop), or
 * CREW_ETIMEDOUT when deadline_ns (absolute, crew_now_ns; CREW__FOREVER for
 * none) has passed. */
int crew__wait_word(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns);

/* Wakes every thread blocked in crew__wait_word on word. */
void crew__wake_word(_Atomic uint32_t *word);

/* Removes a done callback added with crew_future_add_done_callback (the first
 * one with this fn and ctx).  Returns true if it was removed and will never
 * run, false if it has run, is running, or was not found.  Used by waits that
 * give up (timeouts) to take back their listener. */
bool crew__future_remove_done_callback(crew_future *f, crew_done_fn fn, void *ctx);

/* The outcome of f without marking its error as looked at (for crew_wait's
 * FIRST_EXCEPTION): CREW_EPENDING if not finished, else what
 * crew_future_try_result would return (0, CREW_ETASK, CREW_ECANCELLED,
 * CREW_EBROKEN). */
int crew__future_peek(const crew_future *f);

/* The number of worker threads p may run at once (its configured maximum). */
unsigned crew__pool_max_workers(const crew_pool *p);

#endif
