/*
 * joblog.h - GNU parallel's joblog and the --results tree.
 *
 * Joblog: a header line, then one TAB-separated line per finished job:
 *   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 * Host is ":" (this machine), Starttime seconds since the epoch with three
 * decimals, JobRuntime seconds right-aligned in ten columns, Send 0,
 * Receive the bytes the job wrote on stdout, Exitval -1 for a job crew
 * killed (--timeout), Signal the signal that ended the job or 0.  Jobs crew
 * killed because of --halt now or a signal to crew itself are not logged,
 * so --resume runs them again.
 *
 * --resume skips every Seq in the log; --resume-failed skips those whose
 * last line shows Exitval 0 and Signal 0 (and runs the failed ones again).
 * Either appends to the log.  --joblog +FILE appends too; plain --joblog
 * starts a new file.
 *
 * --results DIR: DIR/1/<value 1>/2/<value 2>/.../{stdout,stderr,seq,exitval}
 * (parallel's layout, plus exitval), a value's '\' and '/' written as '\\'
 * and '\_' and the names "", "." and ".." as "\e", "\." and "\.\.".
 */
#ifndef CREW_CLI_JOBLOG_H
#define CREW_CLI_JOBLOG_H

#include "run.h"

/* Opens (and for --resume reads) the joblog; fills r->skip.  Returns the
 * descriptor in *fd, 0, or CLI_EXIT_ERROR after a message. */
int joblog_open(const struct opts *o, struct seqset *skip, int *fd);

/* Appends the job's line to b. */
void joblog_format(const struct run *r, const struct job *j, struct strbuf *b);

/* Writes the job's files under --results.  0 or an errno (message printed). */
int results_write(const struct run *r, const struct job *j);

#endif /* CREW_CLI_JOBLOG_H */
