/* group.c - structured fork-join: task groups (parallel_for is in pfor.c).
 *
 * A group is caller storage (crew_group, usually on the stack) viewed as a
 * crew__group_impl (group_impl.h).  Its state word counts the jobs spawned and not
 * finished; the waiter sleeps on that word.  Each job is one block from the
 * block allocator, pushed on the spawning worker's own deque (or the
 * injection queue from outside the pool), so a spawn costs no lock and, in
 * the steady state, no heap allocation.
 *
 * Lifetime: a job's decrement of the state word is its last access to the
 * group; the futex wake after it names only the address.  So a waiter that
 * sees the count reach zero may return and let the group's stack frame go.
 *
 * Failure: the first job returning non-zero stores its status (CAS from 0)
 * and sets CREW__GF_FAILED before its decrement; jobs that start after that
 * see the flag and are skipped, as are later spawns.
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "exec/future.h"
#include "exec/group_impl.h"
#include "sched/sched.h"

_Static_assert(sizeof(crew__group_impl) <= sizeof(crew_group),
               "crew_group must hold crew__group_impl");
_Static_assert(sizeof(crew__job) <= CREW__BLOCK_SIZE, "a job must fit in a block");

int crew_group_init(crew_group *g, crew_pool *p)
{
    if (!g || !p)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    crew__worker *self = crew__self;
    crew__group_impl *parent = NULL;
    if (self && self->pool == p) {
        /* The group of the job this worker runs, if it runs one (the
         * scheduler clears crew__task_ctx around any other task).  A task
         * already running may still fork and join after shutdown. */
        parent = (crew__group_impl *)crew__task_ctx;
    } else {
        /* New work from outside may not. */
        uint32_t pf = atomic_load_explicit(&p->flags, memory_order_acquire);
        if (pf & CREW__P_BROKEN)
            return CREW_EBROKEN;
        if (pf & CREW__P_SHUTDOWN)
            return CREW_ESHUTDOWN;
    }
    /* Only the fields of crew__group_impl: the rest of crew_group is
     * never read. */
    crew__group_impl *gi = crew__gi(g);
    gi->pool = p;
    atomic_init(&gi->state, 0);
    atomic_init(&gi->flags, 0);
    atomic_init(&gi->error, 0);
    gi->parent = parent;
    return 0;
}

/* Marks one job of g finished.  Last access to g. */
static void finish_one(crew__group_impl *g)
{
    /* acq_rel: release publishes the job's effects and error to the waiter
     * that sees the count reach zero (its acquire load). */
    uint32_t old = atomic_fetch_sub_explicit(&g->state, 1, memory_order_acq_rel);
    CREW__ASSERT((old & CREW__GS_COUNT) > 0); /* one finish per spawn */
    if ((old & CREW__GS_COUNT) == 1 && (old & CREW__GS_WAITER))
        crew__wake_word(&g->state);
}

/* A spawn from a thread that is not a worker of the group's pool (or when
 * no block is left in the thread's own list): the general path. */
static CREW__COLD int spawn_slow(crew__group_impl *gi, crew_job_fn fn, void *arg,
                                 void (*skip)(void *))
{
    crew_pool *p = gi->pool;
    crew__job *j = crew__block_alloc();
    if (!j)
        return CREW_ENOMEM;
    /* hdr.next is the injection queue's (its push writes it); hdr.aux is
     * not used by jobs. */
    atomic_init(&j->hdr.word, CREW__KIND_BITS(CREW__KIND_JOB));
    j->hdr.iso = crew__iso_for(p);
    j->fn = fn;
    j->arg = arg;
    j->group = gi;
    j->skip = skip;
    /* Counted before it can run (relaxed: the push below publishes it). */
    atomic_fetch_add_explicit(&gi->state, 1, memory_order_relaxed);
    int rc = crew__sched_push(p, &j->hdr);
    if (rc) {
        atomic_fetch_sub_explicit(&gi->state, 1, memory_order_relaxed);
        crew__block_free(j);
    }
    return rc;
}

/* The spawn's slow ends, kept out of line and reached by tail calls so
 * that the fast path saves no registers.  Job j of gi, counted in its
 * state, did not fit in self's deque: grow it, or undo the spawn. */
static CREW__COLD int spawn_grow(crew__worker *self, crew__group_impl *gi, crew__job *j)
{
    int rc = crew__sched_push_own(self, &j->hdr);
    if (rc) {
        atomic_fetch_sub_explicit(&gi->state, 1, memory_order_relaxed);
        crew__block_free(j);
    }
    return rc;
}

/* After a push that crew__pool_full_awake did not clear. */
static CREW__COLD int spawn_notify(crew_pool *p)
{
    crew__pool_notify(p);
    return 0;
}

/* The spawn, inlined into crew_group_spawn and crew__group_spawn: from a
 * worker of the pool, with a block in the thread's own list, the job goes
 * on its own deque with no call (crew__sched_push_own's steps, inline:
 * the deque's push, then the wake rule's look at the counts). */
