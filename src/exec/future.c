/* future.c - futures: states, results, waiting, done callbacks, references.
 *
 * The state word (hdr.word, task.h) holds the state in its low two bits and
 * flags above.  Every transition is a CAS on that word:
 *   PENDING -> RUNNING     the worker that starts the task (crew__future_run)
 *   PENDING -> CANCELLED   crew_future_cancel, shutdown with cancel, a drop
 *   PENDING -> DONE|BROKEN the pool broke before the task ran
 *   RUNNING -> DONE        the worker, after storing result and error
 * A CAS is acq_rel: the result and error written before DONE are visible to
 * whoever reads the word with acquire and sees DONE.
 *
 * Waiting: a waiter sets CREW__FS_WAITERS (fetch_or) and sleeps on the word
 * with the value it saw (crew__wait_word, which helps with queued work inside
 * a worker); each transition that finds WAITERS set wakes all sleepers.
 *
 * Done callbacks live in a list guarded by one of CREW__STRIPES mutexes
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
 * crew__wait_unpinned).
 * A failed, non-detached future also holds a pool reference from completion
 * until its last release, so the unobserved-error hook can still be counted
 * in the pool's statistics.
 */
#include <pthread.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/backoff.h"
#include "base/compiler.h"
#include "base/clock.h"
#include "base/futex.h"
#include "sched/pool.h"
#include "sched/scheduler.h"
#include "base/sys.h"

struct crew__cb {
    struct crew__cb *next;
    crew_done_fn fn;
    void *ctx;
};

#define CREW__STRIPES 64
static pthread_mutex_t crew__stripe[CREW__STRIPES];
static pthread_once_t crew__stripe_once = PTHREAD_ONCE_INIT;

static void crew__stripe_init(void)
{
    for (int i = 0; i < CREW__STRIPES; i++)
        pthread_mutex_init(&crew__stripe[i], NULL);
}

static pthread_mutex_t *crew__stripe_of(const crew_future *f)
{
    pthread_once(&crew__stripe_once, crew__stripe_init);
    uintptr_t a = (uintptr_t)f / CREW__BLOCK_SIZE;
    return &crew__stripe[(a ^ (a >> 7)) % CREW__STRIPES];
}

static inline uint32_t crew__fstate(uint32_t word)
{
    return word & CREW__FS_MASK;
}

static inline bool crew__finished(uint32_t word)
{
    return crew__fstate(word) >= CREW_FUTURE_DONE;
}

/* Wakes waiters and runs callbacks after a transition whose previous word
 * was old.  The caller holds a reference for the duration. */
