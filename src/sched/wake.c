/* wake.c - waking parked workers and starting new ones (README.md,
 * "Parking and waking" and "Lazy start and retirement"), and sealing the
 * submission rings at shutdown.
 *
 * A thread that makes work available does:
 *   a. publish the task (seq_cst CAS of an injection tail, the deque's
 *      seq_cst bottom update, or a ring's tail store and a light fence)
 *   b. load spinning and counts (seq_cst); if a worker sleeps and none
 *      spins, CAS some worker's park 1 -> 0, counts -= SLEEP, futex-wake it
 * which with the parking worker's steps (worker.c) forms a Dekker pattern:
 * either the waker sees SLEEP (and wakes someone) or the sleeper sees the
 * task.  A worker is woken by exactly one CAS, so one task never wakes two
 * workers, and a burst of submissions wakes workers one at a time as the
 * woken ones start spinning.  A submit that finds no parked and no
 * spinning worker starts a new thread if fewer than max_workers are
 * available (alive - blocked).
 */
#include <sched.h>
#include <string.h>

#include "base/assert.h"
#include "base/fault.h"
#include "base/backoff.h"
#include "base/fence.h"
#include "base/platform.h"
#include "base/sys.h"
#include "sched/pool.h"
#include "sched/sched.h"

#define BATCH_START 4 /* a worker's first batch from a ring (find.c) */
/* A worker's deque starts with 256 slots (2 KiB, allocated by the thread
 * that starts the worker, touched only as far as it is used).  A fork-join
 * tree keeps the unvisited siblings of its whole path on the deque (W9's
 * geometric tree: more than 64 at times); a growth is a malloc on the
 * worker's own thread, whose first one creates a malloc arena for it, so
 * starting big enough keeps that out of the run. */
#define DEQUE_LOG2 8

/* Wakes one parked worker.  Returns false if none was parked. */
bool crew__wake_one(crew_pool *p)
{
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_acquire);
    if (n == 0)
        return false;
    unsigned start = atomic_fetch_add_explicit(&p->wake_rr, 1, memory_order_relaxed) % n;
    for (unsigned k = 0; k < n; k++) {
        crew__worker *v = crew__worker_at(p, (start + k) % n);
        uint32_t one = 1;
        /* seq_cst: pairs with the parking worker's seq_cst store of 1 and
         * its own cancel CAS; exactly one of them moves park to 0. */
        if (atomic_load_explicit(&v->park, memory_order_relaxed) == 1 &&
            atomic_compare_exchange_strong_explicit(&v->park, &one, 0, memory_order_seq_cst,
                                                    memory_order_relaxed)) {
            crew__counts_sub(p, CREW__C_SLEEP);
            crew__futex_wake(&v->park, 1);
            return true;
        }
    }
    return false;
}

/* A new worker for slot i (caller holds p->lock): aligned, zeroed, its
 * deque ready; published (release) in p->workers[i], then nslots covers it
 * (release), so a scan that sees i < nslots (acquire) sees the worker.
 * NULL when out of memory. */
static crew__worker *new_slot(crew_pool *p, unsigned i)
{
    CREW__ASSERT(crew__pool_locked(p) && i < p->max_slots);
    crew__worker *w = crew__alloc_lines(sizeof *w);
    if (!w)
        return NULL;
    memset(w, 0, sizeof *w);
    if (crew__deque_init(&w->dq, DEQUE_LOG2) != 0) {
        crew__free(w);
        return NULL;
    }
    w->pool = p;
    w->index = i;
    w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
    atomic_init(&w->inl.hdr.word, CREW__KIND_BITS(CREW__KIND_INLINE));
    crew__batch_init(&w->batch);
    w->batch_max = BATCH_START;
    atomic_store_explicit(&p->workers[i], w, memory_order_release);
    atomic_store_explicit(&p->nslots, i + 1, memory_order_release);
    return w;
}

/* A slot without a thread (caller holds p->lock): the lowest one whose
 * thread has exited (reaped here) or that never had one, allocated on its
 * first use.  NULL if every slot has a thread, or out of memory. */
static crew__worker *claim_slot(crew_pool *p)
{
    CREW__ASSERT(crew__pool_locked(p));
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++) {
        crew__worker *v = crew__worker_at(p, i);
        uint32_t s = atomic_load_explicit(&v->slot, memory_order_acquire);
        /* The thread is gone or about to return: reap it.  join_lock keeps
         * shutdown from joining it too; if shutdown holds it (it may be
         * joining us: a worker starting another), shutdown reaps it. */
        const uint32_t done = CREW__SLOT_RUNNING | CREW__SLOT_TID | CREW__SLOT_EXITED;
        if (s == done && pthread_mutex_trylock(&p->join_lock) == 0) {
            if (atomic_load_explicit(&v->slot, memory_order_acquire) == done) {
                pthread_join(v->thread, NULL);
                atomic_store_explicit(&v->slot, CREW__SLOT_FREE, memory_order_release);
            }
            pthread_mutex_unlock(&p->join_lock);
            s = atomic_load_explicit(&v->slot, memory_order_acquire);
        }
        if (s == CREW__SLOT_FREE)
            return v;
    }
    return n < p->max_slots ? new_slot(p, n) : NULL;
}

/* Starts a worker thread if fewer than max_workers are available; with a
 * first task (has_first), one that runs it before it looks for work.
 * After shutdown, only without a first task and while work is queued: the
 * queued tasks still run (or are dropped) by workers, and shutdown with
 * wait never leaves them to fewer workers than the pool may have.  Returns
 * 0 (started), CREW__NOT_STARTED (not needed), CREW_ETHREAD or CREW_ENOMEM.
 * Lock order: p->lock, then join_lock. */
