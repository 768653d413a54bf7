/* find.c - where a worker finds its next task (README.md, "Where work goes
 * and where it is found"), and whether any task is left anywhere.
 *
 * A worker looks in its own deque (newest first), then in its own batch and
 * the other workers' batches (oldest first), then takes from the submission
 * rings (oldest first, several at a time into its batch), then takes a batch
 * from the injection queue (the rest into its batch), then steals from the
 * other workers' deques (oldest first), starting at a random victim.  A
 * worker moving tasks into its batch names the source meanwhile
 * (crew__batch's filling), so that no other worker runs ahead of them or
 * counts the pool as out of work (README.md, "Tasks in flight").
 */
#include <stdbool.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/fault.h"
#include "base/fence.h"
#include "sched/pool.h"
#include "sched/sched.h"

#define INJ_BATCH 8           /* tasks taken from the injection queue at once */
#define BATCH_FAST_NS 10000   /* a batch done faster than this: double the next */
#define BATCH_SLOW_NS 50000   /* slower than this: halve it */

static uint64_t next_random(crew__worker *w)
{
    /* xorshift64: victim choice only needs to be cheap and spread out. */
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return x;
}

/* The predicate of a wait inside an isolation region: t was created in
 * region ctx. */
static bool accept_region(const crew__task *t, const void *ctx)
{
    return t->iso == (uintptr_t)ctx;
}

static crew__task *steal_any(crew__worker *w)
{
    crew_pool *p = w->pool;
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_acquire);
    if (n < 2)
        return NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int lost = 0;
        unsigned start = (unsigned)(next_random(w) % n);
        for (unsigned k = 0; k < n; k++) {
            crew__worker *v = crew__worker_at(p, (start + k) % n);
            if (v == w)
                continue;
            int l = 0;
            crew__task *t = crew__deque_steal(&v->dq, &l);
            if (t)
                return t;
            lost |= l;
        }
        if (!lost)
            break;
    }
    return NULL;
}

/* After entries went into our batch: others may take some.  The batch's
 * tail was a release store; the light fence orders it before notify's
 * loads, as for a push on a ring (every worker that parks takes a heavy
 * fence before its last look, which covers the batches). */
static void batch_published(crew__worker *w)
{
    crew__fence_light();
    crew__pool_notify(w->pool);
}

/* The sources (rings, the injection queue) that other workers are moving
 * tasks from into their batches, as seen by steal_batch: a worker
 * takes nothing from those meanwhile (crew__batch's filling).  Past
 * FILLERS of them, all sources count as busy. */
#define FILLERS 8
typedef struct fillers {
    unsigned n;
    void *src[FILLERS];
} fillers;

static bool fillers_has(const fillers *f, const void *src)
{
    if (f->n > FILLERS)
        return true;
    for (unsigned i = 0; i < f->n; i++)
        if (f->src[i] == src)
            return true;
    return false;
}

/* An entry of another worker's batch.  Those entries left a ring before
 * anything still on it, so an idle worker takes them first, and none waits
 * behind a busy or blocked worker (a task blocked outside crew on a task
 * submitted right after it, which the same batch took, is not stuck).
 * Notes in *busy the sources other workers are filling their batches from:
 * a task taken from one of those now would run ahead of theirs. */
static crew__task *steal_batch(crew__worker *w, fillers *busy)
{
    crew_pool *p = w->pool;
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_acquire);
    for (unsigned k = 0; k < n; k++) {
        crew__worker *v = crew__worker_at(p, k);
        crew__task *t;
        if (v == w)
            continue;
        void *src = crew__batch_filling(&v->batch);
        if (src) {
            if (busy->n < FILLERS)
                busy->src[busy->n] = src;
            if (busy->n <= FILLERS)
                busy->n++;
        }
        if ((t = crew__batch_take(&v->batch, &w->inl)) != NULL)
            return t;
    }
    return NULL;
}

