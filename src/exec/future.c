/* future.c - futures: states, running and dropping (the kind's operations),
 * cancel, outcomes, done callbacks, references.  Waiting on a future is in
 * future_wait.c, futures completed by their creator in future_create.c.
 *
 * The state word (hdr.word, future.h) holds the state in its low two bits
 * and flags above.  Every transition is a CAS on that word:
 *   PENDING -> RUNNING     the worker that starts the task (future_run), or
 *                          a created future's set_running_or_notify_cancel
 *   PENDING -> CANCELLED   crew_future_cancel, shutdown with cancel
 *   PENDING -> DONE|BROKEN the pool broke before the task ran
 *   RUNNING -> DONE        the worker, after storing result and error
 *   PENDING/RUNNING -> DONE a created future's set_result / set_error
 *                          (future_create.c: a claim, then DONE)
 * A CAS is acq_rel: the result and error written before DONE are visible to
 * whoever reads the word with acquire and sees DONE.
 *
 * Waiting: a waiter sets CREW__FS_WAITERS (fetch_or) and sleeps on the word
 * with the value it saw (crew__wait_word, which helps with queued work inside
 * a worker); each transition that finds WAITERS set wakes all sleepers.
 *
 * Done callbacks live in a list guarded by one of STRIPES mutexes
 * chosen by the future's address.  The adder takes the stripe lock, sets
 * CREW__FS_HAS_CBS with fetch_or and, if the future was not finished yet,
 * appends.  The finisher makes its final CAS first and, if HAS_CBS was set,
 * takes the stripe lock and detaches the list.  Both RMWs are on the word, so
 * they are ordered: either the adder saw the finished state (and runs the
 * callback itself) or the finisher saw HAS_CBS, and then takes the lock only
 * after the adder released it, list complete.
 *
 * References: hdr.aux.  The pool's reference (taken at submit) is dropped by
 * the thread that takes the entry off the queues: the worker after the task
 * ran or after it found the task cancelled, or shutdown's cancel.  Whoever
 * finishes a future holds a reference through its callbacks: the runner and
 * a dropper hold the pool's, crew_future_cancel takes one of its own (a
 * worker may drop the pool's the moment the cancel's CAS lands; that CAS
 * also pins the entry until the cancel is counted in the pool, see
 * wait_unpinned).
 * A failed, non-detached future also holds a pool reference from completion
 * until its last release, so the unobserved-error hook can still be counted
 * in the pool's statistics.
 */
#include <pthread.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/backoff.h"
#include "base/compiler.h"
#include "base/sys.h"
#include "exec/future.h"
#include "sched/sched.h"

struct crew__cb {
    struct crew__cb *next;
    crew_done_fn fn;
    void *ctx;
};

#define STRIPES 64
/* A line each: two futures on different stripes never contend. */
static struct {
    _Alignas(CREW__CACHE_LINE) pthread_mutex_t m;
} stripe_line[STRIPES];
#define stripe(i) (stripe_line[i].m)
static pthread_once_t stripe_once = PTHREAD_ONCE_INIT;

static void stripe_init(void)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&stripe(i), NULL);
}

static pthread_mutex_t *stripe_of(const crew_future *f)
{
    pthread_once(&stripe_once, stripe_init);
    uintptr_t a = (uintptr_t)f / CREW__BLOCK_SIZE;
    return &stripe((a ^ (a >> 7)) % STRIPES);
}

/* Wakes waiters and runs callbacks after a transition whose previous word
 * was old.  The caller holds a reference for the duration. */
void crew__future_after_transition(crew_future *f, uint32_t old)
{
    if (old & CREW__FS_WAITERS)
        crew__wake_word(&f->hdr.word);
    if (!(old & CREW__FS_HAS_CBS))
        return;
    pthread_mutex_t *m = stripe_of(f);
    pthread_mutex_lock(m);
    struct crew__cb *list = f->cbs;
    f->cbs = NULL;
    pthread_mutex_unlock(m);
    while (list) {
        struct crew__cb *next = list->next;
        list->fn(f, list->ctx);
        crew__free(list);
        list = next;
    }
}

/* Waits until crew_future_cancel has counted its cancel of f in the pool
 * (CREW__FS_PINNED clear): called by the thread that took f's entry off
 * the queues and found it cancelled, before it drops the entry. */
static void wait_unpinned(crew_future *f)
{
    /* acquire: pairs with the cancel's release fetch_and. */
    for (unsigned i = 0; atomic_load_explicit(&f->hdr.word, memory_order_acquire) & CREW__FS_PINNED; i++)
        crew__backoff(i);
}

