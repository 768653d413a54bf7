/* submit.c - queueing tasks from threads outside the pool: the submitting
 * thread's own submission ring (subring.h), claimed on its first submit,
 * with flow control when it is full; the injection queue for threads
 * without a ring; and crew__sched_push / crew__sched_push_inline, the
 * executor's way in (sched.h).  Why a ring push needs only light fences:
 * README.md, "Light and heavy fences"; how shutdown seals the rings:
 * README.md, "Shutdown".
 */
#include <sched.h>
#include <stdlib.h>

#include "base/assert.h"
#include "base/compiler.h"
#include "base/backoff.h"
#include "base/clock.h"
#include "base/fence.h"
#include "base/platform.h"
#include "base/sys.h"
#include "base/tls.h"
#include "sched/pool.h"
#include "sched/sched.h"

#define RING_STALL_NS 50000 /* flow control gives up after this without progress */

/* Queues t on the injection queue from a thread outside p (one without a
 * submission ring of p): to a worker started for it, if none is idle and
 * the pool may have more; else on the queue, making sure a worker exists
 * (crew__start_worker_for reports a failure to start one instead of
 * leaving the task stranded). */
static int push_inject(crew_pool *p, crew__task *t)
{
    int rc = crew__pool_state_error(p);
    if (rc)
        return rc;
    rc = crew__start_worker_for(p, NULL, t);
    if (rc != CREW__NOT_STARTED)
        return rc;
    if (crew__inject_push(&p->inj, t) != 0) {
        rc = crew__pool_state_error(p);
        return rc ? rc : CREW_ESHUTDOWN;
    }
    crew__pool_notify(p);
    return 0;
}

/* ---- submission rings ------------------------------------------------------
 * The calling thread's ring: the pool it belongs to and the ring (NULL if
 * none was free).  A claimed ring holds a reference on its pool, so the pool
 * cannot be freed (nor another one created at its address) while this
 * thread's variables point at it. */
static CREW__TLS crew_pool *my_pool;
static CREW__TLS crew__subring *my_ring;
static pthread_key_t ring_key;
static pthread_once_t ring_key_once = PTHREAD_ONCE_INIT;

static void ring_unclaim(crew__subring *r)
{
    crew_pool *p = r->pool;
    if (crew__pool_forked(p))
        return; /* a pool of the parent: leave it alone (crew_pool_destroy does) */
    /* release: the next owner sees our producer fields. */
    atomic_store_explicit(&r->owner, 0, memory_order_release);
    crew__pool_release(p);
}

/* Drops the calling thread's ring, if it has one. */
static void drop_mine(void)
{
    crew__subring *r = my_ring;
    my_pool = NULL;
    my_ring = NULL;
    if (r) {
        (void)pthread_setspecific(ring_key, NULL);
        ring_unclaim(r);
    }
}

void crew__subring_drop_mine_of(crew_pool *p)
{
    if (my_pool == p) {
        /* Not from inside an outside run of p: shutdown(wait) refused. */
        CREW__ASSERT(!my_ring || atomic_load_explicit(&my_ring->in_run, memory_order_relaxed) == 0);
        drop_mine();
    }
}

static void ring_thread_exit(void *r)
{
    my_pool = NULL;
    my_ring = NULL;
    ring_unclaim(r);
}

static void ring_key_init(void)
{
    if (pthread_key_create(&ring_key, ring_thread_exit) != 0)
        ring_key = (pthread_key_t)-1;
}

/* Claims a ring of p for the calling thread: a free one, or a new one.
 * NULL if all CREW__MAX_RINGS are taken, memory is short or there is no
 * membarrier (the thread then uses the injection queue). */
static crew__subring *ring_claim(crew_pool *p)
{
    /* Without membarrier a ring push would need two full fences (see
     * submit_ring); the injection queue's one CAS is cheaper. */
    if (!atomic_load_explicit(&crew__fence_asym, memory_order_relaxed))
        return NULL;
    pthread_once(&ring_key_once, ring_key_init);
    if (ring_key == (pthread_key_t)-1)
        return NULL;
    unsigned n = atomic_load_explicit(&p->nrings, memory_order_acquire);
    crew__subring *r = NULL;
    for (unsigned i = 0; i < n && !r; i++) {
        uint32_t zero = 0;
        /* acquire: pairs with the previous owner's release store of 0. */
        if (atomic_load_explicit(&p->rings[i]->owner, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&p->rings[i]->owner, &zero, 1,
                                                    memory_order_acquire, memory_order_relaxed))
            r = p->rings[i];
    }
    if (!r) {
        pthread_mutex_lock(&p->lock);
        n = atomic_load_explicit(&p->nrings, memory_order_relaxed);
        if (n < CREW__MAX_RINGS) {
            r = crew__alloc_lines(sizeof *r);
            if (r) {
                crew__subring_init(r, p);
                atomic_store_explicit(&r->owner, 1, memory_order_relaxed);
                p->rings[n] = r;
                /* seq_cst: seen by crew__pool_seal's scan after its heavy
                 * fence if our submit did not see the flags (wake.c). */
                atomic_store_explicit(&p->nrings, n + 1, memory_order_seq_cst);
            }
        }
        pthread_mutex_unlock(&p->lock);
        if (!r)
            return NULL;
    }
    if (pthread_setspecific(ring_key, r) != 0) {
        atomic_store_explicit(&r->owner, 0, memory_order_release);
        return NULL;
    }
    crew__pool_retain(p);
    return r;
}

