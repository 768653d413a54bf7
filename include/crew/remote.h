/*
 * crew/remote.h - crew's queue and futures across processes and machines,
 * over Redis Streams (Redis >= 6.2) through hiredis.  Built as the separate
 * library crew-remote (pkg-config crew-remote, CMake crew::crew_remote) when
 * hiredis is found.
 *
 * The model is the local one: submit a job, get a crew_future (the same type
 * a pool hands out, so crew_future_result, timed waits, done callbacks,
 * crew_wait and crew_as_completed work on remote work and on a mix of local
 * and remote futures); workers take each job from a queue and run it.
 *
 * Jobs are named tasks with byte payloads: a C function pointer cannot cross
 * machines, so each worker registers its tasks by name
 * (crew_remote_worker_register) and a job is (task name, payload bytes,
 * options).  A task returns 0 and the bytes it wrote as its result, or a
 * non-zero status of its own and the bytes it wrote as the error message.
 *
 * Delivery guarantee: AT LEAST ONCE.  A job that a submit accepted (returned
 * 0) is in Redis; it runs until a worker stores its result, so it may run
 * more than once (its worker died or lost its lease, see lease_ns), but its
 * future completes exactly once: the first result wins, later ones are
 * dropped.  Jobs must therefore be safe to run twice.  The proof sketch,
 * the message layout and every Redis key are in src/remote/README.md;
 * the user's guide is docs/REMOTE.md.
 *
 * Outcomes of a remote future (crew_future_result and its forms):
 *   0           the task returned 0; *result is a crew_remote_bytes * owned
 *               by the future (NULL for an empty result)
 *   CREW_ETASK  the job failed: *task_error is
 *     > 0 (or any value outside the codes below) the task's own status;
 *               *result holds the message the task wrote (or NULL)
 *     CREW_EDEADLETTER  delivered more than max_deliveries times (its
 *               workers kept dying or losing the lease): moved to the
 *               dead-letter stream
 *     CREW_ENOTASK      no task of that name is registered in the worker
 *     CREW_ETOOBIG      the payload was over the worker's max_payload, or
 *               the task's result or message over max_result
 *     CREW_EPROTO       the job's message could not be decoded
 *     CREW_ESHUTDOWN    the client was destroyed before the result came
 *     (the first four also put the job in the dead-letter stream, with the
 *     reason; *result holds a description)
 *   CREW_ECANCELLED  cancelled (crew_future_cancel or crew_remote_cancel)
 * Task statuses from CREW_ESTATE down (the codes above) are reserved: a task
 * should return positive statuses.
 *
 * Cancellation: crew_future_cancel(f) on a remote future succeeds while its
 * result has not reached the client (Python's rule for a pending future):
 * the future is CANCELLED at once, and the client then asks Redis to remove
 * the job, which succeeds if no worker has taken it yet (checked atomically
 * in Redis); a job already taken runs, and its result is dropped.
 * crew_remote_cancel(c, f) is the strict form: it asks Redis first and
 * cancels the future only if the job was removed before any worker took it,
 * so a job it cancels has never run and never will.  A worker takes up to
 * `prefetch` jobs ahead of running them; "taken" includes those.
 *
 * Done callbacks of remote futures run in the client's result thread: they
 * must not block on remote futures of the same client (that thread delivers
 * their results).  They may submit, cancel and release.
 *
 * Security: a worker runs only functions registered by name in it; a
 * message is only data (task name, payload, options) and every field is
 * checked (size limits, syntax) before anything runs; anything malformed,
 * oversized or naming an unknown task goes to the dead-letter stream.
 * What someone who can write to Redis can and cannot make a worker do is
 * written down in docs/REMOTE.md ("Security").
 *
 * Errors: every call returns 0 or a negative CREW_E* code (crew/error.h).
 * Connection-level codes: CREW_ECONN (cannot reach Redis: refused, lost,
 * timed out), CREW_EAUTH (wrong password or user), CREW_ECONFIG (Redis too
 * old, or its settings would lose jobs: maxmemory-policy other than
 * noeviction unless allow_eviction, no persistence when
 * require_persistence), CREW_EBROKER (Redis answered with an error),
 * CREW_EFULL (Redis is out of memory: maxmemory reached under noeviction).
 *
 * Concurrency: every client call may be made from any number of threads at
 * once (and from tasks and done callbacks), except crew_remote_client_destroy,
 * which must not race with other calls on the same client nor with
 * crew_future_cancel on its futures.  Worker: register before serve;
 * crew_remote_worker_stop from any thread or a signal handler; get_stats
 * from any thread; destroy after serve returned.
 */