/* CAS from PENDING to `to` (a state and maybe flags; the other flags are
 * kept).  Returns the
 * word before the CAS; *ok is false (and the word unchanged) if the future
 * was no longer PENDING. */
uint32_t crew__future_leave_pending(crew_future *f, uint32_t to, bool *ok)
{
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_relaxed);
    do {
        if (crew__fstate(s) != CREW_FUTURE_PENDING || (s & CREW__FS_SETTING)) {
            *ok = false;
            return s;
        }
        /* acq_rel: release publishes what the transition wrote before it
         * (a cancel's nothing, a run's runner link); acquire sees the
         * submitter's initialisation. */
    } while (!atomic_compare_exchange_weak_explicit(&f->hdr.word, &s,
                                                    (s & ~CREW__FS_MASK) | to,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    *ok = true;
    return s;
}

/* ---- the kind's operations (sched/task.h) ----------------------------------- */

/* The end of a run (a worker's or a waiting thread's): stores the task's
 * result and status, then DONE (and FAILED), waking waiters and running
 * callbacks. */
static CREW__ALWAYS_INLINE void complete_run(crew_future *f, crew_pool *p, void *result, int rc)
{
    f->u1.result = result;
    f->u2.error = rc;
    if (rc)
        crew__pool_retain(p); /* dropped at the future's last release */
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_relaxed);
    uint32_t done = CREW_FUTURE_DONE | (rc ? CREW__FS_FAILED : 0);
    /* release: result and error above are visible to whoever sees DONE. */
    while (!atomic_compare_exchange_weak_explicit(&f->hdr.word, &s, (s & ~CREW__FS_MASK) | done,
                                                  memory_order_acq_rel, memory_order_relaxed))
        ;
    crew__future_after_transition(f, s);
}

static void future_run(crew__worker *w, crew__task *t)
{
    crew_future *f = (crew_future *)t;
    crew_pool *p = f->pool;
    if (atomic_load_explicit(&f->hdr.word, memory_order_relaxed) & CREW__FS_DETACHED) {
        /* A detached task (no future handed out) can be neither cancelled,
         * waited for nor given callbacks, and the worker that took it off a
         * queue is its only owner: run it with no atomic state changes. */
        crew_task_fn fn = f->u1.fn;
        void *arg = f->u3.arg;
        crew__block_free(f);
        crew__run_detached(w, fn, arg);
        return;
    }
    /* The runner, for wait-cycle detection: published by the release of the
     * RUNNING CAS below to every waiter that sees RUNNING (acquire). */
    atomic_store_explicit(&f->hdr.next, (crew__task *)w, memory_order_relaxed);
    bool ok;
    uint32_t old = crew__future_leave_pending(f, CREW_FUTURE_RUNNING, &ok);
    if (!ok) {
        /* Cancelled while queued: cancel runs cleanup and callbacks.  Once
         * we drop the entry the pool may be destroyed: not while the
         * cancel still counts itself in it.  Or a waiting thread outside
         * the pool took it over: the entry only holds its reference. */
        CREW__ASSERT(crew__fstate(old) == CREW_FUTURE_CANCELLED || (old & CREW__FS_OUTSIDE));
        wait_unpinned(f);
        crew_future_release(f);
        return;
    }
    if (old & CREW__FS_WAITERS)
        crew__wake_word(&f->hdr.word); /* waiters re-check for wait cycles */
    crew__count_started(w);
    crew_task_fn fn = f->u1.fn;
    void *result = NULL;
    /* No task context: a task run by a helping wait inside a job is not
     * part of that job's group (sched.h). */
    void *outer = crew__task_ctx;
    if (CREW__UNLIKELY(outer != NULL))
        crew__task_ctx = NULL;
    int rc = fn(f->u3.arg, &result);
    if (CREW__UNLIKELY(outer != NULL))
        crew__task_ctx = outer;
    crew__count_finished(w, rc);
    complete_run(f, p, result, rc);
    crew_future_release(f); /* the pool's reference */
}

CREW__TLS crew_future *crew__outside_task;