static CREW__ALWAYS_INLINE int spawn(crew_group *g, crew_job_fn fn, void *arg,
                                     void (*skip)(void *))
{
    if (CREW__UNLIKELY(!g || !fn))
        return CREW_EINVAL;
    crew__group_impl *gi = crew__gi(g);
    crew_pool *p = gi->pool;
    if (CREW__UNLIKELY(!p))
        return CREW_EINVAL;
    if (CREW__UNLIKELY(atomic_load_explicit(&gi->flags, memory_order_acquire) &
                       (CREW__GF_FAILED | CREW__GF_CANCELLED)))
        return CREW_ECANCELLED;
    crew__worker *self = crew__self;
    crew__job *j;
    if (CREW__UNLIKELY(!self || self->pool != p || (j = crew__worker_block_take(self)) == NULL))
        return spawn_slow(gi, fn, arg, skip);
    /* As in spawn_slow; a job from a worker of p is in the worker's region
     * (crew__iso_for). */
    atomic_init(&j->hdr.word, CREW__KIND_BITS(CREW__KIND_JOB));
    j->hdr.iso = crew__iso;
    j->fn = fn;
    j->arg = arg;
    j->group = gi;
    j->skip = skip;
    atomic_fetch_add_explicit(&gi->state, 1, memory_order_relaxed);
    if (CREW__UNLIKELY(!crew__deque_try_push(&self->dq, &j->hdr)))
        return spawn_grow(self, gi, j);
    if (CREW__UNLIKELY(!crew__pool_full_awake(
            p, atomic_load_explicit(&p->counts, memory_order_seq_cst))))
        return spawn_notify(p);
    return 0;
}

int crew__group_spawn(crew_group *g, crew_job_fn fn, void *arg, void (*skip)(void *))
{
    return spawn(g, fn, arg, skip);
}

int crew_group_spawn(crew_group *g, crew_job_fn fn, void *arg)
{
    return spawn(g, fn, arg, NULL);
}

void crew__group_fail(crew__group_impl *g, int rc)
{
    int zero = 0;
    atomic_compare_exchange_strong_explicit(&g->error, &zero, rc, memory_order_relaxed,
                                            memory_order_relaxed);
    /* release: the error before the flag (wait reads it after an acquire). */
    atomic_fetch_or_explicit(&g->flags, CREW__GF_FAILED, memory_order_release);
}

/* ---- the kind's operations (sched/task.h) ---------------------------------- */

/* Runs job j (or skips it, if its group failed or was cancelled first):
 * the kind's run, and the wait's own path for a job it popped. */
static CREW__ALWAYS_INLINE void job_run_inline(crew__worker *w, crew__job *j)
{
    crew__group_impl *g = j->group;
    crew_job_fn fn = j->fn;
    void *arg = j->arg;
    void (*skip)(void *) = j->skip;
    crew__worker_block_give(w, j);
    if (CREW__UNLIKELY(atomic_load_explicit(&g->flags, memory_order_acquire) &
                       (CREW__GF_FAILED | CREW__GF_CANCELLED))) {
        if (skip)
            skip(arg);
    } else {
        void *outer = crew__task_ctx;
        crew__task_ctx = g;
        int rc = fn(arg);
        crew__task_ctx = outer;
        if (CREW__UNLIKELY(rc))
            crew__group_fail(g, rc);
    }
    finish_one(g);
}

static void job_run(crew__worker *w, crew__task *t)
{
    job_run_inline(w, (crew__job *)t);
}

static void job_drop(crew_pool *p, crew__task *t, int broken)
{
    crew__job *j = (crew__job *)t;
    crew__group_impl *g = j->group;
    CREW__ASSERT(g->pool == p);
    (void)p;
    void (*skip)(void *) = j->skip;
    void *arg = j->arg;
    crew__block_free(j);
    if (skip)
        skip(arg);
    atomic_fetch_or_explicit(&g->flags, broken ? CREW__GF_CANCELLED | CREW__GF_BROKEN : CREW__GF_CANCELLED,
                             memory_order_release);
    finish_one(g);
}

/* Jobs belong to work that has already started: shutdown with cancel
 * leaves them to run (and the pool's statistics do not count them). */
const crew__task_ops crew__job_ops = {job_run, job_drop, false};

/* The predicate of crew_group_wait_isolated: t is a job of group ctx or of
 * a group created inside one of its jobs.  The chain is safe to walk: a
 * group created inside a job is waited for by that job, so it outlives
 * neither the job nor the job's group. */
static bool job_in_group(const crew__task *t, const void *ctx)
{
    if (CREW__KIND_OF(atomic_load_explicit(&t->word, memory_order_relaxed)) != CREW__KIND_JOB)
        return false;
    for (const crew__group_impl *x = ((const crew__job *)t)->group; x; x = x->parent)
        if (x == ctx)
            return true;
    return false;
}

/* Sleeps until gi's count may have changed, after announcing the waiter
 * (CREW__GS_WAITER: the job that brings the count to zero wakes it). */
