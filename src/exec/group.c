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
#include <string.h>

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
    bool inside = self && self->pool == p;
    /* A task already running may still fork and join after shutdown; new
     * work from outside may not. */
    uint32_t pf = atomic_load_explicit(&p->flags, memory_order_acquire);
    if (!inside && (pf & CREW__P_BROKEN))
        return CREW_EBROKEN;
    if (!inside && (pf & CREW__P_SHUTDOWN))
        return CREW_ESHUTDOWN;
    crew__group_impl *gi = crew__gi(g);
    memset(g, 0, sizeof *g);
    gi->pool = p;
    atomic_init(&gi->state, 0);
    atomic_init(&gi->flags, 0);
    atomic_init(&gi->error, 0);
    /* The group of the job this worker runs, if it runs one (the
     * scheduler clears crew__task_ctx around any other task). */
    gi->parent = inside ? (crew__group_impl *)crew__task_ctx : NULL;
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

int crew__group_spawn(crew_group *g, crew_job_fn fn, void *arg, void (*skip)(void *))
{
    if (!g || !fn)
        return CREW_EINVAL;
    crew__group_impl *gi = crew__gi(g);
    crew_pool *p = gi->pool;
    if (!p)
        return CREW_EINVAL;
    if (atomic_load_explicit(&gi->flags, memory_order_acquire) & (CREW__GF_FAILED | CREW__GF_CANCELLED))
        return CREW_ECANCELLED;
    crew__job *j = crew__block_alloc();
    if (!j)
        return CREW_ENOMEM;
    atomic_init(&j->hdr.next, NULL);
    atomic_init(&j->hdr.word, CREW__KIND_BITS(CREW__KIND_JOB));
    atomic_init(&j->hdr.aux, 0);
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

int crew_group_spawn(crew_group *g, crew_job_fn fn, void *arg)
{
    return crew__group_spawn(g, fn, arg, NULL);
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

static void job_run(crew__worker *w, crew__task *t)
{
    (void)w;
    crew__job *j = (crew__job *)t;
    crew__group_impl *g = j->group;
    crew_job_fn fn = j->fn;
    void *arg = j->arg;
    void (*skip)(void *) = j->skip;
    crew__block_free(j);
    if (atomic_load_explicit(&g->flags, memory_order_acquire) & (CREW__GF_FAILED | CREW__GF_CANCELLED)) {
        if (skip)
            skip(arg);
    } else {
        void *outer = crew__task_ctx;
        crew__task_ctx = g;
        int rc = fn(arg);
        crew__task_ctx = outer;
        if (rc)
            crew__group_fail(g, rc);
    }
    finish_one(g);
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

static int group_wait(crew_group *g, int *task_error, bool isolated)
{
    if (!g)
        return CREW_EINVAL;
    crew__group_impl *gi = crew__gi(g);
    if (!gi->pool)
        return CREW_EINVAL;
    crew__worker *self = crew__self;
    bool helping = self && self->pool == gi->pool;
    crew__accept only_ours = {job_in_group, gi};
    const crew__accept *acc = isolated ? &only_ours : NULL;
    for (;;) {
        /* acquire: pairs with the runners' acq_rel decrements. */
        uint32_t s = atomic_load_explicit(&gi->state, memory_order_acquire);
        if ((s & CREW__GS_COUNT) == 0)
            break;
        if (helping) {
            /* Fast path of fork-join: our newest job is usually right here. */
            crew__task *t = crew__find_work(self, acc);
            if (t) {
                crew__run_task(self, t);
                continue;
            }
        }
        s = atomic_fetch_or_explicit(&gi->state, CREW__GS_WAITER, memory_order_seq_cst) |
            CREW__GS_WAITER;
        if ((s & CREW__GS_COUNT) == 0)
            break;
        (void)crew__wait_word_isolated(&gi->state, s, CREW__FOREVER, acc);
    }
    atomic_fetch_and_explicit(&gi->state, ~CREW__GS_WAITER, memory_order_relaxed);
    uint32_t flags = atomic_load_explicit(&gi->flags, memory_order_acquire);
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

