/* worker.c - the worker: its loop, running tasks, spinning, parking,
 * retiring (README.md, "Parking and waking", "Lazy start and retirement").
 *
 * A worker that finds nothing spins for a short while (at most spin_limit
 * workers spin at once), then parks:
 *   1. store park = 1 (seq_cst)
 *   2. counts += SLEEP, then spinning -= 1 (seq_cst RMWs), heavy fence
 *      (base/fence.h)
 *   3. look for work once more (seq_cst loads of the rings, the injection
 *      tails, every deque's top/bottom, every batch and its filling word)
 *      and at the shutdown flag
 *   4. if something is there: CAS park 1 -> 0; if that wins, counts -= SLEEP
 *      and go back to work; if it loses, a waker already did both for us
 *   5. futex-wait while park == 1
 * Steps 2-3 and the waker's publish-then-look (wake.c) form a Dekker
 * pattern: either the waker sees SLEEP (and wakes someone) or the sleeper
 * sees the task.  With only a light fence on the publishing side, the heavy
 * fence on the sleeping side makes it hold (README.md, "Light and heavy
 * fences").
 *
 * A parked worker whose park times out (idle_timeout_ns) retires, then
 * looks at the queues once more, so that a submit that raced with the
 * retirement is not left without a worker.
 */
#include <sched.h>
#include <stdio.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/backoff.h"
#include "base/clock.h"
#include "base/compiler.h"
#include "base/fault.h"
#include "base/fence.h"
#include "base/platform.h"
#include "sched/pool.h"
#include "sched/sched.h"

#define SPIN_ROUNDS 256 /* find_work rounds before parking (~tens of us) */

/* ---- running tasks -------------------------------------------------------- */

void crew__run_detached(crew__worker *w, crew_task_fn fn, void *arg)
{
    crew__count_started(w);
    /* No task context: a task run by a helping wait inside a job is not
     * part of that job's group (sched.h). */
    void *outer = crew__task_ctx;
    if (CREW__UNLIKELY(outer != NULL))
        crew__task_ctx = NULL;
    void *result = NULL;
    int rc = fn(arg, &result);
    if (CREW__UNLIKELY(outer != NULL))
        crew__task_ctx = outer;
    crew__count_finished(w, rc);
    if (rc)
        crew__count_unobserved(w->pool, rc); /* nobody can ever look at it */
}

/* The scheduler's own kind: a detached task that travelled as (fn, arg) on
 * a submission ring, handed over in the taking worker's holder (its fields
 * are read before fn runs, so the holder is free again meanwhile). */
static void inline_run(crew__worker *w, crew__task *t)
{
    crew__inline *in = (crew__inline *)t;
    crew__run_detached(w, in->fn, in->arg);
}

/* Without a record there is nothing to hand back: only counted. */
static void inline_drop(crew_pool *p, crew__task *t, int broken)
{
    (void)t;
    crew__count_dropped(p, broken);
}

const crew__task_ops crew__inline_ops = {inline_run, inline_drop, true};

/* Runs t, which the caller took off the queues: through its kind's
 * operations, or drops it if the pool broke or shut down with cancel (and
 * its kind is dropped at shutdown). */
static void run_task_now(crew__worker *w, crew__task *t)
{
    const crew__task_ops *ops = crew__task_ops_of(t);
    uint32_t flags = atomic_load_explicit(&w->pool->flags, memory_order_acquire);
    if (CREW__UNLIKELY(flags & (CREW__P_BROKEN | CREW__P_CANCEL))) {
        if (flags & CREW__P_BROKEN) {
            ops->drop(w->pool, t, 1);
            return;
        }
        if (ops->cancel_at_shutdown) {
            ops->drop(w->pool, t, 0); /* queued before shutdown(cancel_pending) */
            return;
        }
    }
    ops->run(w, t);
}

/* crew__run_task for a task of another isolation region than ours. */
static CREW__COLD void run_task_in_region(crew__worker *w, crew__task *t)
{
    uintptr_t iso = crew__iso;
    crew__iso = t->iso;
    run_task_now(w, t);
    crew__iso = iso;
}