static int start(crew_pool *p, bool has_first, crew_task_fn fn, void *arg)
{
    int rc = CREW__NOT_STARTED;
    if (has_first)
        CREW__FAULT_PAUSE(CREW__PAUSE_START);
    pthread_mutex_lock(&p->lock);
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_seq_cst);
    unsigned avail = CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK);
    if (avail >= p->max_workers)
        goto out;
    uint32_t flags = atomic_load_explicit(&p->flags, memory_order_acquire);
    /* No thread for a submit's own task once shutdown began: the submit
     * queues it instead, where shutdown's handshakes decide whether it was
     * accepted (the sealing of a ring, the closing of the injection
     * queue).  Shutdown takes p->lock after setting the flag, so a thread
     * started here before that is one its join sees. */
    if ((flags & (CREW__P_SHUTDOWN | CREW__P_BROKEN)) && (has_first || !crew__work_visible(p)))
        goto out;
    crew__worker *w = claim_slot(p);
    if (!w) {
        /* Every slot runs a thread (or no memory for a new one). */
        rc = atomic_load_explicit(&p->nslots, memory_order_relaxed) < p->max_slots ? CREW_ENOMEM
                                                                                      : CREW_ETHREAD;
        goto out;
    }
    CREW__ASSERT(atomic_load_explicit(&w->slot, memory_order_relaxed) == CREW__SLOT_FREE);
    atomic_store_explicit(&w->slot, CREW__SLOT_RUNNING, memory_order_release);
    w->has_first = has_first;
    w->first_fn = fn;
    w->first_arg = arg;
    /* A new worker without a task counts as spinning until its first look
     * for work: it will take what is queued, so submits meanwhile start no
     * one else.  One with a task is busy with it. */
    if (!has_first)
        atomic_fetch_add_explicit(&p->spinning, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&p->counts, CREW__C_ALIVE, memory_order_seq_cst);
    pthread_t tid;
    if (crew__thread_create(&tid, crew__worker_main, w) != 0) {
        crew__counts_sub(p, CREW__C_ALIVE);
        if (!has_first)
            crew__spinning_dec(p);
        w->has_first = false;
        atomic_store_explicit(&w->slot, CREW__SLOT_FREE, memory_order_release);
        rc = CREW_ETHREAD;
    } else {
        w->thread = tid;
        /* release: a joiner that sees TID (acquire) sees thread. */
        atomic_fetch_or_explicit(&w->slot, CREW__SLOT_TID, memory_order_release);
        rc = 0;
    }
out:
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int crew__start_worker(crew_pool *p)
{
    int rc = start(p, false, NULL, NULL);
    return rc == CREW__NOT_STARTED ? 0 : rc;
}

int crew__start_worker_for(crew_pool *p, crew_task_fn fn, void *arg)
{
    /* Relaxed: a hint.  An idle worker we miss costs a thread; one we see
     * that leaves meanwhile is covered by the queueing's own notify. */
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    unsigned alive = CREW__C_FIELD(c, CREW__C_ALIVE);
    if (alive - CREW__C_FIELD(c, CREW__C_BLOCK) >= p->max_workers)
        return CREW__NOT_STARTED;
    if (alive != 0 && (CREW__C_FIELD(c, CREW__C_SLEEP) != 0 ||
                       atomic_load_explicit(&p->spinning, memory_order_relaxed) != 0))
        return CREW__NOT_STARTED; /* an idle worker will take it */
    /* Tasks queued before ours (a worker retiring as we look leaves them
     * for a new one): the new thread takes the queue in order, not ours
     * first -- one thread's tasks start in the order it submitted them. */
    if (crew__work_visible(p))
        return CREW__NOT_STARTED;
    int rc = start(p, true, fn, arg);
    if (rc == CREW__NOT_STARTED || rc == 0)
        return rc;
    /* Only an error when nobody exists to run the task once queued. */
    c = atomic_load_explicit(&p->counts, memory_order_seq_cst);
    return CREW__C_FIELD(c, CREW__C_ALIVE) == 0 ? rc : CREW__NOT_STARTED;
}

void crew__pool_notify(crew_pool *p)
{
    /* seq_cst: the waker's side of the Dekker pattern (after the publish). */
    if (atomic_load_explicit(&p->spinning, memory_order_seq_cst) != 0)
        return; /* a spinning worker will find it */
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_seq_cst);
    if (CREW__C_FIELD(c, CREW__C_SLEEP) != 0 && crew__wake_one(p))
        return;
    /* Lazy start, unless the work is gone already (a worker that was
     * starting or spinning took it between our publication and our look at
     * the counts): Python's rule, a new thread only for work no idle worker
     * can take. */
    if (CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) < p->max_workers &&
        crew__work_visible(p))
        (void)crew__start_worker(p);
}

/* After setting SHUTDOWN or BROKEN: waits until no submit is between its
 * check of the flags and its push on a ring, then sets SEALED.  A submit
 * announces itself (in_submit = 1, light fence) before it loads the flags,
 * so after our heavy fence either it saw the flag and pushes nothing, or we
 * see its announcement and wait for its release of in_submit: every task on
 * a ring was pushed before SEALED, and a worker that sees SEALED sees it
 * (README.md "Shutdown").  Workers exit only once SEALED is set. */
void crew__pool_seal(crew_pool *p)
{
    crew__fence_heavy();
    unsigned n = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        crew__subring *r = p->rings[i];
        /* acquire: pairs with the submitter's release store of 0. */
        /* The submitter may have been preempted inside its submit: yield
         * after a short spin. */
        for (unsigned k = 0; atomic_load_explicit(&r->in_submit, memory_order_acquire); k++)
            crew__backoff(k);
    }
    atomic_fetch_or_explicit(&p->flags, CREW__P_SEALED, memory_order_seq_cst);
}

