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
    if (my_pool == p)
        drop_mine();
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
 * another pool, on first use), or NULL. */
static inline crew__subring *ring_for(crew_pool *p)
{
    if (my_pool == p)
        return my_ring;
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
