/* inject.c - the pool's injection queue (see inject.h). */
#include "sched/inject.h"

#include "crew/error.h"

void crew__inject_init(crew__inject *q)
{
    atomic_init(&q->dummy.next, NULL);
    atomic_init(&q->dummy.word, 0);
    atomic_init(&q->dummy.aux, 0);
    q->dummy.iso = 0;
    atomic_init(&q->tail, (uintptr_t)&q->dummy);
    atomic_init(&q->head, &q->dummy);
    atomic_init(&q->lock, 0);
}

/* Links t after the current producer end.  If honour_close and the queue is
 * closed, fails.  The dummy is re-pushed with honour_close = 0: it is not a
 * task, and consumers must be able to finish draining a closed queue. */
static int link_task(crew__inject *q, crew__task *t, int honour_close)
{
    atomic_store_explicit(&t->next, NULL, memory_order_relaxed);
    uintptr_t old = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uintptr_t closed;
    do {
        closed = old & CREW__INJ_CLOSED;
        if (closed && honour_close)
            return CREW_ESHUTDOWN;
        /* seq_cst: the Dekker pattern with the sleeping-worker count (see
         * inject.h); also orders t's contents before consumers see it. */
    } while (!atomic_compare_exchange_weak_explicit(&q->tail, &old, (uintptr_t)t | closed,
                                                    memory_order_seq_cst,
                                                    memory_order_relaxed));
    crew__task *prev = (crew__task *)(old & ~CREW__INJ_CLOSED);
    /* release: pairs with the consumer's acquire load of prev->next, so the
     * task's fields are visible to the worker that takes it. */
    atomic_store_explicit(&prev->next, t, memory_order_release);
    return 0;
}

int crew__inject_push(crew__inject *q, crew__task *t)
{
    return link_task(q, t, 1);
}

void crew__inject_push_accepted(crew__inject *q, crew__task *t)
{
    (void)link_task(q, t, 0);
}

void crew__inject_close(crew__inject *q)
{
    /* seq_cst: a push whose CAS comes later in the total order fails. */
    atomic_fetch_or_explicit(&q->tail, CREW__INJ_CLOSED, memory_order_seq_cst);
}

/* One node off the consumer end, or NULL.  Caller holds the lock. */
static crew__task *pop1(crew__inject *q)
{
    crew__task *h = atomic_load_explicit(&q->head, memory_order_relaxed);
    /* acquire: pairs with the release store of the link in link. */
    crew__task *next = atomic_load_explicit(&h->next, memory_order_acquire);
    if (h == &q->dummy) {
        if (!next)
            return NULL;
        atomic_store_explicit(&q->head, next, memory_order_release);
        h = next;
        next = atomic_load_explicit(&h->next, memory_order_acquire);
    }
    if (next) {
        atomic_store_explicit(&q->head, next, memory_order_release);
        return h;
    }
    /* h is the last node.  If a producer has already swung the tail past it
     * but not linked yet, come back later. */
    uintptr_t tail = atomic_load_explicit(&q->tail, memory_order_seq_cst) & ~CREW__INJ_CLOSED;
    if ((crew__task *)tail != h)
        return NULL;
    /* Put the dummy behind h so h can be handed out. */
    link_task(q, &q->dummy, 0);
    next = atomic_load_explicit(&h->next, memory_order_acquire);
    if (next) {
        atomic_store_explicit(&q->head, next, memory_order_release);
        return h;
    }
    return NULL;
}

size_t crew__inject_try_pop_batch(crew__inject *q, crew__task **out, size_t max)
{
    /* Cheap test first: do not take the lock line when the queue is empty. */
    if (!crew__inject_maybe_nonempty(q))
        return 0;
    /* acquire: pairs with the release store that unlocks below. */
    if (atomic_exchange_explicit(&q->lock, 1, memory_order_acquire) != 0)
        return 0;
    size_t n = 0;
    while (n < max) {
        crew__task *t = pop1(q);
        if (!t)
            break;
        out[n++] = t;
    }
    atomic_store_explicit(&q->lock, 0, memory_order_release);
    return n;
}

bool crew__inject_maybe_nonempty(crew__inject *q)
{
    /* seq_cst: the sleeper's side of the Dekker pattern (inject.h). */
    uintptr_t tail = atomic_load_explicit(&q->tail, memory_order_seq_cst) & ~CREW__INJ_CLOSED;
    if ((crew__task *)tail != &q->dummy)
        return true;
    /* The tail is the dummy: empty unless the consumer end is still behind it. */
    return atomic_load_explicit(&q->head, memory_order_acquire) != &q->dummy;
}

bool crew__inject_valid(crew__inject *q, size_t limit, size_t *count)
{
    if (atomic_load_explicit(&q->lock, memory_order_acquire) != 0)
        return false;
    crew__task *tail = (crew__task *)(atomic_load_explicit(&q->tail, memory_order_acquire) &
                                      ~CREW__INJ_CLOSED);
    crew__task *n = atomic_load_explicit(&q->head, memory_order_acquire);
    size_t tasks = 0, dummies = 0;
    for (size_t links = 0; links <= limit + 1; links++) {
        if (n == &q->dummy)
            dummies++;
        else
            tasks++;
        if (n == tail) {
            if (atomic_load_explicit(&n->next, memory_order_acquire) != NULL || dummies > 1)
                return false;
            if (count)
                *count = tasks;
            return true;
        }
        n = atomic_load_explicit(&n->next, memory_order_acquire);
        if (!n)
            return false; /* a link missing before the producer end */
    }
    return false; /* longer than limit, or a cycle */
}
