/* subring.c - a submitting thread's ring of tasks (see subring.h). */
#include "sched/subring.h"

#include "base/assert.h"

#include <string.h>

void crew__subring_init(crew__subring *r, crew_pool *p)
{
    memset(r, 0, sizeof *r);
    r->pool = p;
    atomic_init(&r->tail, 0);
    atomic_init(&r->retracted, 0);
    atomic_init(&r->in_submit, 0);
    atomic_init(&r->submitted, 0);
    atomic_init(&r->in_run, 0);
    atomic_init(&r->run_done, 0);
    atomic_init(&r->run_failed, 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->owner, 0);
    for (unsigned i = 0; i < CREW__RING_CAP; i++) {
        atomic_init(&r->slot[i].fn, NULL);
        atomic_init(&r->slot[i].arg, NULL);
    }
    crew__inject_init(&r->ovq);
}

crew__task *crew__subring_take(crew__subring *r, uint64_t *tail_seen, crew__inline *inl)
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
        crew__rslot *sl = &r->slot[h & (CREW__RING_CAP - 1)];
        crew_task_fn fn = atomic_load_explicit(&sl->fn, memory_order_relaxed);
        void *arg = atomic_load_explicit(&sl->arg, memory_order_relaxed);
        /* release: our read of the slot comes before the owner may reuse it
         * (it loads head with acquire).  On failure h is reloaded. */
        if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            /* The next block was written by the owner: start fetching it
             * while the caller runs this task. */
            if ((int64_t)(t - h) > 1) {
                crew__rslot *nx = &r->slot[(h + 1) & (CREW__RING_CAP - 1)];
                if (!atomic_load_explicit(&nx->fn, memory_order_relaxed))
                    __builtin_prefetch(atomic_load_explicit(&nx->arg, memory_order_relaxed));
            }
            return crew__rslot_task(fn, arg, inl);
        }
    }
}

void crew__batch_init(crew__batch *b)
{
    atomic_init(&b->head, 0);
    atomic_init(&b->tail, 0);
    atomic_init(&b->filling, NULL);
    for (unsigned i = 0; i < CREW__BATCH_CAP; i++) {
        atomic_init(&b->slot[i].fn, NULL);
        atomic_init(&b->slot[i].arg, NULL);
    }
}

unsigned crew__batch_fill_owner(crew__batch *b, crew__subring *r, uint64_t *tail_seen, unsigned max)
{
    /* Owner: relaxed reads our own tail.  b is empty (the caller saw head ==
     * tail with acquire, after every taker's read of the slots we reuse). */
    CREW__ASSERT(crew__batch_empty_owner(b) && max <= CREW__BATCH_CAP);
    uint64_t bt = atomic_load_explicit(&b->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    for (;;) {
        uint64_t t = *tail_seen;
        if ((int64_t)(t - h) <= 0) {
            t = atomic_load_explicit(&r->tail, memory_order_acquire);
            *tail_seen = t;
            if ((int64_t)(t - h) <= 0)
                return 0;
        }
        unsigned k = t - h < max ? (unsigned)(t - h) : max;
        /* Copy first, then claim: as in crew__subring_take, the CAS proves that
         * no other taker had these entries and that the owner of r had not
         * reused their slots. */
        for (unsigned i = 0; i < k; i++) {
            crew__rslot *from = &r->slot[(h + i) & (CREW__RING_CAP - 1)];
            crew__rslot *to = &b->slot[(bt + i) & (CREW__BATCH_CAP - 1)];
            atomic_store_explicit(&to->fn, atomic_load_explicit(&from->fn, memory_order_relaxed),
                                  memory_order_relaxed);
            atomic_store_explicit(&to->arg,
                                  atomic_load_explicit(&from->arg, memory_order_relaxed),
                                  memory_order_relaxed);
        }
        if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + k, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            for (unsigned i = 0; i < k; i++) {
                crew__rslot *e = &b->slot[(bt + i) & (CREW__BATCH_CAP - 1)];
                if (!atomic_load_explicit(&e->fn, memory_order_relaxed))
                    __builtin_prefetch(atomic_load_explicit(&e->arg, memory_order_relaxed));
            }
            /* release: the entries (and the blocks behind them, which we
             * acquired from r's owner) before the new tail. */
            atomic_store_explicit(&b->tail, bt + k, memory_order_release);
            return k;
        }
    }
}

void crew__batch_put_owner(crew__batch *b, crew__task **t, unsigned n)
{
    CREW__ASSERT(crew__batch_empty_owner(b) && n <= CREW__BATCH_CAP);
    uint64_t bt = atomic_load_explicit(&b->tail, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++) {
        crew__rslot *e = &b->slot[(bt + i) & (CREW__BATCH_CAP - 1)];
        atomic_store_explicit(&e->fn, NULL, memory_order_relaxed);
        atomic_store_explicit(&e->arg, t[i], memory_order_relaxed);
    }
    /* release: the entries and the tasks' fields before the new tail. */
    atomic_store_explicit(&b->tail, bt + n, memory_order_release);
}

/* The same read-then-CAS as crew__subring_take, written out again: a
 * shared inline helper for the two measured slower on W1 (an extra
 * parameter on the hot path; the figures are in the commit that tried
 * it), so the repetition stays. */
crew__task *crew__batch_take(crew__batch *b, crew__inline *inl)
{
    uint64_t h = atomic_load_explicit(&b->head, memory_order_acquire);
    for (;;) {
        /* acquire: pairs with the owner's release store of the tail. */
        uint64_t t = atomic_load_explicit(&b->tail, memory_order_acquire);
        if ((int64_t)(t - h) <= 0)
            return NULL;
        crew__rslot *sl = &b->slot[h & (CREW__BATCH_CAP - 1)];
        crew_task_fn fn = atomic_load_explicit(&sl->fn, memory_order_relaxed);
        void *arg = atomic_load_explicit(&sl->arg, memory_order_relaxed);
        /* release: our read of the slot before the owner refills it (it
         * waits for head == tail with acquire). */
        if (atomic_compare_exchange_weak_explicit(&b->head, &h, h + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return crew__rslot_task(fn, arg, inl);
    }
}

bool crew__subring_valid(crew__subring *r)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    return h <= t && t - h <= CREW__RING_CAP &&
           atomic_load_explicit(&r->in_submit, memory_order_acquire) == 0 &&
           atomic_load_explicit(&r->in_run, memory_order_acquire) == 0;
}

bool crew__batch_valid(crew__batch *b)
{
    uint64_t h = atomic_load_explicit(&b->head, memory_order_acquire);
    uint64_t t = atomic_load_explicit(&b->tail, memory_order_acquire);
    return h <= t && t - h <= CREW__BATCH_CAP &&
           atomic_load_explicit(&b->filling, memory_order_acquire) == NULL;
}