#ifndef CREW_REMOTE_H
#define CREW_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crew/error.h"
#include "crew/future.h"
#include "crew/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crew_remote_client crew_remote_client;
typedef struct crew_remote_worker crew_remote_worker;
typedef struct crew_remote_out crew_remote_out;

/* A job's result or error message as a future holds it: size bytes at data,
 * followed by a NUL that is not counted (so text results print as is).
 * Freed with the future's last reference. */
typedef struct crew_remote_bytes {
    size_t size;
    unsigned char data[];
} crew_remote_bytes;

/* A registered task: in/n is the job's payload (valid during the call),
 * out collects its result (status 0) or error message (non-zero status),
 * ctx is the pointer given at registration.  Runs on a worker thread of the
 * worker's crew pool; may run on several threads at once. */
typedef int (*crew_remote_task_fn)(const void *in, size_t n, crew_remote_out *out, void *ctx);

/* Log hook: a line (no newline) about connections, reconnections, the
 * Redis settings found at connect, dead-lettered jobs.  May be called from
 * any of the module's threads at once. */
enum { CREW_REMOTE_LOG_ERROR = 0, CREW_REMOTE_LOG_WARN = 1, CREW_REMOTE_LOG_INFO = 2 };
typedef void (*crew_remote_log_fn)(int level, const char *msg, void *ctx);

/* Options of a client and of a worker (one struct; each side ignores the
 * other's fields).  crew_remote_options_init sets the defaults given here;
 * zero in a numeric field also means its default. */
typedef struct crew_remote_options {
    /* both sides */
    const char *queue;          /* queue name, 1-64 of [A-Za-z0-9_.:-]; "default" */
    const char *password;       /* overrides the URL's password */
    const char *password_env;   /* environment variable read for the password when
                                   neither the URL nor `password` gives one:
                                   "CREW_REDIS_PASSWORD"; "" reads none */
    int64_t connect_timeout_ns; /* one connection attempt: 5 s */
    int64_t io_timeout_ns;      /* one reply (beyond a blocking read's own time): 10 s */
    int64_t retry_timeout_ns;   /* a client call keeps reconnecting this long before
                                   CREW_ECONN (a worker reconnects forever): 30 s */
    size_t max_payload;         /* bytes; client refuses bigger (CREW_ETOOBIG), worker
                                   dead-letters bigger: 1 MiB */
    size_t max_result;          /* bytes of a result or message: 1 MiB */
    int64_t result_ttl_ns;      /* a client's results stream expires this long after
                                   its last result: 24 h */
    bool allow_eviction;        /* accept maxmemory-policy other than noeviction */
    bool require_persistence;   /* CREW_ECONFIG when Redis has neither AOF nor RDB */
    crew_remote_log_fn log;     /* NULL: silent */
    void *log_ctx;
    /* worker only */
    unsigned threads;           /* crew pool workers running jobs; 0 = online CPUs */
    unsigned batch;             /* jobs per XREADGROUP (COUNT): 100 */
    unsigned prefetch;          /* jobs held at most (taken, not yet acknowledged):
                                   4 x batch */
    unsigned max_deliveries;    /* a job delivered this many times and not finished
                                   goes to the dead-letter stream: 5 */
    int64_t lease_ns;           /* visibility timeout: a job whose worker has not
                                   renewed it for this long is taken over: 30 s
                                   (renewed every lease/3 while it runs) */
    int64_t grace_ns;           /* on stop: time given to running jobs: 30 s */
    int64_t dead_consumer_idle_ns; /* consumers idle this long with nothing pending
                                   are removed from the group: 1 h */
    size_t dead_max;            /* dead-letter stream kept to about this many: 100,000 */
    const char *consumer;       /* this worker's consumer name; "<host>-<pid>-<random>" */
} crew_remote_options;