/* Around taking tasks from source src into our batch (crew__batch's
 * filling).  The source is stored relaxed: the claim that follows (the
 * ring's CAS, the injection queue's head store) is a release, so whoever
 * sees the claim sees it. */
static void fill_begin(crew__worker *w, void *src)
{
    atomic_store_explicit(&w->batch.filling, src, memory_order_relaxed);
}

static void fill_end(crew__worker *w)
{
    /* release: the batch's entries and tail before the NULL. */
    atomic_store_explicit(&w->batch.filling, NULL, memory_order_release);
}

/* Takes a batch from injection queue q (src: q, or the ring whose
 * overflow queue it is): returns the first task and keeps the rest in our
 * batch: submitted tasks (and jobs from outside) should start in
 * submission order across workers, and a batch hands the oldest to us and
 * to a thief alike.  Our batch is empty here: crew__find_work looks at the
 * queues only after crew__batch_take found it empty, and only we fill it
 * (take_batch, before this, leaves it empty when it returns NULL). */
static crew__task *take_inject(crew__worker *w, crew__inject *q, void *src)
{
    crew__task *batch[INJ_BATCH];
    fill_begin(w, src);
    size_t n = crew__inject_try_pop_batch(q, batch, INJ_BATCH);
    if (n > 1)
        crew__batch_put_owner(&w->batch, batch + 1, (unsigned)(n - 1));
    fill_end(w);
    if (n == 0)
        return NULL;
    if (n > 1)
        batch_published(w);
    return batch[0];
}

/* Our own ring's oldest entries into our batch, as many as fit in the
 * time budget: the size doubles while a batch takes under
 * BATCH_FAST_NS and halves when one takes over BATCH_SLOW_NS.
 * Long tasks thus come one at a time (another worker can take the next
 * one the moment it is idle), short ones in bulk (one CAS on the shared
 * head, and the ring's lines cross once per batch instead of per task).
 * Returns the first entry, or NULL if the ring was empty. */
static crew__task *take_batch(crew__worker *w, crew__subring *r)
{
    for (;;) {
        int64_t now = crew_now_ns();
        if (w->batch_last > 0) {
            int64_t spent = now - w->batch_t0;
            if (spent < BATCH_FAST_NS && w->batch_max < CREW__BATCH_CAP)
                w->batch_max *= 2;
            else if (spent > BATCH_SLOW_NS && w->batch_max > 1)
                w->batch_max /= 2;
        }
        fill_begin(w, r);
        unsigned n = crew__batch_fill_owner(&w->batch, r, &w->ring_tail, w->batch_max);
        fill_end(w);
        w->batch_last = n;
        w->batch_t0 = now;
        if (n == 0)
            return NULL;
        if (n > 1)
            batch_published(w);
        CREW__FAULT_PAUSE(CREW__PAUSE_FILLED);
        crew__task *t = crew__batch_take(&w->batch, &w->inl);
        if (t)
            return t;
        /* Other workers took every entry we moved before we took one.  The
         * ring may hold more, and those are older than anything on its
         * overflow queue, which our caller looks at when we return NULL:
         * look at the ring again (each round moved entries off it, so this
         * ends). */
    }
}

/* ---- rings whose owner runs its own tasks ----------------------------------
 * A thread that submits a task and then waits for it usually takes the
 * entry back and runs the task itself (crew__outside_begin's retract).  A
 * worker that keeps looking at that ring meanwhile (spinning, idle) only
 * ever finds it empty, yet each look pulls the ring's head and tail lines
 * away from the owner, whose next push and retract then wait for them, and
 * now and then the look wins the race for an entry that its owner was about
 * to run at no cost.  So a look that finds a ring empty although entries
 * came, all of which the owner took back, doubles the looks this worker
 * skips before the next look at it (up to LOOK_SKIP_MAX, tens of
 * microseconds of spinning); any other look resets it.  A task pushed
 * meanwhile waits at most that long for this worker; the last look before
 * a worker parks (crew__work_visible) skips no ring, so nothing is left
 * with nobody awake.  A ring that does not change costs its owner nothing
 * to look at, and is looked at every time. */
