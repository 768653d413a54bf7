/*
 * crew/squeue.h - the simple queue: Python's queue.SimpleQueue in C.
 *
 * An unbounded FIFO of void * items with no task_done/join and no shutdown.
 * Its put never blocks and takes no lock (it is lock-free), so it is
 * reentrant: a put may interrupt another put on the same thread, as Python
 * promises for SimpleQueue.put.
 *
 * Two ways to put:
 *   crew_squeue_put(q, item)              allocates a node (malloc): not
 *                                         async-signal-safe
 *   crew_squeue_put_node(q, node, item)   uses caller-provided storage:
 *                                         ASYNC-SIGNAL-SAFE, so a signal
 *                                         handler may post a job with it
 * A node passed to crew_squeue_put_node belongs to the queue until the get
 * that returns its item has returned; after that the caller may reuse or free
 * it (the get no longer touches it).  Never put a node that is still queued.
 *
 * Order: items come out in the order their puts took effect (one total order
 * for all producers).
 *
 * Concurrency: put, put_node, get (all forms), size and empty may be called
 * by any number of threads at once.  Consumers take a short internal lock
 * among themselves; producers never wait for it.  Async-signal-safe:
 * crew_squeue_put_node only (it wakes a sleeping consumer with a futex system
 * call, which is async-signal-safe).  destroy must not race with anything.
 */
#ifndef CREW_SQUEUE_H
#define CREW_SQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crew/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crew_squeue crew_squeue;

/* Caller-provided node storage for crew_squeue_put_node.  Treat the fields as
 * private; zero-initialising a node is not required. */
typedef struct crew_snode {
    struct crew_snode *next_;
    void *item_;
    unsigned flags_;
} crew_snode;

/* CREW_EINVAL (out NULL), CREW_ENOMEM. */
CREW_API int crew_squeue_create(crew_squeue **out);

/* Destroys q; items still queued are passed to drop (may be NULL) with ctx.
 * Caller-provided nodes of those items are not touched after drop returns.
 * CREW_EBUSY if a thread is blocked in a get on q (nothing is changed). */
CREW_API int crew_squeue_destroy(crew_squeue *q, void (*drop)(void *item, void *ctx),
                                 void *ctx);

/* 0, CREW_EINVAL (q NULL), CREW_ENOMEM (put only). */
CREW_API int crew_squeue_put(crew_squeue *q, void *item);
CREW_API int crew_squeue_put_node(crew_squeue *q, crew_snode *node, void *item);

/* 0 with *item set; CREW_EEMPTY (try), CREW_ETIMEDOUT, CREW_EINVAL. */
CREW_API int crew_squeue_get(crew_squeue *q, void **item);
CREW_API int crew_squeue_try_get(crew_squeue *q, void **item);
CREW_API int crew_squeue_get_timed(crew_squeue *q, void **item, int64_t timeout_ns);
CREW_API int crew_squeue_get_until(crew_squeue *q, void **item, int64_t deadline_ns);

/* Snapshots. */
CREW_API size_t crew_squeue_size(const crew_squeue *q);
CREW_API bool crew_squeue_empty(const crew_squeue *q);

#ifdef __cplusplus
}
#endif

#endif /* CREW_SQUEUE_H */
