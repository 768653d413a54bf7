/* worker.h - the worker's structures, shared by worker*.c.
 *
 * Threads of a serving worker:
 *   the fetcher   serve's calling thread: takes jobs (XREADGROUP, and the
 *                 RECLAIM script for expired ones) on connection `fetch`,
 *                 hands each to the pool, and dead-letters the ones it
 *                 cannot run (queues a DEAD op)
 *   pool workers  run the tasks; each finished job becomes an op in the
 *                 commit queue
 *   the committer stores the queue's ops with their acks (COMMIT script)
 *                 on connection `commit`, renews the leases of held jobs,
 *                 promotes retries, takes its turn at housekeeping
 * A job is "held" from the moment it is taken until its op is committed
 * (or given back); `prefetch` bounds the held jobs.
 *
 * Protection legend:
 *   I  immutable while serving (set before serve, or by serve before it
 *      starts the other threads)
 *   L  mu
 *   F  the fetcher only;  C  the committer only
 *   J  the job's owner: the fetcher until it is handed to the pool, then
 *      the pool task running it, then (once queued) the committer
 *   A  atomic
 */
#ifndef CREW_REMOTE_WORKER_H
#define CREW_REMOTE_WORKER_H

#include "remote_impl.h"

typedef struct crew__task {
    char *name;
    size_t len;
    crew_remote_task_fn fn;
    void *ctx;
} crew__task;

enum crew__op_kind {
    CREW__OP_RESULT,   /* ack, with a result record if the job has a reply address */
    CREW__OP_RETRY,    /* ack, and a copy into the retry set */
    CREW__OP_DEAD,     /* ack, a dead letter, and a record if there is an address */
    CREW__OP_GIVEBACK  /* not started: handed back to the queue, no ack */
};

struct crew_remote_out {
    crew__buf *b;
    size_t max;
    bool toobig;
};

typedef struct crew__wjob {
    struct crew__wjob *prev, *next;  /* L: in the held list */
    struct crew__wjob *qnext;        /* L: in the commit queue */
    crew_remote_worker *w;           /* I */
    const crew__task *task;          /* J: NULL for a DEAD op made by the fetcher */
    char id[CREW__ID_MAX];           /* J: stream id */
    char client[CREW__CLIENT_MAX + 1]; /* J: "" when no result is wanted */
    uint64_t seq;                    /* J */
    unsigned retries, attempt;       /* J */
    uint32_t backoff_ms;             /* J */
    enum crew__op_kind kind;         /* J */
    int32_t status;                  /* J: 0, the task's status, or a CREW_E* code */
    const char *code_name;           /* J: DEAD: the code's name for the dead letter */
    crew__buf out;                   /* J: result or message (DEAD: the reason) */
    crew__buf raw;                   /* J: DEAD: the entry's fields, u32 length + bytes each */
    size_t payload_len;              /* J */
    unsigned char *payload;          /* J: a copy, in the same allocation */
} crew__wjob;

struct crew_remote_worker {
    crew_remote_options o;           /* I */
    crew__url url;                   /* I */
    crew__keys keys;                 /* I */
    char consumer[130];              /* I */
    crew__task *tasks;               /* I (written by register before serve) */
    size_t ntasks;                   /* I */
    crew_pool *pool;                 /* I */

    atomic_int stop;                 /* A: stop asked (signal handler) */
    atomic_int serving;              /* A: serve is running (or ran) */
    atomic_int giveback;             /* A: jobs not started are given back */
    atomic_int abandon;              /* A: grace over: the committer gives up */

    pthread_mutex_t mu;
    pthread_cond_t commit_cv;        /* L: the committer waits for ops */
    pthread_cond_t room_cv;          /* L: the fetcher waits for room */
    crew__wjob held;                 /* L: list head (sentinel) of held jobs */
    size_t nheld;                    /* L */
    crew__wjob *qhead, **qtail;      /* L: commit queue */
    bool committer_idle;             /* L: waiting on commit_cv */
    bool fetch_done;                 /* L: the fetcher has stopped taking jobs */
    int first_error;                 /* L: a fatal code from the first connection */

    crew__conn fetch;                /* F */
    crew__conn commit;               /* C */
    pthread_t committer;             /* I */

    /* A: statistics, relaxed */
    atomic_uint_fast64_t taken, reclaimed, ran, failed, retried, acked, dead_lettered,
        lease_renewals, leases_lost;
};

/* worker_run.c */
/* A job for entry id/fields (from XREADGROUP or a reclaim): decoded,
 * checked, its payload copied.  NULL without memory.  Otherwise a job to
 * run (task set) or a DEAD op (task NULL). */
crew__wjob *crew__wjob_from_entry(crew_remote_worker *w, const redisReply *id,
                                  const redisReply *fields);
/* The pool task that runs a job (a crew_task_fn). */
int crew__wjob_run(void *arg, void **result);
void crew__wjob_free(crew__wjob *j);
/* Queues j's op for the committer [L not held]. */
void crew__worker_queue(crew_remote_worker *w, crew__wjob *j);

/* worker_commit.c: the committer thread. */
void *crew__committer(void *arg);

/* worker_keep.c */
/* Takes over up to count expired jobs and dead-letters those delivered too
 * often; hands the taken ones to the pool.  0 and *got; or a code. */
int crew__reclaim(crew_remote_worker *w, unsigned count, unsigned *got);
/* Retries due back into the stream; *next_ms: until the next one (-1: none). */
int crew__promote(crew_remote_worker *w, crew__conn *c, int64_t *next_ms);
/* Housekeeping if it is this worker's turn. */
int crew__keep(crew_remote_worker *w, crew__conn *c);
/* Holds taken jobs and hands each to the pool (or gives it back if the pool
 * refuses); DEAD ops go straight to the committer. */
void crew__worker_start(crew_remote_worker *w, crew__wjob **jobs, size_t n);

#endif
