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

/* Who runs a future, for the cycle check: a worker of the pool, or a
 * thread outside it that took the task over and now waits itself (its
 * record), or nobody known (w and o NULL). */
typedef struct runner {
    crew__worker *w;
    crew__outrec *o;
} runner;

/* f's runner.  Caller holds deadlock_lock of f's pool (OUTWAIT and the
 * record are set and cleared under it) and a reference on f, or f is
 * published by a waiter (alive while the lock is held). */
static runner runner_of(crew_future *f)
{
    runner r = {NULL, NULL};
    uint32_t s = atomic_load_explicit(&f->hdr.word, memory_order_acquire);
    if (crew__fstate(s) != CREW_FUTURE_RUNNING)
        return r;
    if (s & CREW__FS_OUTSIDE) {
        /* A thread outside the pool: known only while it waits. */
        if (s & CREW__FS_OUTWAIT)
            r.o = f->u2.outrec;
        return r;
    }
    /* Written by the runner before its RUNNING CAS (release), so a reader
     * that saw RUNNING (acquire, above) sees it. */
    r.w = (crew__worker *)atomic_load_explicit(&f->hdr.next, memory_order_relaxed);
    return r;
}

/* Would me wait forever for f?  True if f runs on this very thread (lower
 * on its stack), or if f's runner waits, through a chain of runners of
 * this pool each waiting for a future running on the next, for a future
 * running on me.  Caller holds the pool's deadlock_lock, under which every
 * published waiting_on is written, so every future on the chain is alive
 * and the chain cannot change under us. */
static bool cycle_locked(crew_pool *p, runner me, crew_future *f)
{
    for (unsigned depth = 0; f && depth <= 2 * p->max_slots + 64; depth++) {
        runner r = runner_of(f);
        if (!r.w && !r.o)
            return false;
        if ((r.w && r.w == me.w) || (r.o && r.o == me.o))
            return true;
        if (r.w && r.w->pool != p)
            return false;
        if (r.w)
            f = (crew_future *)atomic_load_explicit(&r.w->waiting_on, memory_order_relaxed);
        else
            f = atomic_load_explicit(&r.o->waiting_on, memory_order_relaxed);
        if (f && f->pool != p)
            return false;
    }
    return false;
}

/* This thread's record while it runs tasks outside their pool and they
 * wait (one per thread, as a worker is one runner however deep its
 * stack of helped tasks: a wait for a future running lower on the same
 * stack finds itself). */
static CREW__TLS crew__outrec my_outrec;

/* A thread outside the pool running cur (crew__future_run_outside) stops
 * waiting: its record is no longer reachable from cur. */
static void outside_withdraw(crew_future *cur)
{
    pthread_mutex_lock(&cur->pool->deadlock_lock);
    atomic_fetch_and_explicit(&cur->hdr.word, ~CREW__FS_OUTWAIT, memory_order_relaxed);
    atomic_store_explicit(&my_outrec.waiting_on, NULL, memory_order_relaxed);
    pthread_mutex_unlock(&cur->pool->deadlock_lock);
}

int crew_future_wait_until(crew_future *f, int64_t deadline_ns)
{
    if (!f)
        return CREW_EINVAL;
    crew__worker *self = crew__self;
    bool track = self && self->pool == f->pool;
    /* A thread outside the pool running a task of it (cur) that waits for
     * another future of the pool takes part in the cycle check through a
     * record on its stack, reachable from cur while it waits. */
    crew_future *cur = self ? NULL : crew__outside_task;
    if (cur && f->pool && cur->pool == f->pool)
        track = true;
    else
        cur = NULL;
    runner me = {self, cur ? &my_outrec : NULL};
    /* Outside every pool and waiting for as long as it takes: run the task
     * ourselves if no worker started it yet (crew/pool.h, "Which thread
     * runs a task"). */
    bool take = !self && deadline_ns == CREW__FOREVER && f->pool;
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
            crew_pool *p = f->pool;
            pthread_mutex_lock(&p->deadlock_lock);
            if (cur) {
                /* Reachable from the task we run first: a wait for it (or
                 * for one waiting for it) finds us. */
                cur->u2.outrec = &my_outrec;
                atomic_fetch_or_explicit(&cur->hdr.word, CREW__FS_OUTWAIT, memory_order_relaxed);
            }
            bool cycle = cycle_locked(p, me, f);
            if (self) {
                atomic_store_explicit(&self->waiting_on, cycle ? NULL : f, memory_order_relaxed);
            } else {
                atomic_store_explicit(&my_outrec.waiting_on, cycle ? NULL : f, memory_order_relaxed);
                if (cycle)
                    atomic_fetch_and_explicit(&cur->hdr.word, ~CREW__FS_OUTWAIT, memory_order_relaxed);
            }
            pthread_mutex_unlock(&p->deadlock_lock);
            if (cycle) {
                rc = CREW_EDEADLK;
                break;
            }
        }
        /* After publishing what we wait for: the task we take over may
         * wait, through others, for the one we run lower on this stack. */
        if (take) {
            take = false;
            if (crew__fstate(s) == CREW_FUTURE_PENDING && crew__future_run_outside(f))
                break;
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
    if (track && self)
        crew__withdraw_wait(self);
    else if (track)
        outside_withdraw(cur);
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