#define LOOK_SKIP_MAX 31

static bool look_skips(crew__worker *w, unsigned i)
{
    crew__ring_look *l = &w->look[i];
    if (l->left == 0)
        return false;
    l->left--;
    return true;
}

void crew__find_skip_none(crew__worker *w)
{
    CREW__ASSERT(w == crew__self);
    /* Only rings below nrings were ever looked at (take_submitted). */
    unsigned n = atomic_load_explicit(&w->pool->nrings, memory_order_acquire);
    for (unsigned i = 0; i < n; i++)
        w->look[i].left = 0;
}

/* After a look at ring i (r) that found nothing (found) or a task. */
static void look_done(crew__worker *w, unsigned i, crew__subring *r, bool found)
{
    crew__ring_look *l = &w->look[i];
    if (found) {
        l->skip = 0;
        return;
    }
    /* Relaxed: a hint; the look itself loaded the tail (acquire). */
    uint32_t tail = (uint32_t)atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t back = (uint32_t)atomic_load_explicit(&r->retracted, memory_order_relaxed);
    uint32_t came = tail - l->tail, taken_back = back - l->retracted;
    l->tail = tail;
    l->retracted = back;
    if (came == 0)
        return;
    if (taken_back >= came) {
        unsigned s = 2u * l->skip + 1;
        l->skip = (uint8_t)(s < LOOK_SKIP_MAX ? s : LOOK_SKIP_MAX);
        l->left = l->skip;
    } else {
        l->skip = 0;
    }
}

/* Ring r's overflow queue, once its ring was found empty.  While the owner
 * sends its tasks there (its ring was full), what it pushed on the ring is
 * older, and entries that left the ring as we looked may sit in another
 * worker's batch by now (or be on their way into one: that worker names r
 * as the source it fills from, crew__batch_filling).  Those go first: a
 * task must not start ahead of older ones that an idle worker could take
 * (a task waiting outside crew for one submitted right before it would
 * hold its worker meanwhile; stress_submit, fault_batch_stolen). */
static crew__task *take_overflow(crew__worker *w, crew__subring *r)
{
    if (!crew__inject_maybe_nonempty(&r->ovq))
        return NULL;
    fillers busy;
    busy.n = 0;
    crew__task *t = steal_batch(w, &busy);
    if (t || fillers_has(&busy, r))
        return t;
    return take_inject(w, &r->ovq, r);
}

/* The oldest task of ring i (r) or of its overflow queue: the batch path
 * for the ring we look at first (first), one entry for the others. */
static crew__task *take_ring(crew__worker *w, unsigned i, crew__subring *r, bool first)
{
    if (look_skips(w, i))
        return NULL;
    crew__task *t;
    if (first) {
        t = take_batch(w, r);
        if (!t)
            t = take_overflow(w, r);
    } else {
        uint64_t tail = 0;
        t = crew__subring_take(r, &tail, &w->inl);
        if (!t)
            t = take_overflow(w, r);
        if (t) {
            /* Look here first next time, with this ring's tail as seen
             * (loaded from this ring: take_batch relies on that). */
            w->ring_next = i;
            w->ring_tail = tail;
        }
    }
    look_done(w, i, r, t != NULL);
    return t;
}

/* The oldest task of some submission ring, starting with the ring that
 * last had one (its lines are likely in our cache).  Skips the rings that
 * another worker is filling its batch from (busy). */
