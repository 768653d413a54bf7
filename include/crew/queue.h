/*
 * crew/queue.h - the job queue: Python's queue.Queue, LifoQueue and
 * PriorityQueue in C.
 *
 * A queue holds void * items.  Each item put is handed out by exactly one get.
 * Kinds:
 *   CREW_QUEUE_FIFO      first in, first out (queue.Queue)
 *   CREW_QUEUE_LIFO      last in, first out (queue.LifoQueue)
 *   CREW_QUEUE_PRIORITY  smallest first by the user's compare function
 *                        (queue.PriorityQueue); items that compare equal come
 *                        out in the order they were put (Python does not
 *                        promise that; crew does)
 * Any kind may be bounded (maxsize > 0: at most maxsize items at once) or
 * unbounded (maxsize == 0).  A bounded FIFO allocates nothing per item.
 * maxsize can be changed on a live queue (crew_queue_set_maxsize), as
 * Python's attribute can.
 *
 * Forms of every blocking call (the contract is in the name):
 *   crew_queue_put(q, x)              blocks until done or shut down
 *   crew_queue_try_put(q, x)          never blocks: CREW_EFULL if full
 *   crew_queue_put_timed(q, x, ns)    blocks at most ns nanoseconds
 *                                     (relative; ns == 0 behaves like
 *                                     try_put but reports CREW_ETIMEDOUT;
 *                                     ns < 0: see "Order of checks")
 *   crew_queue_put_until(q, x, dl)    blocks until deadline dl, an absolute
 *                                     time on crew_now_ns()'s monotonic clock
 * get, get_many, put_many and join have the same forms.  Timeouts use
 * CLOCK_MONOTONIC, so changing the wall clock never shortens or lengthens one.
 *
 * Order of checks (Python 3.13's, call by call): a put checks shutdown
 * (CREW_ESHUTDOWN), then whether the queue is bounded (an unbounded queue
 * takes the item at once and never looks at the timeout), then a negative
 * timeout (CREW_EINVAL, even if there is room), then fullness.  A get checks
 * "shut down and empty" (CREW_ESHUTDOWN), then a negative timeout
 * (CREW_EINVAL, even with items queued), then emptiness.  NULL arguments and
 * n == 0 come before all of them (CREW_EINVAL); the batch calls follow the
 * single call's order after that.  until-forms have no invalid deadline.
 *
 * Unfinished-task count (task_done / join), as in Python: every successful
 * put adds one; crew_queue_task_done() removes one; crew_queue_join() blocks
 * until the count is zero.  task_done with a zero count is CREW_ETOOMANY.
 * crew_queue_unfinished_tasks() reads it.
 *
 * Shutdown (Python 3.13): after crew_queue_shutdown(q, false), puts fail with
 * CREW_ESHUTDOWN; gets keep returning the items still queued and then fail with
 * CREW_ESHUTDOWN instead of blocking.  crew_queue_shutdown(q, true) also drops
 * every queued item: each is passed to the drop callback given at creation
 * (if any) and counted as done, so join returns.  Every thread blocked in put,
 * get or join wakes up.  Shutdown is idempotent; a later immediate shutdown
 * still drops what is left.
 *
 * Concurrency: every function except crew_queue_destroy may be called by any
 * number of threads at once, including from crew tasks.  None is
 * async-signal-safe (see crew/squeue.h for a queue whose put is).
 * crew_queue_size/empty/full are snapshots: by the time the caller looks at
 * the answer another thread may have changed it (as in Python).
 *
 * Ownership: the queue never frees or touches an item except to hand it to
 * the drop callback (immediate shutdown, destroy with items left).
 */
#ifndef CREW_QUEUE_H
#define CREW_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crew/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crew_queue crew_queue;

typedef enum crew_queue_kind {
    CREW_QUEUE_FIFO = 0,
    CREW_QUEUE_LIFO = 1,
    CREW_QUEUE_PRIORITY = 2
} crew_queue_kind;

/* Negative if a comes out before b, positive if after, 0 if equal priority
 * (then insertion order decides).  Called with the queue's lock held: it must
 * not call back into the same queue. */
