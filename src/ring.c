/* ring.c - a submitting thread's ring of tasks (see ring.h). */
#include "ring.h"

#include <string.h>

void crew__ring_init(crew__ring *r, crew_pool *p)
{
    memset(r, 0, sizeof *r);
    r->pool = p;
    atomic_init(&r->tail, 0);
    atomic_init(&r->in_submit, 0);
    atomic_init(&r->submitted, 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->owner, 0);
    for (unsigned i = 0; i < CREW__RING_CAP; i++)
        atomic_init(&r->slot[i], NULL);
    crew__inject_init(&r->ovq);
}

crew__task *crew__ring_take(crew__ring *r, uint64_t *tail_seen)
{
    /* acquire (here and on CAS failure): the taker that moved head to h had
     * seen a tail past h, so the tail we load next is past h too. */
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    for (;;) {
        uint64_t t = *tail_seen;
        if ((int64_t)(t - h) <= 0) {
            /* acquire: pairs with the owner's release store of the tail. */
            t = atomic_load_explicit(&r->tail, memory_order_acquire);
            *tail_seen = t;
            if ((int64_t)(t - h) <= 0)
                return NULL;
        }
        crew__task *x = atomic_load_explicit(&r->slot[h & (CREW__RING_CAP - 1)],
                                             memory_order_relaxed);
        /* release: our read of the slot comes before the owner may reuse it
         * (it loads head with acquire).  On failure h is reloaded. */
        if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            /* The next task's block was written by the owner: start
             * fetching it while the caller runs this one. */
            if ((int64_t)(t - h) > 1)
                __builtin_prefetch(atomic_load_explicit(&r->slot[(h + 1) & (CREW__RING_CAP - 1)],
                                                        memory_order_relaxed));
            return x;
        }
    }
}