static void crew__after_transition(crew_future *f, uint32_t old)
{
    if (old & CREW__FS_WAITERS)
        crew__wake_word(&f->hdr.word);
    if (!(old & CREW__FS_HAS_CBS))
        return;
    pthread_mutex_t *m = crew__stripe_of(f);
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
static void crew__wait_unpinned(crew_future *f)
{
    /* acquire: pairs with the cancel's release fetch_and. */
    for (unsigned i = 0; atomic_load_explicit(&f->hdr.word, memory_order_acquire) & CREW__FS_PINNED; i++)
        crew__backoff(i);
}

/* CAS from PENDING to `to` (a state and maybe flags; the other flags are
 * kept).  Returns the
 * word before the CAS; *ok is false (and the word unchanged) if the future
 * was no longer PENDING. */
static uint32_t crew__leave_pending(crew_future *f, uint32_t to, bool *ok)
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

/* ---- the worker side ------------------------------------------------------ */

void crew__inline_drop(crew_pool *p, int broken)
{
    atomic_fetch_add_explicit(broken ? &p->broken : &p->cancelled, 1, memory_order_relaxed);
}

/* A detached task (no future handed out) can be neither cancelled, waited
 * for nor given callbacks, and the worker that took it off a queue is its
 * only owner: run it with no atomic state changes and free it. */
static void crew__detached_run(crew__worker *w, crew_future *f)
{
    crew_pool *p = f->pool;
    crew_task_fn fn = f->u1.fn;
    void *arg = f->u3.arg;
    crew__block_free(f);
    crew__inline_run(w, p, fn, arg);
}

/* Calls a task's function with no task context (crew__task_ctx): a task
 * run by a helping wait inside a job is not part of that job's group. */
static inline int crew__call_task(crew_task_fn fn, void *arg, void **result)
{
    void *outer = crew__task_ctx;
    if (CREW__LIKELY(!outer))
        return fn(arg, result);
    crew__task_ctx = NULL;
    int rc = fn(arg, result);
    crew__task_ctx = outer;
    return rc;
}

void crew__inline_run(crew__worker *w, crew_pool *p, crew_task_fn fn, void *arg)
{
    atomic_store_explicit(&w->n_started,
                          atomic_load_explicit(&w->n_started, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    void *result = NULL;
    int rc = crew__call_task(fn, arg, &result);
    _Atomic uint64_t *counter = rc ? &w->n_failed : &w->n_completed;
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (rc)
        crew__pool_count_unobserved(p, rc); /* nobody can ever look at it */
}

void crew__future_run(crew_future *f)
{
    crew__worker *w = crew__self;
    crew_pool *p = f->pool;
    if (atomic_load_explicit(&f->hdr.word, memory_order_relaxed) & CREW__FS_DETACHED) {
        crew__detached_run(w, f);
        return;
    }
    /* The runner, for deadlock detection: published by the release of the
     * RUNNING CAS below to every waiter that sees RUNNING (acquire). */
    atomic_store_explicit(&f->hdr.next, (crew__task *)w, memory_order_relaxed);
    bool ok;
    uint32_t old = crew__leave_pending(f, CREW_FUTURE_RUNNING, &ok);
    if (!ok) {
        /* Cancelled while queued: cancel runs cleanup and callbacks.  Once
         * we drop the entry the pool may be destroyed: not while the
         * cancel still counts itself in it. */
        crew__wait_unpinned(f);
        crew_future_release(f);
        return;
    }
    if (old & CREW__FS_WAITERS)
        crew__wake_word(&f->hdr.word); /* waiters re-check for deadlock cycles */
    atomic_store_explicit(&w->n_started,
                          atomic_load_explicit(&w->n_started, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    crew_task_fn fn = f->u1.fn;
    void *result = NULL;
    int rc = crew__call_task(fn, f->u3.arg, &result);
    f->u1.result = result;
    f->u2.error = rc;
    if (rc) {
        atomic_store_explicit(&w->n_failed,
                              atomic_load_explicit(&w->n_failed, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        crew__pool_retain(p); /* dropped at the future's last release */
    } else {
        atomic_store_explicit(&w->n_completed,
                              atomic_load_explicit(&w->n_completed, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_relaxed);
    uint32_t done = CREW_FUTURE_DONE | (rc ? CREW__FS_FAILED : 0);
    /* release: result and error above are visible to whoever sees DONE. */
    while (!atomic_compare_exchange_weak_explicit(&f->hdr.word, &s, (s & ~CREW__FS_MASK) | done,
                                                  memory_order_acq_rel, memory_order_relaxed))
        ;
    crew__after_transition(f, s);
    crew_future_release(f); /* the pool's reference */
}

void crew__task_drop(crew__task *t, int broken)
{
    if (!(atomic_load_explicit(&t->word, memory_order_relaxed) & CREW__KIND_FUTURE)) {
        crew__job_drop((crew__job *)t, broken);
        return;
    }
    crew_future *f = (crew_future *)t;
    crew_pool *p = f->pool;
    bool ok;
    uint32_t to = broken ? (CREW_FUTURE_DONE | CREW__FS_BROKEN) : CREW_FUTURE_CANCELLED;
    uint32_t old = crew__leave_pending(f, to, &ok);
    if (ok) {
        /* We won the CAS, so no runner ever touches u2: cleanup is intact. */
        crew_cleanup_fn cleanup = f->u2.cleanup;
        if (cleanup)
            cleanup(f->u3.arg);
        atomic_fetch_add_explicit(broken ? &p->broken : &p->cancelled, 1, memory_order_relaxed);
        crew__after_transition(f, old);
    } else {
        crew__wait_unpinned(f); /* as in crew__future_run */
    }
    crew_future_release(f); /* the pool's reference */
}

/* ---- futures completed by their creator ------------------------------------
 * A created future (pool NULL) goes PENDING -> RUNNING (optional, by
 * set_running_or_notify_cancel) -> DONE by set_result or set_error, or
 * PENDING -> CANCELLED by crew_future_cancel.  Completing is two steps: a
 * CAS that sets SETTING (one completer wins; cancel sees the future as no
 * longer pending, as if it came after), the stores of result and error,
 * then the CAS to DONE (release), as a runner does. */

int crew_future_create(crew_future **out, crew_cleanup_fn free_result)
{
    if (!out)
        return CREW_EINVAL;
    crew_future *f = crew__block_alloc();
    if (!f)
        return CREW_ENOMEM;
    atomic_init(&f->hdr.next, NULL); /* no runner: never part of a wait cycle */
    atomic_init(&f->hdr.word, CREW__KIND_FUTURE | CREW_FUTURE_PENDING);
    atomic_init(&f->hdr.aux, 1u);
    f->hdr.iso = 0;
    f->u1.result = NULL;
    f->u3.free_result = free_result;
    f->u2.cleanup = NULL;
    f->pool = NULL;
    f->cbs = NULL;
    *out = f;
    return 0;
}

int crew_future_set_running_or_notify_cancel(crew_future *f)
{
    if (!f || f->pool)
        return CREW_EINVAL;
    bool ok;
    uint32_t old = crew__leave_pending(f, CREW_FUTURE_RUNNING, &ok);
    if (ok) {
        if (old & CREW__FS_WAITERS)
            crew__wake_word(&f->hdr.word);
        return 0;
    }
    /* Cancel already woke the waiters and ran the callbacks. */
    return crew__fstate(old) == CREW_FUTURE_CANCELLED ? CREW_ECANCELLED : CREW_ESTATE;
}

/* set_result (task_error 0) and set_error. */
static int crew__future_complete(crew_future *f, void *result, int task_error)
{
    if (!f || f->pool)
        return CREW_EINVAL;
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_relaxed);
    do {
        if (crew__finished(s) || (s & CREW__FS_SETTING))
            return CREW_ESTATE;
        /* acquire: we write the fields the previous holder of the word
         * (creator, set_running) may have read. */
    } while (!atomic_compare_exchange_weak_explicit(&f->hdr.word, &s, s | CREW__FS_SETTING,
                                                    memory_order_acquire, memory_order_relaxed));
    crew_future_retain(f); /* a callback may release the caller's reference */
    f->u1.result = result;
    f->u2.error = task_error;
    uint32_t done = CREW_FUTURE_DONE | (task_error ? CREW__FS_FAILED : 0);
    s = atomic_load_explicit(&f->hdr.word, memory_order_relaxed);
    /* release: result and error above are visible to whoever sees DONE. */
    while (!atomic_compare_exchange_weak_explicit(
        &f->hdr.word, &s, (s & ~(CREW__FS_MASK | CREW__FS_SETTING)) | done, memory_order_acq_rel,
        memory_order_relaxed))
        ;
    crew__after_transition(f, s);
    crew_future_release(f);
    return 0;
}

int crew_future_set_result(crew_future *f, void *result)
{
    return crew__future_complete(f, result, 0);
}

int crew_future_set_error(crew_future *f, int task_error, void *result)
{
    if (task_error == 0)
        return CREW_EINVAL;
    return crew__future_complete(f, result, task_error);
}

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
     * the entry off the queues waits (crew__wait_unpinned) before it drops
     * it, so the pool, which may be destroyed once its queues are empty,
     * is alive while we count the cancel in it.  No user code runs in
     * between, so that wait is short. */
    bool ok;
    crew_pool *p = f->pool; /* NULL for a created future: no entry, nothing to pin */
    uint32_t old = crew__leave_pending(f, CREW_FUTURE_CANCELLED | (p ? CREW__FS_PINNED : 0), &ok);
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
        crew__after_transition(f, old);
    }
    crew_future_release(f);
    return ok || crew__fstate(old) == CREW_FUTURE_CANCELLED;
}

/* Reads the outcome of a finished (or not) future.  observe marks a task
 * error as looked at. */
static int crew__outcome(crew_future *f, void **result, int *task_error, bool observe)
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

int crew__future_peek(const crew_future *f)
{
    return crew__outcome((crew_future *)f, NULL, NULL, false);
}

/* ---- waiting ------------------------------------------------------------- */

/* The worker running f, if f is RUNNING, else NULL.  The caller holds a
 * reference on f, or holds deadlock_lock while f is published by a waiter. */
static crew__worker *crew__runner_of(crew_future *f)
{
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_acquire);
    if (crew__fstate(s) != CREW_FUTURE_RUNNING)
        return NULL;
    /* Written by the runner before its RUNNING CAS (release), so a reader
     * that saw RUNNING (acquire, above) sees it. */
    return (crew__worker *)atomic_load_explicit(&f->hdr.next, memory_order_relaxed);
}

/* Would self wait forever for f?  True if f runs on this very thread (lower
 * on its stack), or if f's runner waits, through a chain of workers of this
 * pool each waiting for a future running on the next, for a future running
 * on self.  Caller holds the pool's deadlock_lock, under which every
 * published waiting_on is written, so every future on the chain is alive
 * and the chain cannot change under us. */
static bool crew__cycle_locked(crew__worker *self, crew_future *f)
{
    for (unsigned depth = 0; f && depth <= self->pool->max_slots; depth++) {
        crew__worker *r = crew__runner_of(f);
        if (!r)
            return false;
        if (r == self)
            return true;
        if (r->pool != self->pool)
            return false;
        f = atomic_load_explicit(&r->waiting_on, memory_order_relaxed);
    }
    return false;
}

/* Publishes (f) or withdraws (NULL) what self waits for. */
static void crew__publish_wait(crew__worker *self, crew_future *f)
{
    pthread_mutex_lock(&self->pool->deadlock_lock);
    atomic_store_explicit(&self->waiting_on, f, memory_order_relaxed);
    pthread_mutex_unlock(&self->pool->deadlock_lock);
}

void crew__withdraw_wait(crew__worker *self)
{
    if (atomic_load_explicit(&self->waiting_on, memory_order_relaxed))
        crew__publish_wait(self, NULL);
}

int crew_future_wait_until(crew_future *f, int64_t deadline_ns)
{
    if (!f)
        return CREW_EINVAL;
    crew__worker *self = crew__self;
    bool track = self && self->pool == f->pool;
    int rc = 0;
    for (;;) {
        uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_acquire);
        if (crew__finished(s))
            break;
        if (track) {
            /* Publish what we wait for and look for a cycle in one critical
             * section of the pool's deadlock_lock: checks are serialised, so
             * of the waiters closing a cycle exactly one sees it complete,
             * and it leaves the cycle (withdraws) before unlocking.  Redone
             * every time the word changes (PENDING -> RUNNING wakes us) and
             * after every task we help with (crew__wait_word withdraws
             * while it runs one). */
            pthread_mutex_lock(&self->pool->deadlock_lock);
            bool cycle = crew__cycle_locked(self, f);
            atomic_store_explicit(&self->waiting_on, cycle ? NULL : f, memory_order_relaxed);
            pthread_mutex_unlock(&self->pool->deadlock_lock);
            if (cycle) {
                rc = CREW_EDEADLK;
                break;
            }
        }
        if (!(s & CREW__FS_WAITERS)) {
            uint32_t now = atomic_fetch_or_explicit(&f->hdr.word, CREW__FS_WAITERS,
                                                    memory_order_acq_rel);
            if (crew__finished(now))
                break;
            /* The task started since we looked: look for a cycle again
             * before sleeping, with its runner known. */
            if (crew__fstate(now) != crew__fstate(s))
                continue;
            s = now | CREW__FS_WAITERS;
        }
        if (crew__wait_word(&f->hdr.word, s, deadline_ns) == CREW_ETIMEDOUT &&
            !crew_future_done(f)) {
            rc = CREW_ETIMEDOUT;
            break;
        }
    }
    if (track)
        crew__withdraw_wait(self);
    return rc;
}

int crew_future_wait(crew_future *f)
{
    return crew_future_wait_until(f, CREW__FOREVER);
}

int crew_future_wait_timed(crew_future *f, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return CREW_EINVAL;
    return crew_future_wait_until(f, crew__deadline_after(timeout_ns));
}

int crew_future_result_until(crew_future *f, void **result, int *task_error, int64_t deadline_ns)
{
    int rc = crew_future_wait_until(f, deadline_ns);
    if (rc)
        return rc;
    return crew__outcome(f, result, task_error, true);
}

int crew_future_result(crew_future *f, void **result, int *task_error)
{
    return crew_future_result_until(f, result, task_error, CREW__FOREVER);
}

int crew_future_try_result(crew_future *f, void **result, int *task_error)
{
    if (!f)
        return CREW_EINVAL;
    return crew__outcome(f, result, task_error, true);
}

int crew_future_result_timed(crew_future *f, void **result, int *task_error, int64_t timeout_ns)
{
    if (!f || timeout_ns < 0)
        return CREW_EINVAL;
    return crew_future_result_until(f, result, task_error, crew__deadline_after(timeout_ns));
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
    pthread_mutex_t *m = crew__stripe_of(f);
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
    pthread_mutex_t *m = crew__stripe_of(f);
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
    if (atomic_fetch_sub_explicit(&f->hdr.aux, 1, memory_order_acq_rel) != 1)
        return;
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_acquire);
    crew_pool *p = f->pool;
    if (!p) {
        /* A created future: its result is its own to free. */
        if (crew__finished(s) && f->u3.free_result && f->u1.result)
            f->u3.free_result(f->u1.result);
    } else if ((s & CREW__FS_FAILED) && !(s & CREW__FS_DETACHED)) {
        if (!(s & CREW__FS_OBSERVED))
            crew__pool_count_unobserved(p, f->u2.error);
        crew__pool_release(p);
    }
    crew__block_free(f);
}