bool crew__future_run_outside(crew_future *f)
{
    crew_pool *p = f->pool;
    int how = crew__outside_begin(p, &f->hdr);
    if (!how)
        return false;
    /* Our own push, taken back off our ring: the queue's reference is ours
     * to drop, and no worker meets a spent entry (or reads the block). */
    bool owned = how == CREW__OUT_OWNED;
    /* The claim a worker (future_run) or a cancel makes: one of us wins.
     * hdr.next is left alone: the entry may still be linked in a queue. */
    bool ok;
    uint32_t old = crew__future_leave_pending(f, CREW_FUTURE_RUNNING | CREW__FS_OUTSIDE, &ok);
    if (!ok) {
        if (owned) {
            wait_unpinned(f); /* as a worker that took the entry */
            crew_future_release(f);
        }
        crew__outside_end(p, how, false, 0);
        return false;
    }
    if (old & CREW__FS_WAITERS)
        crew__wake_word(&f->hdr.word); /* other waiters see it running */
    /* Run as a task of p: no group context, the task's region (0: it came
     * from outside), crew_pool_current() == p. */
    void *outer_ctx = crew__task_ctx;
    uintptr_t outer_iso = crew__iso;
    crew_pool *outer_pool = crew__outside_pool;
    crew_future *outer_task = crew__outside_task;
    crew__task_ctx = NULL;
    crew__iso = f->hdr.iso;
    crew__outside_pool = p;
    crew__outside_task = f;
    void *result = NULL;
    int rc = f->u1.fn(f->u3.arg, &result);
    crew__outside_task = outer_task;
    crew__outside_pool = outer_pool;
    crew__iso = outer_iso;
    crew__task_ctx = outer_ctx;
    complete_run(f, p, result, rc);
    /* Before the end: the pool stays alive while we hold its entry (the
     * waiter's own reference keeps f). */
    if (owned)
        crew_future_release(f); /* the queue's reference */
    crew__outside_end(p, how, true, rc);
    return true;
}

static void future_drop(crew_pool *p, crew__task *t, int broken)
{
    crew_future *f = (crew_future *)t;
    CREW__ASSERT(f->pool == p);
    bool ok;
    uint32_t to = broken ? (CREW_FUTURE_DONE | CREW__FS_BROKEN) : CREW_FUTURE_CANCELLED;
    uint32_t old = crew__future_leave_pending(f, to, &ok);
    if (ok) {
        /* We won the CAS, so no runner ever touches u2: cleanup is intact. */
        crew_cleanup_fn cleanup = f->u2.cleanup;
        if (cleanup)
            cleanup(f->u3.arg);
        crew__count_dropped(p, broken);
        crew__future_after_transition(f, old);
    } else {
        wait_unpinned(f); /* as in future_run */
    }
    crew_future_release(f); /* the pool's reference */
}

const crew__task_ops crew__future_ops = {future_run, future_drop, true};

/* ---- queries -------------------------------------------------------------- */

crew_future_state crew_future_get_state(const crew_future *f)
{
    if (!f)
        return CREW_FUTURE_PENDING;
    return (crew_future_state)crew__fstate(atomic_load_explicit(&f->hdr.word, memory_order_acquire));
}

bool crew_future_done(const crew_future *f)
{
    return f && crew__finished(atomic_load_explicit(&f->hdr.word, memory_order_acquire));
}

bool crew_future_running(const crew_future *f)
{
    return f && crew_future_get_state(f) == CREW_FUTURE_RUNNING;
}

bool crew_future_cancelled(const crew_future *f)
{
    return f && crew_future_get_state(f) == CREW_FUTURE_CANCELLED;
}

bool crew_future_cancel(crew_future *f)
{
    if (!f)
        return false;
    /* Our own reference for the rest of the call: once the CAS below lands,
     * a worker that reaches the entry drops the pool's reference, and a
     * callback may release the caller's. */
    crew_future_retain(f);
    /* The CAS also sets PINNED: until we clear it, the thread that takes
     * the entry off the queues waits (wait_unpinned) before it drops
     * it, so the pool, which may be destroyed once its queues are empty,
     * is alive while we count the cancel in it.  No user code runs in
     * between, so that wait is short. */
    bool ok;
    crew_pool *p = f->pool; /* NULL for a created future: no entry, nothing to pin */
    uint32_t old = crew__future_leave_pending(f, CREW_FUTURE_CANCELLED | (p ? CREW__FS_PINNED : 0), &ok);
    if (ok && p) {
        atomic_fetch_add_explicit(&p->cancelled, 1, memory_order_relaxed);
        /* release: the count above before the dropper's acquire load that
         * sees PINNED clear (after which the pool may go). */
        atomic_fetch_and_explicit(&f->hdr.word, ~CREW__FS_PINNED, memory_order_release);
    }
    if (ok) {
        /* We won the CAS, so the task never starts and u2 still holds
         * cleanup. */
        crew_cleanup_fn cleanup = f->u2.cleanup;
        if (cleanup)
            cleanup(f->u3.arg);
        crew__future_after_transition(f, old);
    }
    crew_future_release(f);
    return ok || crew__fstate(old) == CREW_FUTURE_CANCELLED;
}