typedef int (*crew_compare_fn)(const void *a, const void *b, void *ctx);

/* Receives each item the queue discards (immediate shutdown, destroy). */
typedef void (*crew_drop_fn)(void *item, void *ctx);

typedef struct crew_queue_options {
    crew_queue_kind kind;    /* default CREW_QUEUE_FIFO */
    size_t maxsize;          /* 0 = unbounded */
    crew_compare_fn compare; /* required for CREW_QUEUE_PRIORITY, else unused */
    void *compare_ctx;
    crew_drop_fn drop;       /* optional */
    void *drop_ctx;
} crew_queue_options;

/* Fills *opts with the defaults: unbounded FIFO, no callbacks. */
CREW_API void crew_queue_options_init(crew_queue_options *opts);

/* Creates a queue.  opts may be NULL (unbounded FIFO).  CREW_EINVAL: out is
 * NULL, unknown kind, or PRIORITY without compare.  CREW_ENOMEM. */
CREW_API int crew_queue_create(crew_queue **out, const crew_queue_options *opts);

/* Destroys q.  Items still queued go to the drop callback.  If any thread is
 * blocked in a call on q, returns CREW_EBUSY and changes nothing.  The caller
 * must ensure no call on q starts after destroy begins.  NULL: CREW_EINVAL. */
CREW_API int crew_queue_destroy(crew_queue *q);

/* put: 0, CREW_EFULL (try), CREW_ETIMEDOUT (timed), CREW_ESHUTDOWN,
 * CREW_EINVAL (q NULL, or a negative timeout on a bounded queue that is not
 * shut down: see "Order of checks"), CREW_ENOMEM (queues whose storage
 * grows on demand, i.e. all but bounded FIFOs of 2 to 2^22 items created
 * so and never moved by crew_queue_set_maxsize; nothing was put). */
CREW_API int crew_queue_put(crew_queue *q, void *item);
CREW_API int crew_queue_try_put(crew_queue *q, void *item);
CREW_API int crew_queue_put_timed(crew_queue *q, void *item, int64_t timeout_ns);
CREW_API int crew_queue_put_until(crew_queue *q, void *item, int64_t deadline_ns);

/* get: stores the item in *item and returns 0; CREW_EEMPTY (try),
 * CREW_ETIMEDOUT (timed), CREW_ESHUTDOWN (shut down and empty), CREW_EINVAL
 * (NULL argument, or a negative timeout unless shut down and empty).
 * *item is untouched on error. */
CREW_API int crew_queue_get(crew_queue *q, void **item);
CREW_API int crew_queue_try_get(crew_queue *q, void **item);
CREW_API int crew_queue_get_timed(crew_queue *q, void **item, int64_t timeout_ns);
CREW_API int crew_queue_get_until(crew_queue *q, void **item, int64_t deadline_ns);

/* Batch put: puts items[0..n) in order, as many as fit, and stores the number
 * put in *count.  The blocking form waits until at least one fits, the timed
 * form at most until the timeout; the try_ form never waits.  Returns 0 if at
 * least one item was put, else the error the single put would give.  The
 * items put are contiguous in a FIFO (no other put interleaves with them).
 * n == 0 is CREW_EINVAL. */
CREW_API int crew_queue_put_many(crew_queue *q, void *const *items, size_t n, size_t *count);
CREW_API int crew_queue_try_put_many(crew_queue *q, void *const *items, size_t n,
                                     size_t *count);
CREW_API int crew_queue_put_many_timed(crew_queue *q, void *const *items, size_t n,
                                       size_t *count, int64_t timeout_ns);
CREW_API int crew_queue_put_many_until(crew_queue *q, void *const *items, size_t n,
                                       size_t *count, int64_t deadline_ns);

/* Batch get: takes up to n items (in the order single gets would return them)
 * into items[0..*count).  Waits as the matching put_many form does until at
 * least one item is there.  n == 0 is CREW_EINVAL. */
