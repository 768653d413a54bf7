/*
 * crew/error.h - the one error convention of the whole library.
 *
 * Every crew call that can fail returns an int: 0 (CREW_OK) on success or one
 * of the negative CREW_E* codes below.  Nothing in crew aborts the process on
 * bad input: a NULL handle, a NULL out-pointer, a negative timeout or a call in
 * the wrong state returns a code.  When a call returns an error it has done
 * nothing: no item was queued, no task was submitted, no callback will run.
 *
 * Codes map onto Python's queue and concurrent.futures exceptions where there
 * is one (see the README's tables): queue.Empty -> CREW_EEMPTY,
 * queue.Full -> CREW_EFULL, queue.ShutDown -> CREW_ESHUTDOWN,
 * TimeoutError -> CREW_ETIMEDOUT, CancelledError -> CREW_ECANCELLED,
 * BrokenThreadPool -> CREW_EBROKEN, ValueError -> CREW_EINVAL or CREW_ETOOMANY.
 *
 * Thread safety: every function here may be called from any thread, from a
 * task and (crew_strerror, crew_err_name, crew_now_ns) from a signal handler.
 */
#ifndef CREW_ERROR_H
#define CREW_ERROR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(CREW_STATIC_BUILD)
#define CREW_API __attribute__((visibility("default")))
#else
#define CREW_API
#endif

enum crew_error {
    CREW_OK = 0,
    CREW_EINVAL = -1,      /* an argument is NULL, out of range or inconsistent */
    CREW_ENOMEM = -2,      /* memory allocation failed; nothing was changed */
    CREW_EEMPTY = -3,      /* try_ get on an empty queue (queue.Empty) */
    CREW_EFULL = -4,       /* try_ put on a full bounded queue (queue.Full) */
    CREW_ETIMEDOUT = -5,   /* the timeout or deadline passed first */
    CREW_ESHUTDOWN = -6,   /* the queue or pool is shut down (queue.ShutDown) */
    CREW_EBUSY = -7,       /* destroy while threads are blocked on the object */
    CREW_ECANCELLED = -8,  /* the task was cancelled before it started */
    CREW_EBROKEN = -9,     /* a worker initializer failed: the pool is broken */
    CREW_EFORKED = -10,    /* the object was created before fork() in a parent */
    CREW_ETHREAD = -11,    /* a thread could not be created */
    CREW_ETOOMANY = -12,   /* task_done() called more times than items were put */
    CREW_EPENDING = -13,   /* try_ on a future that is not done yet */
    CREW_ETASK = -14,      /* the task returned a non-zero status (its error) */
    CREW_EDEADLK = -15,    /* a task waited on its own future */
    CREW_ERROR_COUNT_ = 16
};

/* A static, human-readable sentence for a code ("queue is empty").  Unknown
 * codes give "unknown crew error".  Never returns NULL. */
CREW_API const char *crew_strerror(int code);

/* The code's symbolic name ("CREW_EEMPTY"), or "CREW_E?" if unknown. */
CREW_API const char *crew_err_name(int code);

/* Nanoseconds on CLOCK_MONOTONIC: the time base of every *_until deadline.
 * A deadline is crew_now_ns() + a relative timeout. */
CREW_API int64_t crew_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* CREW_ERROR_H */