void crew__run_task(crew__worker *w, crew__task *t)
{
    /* The task runs in its own isolation region, whatever the task that is
     * waiting lower on this stack was in; ours comes back after.  (Its
     * context, crew__task_ctx, is its runner's to set.) */
    if (CREW__UNLIKELY(t->iso != crew__iso))
        run_task_in_region(w, t);
    else
        run_task_now(w, t);
}

/* ---- the worker ---------------------------------------------------------- */

/* What idle decided: keep working, exit, or exit having already
 * dropped out of the ALIVE count (retired). */
enum { IDLE_CONTINUE, IDLE_EXIT, IDLE_RETIRED };

/* Cancels our park if nobody woke us yet.  Returns true if we did. */
static bool unpark_self(crew__worker *w)
{
    uint32_t one = 1;
    if (atomic_compare_exchange_strong_explicit(&w->park, &one, 0, memory_order_seq_cst,
                                                memory_order_relaxed)) {
        crew__counts_sub(w->pool, CREW__C_SLEEP);
        return true;
    }
    return false;
}

/* A worker holds more than one thread's share of max_workers only while a
 * blocked worker is replaced (wait.c); once that worker is back, the pool
 * has one too many until someone leaves.  Whoever finds it so first, at a
 * point where it holds no task, leaves: a worker between tasks with nothing
 * of its own queued, an idle one, or one just woken.  Returns true if we
 * dropped out of the ALIVE count (CAS: two that look at once do not both
 * leave for one surplus).  A relaxed load: a surplus we miss is seen at
 * our next look. */
static inline bool surplus_in(const crew_pool *p, uint64_t c)
{
    return CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) > p->max_workers;
}

static bool retire_surplus(crew_pool *p)
{
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    while (surplus_in(p, c)) {
        if (atomic_compare_exchange_weak_explicit(&p->counts, &c, c - CREW__C_ALIVE,
                                                  memory_order_seq_cst, memory_order_relaxed))
            return true;
    }
    return false;
}

/* The cheap look the loop between tasks takes before retire_surplus. */
static inline bool over_limit(crew_pool *p)
{
    /* relaxed: a hint, as in retire_surplus. */
    return surplus_in(p, atomic_load_explicit(&p->counts, memory_order_relaxed));
}

/* Owner: nothing in our deque (tasks spawned by our tasks: they stay
 * with us).  Our batch may hold entries: a surplus worker leaves them,
 * where any worker takes them (find.c, steal_batch) and a thread that later
 * gets this slot takes them first; running them out would run them beside
 * the worker that came back, over the pool's limit. */
static bool holds_nothing(crew__worker *w)
{
    return crew__deque_size_hint(&w->dq) <= 0;
}

/* After leaving with work perhaps queued (a wake meant for it, or a task
 * pushed while we were deciding): let an idle worker take it. */
static void pass_on(crew_pool *p)
{
    crew__fence_heavy();
    if (crew__work_visible(p))
        crew__pool_notify(p);
}

/* A worker counted as spinning that retired as surplus: it stops counting,
 * and since a submit may have relied on it (woken nobody), passes the wake
 * on. */
static void leave_spinning(crew_pool *p)
{
    crew__spinning_dec(p);
    pass_on(p);
}

