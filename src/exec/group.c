/* group.c - structured fork-join: task groups and parallel_for.
 *
 * A group is caller storage (crew_group, usually on the stack) viewed as a
 * crew__group_impl (task.h).  Its state word counts the jobs spawned and not
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
#include "base/clock.h"
#include "sched/pool.h"
#include "sched/scheduler.h"

_Static_assert(sizeof(crew__group_impl) <= sizeof(crew_group),
               "crew_group must hold crew__group_impl");
_Static_assert(sizeof(crew__job) <= CREW__BLOCK_SIZE, "a job must fit in a block");
_Static_assert(sizeof(struct crew_future) <= CREW__BLOCK_SIZE, "a future must fit in a block");


static crew__group_impl *crew__gi(crew_group *g)
{
    return (crew__group_impl *)(void *)g;
}

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
static void crew__group_finish_one(crew__group_impl *g)
{
    /* acq_rel: release publishes the job's effects and error to the waiter
     * that sees the count reach zero (its acquire load). */
    uint32_t old = atomic_fetch_sub_explicit(&g->state, 1, memory_order_acq_rel);
    if ((old & CREW__GS_COUNT) == 1 && (old & CREW__GS_WAITER))
        crew__wake_word(&g->state);
}

/* crew_group_spawn with a function that receives arg if the job is
 * skipped (the group failed or was cancelled first), so arg never leaks. */
static int crew__group_spawn(crew_group *g, crew_job_fn fn, void *arg, void (*skip)(void *))
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
    atomic_init(&j->hdr.word, 0);
    atomic_init(&j->hdr.aux, 0);
    crew__worker *self = crew__self;
    bool inside = self && self->pool == p;
    j->hdr.iso = inside ? crew__iso : 0;
    j->fn = fn;
    j->arg = arg;
    j->group = gi;
    j->skip = skip;
    /* Counted before it can run (relaxed: the push below publishes it). */
    atomic_fetch_add_explicit(&gi->state, 1, memory_order_relaxed);
    int rc;
    if (inside) {
        rc = crew__deque_push(&self->dq, &j->hdr);
        if (rc == 0)
            crew__pool_notify(p);
    } else {
        rc = crew__pool_forked(p) ? CREW_EFORKED : crew__pool_inject(p, &j->hdr);
    }
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

void crew__job_run(crew__job *j)
{
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
        if (rc) {
            int zero = 0;
            atomic_compare_exchange_strong_explicit(&g->error, &zero, rc, memory_order_relaxed,
                                                    memory_order_relaxed);
            atomic_fetch_or_explicit(&g->flags, CREW__GF_FAILED, memory_order_release);
        }
    }
    crew__group_finish_one(g);
}

void crew__job_drop(crew__job *j, int broken)
{
    crew__group_impl *g = j->group;
    void (*skip)(void *) = j->skip;
    void *arg = j->arg;
    crew__block_free(j);
    if (skip)
        skip(arg);
    atomic_fetch_or_explicit(&g->flags, broken ? CREW__GF_CANCELLED | CREW__GF_BROKEN : CREW__GF_CANCELLED,
                             memory_order_release);
    crew__group_finish_one(g);
}

/* The predicate of crew_group_wait_isolated: t is a job of group ctx or of
 * a group created inside one of its jobs.  The chain is safe to walk: a
 * group created inside a job is waited for by that job, so it outlives
 * neither the job nor the job's group. */
static bool crew__job_in_group(const crew__task *t, const void *ctx)
{
    if (atomic_load_explicit(&t->word, memory_order_relaxed) & (CREW__KIND_FUTURE | CREW__KIND_INLINE))
        return false;
    for (const crew__group_impl *x = ((const crew__job *)t)->group; x; x = x->parent)
        if (x == ctx)
            return true;
    return false;
}