static void wait_block(crew__group_impl *gi, const crew__accept *acc)
{
    uint32_t s = atomic_fetch_or_explicit(&gi->state, CREW__GS_WAITER, memory_order_seq_cst) |
                 CREW__GS_WAITER;
    if ((s & CREW__GS_COUNT) == 0)
        return;
    (void)crew__wait_word_isolated(&gi->state, s, CREW__FOREVER, acc);
}

/* What a wait returns once gi's count is zero (state s, just loaded). */
static CREW__ALWAYS_INLINE int wait_done(crew__group_impl *gi, uint32_t s, int *task_error)
{
    /* A later spawn's last job need not wake anyone (the group may be used
     * again). */
    if (CREW__UNLIKELY(s & CREW__GS_WAITER))
        atomic_fetch_and_explicit(&gi->state, ~CREW__GS_WAITER, memory_order_relaxed);
    uint32_t flags = atomic_load_explicit(&gi->flags, memory_order_acquire);
    if (CREW__LIKELY(flags == 0))
        return 0;
    if (flags & CREW__GF_FAILED) {
        if (task_error)
            *task_error = atomic_load_explicit(&gi->error, memory_order_relaxed);
        return CREW_ETASK;
    }
    if (flags & CREW__GF_BROKEN)
        return CREW_EBROKEN;
    if (flags & CREW__GF_CANCELLED)
        return CREW_ECANCELLED;
    return 0;
}

/* A wait that the fast path below does not take: outside the pool (sleep
 * on the count), or isolated (help only with our jobs). */
static CREW__COLD int wait_general(crew__group_impl *gi, int *task_error, bool isolated)
{
    crew__worker *self = crew__self;
    bool helping = self && self->pool == gi->pool;
    crew__accept ours = {job_in_group, gi};
    const crew__accept *acc = isolated ? &ours : NULL;
    for (;;) {
        /* acquire: pairs with the runners' acq_rel decrements. */
        uint32_t s = atomic_load_explicit(&gi->state, memory_order_acquire);
        if ((s & CREW__GS_COUNT) == 0)
            return wait_done(gi, s, task_error);
        if (helping) {
            crew__task *t = crew__find_work(self, acc);
            if (t) {
                crew__run_task(self, t);
                continue;
            }
        }
        wait_block(gi, acc);
    }
}

/* One step of a plain wait by a worker of the pool when the fast path met
 * something else than a job to run: t (or NULL) was just popped off our
 * deque.  Runs what crew__find_work_after finds from there, or sleeps. */
static CREW__COLD void wait_step(crew__group_impl *gi, crew__worker *self, crew__task *t)
{
    t = crew__find_work_after(self, NULL, t);
    if (t)
        crew__run_task(self, t);
    else
        wait_block(gi, NULL);
}

static CREW__ALWAYS_INLINE int group_wait(crew_group *g, int *task_error, bool isolated)
{
    if (CREW__UNLIKELY(!g))
        return CREW_EINVAL;
    crew__group_impl *gi = crew__gi(g);
    crew_pool *p = gi->pool;
    if (CREW__UNLIKELY(!p))
        return CREW_EINVAL;
    crew__worker *self = crew__self;
    if (CREW__UNLIKELY(!self || self->pool != p || isolated))
        return wait_general(gi, task_error, isolated);
    for (;;) {
        /* acquire: pairs with the runners' acq_rel decrements. */
        uint32_t s = atomic_load_explicit(&gi->state, memory_order_acquire);
        if ((s & CREW__GS_COUNT) == 0)
            return wait_done(gi, s, task_error);
        /* Fast path of fork-join: our newest job is usually on top of our
         * own deque.  A job of our isolation region, in a pool that did
         * not break, runs here without the scheduler's kind table (what
         * crew__run_task would do with it: its region is ours, and only
         * BROKEN drops a job, CANCEL does not); any other task, or none,
         * goes the general way (wait_step). */
        crew__task *t = crew__deque_pop_fast(&self->dq);
        if (CREW__LIKELY(t != NULL &&
                         CREW__KIND_OF(atomic_load_explicit(&t->word, memory_order_relaxed)) ==
                             CREW__KIND_JOB &&
                         t->iso == crew__iso &&
                         !(atomic_load_explicit(&p->flags, memory_order_acquire) &
                           CREW__P_BROKEN)))
            job_run_inline(self, (crew__job *)t);
        else
            wait_step(gi, self, t);
    }
}

int crew_group_wait(crew_group *g, int *task_error)
{
    return group_wait(g, task_error, false);
}

int crew_group_wait_isolated(crew_group *g, int *task_error)
{
    return group_wait(g, task_error, true);
}

int crew_group_cancel(crew_group *g)
{
    if (!g || !crew__gi(g)->pool)
        return CREW_EINVAL;
    atomic_fetch_or_explicit(&crew__gi(g)->flags, CREW__GF_CANCELLED, memory_order_release);
    return 0;
}

