/*
 * run.h - one run of the crew command: the job record and the state the
 * three threads share.
 *
 * Threads (docs in cli/README.md):
 *   main    the event loop (loop.c): takes records from the input queue,
 *           starts jobs, reads their pipes, reaps them (pidfd), enforces
 *           timeouts, --halt and signals, and hands finished jobs to the
 *           writer in print order.
 *   reader  a crew task (inputs.c): inputs -> records -> input queue.
 *   writer  a crew task (writer.c): output queue -> stdout/stderr, joblog,
 *           --results, progress bar; frees each record.
 *
 * Protection legend: I immutable once the threads start; L loop thread
 * only; W writer thread only; A atomic; Q handed over through a crew_queue
 * (the queue orders the sender's writes before the receiver's reads).
 */
#ifndef CREW_CLI_RUN_H
#define CREW_CLI_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <crew.h>

#include "inputs.h"
#include "opts.h"
#include "outbuf.h"
#include "template.h"
#include "waker.h"

enum kill_reason {
    KILL_NONE,
    KILL_TIMEOUT,   /* --timeout: the job failed (joblog Exitval -1) */
    KILL_HALT,      /* --halt now: dropped, not logged (as parallel) */
    KILL_INTERRUPT, /* SIGINT/SIGTERM/SIGHUP to crew: dropped */
    KILL_PIPE       /* crew's stdout closed: dropped */
};

enum item_kind { ITEM_JOB, ITEM_TEXT };

/* One job: owned by the loop while it runs (L), then by the writer (Q). */
struct job {
    enum item_kind kind;    /* ITEM_JOB: the output queue carries jobs and texts */
    struct args *args;
    uint64_t ord;           /* the order the loop took it in (-k prints by it) */
    unsigned slot;          /* {%}: 1-based */
    unsigned attempts;      /* runs so far (--retries) */
    pid_t pid;              /* 0 when no process runs */
    int pidfd;              /* -1 if none (or the SIGCHLD fallback) */
    int fd[2];              /* read ends of the stdout/stderr pipes, -1 closed */
    struct outbuf out[2];   /* captured stdout and stderr */
    struct strbuf part[2];  /* --line-buffer: an unfinished line */
    int64_t start_mono, start_wall, runtime_ns;
    int64_t deadline;       /* --timeout, 0 = none */
    int kill_step;          /* next --term-seq step to send, -1 = not killing */
    int64_t kill_at;        /* when to send it */
    enum kill_reason killed;
    int exitval, sig;       /* the outcome: exit status, or the signal */
    int spawn_err;          /* errno if the program never started */
    bool exited;            /* reaped */
    bool discard;           /* print and log nothing (halt now, interrupt) */
    bool failed;            /* the final outcome counts as a failure */
    uint64_t received;      /* stdout bytes (the joblog's Receive) */
    struct job *next;       /* L: retry list */
};

/* A message or a --line-buffer chunk for the writer to print. */
struct textitem {
    enum item_kind kind;    /* ITEM_TEXT */
    int fd;                 /* 1 or 2 */
    size_t len;
    char data[];
};

struct run {
    const struct opts *o;            /* I */
    struct template tpl;             /* I: the command */
    struct template tagtpl;          /* I: --tagstring (nwords == 0 if none) */
    char *prog;                      /* I: direct mode: the program, resolved once */
    int prog_err;                    /* I: why prog is NULL (ENOENT, EACCES) */
    struct reader rd;                /* the input reader (inputs.h) */
    struct seqset skip;              /* I: --resume */
    crew_pool *reader_pool;          /* one worker: the reader task (NULL: ran inline) */
    crew_pool *writer_pool;          /* one worker: the writer task (main.c says why two) */
    crew_future *reader_f;
    crew_future *writer_f;           /* writer_lock: set once, when the writer starts */
    pthread_mutex_t writer_lock;     /* serialises the writer's lazy start */
    atomic_bool writer_on;           /* A: the writer task was submitted */
    bool writer_closed;              /* writer_lock: the run is over, no more starts */
    crew_queue *outq;                /* jobs and texts to the writer, in print order */
    struct waker wk;                 /* wakes the loop (waker.h) */
    struct membudget mem;            /* A/I: output held in memory */
    atomic_uint live;                /* A: job records and texts alive (running or not yet
                                        printed): the loop keeps it under a bound */
    atomic_bool out_broken;          /* A: writing stdout failed with EPIPE */
    atomic_uint_fast64_t running;    /* A: jobs running (for the progress bar) */
    int joblog_fd;                   /* L (opened by main), -1 if none */
    atomic_uint_fast64_t done;       /* A: jobs finished and counted (--bar) */
    atomic_uint_fast64_t failed;     /* A: of those, failed */
    bool stdout_tty, stderr_tty;     /* I */
    int64_t t0;                      /* I: when the run started (mono) */
};

void job_free(struct job *j, struct membudget *m);

/* The text a job's messages call it by: "job 3 (input 'a b')". */
void job_describe(const struct job *j, struct strbuf *b);

/* The --tag / --tagstring prefix of the job's lines (with its TAB), or
 * nothing. */
void job_tag(const struct run *r, const struct job *j, struct strbuf *b);

/* The job's command line for display (--dry-run, -v, -t, the joblog). */
void job_command_line(const struct run *r, const struct job *j, struct strbuf *b);

#endif /* CREW_CLI_RUN_H */