static int crew__group_wait(crew_group *g, int *task_error, bool isolated)
{
    if (!g)
        return CREW_EINVAL;
    crew__group_impl *gi = crew__gi(g);
    if (!gi->pool)
        return CREW_EINVAL;
    crew__worker *self = crew__self;
    bool helping = self && self->pool == gi->pool;
    crew__accept only_ours = {crew__job_in_group, gi};
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
    return crew__group_wait(g, task_error, false);
}

int crew_group_wait_isolated(crew_group *g, int *task_error)
{
    return crew__group_wait(g, task_error, true);
}

int crew_group_cancel(crew_group *g)
{
    if (!g || !crew__gi(g)->pool)
        return CREW_EINVAL;
    atomic_fetch_or_explicit(&crew__gi(g)->flags, CREW__GF_CANCELLED, memory_order_release);
    return 0;
}

/* ---- parallel_for --------------------------------------------------------- */

struct crew__pfor {
    crew_group group;   /* every piece is a job of this group */
    crew_range_fn body;
    void *ctx;
    size_t grain;
};

/* One piece of work: a range, in a block of its own. */
struct crew__pfor_piece {
    struct crew__pfor *pf;
    size_t lo, hi;
};

static int crew__pfor_job(void *arg);

/* Splits [lo, hi) in halves, spawning the upper halves, until a piece is at
 * most grain long, then runs the body on it. */
static int crew__pfor_range(struct crew__pfor *pf, size_t lo, size_t hi)
{
    while (hi - lo > pf->grain) {
        size_t mid = lo + (hi - lo) / 2;
        struct crew__pfor_piece *piece = crew__block_alloc();
        if (!piece)
            break; /* out of memory: run the rest here */
        piece->pf = pf;
        piece->lo = mid;
        piece->hi = hi;
        int rc = crew__group_spawn(&pf->group, crew__pfor_job, piece, crew__block_free);
        if (rc) {
            crew__block_free(piece);
            if (rc == CREW_ECANCELLED)
                return 0; /* another piece failed: stop splitting */
            break;
        }
        hi = mid;
    }
    return pf->body(lo, hi, pf->ctx);
}

static int crew__pfor_job(void *arg)
{
    struct crew__pfor_piece *piece = arg;
    struct crew__pfor *pf = piece->pf;
    size_t lo = piece->lo, hi = piece->hi;
    crew__block_free(piece);
    return crew__pfor_range(pf, lo, hi);
}

int crew_parallel_for(crew_pool *p, size_t begin, size_t end, size_t grain, crew_range_fn body,
                      void *ctx, int *task_error)
{
    if (!p || !body || begin > end)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    if (begin == end)
        return 0;
    struct crew__pfor pf;
    int rc = crew_group_init(&pf.group, p);
    if (rc)
        return rc;
    pf.body = body;
    pf.ctx = ctx;
    if (grain == 0) {
        /* About 8 pieces per worker: len / pieces rounded up, written so
         * that a length near SIZE_MAX does not wrap. */
        size_t pieces = (size_t)crew__pool_max_workers(p) * 8;
        size_t len = end - begin;
        grain = len / pieces + (len % pieces != 0);
    }
    pf.grain = grain ? grain : 1;
    crew__worker *self = crew__self;
    if (self && self->pool == p) {
        int brc = crew__pfor_range(&pf, begin, end);
        if (brc) {
            int zero = 0;
            atomic_compare_exchange_strong_explicit(&crew__gi(&pf.group)->error, &zero, brc,
                                                    memory_order_relaxed, memory_order_relaxed);
            atomic_fetch_or_explicit(&crew__gi(&pf.group)->flags, CREW__GF_FAILED,
                                     memory_order_release);
        }
    } else {
        /* From outside: the whole range is one job; workers split it. */
        struct crew__pfor_piece *piece = crew__block_alloc();
        if (!piece)
            return CREW_ENOMEM;
        piece->pf = &pf;
        piece->lo = begin;
        piece->hi = end;
        rc = crew__group_spawn(&pf.group, crew__pfor_job, piece, crew__block_free);
        if (rc) {
            crew__block_free(piece);
            return rc;
        }
    }
    return crew_group_wait(&pf.group, task_error);
}