/* The calling thread's ring for p (claiming one, and dropping the ring of
 * another pool, on first use), or NULL.  Not while the thread runs a task
 * of the other pool announced on its ring (crew__outside_begin): that ring
 * stays ours until the run ends, and p gets the injection queue. */
static inline crew__subring *ring_for(crew_pool *p)
{
    if (my_pool == p)
        return my_ring;
    if (my_ring && atomic_load_explicit(&my_ring->in_run, memory_order_relaxed) != 0)
        return NULL;
    drop_mine();
    my_ring = ring_claim(p);
    my_pool = p;
    return my_ring;
}

/* Flow control for a full ring (ours, inside our announcement): wait while
 * the workers make progress on it, until a quarter of it is free.  A
 * thread that runs more than a ring's worth of tasks ahead of the workers
 * gains nothing by running further ahead; slowed to their pace it leaves
 * them the CPU time, and its tasks take the ring's fast path instead of
 * the overflow queue.  If the head has not moved for RING_STALL_NS
 * (the workers are blocked, or busy with long tasks, or waiting for this
 * very thread), returns false and the task goes to the overflow queue: a
 * submit never waits on the tasks themselves.  Spins a little, then
 * yields: not a sleep, the wait is as short as the workers are fast. */
static bool ring_wait_space(crew__subring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* acquire: as in crew__subring_push_owner, before we reuse the slots. */
    uint64_t last = atomic_load_explicit(&r->head, memory_order_acquire);
    int64_t stalled_since = 0;
    for (unsigned i = 0;; i++) {
        /* Bursts of 16: a batch of tasks takes the workers longer than the
         * single step crew__backoff's usual phases are made for. */
        crew__backoff_spins(i, 16, 16);
        uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail - h <= CREW__RING_CAP - CREW__RING_CAP / 4) {
            r->head_seen = h;
            return true;
        }
        if (h != last) {
            last = h;
            stalled_since = 0;
            continue;
        }
        int64_t now = crew_now_ns();
        if (stalled_since == 0)
            stalled_since = now;
        else if (now - stalled_since > RING_STALL_NS)
            return false;
    }
}

/* True once nothing this ring's owner sent to its overflow queue can still
 * be ahead of a push on the ring (the ring and the queue are both empty). */
static bool ring_overflow_over(crew__subring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
    return r->head_seen == tail && !crew__inject_maybe_nonempty(&r->ovq);
}

/* Queues the entry (fn, arg) (subring.h: fn == NULL and arg a block, or an
 * inline task) on ring r (ours) of p: push_inject's job for a thread with
 * a ring.  The fast path writes only lines this thread owns and has no
 * read-modify-write and no fence; see README.md for why the light
 * fences are enough.  An inline entry that cannot go on the ring (its tasks
 * go to the overflow queue, which links blocks) is not queued:
 * CREW__NEEDS_BLOCK.  counted: the pool's statistics count the task. */
