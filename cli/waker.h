/*
 * waker.h - how the reader and the writer threads wake the event loop.
 *
 * The event loop sleeps in epoll_wait; the reader (new inputs in the input
 * queue) and the writer (a finished job's record freed, stdout broken) must
 * be able to end that sleep.  Writing an eventfd on every put would cost a
 * system call per job, so the loop *arms* the waker only when it is about to
 * sleep for want of inputs or room, and a producer writes the eventfd only
 * when it finds the waker armed:
 *
 *   loop:      armed = 1; fence; re-check the queue/counter; epoll_wait
 *   producer:  put/free;   fence; if (armed && exchange(armed, 0)) write(fd)
 *
 * The two sequentially consistent fences make this Dekker's pattern: either
 * the loop's re-check sees the producer's work, or the producer sees
 * armed == 1 and writes the eventfd, so no wake-up is lost.
 */
#ifndef CREW_CLI_WAKER_H
#define CREW_CLI_WAKER_H

#include <stdatomic.h>
#include <stdbool.h>

struct waker {
    int fd;             /* eventfd, in the loop's epoll set */
    atomic_int armed;   /* A: 1 while the loop may sleep waiting for a kick */
};

int waker_init(struct waker *w);  /* 0 or an errno */
void waker_close(struct waker *w);

/* Loop side: arm, then re-check the condition, then sleep. */
void waker_arm(struct waker *w);
void waker_disarm(struct waker *w);
/* Loop side: the eventfd was readable; clears it. */
void waker_clear(struct waker *w);

/* Producer side: after making progress the loop may wait for. */
void waker_kick(struct waker *w);

#endif /* CREW_CLI_WAKER_H */
