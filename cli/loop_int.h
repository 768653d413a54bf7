/*
 * loop_int.h - the event loop's private state, shared by loop.c (starting
 * jobs, events, timers) and finish.c (what happens when a job ends: retries,
 * -k order, --halt, killing).  Everything here is touched by the loop
 * thread only (L in run.h's legend).
 */
#ifndef CREW_CLI_LOOP_INT_H
#define CREW_CLI_LOOP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "run.h"
#include "spawn.h"

/* Finished jobs that may wait for an earlier one under -k, beyond the
 * running ones; the loop starts no job while this many records are alive. */
#define KEEP_WINDOW 4096

struct loop {
    struct run *r;
    const struct opts *o;
    int ep;                    /* epoll set */
    int sigfd;                 /* signalfd */
    bool use_pidfd;
    struct spawner sp;
    struct job **slot;         /* running job per slot (slot k is {%} = k+1) */
    unsigned nrunning;
    struct job *retry_head, *retry_tail;
    bool input_done;           /* the input queue said CREW_ESHUTDOWN */
    bool stopping;             /* start no more jobs */
    enum kill_reason stop_why; /* KILL_NONE if the run ends normally */
    unsigned signals;          /* SIGINT/SIGTERM/SIGHUP received */
    unsigned livecap;          /* most records alive at once */
    uint64_t next_ord;

    struct job **win;          /* -k: finished jobs by ord % livecap */
    uint64_t win_next;         /* the next ord to print */

    uint64_t done, failed, succeeded;
    bool halted;
    int halt_status;           /* the status --halt ...,fail=1 exits with */

    int64_t next_start;        /* --delay */
    int64_t load_at;           /* --load: when to look at the load again */
    bool load_high;
    int64_t *runtimes;         /* --timeout N%: recent successful runtimes */
    size_t nrt, rtpos;
    int64_t median;            /* 0 until known */
    bool median_stale;
    unsigned nkilling;         /* running jobs walking through --term-seq */

    struct strbuf arena, line; /* scratch for rendering */
    struct strvec argv;
    char *rbuf;                /* scratch for reading pipes */
};

/* signals.c: pidfd_open(2), or -1 with errno (ENOSYS on old kernels). */
int pidfd_open_fd(pid_t pid);

/* loop.c: waits while the writer is too far behind (the records and
 * texts alive past the bound); a signal ends the wait early. */
void loop_throttle(struct loop *L);

/* finish.c */
void job_finished(struct loop *L, struct job *j);
void job_output(struct loop *L, struct job *j, int k, const char *p, size_t n);
void job_kill(struct loop *L, struct job *j, enum kill_reason why, int64_t now);
void job_kill_next(struct loop *L, struct job *j, int64_t now);
void run_stop(struct loop *L, enum kill_reason why);
void retries_drop(struct loop *L);
int64_t timeout_for(struct loop *L);
int exit_status(struct loop *L);

#endif /* CREW_CLI_LOOP_INT_H */