/* Called when w found no work.  Spins, parks, or decides to exit. */
static int idle(crew__worker *w, crew__task **found, bool holding_spin)
{
    crew_pool *p = w->pool;
    *found = NULL;
    uint32_t flags = atomic_load_explicit(&p->flags, memory_order_seq_cst);
    if (flags & (CREW__P_SHUTDOWN | CREW__P_BROKEN)) {
        if (holding_spin)
            crew__spinning_dec(p);
        if (!(flags & CREW__P_SEALED)) {
            /* A submit may still be pushing (crew__pool_seal): look again
             * in a moment. */
            sched_yield();
            return IDLE_CONTINUE;
        }
        if (!crew__work_visible(p))
            return IDLE_EXIT;
        /* Work we did not find: another worker is moving it into its batch,
         * or shutdown's cancel holds it for a moment. */
        sched_yield();
        return IDLE_CONTINUE;
    }
    /* More workers than allowed (a blocked one came back): retire now.  A
     * submit that saw us spinning woke nobody for its task: if we were,
     * pass it on (as a woken surplus worker does, below). */
    if (retire_surplus(p)) {
        if (holding_spin) {
            CREW__FAULT_PAUSE(CREW__PAUSE_SURPLUS);
            leave_spinning(p);
        }
        return IDLE_RETIRED;
    }
    uint64_t c;

    /* Spin phase: a few rounds of looking, if not too many spin already.
     * A new worker arrives here still counted as spinning (holding_spin). */
    uint32_t spinners;
    if (holding_spin)
        spinners = atomic_load_explicit(&p->spinning, memory_order_seq_cst) - 1;
    else
        spinners = atomic_fetch_add_explicit(&p->spinning, 1, memory_order_seq_cst);
    if (spinners < p->spin_limit) {
        for (int i = 0; i < SPIN_ROUNDS; i++) {
            CREW__FAULT_PAUSE(CREW__PAUSE_SPIN);
            /* A blocked worker came back while we spin: leave before we take
             * a task to run beside it (a relaxed look, as between tasks). */
            if (CREW__UNLIKELY(over_limit(p)) && retire_surplus(p)) {
                leave_spinning(p);
                return IDLE_RETIRED;
            }
            crew__task *t = crew__find_work(w, NULL);
            if (t) {
                spinners = crew__spinning_dec(p);
                /* We were the last spinner: let another look for the
                 * remaining work while we run this task. */
                if (spinners == 1 && crew__work_visible(p))
                    crew__pool_notify(p);
                *found = t;
                return IDLE_CONTINUE;
            }
            if (atomic_load_explicit(&p->flags, memory_order_relaxed))
                break;
            /* Bursts of 32 relaxes between looks, a yield every 32nd round
             * (another thread of the process may be what we wait for). */
            crew__backoff_spins((unsigned)i & 31, 31, 32);
        }
    }
    /* Park (steps 1-5 of the protocol at the top of this file).  We stop
     * counting as spinning only once counted as sleeping: a waker never
     * sees this worker as neither, which would make it start a thread
     * for a task that we are about to see. */
    atomic_store_explicit(&w->park, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&p->counts, CREW__C_SLEEP, memory_order_seq_cst);
    /* Whatever makes us go on (the last look below, a wake, work seen as
     * we retire) is for a task that may be on a ring we were skipping. */
    crew__find_skip_none(w);
    crew__spinning_dec(p);
    crew__fence_heavy(); /* against submits that publish with a light fence */
    if (crew__work_visible(p) || atomic_load_explicit(&p->flags, memory_order_seq_cst)) {
        unpark_self(w);
        return IDLE_CONTINUE;
    }
    int64_t deadline = p->idle_timeout_ns < 0 ? CREW__FOREVER : crew__deadline_after(p->idle_timeout_ns);
    while (atomic_load_explicit(&w->park, memory_order_acquire) == 1) {
        if (crew__futex_wait(&w->park, 1, deadline) == CREW_ETIMEDOUT && unpark_self(w)) {
            /* Retire.  Then look once more: a submit that saw us sleeping
             * may have failed to wake us (we just unparked) and, seeing us
             * alive, not started anyone.  seq_cst RMW then seq_cst loads:
             * the Dekker pattern again, against the submitter's push and
             * its load of counts. */
            CREW__FAULT_PAUSE(CREW__PAUSE_RETIRE);
            c = crew__counts_sub(p, CREW__C_ALIVE);
            CREW__FAULT_PAUSE(CREW__PAUSE_RETIRE);
            crew__fence_heavy();
            /* Also during shutdown: queued work must run (or be dropped)
             * before the last worker leaves. */
            while (crew__work_visible(p)) {
                if (CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) >=
                    p->max_workers)
                    break; /* someone else took over */
                if (atomic_compare_exchange_weak_explicit(&p->counts, &c, c + CREW__C_ALIVE,
                                                          memory_order_seq_cst,
                                                          memory_order_relaxed))
                    return IDLE_CONTINUE; /* un-retired */
            }
            return IDLE_RETIRED;
        }
    }
    /* Woken.  If we are one too many (a blocked worker came back while we
     * slept), leave, and pass the wake on: the task it was for goes to
     * another idle worker or waits for a busy one. */
    if (retire_surplus(p)) {
        pass_on(p);
        return IDLE_RETIRED;
    }
    return IDLE_CONTINUE;
}

