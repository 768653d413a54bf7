/*
 * signals.c - the signal set-up the event loop relies on (loop.h): SIGINT,
 * SIGTERM and SIGHUP (and SIGCHLD without pidfds) blocked in every thread
 * and read from a signalfd; SIGPIPE ignored so a closed stdout is an EPIPE
 * the writer sees; and whether this kernel has pidfds.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loop.h"
#include "loop_int.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int pidfd_open_fd(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int loop_block_signals(sigset_t *orig_mask, bool *use_pidfd)
{
    const char *no = getenv("CREW_NO_PIDFD");
    *use_pidfd = !(no && *no && strcmp(no, "0") != 0);
    if (*use_pidfd) {
        int fd = pidfd_open_fd(getpid());
        if (fd < 0)
            *use_pidfd = false;
        else
            close(fd);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (!*use_pidfd)
        sigaddset(&set, SIGCHLD);
    /* Before any thread exists, so every thread inherits the mask and the
     * signals reach only the signalfd. */
    int rc = pthread_sigmask(SIG_BLOCK, &set, orig_mask);
    /* A closed stdout must show up as EPIPE in the writer, not kill crew
     * before it has stopped its jobs. */
    signal(SIGPIPE, SIG_IGN);
    return rc;
}