/* Reads the outcome of a finished (or not) future.  observe marks a task
 * error as looked at. */
int crew__future_outcome(crew_future *f, void **result, int *task_error, bool observe)
{
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_acquire);
    switch (crew__fstate(s)) {
    case CREW_FUTURE_PENDING:
    case CREW_FUTURE_RUNNING:
        return CREW_EPENDING;
    case CREW_FUTURE_CANCELLED:
        return CREW_ECANCELLED;
    default:
        break;
    }
    if (s & CREW__FS_BROKEN)
        return CREW_EBROKEN;
    if (result)
        *result = f->u1.result;
    if (!(s & CREW__FS_FAILED))
        return 0;
    if (task_error)
        *task_error = f->u2.error;
    if (observe && !(s & CREW__FS_OBSERVED))
        atomic_fetch_or_explicit(&f->hdr.word, CREW__FS_OBSERVED, memory_order_relaxed);
    return CREW_ETASK;
}


/* ---- callbacks ------------------------------------------------------------ */

int crew_future_add_done_callback(crew_future *f, crew_done_fn fn, void *ctx)
{
    if (!f || !fn)
        return CREW_EINVAL;
    struct crew__cb *cb = crew__malloc(sizeof *cb);
    if (!cb)
        return CREW_ENOMEM;
    cb->next = NULL;
    cb->fn = fn;
    cb->ctx = ctx;
    pthread_mutex_t *m = stripe_of(f);
    pthread_mutex_lock(m);
    /* acq_rel: ordered against the finisher's CAS on the same word. */
    uint32_t s = atomic_fetch_or_explicit(&f->hdr.word, CREW__FS_HAS_CBS, memory_order_acq_rel);
    if (crew__finished(s)) {
        pthread_mutex_unlock(m);
        crew__free(cb);
        fn(f, ctx);
        return 0;
    }
    struct crew__cb **tail = &f->cbs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = cb;
    pthread_mutex_unlock(m);
    return 0;
}

bool crew__future_remove_done_callback(crew_future *f, crew_done_fn fn, void *ctx)
{
    if (!f)
        return false;
    pthread_mutex_t *m = stripe_of(f);
    pthread_mutex_lock(m);
    for (struct crew__cb **pp = &f->cbs; *pp; pp = &(*pp)->next) {
        struct crew__cb *cb = *pp;
        if (cb->fn == fn && cb->ctx == ctx) {
            *pp = cb->next;
            pthread_mutex_unlock(m);
            crew__free(cb);
            return true;
        }
    }
    pthread_mutex_unlock(m);
    return false;
}

/* ---- references ---------------------------------------------------------- */

crew_future *crew_future_retain(crew_future *f)
{
    if (f)
        atomic_fetch_add_explicit(&f->hdr.aux, 1, memory_order_relaxed);
    return f;
}

void crew_future_release(crew_future *f)
{
    if (!f)
        return;
    /* acq_rel: the last releaser sees every write made through other
     * references before they were dropped. */
    uint32_t refs = atomic_fetch_sub_explicit(&f->hdr.aux, 1, memory_order_acq_rel);
    CREW__ASSERT(refs > 0); /* a double release */
    if (refs != 1)
        return;
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_acquire);
    crew_pool *p = f->pool;
    if (!p) {
        /* A created future: its result is its own to free.  One released
         * while still pending or running (nobody will complete it) drops
         * its callbacks without calling them, as a Python Future that is
         * never completed never calls its own; we are the last reference,
         * so nobody adds or runs one concurrently. */
        if (crew__finished(s) && f->u3.free_result && f->u1.result)
            f->u3.free_result(f->u1.result);
        for (struct crew__cb *cb = f->cbs, *next; cb; cb = next) {
            next = cb->next;
            crew__free(cb);
        }
    } else if ((s & CREW__FS_FAILED) && !(s & CREW__FS_DETACHED)) {
        if (!(s & CREW__FS_OBSERVED))
            crew__count_unobserved(p, f->u2.error);
        crew__pool_release(p);
    }
    crew__block_free(f);
}

