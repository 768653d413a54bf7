/*
 * writer.h - the output writer: a crew task that takes finished jobs and
 * texts from the output queue, in the order the event loop put them (input
 * order with -k), and prints them: the job's stdout whole, then its stderr
 * whole (each line prefixed with --tag/--tagstring), or into --results
 * files; then it frees the record and wakes the loop if the loop waits for
 * room.  It also draws --bar/--eta.  Jobs with nothing to print never come
 * here: the loop frees them (and writes every joblog line itself).
 *
 * Printing in a thread of its own keeps a slow reader of crew's stdout from
 * stalling the loop (jobs keep being reaped and started until the bound on
 * records alive is reached), and makes it the one writer of stdout/stderr,
 * so nothing interleaves mid-line.  A write to stdout failing with EPIPE
 * sets run->out_broken and wakes the loop, which stops (SIGPIPE semantics).
 */
#ifndef CREW_CLI_WRITER_H
#define CREW_CLI_WRITER_H

#include <stddef.h>

#include "run.h"

/* Starts the writer task if it is not running yet (any thread).  The
 * writer starts only when something is to be printed, so a run whose jobs
 * print nothing never creates its thread.  0 or a crew error. */
int writer_start(struct run *r);

/* The crew task; arg is the struct run.  Returns when the output queue is
 * shut down and drained. */
int writer_task(void *arg, void **result);

/* Queues a text for the writer (from the loop or the reader), starting it
 * if needed.  fd 1 or 2. */
void writer_text(struct run *r, int fd, const char *p, size_t n);

/* The final status: the writer's stats once it returned. */
struct writer_stats {
    int stdout_err; /* errno of a failed write to stdout, 0 if none */
};
void writer_get_stats(struct writer_stats *s);

#endif /* CREW_CLI_WRITER_H */