CREW_API void crew_remote_options_init(crew_remote_options *opts);

/* A job: task name (1-255 printable ASCII characters, no space), payload
 * bytes (payload may be NULL when size is 0) and retries: if the task
 * returns a non-zero status, the job runs again up to `retries` more times,
 * the first after backoff_ms milliseconds, each next after twice the delay
 * before; the future completes with the last attempt's outcome. */
typedef struct crew_remote_job {
    const char *task;
    const void *payload;
    size_t size;
    unsigned retries;    /* at most 1000 */
    uint32_t backoff_ms; /* 0: retry at once */
} crew_remote_job;

/* ---- client ------------------------------------------------------------ */

/* Connects to url: "redis://[user[:password]@]host[:port][/db]" (password
 * percent-encoded if need be; port 6379, db 0 by default),
 * "unix:///path/to.sock[?db=N]", or a path starting with '/'.  Checks the
 * Redis version and settings, creates the queue's stream and consumer group
 * if need be, and starts the client's result thread.  opts may be NULL.
 * 0; CREW_EINVAL (out or url NULL, url malformed or rediss://, bad option);
 * CREW_ECONN, CREW_EAUTH, CREW_ECONFIG, CREW_EBROKER, CREW_ENOMEM,
 * CREW_ETHREAD. */
CREW_API int crew_remote_client_create(crew_remote_client **out, const char *url,
                                       const crew_remote_options *opts);

/* Submits one job; *out receives its future (one reference for the caller);
 * out == NULL submits it fire-and-forget (no result is sent back).
 * Returns 0 once Redis has stored the job.  CREW_EINVAL (c or task NULL, bad
 * task name, payload NULL with size > 0, retries > 1000), CREW_ETOOBIG
 * (size > max_payload), CREW_ECONN (Redis unreachable for retry_timeout_ns:
 * the job may or may not have been added; if it was, it runs and its result
 * is dropped), CREW_EAUTH, CREW_EFULL, CREW_EBROKER, CREW_ENOMEM,
 * CREW_ESHUTDOWN (destroy has begun). */
CREW_API int crew_remote_submit(crew_remote_client *c, const char *task, const void *payload,
                                size_t size, crew_future **out);
CREW_API int crew_remote_submit_job(crew_remote_client *c, const crew_remote_job *job,
                                    crew_future **out);

/* Submits n jobs pipelined (all in one round trip when the connection
 * holds).  outs (NULL: fire-and-forget) receives one future per job that
 * Redis stored, NULL for any other.  Returns 0 if every job was stored,
 * else the first failing job's code (as crew_remote_submit); a job that
 * fails validation fails alone, CREW_EINVAL for c NULL or jobs NULL with
 * n > 0 fails all. */
CREW_API int crew_remote_submit_many(crew_remote_client *c, const crew_remote_job *jobs,
                                     size_t n, crew_future **outs);

/* The strict cancel (see the top of this file): 0 if the job was removed
 * from Redis before any worker took it (f is now CANCELLED; the job never
 * runs); CREW_ESTATE if it is too late (a worker has taken it, or f is
 * finished or already cancelled: f is left as it is); CREW_EINVAL (NULL, or
 * f is not a pending future of this client), CREW_ECONN, CREW_EAUTH,
 * CREW_EBROKER. */
CREW_API int crew_remote_cancel(crew_remote_client *c, crew_future *f);

typedef struct crew_remote_client_stats {
    uint64_t submitted;      /* jobs Redis stored */
    uint64_t completed;      /* futures completed with a result from a worker */
    uint64_t duplicates;     /* results dropped: job ran again, or its future was
                                cancelled or given up */
    uint64_t cancels_removed;   /* cancels that removed the job before a worker took it */
    uint64_t cancels_too_late;  /* cancels that found the job already taken */
    uint64_t reconnects;     /* connections re-established after a loss */
    uint64_t in_flight;      /* futures waiting for their result */
} crew_remote_client_stats;

/* 0, CREW_EINVAL. */
CREW_API int crew_remote_client_get_stats(crew_remote_client *c, crew_remote_client_stats *out);

