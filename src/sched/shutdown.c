/* shutdown.c - crew_pool_shutdown and crew_pool_destroy (README.md,
 * "Shutdown"): set the flags and close the injection queue, seal the
 * submission rings, drop what cancel_pending cancels (keeping every task in
 * sight meanwhile), wake everybody, and join threads until none is left.
 */
#include <sched.h>

#include "base/assert.h"
#include "base/backoff.h"
#include "sched/pool.h"
#include "sched/sched.h"

#define TAKE_BATCH 8 /* tasks taken off an injection queue at once */

/* A list of tasks chained through hdr.next, in order. */
typedef struct tlist {
    crew__task *head, *tail;
} tlist;

static void tlist_add(tlist *l, crew__task *t)
{
    atomic_store_explicit(&t->next, NULL, memory_order_relaxed);
    if (l->tail)
        atomic_store_explicit(&l->tail->next, t, memory_order_relaxed);
    else
        l->head = t;
    l->tail = t;
}

/* Empties injection queue q: the tasks shutdown cancels (their kind's
 * cancel_at_shutdown: futures) onto *drop, the others (group jobs) onto
 * *keep.  Runs no user code. */
static void take_all(crew__inject *q, tlist *drop, tlist *keep)
{
    crew__task *batch[TAKE_BATCH];
    for (unsigned i = 0;;) {
        size_t n = crew__inject_try_pop_batch(q, batch, TAKE_BATCH);
        if (n == 0) {
            if (!crew__inject_maybe_nonempty(q))
                break;
            /* another consumer holds the lock, or a link is pending */
            crew__backoff(i++);
            continue;
        }
        for (size_t k = 0; k < n; k++)
            tlist_add(crew__task_ops_of(batch[k])->cancel_at_shutdown ? drop : keep, batch[k]);
    }
}

/* A task taken off a ring or a batch: an inline entry (in holder inl) is
 * dropped at once (a count: no user code), a record goes on *drop or *keep
 * as take_all sorts them. */
static void sort_taken(crew_pool *p, crew__task *t, crew__inline *inl, int broken, tlist *drop,
                       tlist *keep)
{
    if (t == &inl->hdr)
        crew__inline_ops.drop(p, t, broken);
    else
        tlist_add(crew__task_ops_of(t)->cancel_at_shutdown ? drop : keep, t);
}

/* Takes every task off the rings, the injection queues and the workers'
 * batches now and drops the ones of kinds that shutdown cancels (futures:
 * their cleanups and callbacks run in the calling thread).  The others
 * (group jobs spawned from outside before the shutdown) go back to the
 * injection queue for the workers, unless all (no worker is left to run
 * them): then they are dropped too (jobs are skipped, their group
 * cancelled).  Tasks on worker deques (submitted by running tasks) are
 * dropped by the worker that reaches them (CREW__P_CANCEL,
 * crew__run_task), as is a task a worker has just taken and not started;
 * stealing from the deques here would also take group jobs off the deques
 * where isolated waits look for them.  While the tasks are out of the
 * queues, held_seq is odd (crew__work_visible); it is even again before
 * any user code runs. */
static void cancel_queued(crew_pool *p, bool all)
{
    tlist drop = {NULL, NULL}, keep = {NULL, NULL};
    int broken = (atomic_load_explicit(&p->flags, memory_order_acquire) & CREW__P_BROKEN) != 0;
    crew__pool_retain(p); /* the drops below outlive a destroy racing with us */
    pthread_mutex_lock(&p->cancel_lock);
    uint32_t seq = atomic_fetch_add_explicit(&p->held_seq, 1, memory_order_seq_cst);
    CREW__ASSERT((seq & 1) == 0); /* cancels are serialised by cancel_lock */
    (void)seq;
    crew__inline inl;
    atomic_init(&inl.hdr.word, CREW__KIND_BITS(CREW__KIND_INLINE));
    inl.hdr.iso = 0;
    /* Sealed: nothing more is pushed on the rings, but workers may still be
     * moving entries from a ring (or an injection queue) into their batches
     * (crew__batch's filling): take the batches too, and look again until
     * no fill is in progress, so that no task from outside is left behind. */
    for (unsigned round = 0;; round++) {
        unsigned nr = atomic_load_explicit(&p->nrings, memory_order_acquire);
        for (unsigned i = 0; i < nr; i++) {
            crew__task *t;
            uint64_t tail = 0;
            while ((t = crew__subring_take(p->rings[i], &tail, &inl)) != NULL)
                sort_taken(p, t, &inl, broken, &drop, &keep);
            take_all(&p->rings[i]->ovq, &drop, &keep);
        }
        take_all(&p->inj, &drop, &keep);
        bool filling = false;
        unsigned ns = atomic_load_explicit(&p->nslots, memory_order_acquire);
        for (unsigned i = 0; i < ns; i++) {
            crew__worker *v = crew__worker_at(p, i);
            /* filling first: see crew__batch_filling. */
            filling |= crew__batch_filling(&v->batch) != NULL;
            crew__task *t;
            while ((t = crew__batch_take(&v->batch, &inl)) != NULL)
                sort_taken(p, t, &inl, broken, &drop, &keep);
        }
        if (!filling)
            break;
        crew__backoff(round); /* a fill is a few instructions long */
    }
    if (!all) {
        for (crew__task *t = keep.head, *next; t; t = next) {
            next = atomic_load_explicit(&t->next, memory_order_relaxed);
            crew__inject_push_accepted(&p->inj, t);
        }
        keep.head = NULL;
    }
    /* seq_cst: after the pushes back (crew__work_visible). */
    atomic_fetch_add_explicit(&p->held_seq, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&p->cancel_lock);
    crew__pool_notify(p);
    for (crew__task *t = drop.head, *next; t; t = next) {
        next = atomic_load_explicit(&t->next, memory_order_relaxed);
        crew__task_ops_of(t)->drop(p, t, broken);
    }
    for (crew__task *t = keep.head, *next; t; t = next) {
        next = atomic_load_explicit(&t->next, memory_order_relaxed);
        crew__task_ops_of(t)->drop(p, t, broken);
    }
    crew__pool_release(p);
}

