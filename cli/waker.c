/*
 * waker.c - the armed eventfd between the reader/writer and the event loop
 * (the protocol is in waker.h).
 */
#include "waker.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int waker_init(struct waker *w)
{
    w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->fd < 0)
        return errno;
    atomic_init(&w->armed, 0);
    return 0;
}

void waker_close(struct waker *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

void waker_arm(struct waker *w)
{
    atomic_store_explicit(&w->armed, 1, memory_order_relaxed);
    /* Orders the store of armed before the loop's re-check of the queue
     * (pairs with the fence in waker_kick). */
    atomic_thread_fence(memory_order_seq_cst);
}

void waker_disarm(struct waker *w)
{
    atomic_store_explicit(&w->armed, 0, memory_order_relaxed);
}

void waker_clear(struct waker *w)
{
    uint64_t v;
    while (read(w->fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

void waker_kick(struct waker *w)
{
    /* Orders the producer's put/free before its load of armed (pairs with
     * the fence in waker_arm). */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->armed, memory_order_relaxed) &&
        atomic_exchange_explicit(&w->armed, 0, memory_order_relaxed)) {
        uint64_t one = 1;
        while (write(w->fd, &one, sizeof one) < 0 && errno == EINTR)
            ;
    }
}