/* Stops the result thread, completes every future still waiting with
 * CREW_ETASK / task_error CREW_ESHUTDOWN (its job may still run; the result
 * is dropped), disconnects and frees the client.  Futures stay valid until
 * released.  0, CREW_EINVAL. */
CREW_API int crew_remote_client_destroy(crew_remote_client *c);

/* ---- worker ------------------------------------------------------------ */

/* Creates a worker for url (as crew_remote_client_create) and opts (may be
 * NULL); connects nothing yet.  0; CREW_EINVAL (bad url or option),
 * CREW_ENOMEM. */
CREW_API int crew_remote_worker_create(crew_remote_worker **out, const char *url,
                                       const crew_remote_options *opts);

/* Registers fn under name (as a job's task name).  Before serve only.
 * 0; CREW_EINVAL (NULL, bad name, name already registered, serve has
 * begun); CREW_ENOMEM. */
CREW_API int crew_remote_worker_register(crew_remote_worker *w, const char *name,
                                         crew_remote_task_fn fn, void *ctx);

/* Serves the queue in the calling thread until crew_remote_worker_stop:
 * takes jobs in batches, runs them on a crew pool of opts.threads workers,
 * stores each result and acknowledges its job together, renews the lease of
 * the jobs it holds, takes over jobs whose lease expired, dead-letters jobs
 * delivered too often, and does the queue's housekeeping (trimming
 * acknowledged jobs, retries due, dead consumers).  Survives connection
 * loss and Redis restarts (reconnects with backoff, forever).
 * After stop: takes no new job, waits up to grace_ns for the jobs it holds,
 * acknowledges them, gives the ones it never started back to the queue.
 * Returns 0 after a clean stop; CREW_ETIMEDOUT if jobs were still running
 * when the grace ran out (they were given back to the queue; destroy then
 * waits for them to return, so a program may rather exit); CREW_EAUTH,
 * CREW_ECONFIG (at the first connection: nothing was taken), CREW_EINVAL
 * (NULL, no task registered, serve called twice), CREW_ENOMEM, CREW_ETHREAD. */
CREW_API int crew_remote_worker_serve(crew_remote_worker *w);

/* Asks serve to stop (see above) and returns at once.  Async-signal-safe:
 * may be called from a SIGTERM handler.  NULL is ignored. */
CREW_API void crew_remote_worker_stop(crew_remote_worker *w);

typedef struct crew_remote_worker_stats {
    uint64_t taken;          /* jobs delivered to this worker (new ones) */
    uint64_t reclaimed;      /* jobs taken over from workers whose lease expired */
    uint64_t ran;            /* task calls that returned */
    uint64_t failed;         /* of those, with a non-zero status */
    uint64_t retried;        /* failed jobs scheduled to run again */
    uint64_t acked;          /* jobs acknowledged (with their result stored) */
    uint64_t dead_lettered;  /* jobs this worker moved to the dead-letter stream */
    uint64_t lease_renewals; /* lease renewals of held jobs */
    uint64_t leases_lost;    /* held jobs found taken over by another worker */
    uint64_t reconnects;     /* connections re-established after a loss */
    uint64_t held;           /* jobs held now */
} crew_remote_worker_stats;

/* 0, CREW_EINVAL. */
CREW_API int crew_remote_worker_get_stats(crew_remote_worker *w, crew_remote_worker_stats *out);

/* Frees the worker.  Waits for jobs still running (see serve).  0,
 * CREW_EINVAL, CREW_EBUSY (serve is running). */
CREW_API int crew_remote_worker_destroy(crew_remote_worker *w);

/* ---- a task's output --------------------------------------------------- */

/* Appends n bytes to the task's result (or error message).  0; CREW_EINVAL;
 * CREW_ETOOBIG (over max_result: the job then fails with CREW_ETOOBIG
 * whatever the task returns); CREW_ENOMEM. */
CREW_API int crew_remote_out_write(crew_remote_out *out, const void *data, size_t n);

/* Appends printf-formatted text.  Codes as crew_remote_out_write. */
CREW_API int crew_remote_out_printf(crew_remote_out *out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* CREW_REMOTE_H */