/* Joins every worker thread that exists, until none is left.  Returns
 * false if work is still queued and no thread could be started for it. */
static bool join_all(crew_pool *p)
{
    for (;;) {
        bool joined = false;
        pthread_mutex_lock(&p->join_lock);
        unsigned nslots = atomic_load_explicit(&p->nslots, memory_order_acquire);
        for (unsigned i = 0; i < nslots; i++) {
            crew__worker *v = crew__worker_at(p, i);
            uint32_t st = atomic_load_explicit(&v->slot, memory_order_acquire);
            if (st == CREW__SLOT_FREE)
                continue;
            joined = true;
            if (!(st & CREW__SLOT_TID)) {
                crew__backoff(CREW__BACKOFF_SPINS); /* a yield: its starter is between create and TID */
                continue;
            }
            /* Running threads exit on their own once no work is left. */
            pthread_join(v->thread, NULL);
            atomic_store_explicit(&v->slot, CREW__SLOT_FREE, memory_order_release);
        }
        pthread_mutex_unlock(&p->join_lock);
        if (joined)
            continue; /* a worker may have started another before it exited */
        /* No thread left.  A task published after the last worker looked
         * (its submitter's notification could not start a thread) still
         * needs one.  Not under join_lock: p->lock comes first. */
        if (!crew__work_visible(p))
            return true;
        uint64_t c = atomic_load_explicit(&p->counts, memory_order_seq_cst);
        if (CREW__C_FIELD(c, CREW__C_ALIVE) == 0 && crew__start_worker(p) != 0)
            return false;
    }
}

int crew_pool_shutdown(crew_pool *p, bool wait, bool cancel_pending)
{
    if (!p)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    if (wait && ((crew__self && crew__self->pool == p) || crew__outside_pool == p))
        return CREW_EDEADLK;
    atomic_fetch_or_explicit(&p->flags, CREW__P_SHUTDOWN | (cancel_pending ? CREW__P_CANCEL : 0),
                             memory_order_seq_cst);
    crew__inject_close(&p->inj);
    /* A submit starting a thread for its own task checks the flags under
     * p->lock (wake.c, start): after this it sees them, or its thread is
     * one join_all finds. */
    pthread_mutex_lock(&p->lock);
    pthread_mutex_unlock(&p->lock);
    crew__pool_seal(p);
    if (cancel_pending)
        cancel_queued(p, false);
    /* Wake every parked worker: each drains what is left and exits. */
    while (crew__wake_one(p))
        ;
    if (!wait)
        return 0;
    /* A thread may still start while we join (a worker starting another
     * for work it published, or a late notification): join_all
     * joins until none is left.  If work is queued and no thread can be
     * started for it, the tasks are cancelled here rather than waited for
     * forever (their cleanups run, their futures are cancelled). */
    if (!join_all(p))
        cancel_queued(p, true);
    /* Tasks that waiting threads outside the pool took over and still run
     * (sched.h, crew__outside_begin) are running futures too. */
    crew__outside_wait(p);
    return 0;
}

int crew_pool_destroy(crew_pool *p)
{
    if (!p)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    int rc = crew_pool_shutdown(p, true, false);
    if (rc)
        return rc;
    crew__subring_drop_mine_of(p); /* our ring's reference on p, if we have one */
    crew__pool_release(p);
    return 0;
}