CREW_API int crew_queue_get_many(crew_queue *q, void **items, size_t n, size_t *count);
CREW_API int crew_queue_try_get_many(crew_queue *q, void **items, size_t n, size_t *count);
CREW_API int crew_queue_get_many_timed(crew_queue *q, void **items, size_t n, size_t *count,
                                       int64_t timeout_ns);
CREW_API int crew_queue_get_many_until(crew_queue *q, void **items, size_t n, size_t *count,
                                       int64_t deadline_ns);

/* Snapshots (see above).  NULL q: 0 / true / false. */
CREW_API size_t crew_queue_size(const crew_queue *q);
CREW_API bool crew_queue_empty(const crew_queue *q);
CREW_API bool crew_queue_full(const crew_queue *q);
CREW_API size_t crew_queue_maxsize(const crew_queue *q);
CREW_API bool crew_queue_is_shutdown(const crew_queue *q);

/* Python's q.unfinished_tasks: items put and not yet marked done by
 * crew_queue_task_done (an immediate shutdown marks the items it drops).
 * A snapshot, like size.  NULL q: 0. */
CREW_API size_t crew_queue_unfinished_tasks(const crew_queue *q);

/* Python's q.maxsize = maxsize on a live queue, for every kind: 0 makes
 * the queue unbounded.  Growing (or 0) wakes every blocked putter, and all
 * that now fit go in; shrinking below the current size keeps every item,
 * and puts then wait (try_: CREW_EFULL; timed: CREW_ETIMEDOUT) until the
 * size is below the new bound.  On a shut-down queue the value is recorded
 * (crew_queue_maxsize, crew_queue_full report it) and puts still fail with
 * CREW_ESHUTDOWN, as in Python, where setting the attribute still works.
 * Returns 0; CREW_EINVAL if q is NULL; CREW_ENOMEM (nothing changed) when a
 * ring has to move (below).  May run at the same time as any call but
 * destroy; a put running at the same time may use the old bound or the new
 * one (Python sets the attribute outside the queue's mutex: the same).
 *
 * Cost.  Locked kinds: one mutex section, O(1).  Bounded FIFOs created
 * with 2 to 2^22 slots are a lock-free ring of that many slots:
 *   - a new maxsize from 1 to the ring's size changes the ring's bound in
 *     place, O(1).  With a bound below the ring's size a put also reads the
 *     consumers' position (one more shared cache line per put); at the
 *     ring's size puts cost what they did before;
 *   - 0 or more than the ring's size moves the queue to the locked store
 *     for good: the call allocates 16 bytes per ring slot, stops the ring,
 *     waits for puts that had claimed a slot to finish writing it, and
 *     copies the queued items in order: O(items + slots).  Calls on the
 *     queue wait on its mutex meanwhile.  From then on every put and get
 *     takes a mutex (the locked store's costs), a later maxsize within the
 *     old size does not bring the ring back, and the ring's slot array stays
 *     allocated until crew_queue_destroy.
 * No item is lost or handed out twice by any of this. */
CREW_API int crew_queue_set_maxsize(crew_queue *q, size_t maxsize);

/* Marks one gotten item as processed.  CREW_ETOOMANY if the unfinished count
 * is already zero. */
CREW_API int crew_queue_task_done(crew_queue *q);

/* Blocks until every item put has been marked done (or dropped by an
 * immediate shutdown).  Returns 0, or CREW_ETIMEDOUT for the timed forms.
 * A plain (non-immediate) shutdown does not end a join by itself. */
CREW_API int crew_queue_join(crew_queue *q);
CREW_API int crew_queue_join_timed(crew_queue *q, int64_t timeout_ns);
CREW_API int crew_queue_join_until(crew_queue *q, int64_t deadline_ns);

/* Shuts the queue down (see above).  Returns 0 (also when already shut down)
 * or CREW_EINVAL.  An immediate shutdown calls the drop callback in the
 * calling thread, without any queue lock held; if two immediate shutdowns
 * race, one of them drops the items and the other may return first
 * (crew_queue_join waits for the dropped items to be counted). */
CREW_API int crew_queue_shutdown(crew_queue *q, bool immediate);

#ifdef __cplusplus
}
#endif

#endif /* CREW_QUEUE_H */