void *crew__worker_main(void *arg)
{
    crew__worker *w = arg;
    crew_pool *p = w->pool;
    crew__self = w;
    char tname[16];
    snprintf(tname, sizeof tname, "%s-%u", p->name, w->index);
    crew__thread_name(tname);
    /* A new worker starts on a CPU of its own (then unpinned): a worker
     * woken by a submitting thread otherwise tends to start on that
     * thread's CPU while another CPU idles. */
    crew__thread_place(w->index);
    if (p->init && p->init(p->init_ctx) != 0) {
        /* Python's BrokenThreadPool: every pending and later task fails. */
        atomic_fetch_or_explicit(&p->flags, CREW__P_BROKEN, memory_order_seq_cst);
        crew__inject_close(&p->inj);
        crew__pool_seal(p);
        /* Wake everybody so they drain the queues as broken and exit. */
        while (crew__wake_one(p))
            ;
    }
    int why;
    /* A worker started for a submit's task runs it first. */
    bool holding_spin = true;
    if (w->has_first) {
        holding_spin = false; /* it was not counted as spinning */
        w->has_first = false;
        crew__task *t = w->first_arg;
        if (w->first_fn) {
            w->inl.fn = w->first_fn;
            w->inl.arg = w->first_arg;
            t = &w->inl.hdr;
        }
        /* It was this thread's from the start, never in a queue: a shutdown
         * with cancel_pending leaves it to run (Python's thread had taken
         * it); only a pool that broke (our initializer failed) drops it. */
        const crew__task_ops *ops = crew__task_ops_of(t);
        CREW__ASSERT(t->iso == 0); /* from outside the pool: no region */
        if (atomic_load_explicit(&p->flags, memory_order_acquire) & CREW__P_BROKEN)
            ops->drop(p, t, 1);
        else
            ops->run(w, t);
    }
    /* Otherwise we start counted as spinning (crew__start_worker): keep that
     * until we either find work or go idle, so no submit in between starts a
     * second thread for the task we are about to take. */
    if (holding_spin)
        CREW__FAULT_PAUSE(CREW__PAUSE_FIRST_LOOK);
    for (;;) {
        /* Between tasks: one too many, and nothing spawned by our tasks? */
        if (CREW__UNLIKELY(over_limit(p)) && !holding_spin && holds_nothing(w) &&
            retire_surplus(p)) {
            pass_on(p);
            why = IDLE_RETIRED;
            break;
        }
        crew__task *t = crew__find_work(w, NULL);
        if (t && holding_spin) {
            holding_spin = false;
            uint32_t spinners = crew__spinning_dec(p);
            if (spinners == 1 && crew__work_visible(p))
                crew__pool_notify(p); /* more work than we can take: maybe start another */
        }
        if (!t) {
            why = idle(w, &t, holding_spin);
            holding_spin = false;
            if (why != IDLE_CONTINUE)
                break;
            if (!t)
                continue;
        }
        crew__run_task(w, t);
    }
    if (why == IDLE_EXIT)
        crew__counts_sub(p, CREW__C_ALIVE);
    /* Our own blocks (sched.h), then the allocator's cache of this thread. */
    void *b;
    while ((b = crew__worker_block_take(w)) != NULL)
        crew__block_free(b);
    crew__block_flush();
    crew__self = NULL;
    /* After this the slot may be reaped (joined) by a starter or by
     * shutdown; the pool outlives every worker (shutdown joins them all). */
    atomic_fetch_or_explicit(&w->slot, CREW__SLOT_EXITED, memory_order_release);
    return NULL;
}