static CREW__ALWAYS_INLINE int submit_ring(crew_pool *p, crew__subring *r, crew_task_fn fn,
                                           void *arg, bool counted)
{
    /* Announce, then check the flags: crew__pool_seal's handshake. */
    atomic_store_explicit(&r->in_submit, 1, memory_order_relaxed);
    crew__fence_light();
    int rc = crew__pool_state_error(p);
    if (CREW__UNLIKELY(rc == 0 && crew__pool_short(p))) {
        /* No idle worker and room for one: a thread for this task. */
        rc = crew__start_worker_for(p, fn, arg);
        if (rc == 0 && counted)
            atomic_store_explicit(&r->submitted,
                                  atomic_load_explicit(&r->submitted, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
        if (rc == CREW__NOT_STARTED)
            rc = 0; /* queue it below */
        else {
            atomic_store_explicit(&r->in_submit, 0, memory_order_release);
            return rc;
        }
    }
    if (rc) {
        atomic_store_explicit(&r->in_submit, 0, memory_order_release);
        return rc;
    }
    /* Once the ring was full, keep to its overflow queue until both are
     * empty (looking every 32 submits: the look reads lines the workers
     * write), so that one thread's tasks are taken in submission order. */
    if (r->overflow && (++r->overflow_n & 31) == 0 && ring_overflow_over(r))
        r->overflow = false;
    if (r->overflow || (!crew__subring_push_owner(r, fn, arg) &&
                        !(ring_wait_space(r) && crew__subring_push_owner(r, fn, arg)))) {
        r->overflow = true;
        if (fn) {
            atomic_store_explicit(&r->in_submit, 0, memory_order_release);
            return CREW__NEEDS_BLOCK;
        }
        /* Accepted: the flags were checked under the announcement. */
        crew__inject_push_accepted(&r->ovq, arg);
    }
    /* release: shutdown's sealing sees the push once it sees 0. */
    atomic_store_explicit(&r->in_submit, 0, memory_order_release);
    if (counted)
        atomic_store_explicit(&r->submitted,
                              atomic_load_explicit(&r->submitted, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    crew__fence_light(); /* the push before the load of counts */
    crew__pool_notify_light(p);
    return 0;
}

/* ---- queueing (sched.h) ---------------------------------------------------- */

int crew__sched_push_outside(crew_pool *p, crew__task *t)
{
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    /* Read before the push: once pushed, t may be run and freed. */
    bool counted = atomic_load_explicit(&t->word, memory_order_relaxed) & CREW__TASK_COUNTED;
    crew__subring *r = ring_for(p);
    if (r)
        return submit_ring(p, r, NULL, t, counted); /* counted on the ring */
    int rc = push_inject(p, t);
    if (rc == 0 && counted)
        atomic_fetch_add_explicit(&p->submitted, 1, memory_order_relaxed);
    return rc;
}

int crew__sched_push_inline(crew_pool *p, crew_task_fn fn, void *arg)
{
    crew__subring *r = ring_for(p);
    if (!r)
        return CREW__NEEDS_BLOCK;
    /* No block: the entry (fn, arg) itself goes on the ring. */
    return submit_ring(p, r, fn, arg, true);
}

/* ---- outside runs (sched.h, crew__outside_begin) --------------------------- */

/* Takes t's entry back off our ring r: see crew__outside_begin. */
static bool ring_retract(crew__subring *r, crew__task *t)
{
    /* Owner: our own tail and slot (relaxed).  The slot before the tail
     * names t only if t was our last push; head equals that index only if
     * no taker has it, and then the ring holds nothing else (older entries
     * would come first: taking t is taking in order).  head only grows, so
     * the CAS cannot succeed on a recycled index. */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t h = tail - 1;
    crew__rslot *sl = &r->slot[h & (CREW__RING_CAP - 1)];
    if (atomic_load_explicit(&sl->fn, memory_order_relaxed) != NULL ||
        atomic_load_explicit(&sl->arg, memory_order_relaxed) != (void *)t)
        return false;
    /* acq_rel as a taker's (crew__subring_take): exactly one taker wins. */
    if (!atomic_compare_exchange_strong_explicit(&r->head, &h, tail, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return false;
    /* The tail's line, which our push just wrote: for the workers' looks. */
    atomic_store_explicit(&r->retracted, atomic_load_explicit(&r->retracted, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return true;
}

/* Ends an outside run announced on our ring r, of depth d + 1. */
static void ring_run_end(crew_pool *p, crew__subring *r, uint32_t d)
{
    /* release: the run's writes before a shutdown that sees the drop. */
    atomic_store_explicit(&r->in_run, d, memory_order_release);
    if (d)
        return;
    /* Dekker with crew__outside_wait_rings (store, light fence, load here;
     * flag, heavy fence, load there): a shutdown that saw us running is
     * seen here, and woken.  r, and so p, is alive: our claim of the ring
     * holds a reference on p. */
    crew__fence_light();
    if (atomic_load_explicit(&p->flags, memory_order_relaxed) & CREW__P_SHUTDOWN)
        crew__futex_wake_all(&r->in_run);
}

int crew__outside_begin(crew_pool *p, crew__task *t)
{
    if (p->workers_only)
        return 0;
    crew__subring *r = my_pool == p ? my_ring : NULL;
    if (!r)
        return crew__outside_begin_counted(p) ? CREW__OUT_COUNTED : 0;
    /* Announce, then check the flags: a push's pattern (submit_ring). */
    uint32_t d = atomic_load_explicit(&r->in_run, memory_order_relaxed);
    atomic_store_explicit(&r->in_run, d + 1, memory_order_relaxed);
    crew__fence_light();
    if (CREW__UNLIKELY(crew__pool_state_error(p) != 0)) {
        ring_run_end(p, r, d);
        return 0;
    }
    return ring_retract(r, t) ? CREW__OUT_OWNED : CREW__OUT_RING;
}

void crew__outside_end(crew_pool *p, int how, bool ran, int rc)
{
    if (how == CREW__OUT_COUNTED) {
        crew__outside_end_counted(p, ran, rc);
        return;
    }
    crew__subring *r = my_ring;
    CREW__ASSERT(my_pool == p && r);
    if (ran) {
        _Atomic uint64_t *c = rc ? &r->run_failed : &r->run_done;
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    ring_run_end(p, r, atomic_load_explicit(&r->in_run, memory_order_relaxed) - 1);
}

void crew__outside_wait_rings(crew_pool *p)
{
    /* After crew__pool_seal's heavy fence, which followed the SHUTDOWN
     * flag: a run whose begin missed the flag was announced by then (and
     * its ring counted in nrings), so these loads see it. */
    unsigned n = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        crew__subring *r = p->rings[i];
        uint32_t v;
        /* acquire: pairs with the owner's release drop. */
        while ((v = atomic_load_explicit(&r->in_run, memory_order_acquire)) != 0)
            (void)crew__futex_wait(&r->in_run, v, CREW__FOREVER);
    }
}
