/*
 * loop.h - the event loop: the main thread's one epoll set over every
 * running job's pidfd and pipes, the signalfd and the waker.
 *
 * Per iteration: start jobs while a slot is free (input records from the
 * reader's queue, retries first), then sleep in epoll_wait until a pipe has
 * output, a pidfd says its process exited, a signal came, the reader or the
 * writer kicked the waker, or the next deadline (--timeout, a --term-seq
 * step, --delay, --load) is due.  No thread per child, no polling loop.
 *
 * Waiting for children: a pidfd per job (pidfd_open) in the epoll set; on
 * kernels without pidfd (or CREW_NO_PIDFD=1) SIGCHLD through the signalfd
 * and waitpid(-1, WNOHANG) instead.
 *
 * Stopping: --halt, a signal to crew (SIGINT, SIGTERM, SIGHUP) or stdout
 * closed stop the starting of jobs and walk each running job through
 * --term-seq (TERM,200,TERM,100,TERM,50,KILL,25 by default: the signal goes
 * to the job's process group); a second signal to crew sends SIGKILL at
 * once.  crew returns only after every job it started has been reaped.
 */
#ifndef CREW_CLI_LOOP_H
#define CREW_CLI_LOOP_H

#include <signal.h>

#include "run.h"

/* Signals crew handles through its signalfd; blocked in every thread
 * before any thread starts (loop_block_signals, from main). */
int loop_block_signals(sigset_t *orig_mask, bool *use_pidfd);

/* Runs every job.  Returns the exit status (parallel's rules), or -SIGPIPE
 * when crew must end by SIGPIPE (its stdout was closed). */
int loop_run(struct run *r, const sigset_t *child_mask, bool use_pidfd);

/* Last resort for cli_fatal: SIGKILL to every running job's process
 * group (best effort, from any thread). */
void loop_kill_all(void);

#endif /* CREW_CLI_LOOP_H */
