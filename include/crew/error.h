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

/* Every code, its value and its text: the one list that the enum below and
 * crew_strerror / crew_err_name are generated from (libuv's UV_ERRNO_MAP).
 * Values are dense from 0 down; a new code goes at the end. */
#define CREW_ERRNO_MAP(X)                                                                  \
    X(OK, 0, "success")                                                                    \
    /* an argument is NULL, out of range or inconsistent */                                \
    X(EINVAL, -1, "invalid argument")                                                      \
    /* memory allocation failed; nothing was changed */                                    \
    X(ENOMEM, -2, "out of memory")                                                         \
    /* try_ get on an empty queue (queue.Empty) */                                         \
    X(EEMPTY, -3, "queue is empty")                                                        \
    /* try_ put on a full bounded queue (queue.Full) */                                    \
    X(EFULL, -4, "queue is full")                                                          \
    /* the timeout or deadline passed first */                                             \
    X(ETIMEDOUT, -5, "timed out")                                                          \
    /* the queue or pool is shut down (queue.ShutDown) */                                  \
    X(ESHUTDOWN, -6, "shut down")                                                          \
    /* destroy while threads are blocked on the object */                                  \
    X(EBUSY, -7, "threads are still blocked on the object")                                \
    /* the task was cancelled before it started */                                         \
    X(ECANCELLED, -8, "cancelled")                                                         \
    /* a worker initializer failed: the pool is broken */                                  \
    X(EBROKEN, -9, "pool is broken: a worker initializer failed")                          \
    /* the object was created before fork() in a parent */                                 \
    X(EFORKED, -10, "object was created before fork() in the parent process")              \
    /* a thread could not be created */                                                    \
    X(ETHREAD, -11, "could not create a thread")                                           \
    /* task_done() called more times than items were put */                                \
    X(ETOOMANY, -12, "task_done() called more times than items were put")                  \
    /* try_ on a future that is not done yet */                                            \
    X(EPENDING, -13, "not finished yet")                                                   \
    /* the task returned a non-zero status (its error) */                                  \
    X(ETASK, -14, "the task returned an error")                                            \
    /* a task waited on its own future */                                                  \
    X(EDEADLK, -15, "the call would wait for itself")                                      \
    /* completing a future that is already finished (Python's InvalidStateError) */        \
    X(ESTATE, -16, "the future is already finished")                                   \
    /* crew-remote: Redis cannot be reached (refused, lost, timed out) */                 \
    X(ECONN, -17, "cannot reach the broker: connection refused, lost or timed out")        \
    /* crew-remote: Redis refused the password or user */                                 \
    X(EAUTH, -18, "the broker refused the credentials")                                    \
    /* crew-remote: a message or reply that cannot be decoded */                          \
    X(EPROTO, -19, "malformed message or unexpected reply")                                \
    /* crew-remote: a payload or result over the configured limit */                      \
    X(ETOOBIG, -20, "payload or result larger than the configured limit")                  \
    /* crew-remote: the job names a task no worker registered */                          \
    X(ENOTASK, -21, "no task of that name is registered")                                  \
    /* crew-remote: delivered too many times, moved to the dead-letter stream */          \
    X(EDEADLETTER, -22, "the job was delivered too many times and was dead-lettered")      \
    /* crew-remote: Redis too old, or settings that lose jobs (eviction) */               \
    X(ECONFIG, -23, "the broker's version or settings are unsupported or unsafe")          \
    /* crew-remote: Redis answered a command with an error */                             \
    X(EBROKER, -24, "the broker returned an error")

enum crew_error {
#define CREW_ERR_ENUM_(name, value, text) CREW_##name = (value),
    CREW_ERRNO_MAP(CREW_ERR_ENUM_)
#undef CREW_ERR_ENUM_
};

/* The number of codes (0 down to -(CREW_ERROR_COUNT_ - 1)), counted from
 * the same list. */
enum {
#define CREW_ERR_INDEX_(name, value, text) CREW_ERRINDEX_##name##_,
    CREW_ERRNO_MAP(CREW_ERR_INDEX_)
#undef CREW_ERR_INDEX_
    CREW_ERROR_COUNT_
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