static crew__task *take_submitted(crew__worker *w, const fillers *busy)
{
    crew_pool *p = w->pool;
    unsigned n = atomic_load_explicit(&p->nrings, memory_order_acquire);
    if (n == 0)
        return NULL;
    unsigned i = w->ring_next < n ? w->ring_next : 0;
    crew__task *t;
    if (!fillers_has(busy, p->rings[i]) && (t = take_ring(w, i, p->rings[i], true)) != NULL)
        return t;
    for (unsigned k = 1; k < n; k++) {
        if (++i == n)
            i = 0;
        if (!fillers_has(busy, p->rings[i]) && (t = take_ring(w, i, p->rings[i], false)) != NULL)
            return t;
    }
    return NULL;
}

crew__task *crew__find_work(crew__worker *w, const crew__accept *acc)
{
    return crew__find_work_after(w, acc, crew__deque_pop_fast(&w->dq));
}

crew__task *crew__find_work_after(crew__worker *w, const crew__accept *acc, crew__task *t)
{
    CREW__ASSERT(w == crew__self); /* pops w's deque and fills w's batch: owner only */
    crew_pool *p = w->pool;
    crew__accept region;
    if (!acc && crew__iso) {
        region.fn = accept_region;
        region.ctx = (const void *)crew__iso;
        acc = &region;
    }
    if (acc) {
        /* Isolated wait: run only tasks the waiter accepts (its region's,
         * or its group's).  They sit on our own deque, but unrelated work
         * (a batch taken from the injection queue by a nested plain wait)
         * may lie on top of them: move such tasks to the injection queue,
         * where any worker (or we, later) will run them. */
        while (t && !acc->fn(t, acc->ctx)) {
            crew__inject_push_accepted(&p->inj, t);
            crew__pool_notify(p);
            t = crew__deque_pop(&w->dq);
        }
        return t;
    }
    if (t)
        return t;
    /* Our batch next (entries we took from a ring in one go), then the
     * other workers' batches. */
    fillers busy;
    busy.n = 0;
    if ((t = crew__batch_take(&w->batch, &w->inl)) != NULL ||
        (t = steal_batch(w, &busy)) != NULL)
        return t;
    /* Submissions: the rings first, but every 16th look the injection queue
     * first, so that neither can starve the other.  None from a source
     * that another worker is moving tasks from into its batch: we would
     * run ahead of those, and could block (a task waiting outside crew for
     * one of them) while they wait behind a blocked worker. */
    bool inject_first = (++w->looks & 15) == 0;
    if (!inject_first && (t = take_submitted(w, &busy)) != NULL)
        return t;
    if (!fillers_has(&busy, &p->inj) && (t = take_inject(w, &p->inj, &p->inj)) != NULL)
        return t;
    if (inject_first && (t = take_submitted(w, &busy)) != NULL)
        return t;
    return steal_any(w);
}

/* Might any task be waiting in the queues, the deques or the batches? */
static bool queued_visible(crew_pool *p)
{
    if (crew__inject_maybe_nonempty(&p->inj))
        return true;
    unsigned nr = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < nr; i++)
        if (crew__subring_nonempty(p->rings[i]) || crew__inject_maybe_nonempty(&p->rings[i]->ovq))
            return true;
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        crew__worker *v = crew__worker_at(p, i);
        if (crew__deque_size_hint(&v->dq) > 0)
            return true;
        /* filling first: see crew__batch_filling. */
        if (crew__batch_filling(&v->batch) != NULL || crew__batch_nonempty(&v->batch))
            return true;
    }
    return false;
}

/* Might any task be waiting anywhere?  seq_cst loads: the sleeper's side of
 * the Dekker pattern.  held_seq before and after the queues: a task that
 * shutdown's cancel holds out of them was taken after our first read (then
 * the second differs or is odd) or is back before our second (then the
 * queues showed it, or the second read differs). */
bool crew__work_visible(crew_pool *p)
{
    uint32_t seq = atomic_load_explicit(&p->held_seq, memory_order_seq_cst);
    if (seq & 1)
        return true;
    if (queued_visible(p))
        return true;
    return atomic_load_explicit(&p->held_seq, memory_order_seq_cst) != seq;
}
