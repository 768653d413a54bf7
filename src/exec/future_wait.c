/* future_wait.c - waiting on a future (crew_future_wait, crew_future_result
 * and their timed forms) and wait-cycle detection.
 *
 * A waiter sets CREW__FS_WAITERS (fetch_or) and sleeps on the state word
 * with the value it saw (crew__wait_word, which helps with queued work inside
 * a worker); each transition that finds WAITERS set wakes all sleepers.
 *
 * Wait cycles (README.md of src/sched/, "Waiting inside the pool"): a
 * worker about to wait on a future of its own pool publishes what it waits
 * for (crew__worker.waiting_on) and follows the chain future -> worker
 * running it -> future that worker waits for -> ... under the pool's
 * deadlock_lock; if the chain comes back to itself, the wait returns
 * CREW_EDEADLK.
 */
#include <pthread.h>

#include "base/assert.h"
#include "base/clock.h"
#include "exec/future.h"
#include "sched/sched.h"

/* The worker running f, if f is RUNNING, else NULL.  The caller holds a
 * reference on f, or holds deadlock_lock while f is published by a waiter. */
static crew__worker *runner_of(crew_future *f)
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
static bool cycle_locked(crew__worker *self, crew_future *f)
{
    for (unsigned depth = 0; f && depth <= self->pool->max_slots; depth++) {
        crew__worker *r = runner_of(f);
        if (!r)
            return false;
        if (r == self)
            return true;
        if (r->pool != self->pool)
            return false;
        f = (crew_future *)atomic_load_explicit(&r->waiting_on, memory_order_relaxed);
    }
    return false;
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
            bool cycle = cycle_locked(self, f);
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
    return crew__future_outcome(f, result, task_error, true);
}

int crew_future_result(crew_future *f, void **result, int *task_error)
{
    return crew_future_result_until(f, result, task_error, CREW__FOREVER);
}

int crew_future_try_result(crew_future *f, void **result, int *task_error)
{
    if (!f)
        return CREW_EINVAL;
    return crew__future_outcome(f, result, task_error, true);
}

int crew_future_result_timed(crew_future *f, void **result, int *task_error, int64_t timeout_ns)
{
    if (!f || timeout_ns < 0)
        return CREW_EINVAL;
    return crew_future_result_until(f, result, task_error, crew__deadline_after(timeout_ns));
}

