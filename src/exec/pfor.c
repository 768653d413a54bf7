/* pfor.c - crew_parallel_for: a range split in halves into the jobs of one
 * group, recursively, until a piece is at most grain long (README.md,
 * "Fork-join").  Each piece descriptor is one task block; a piece that is
 * skipped (the group failed) frees its own through the job's skip hook. */
#include "base/alloc.h"
#include "exec/group_impl.h"
#include "sched/sched.h"

struct pfor {
    crew_group group;   /* every piece is a job of this group */
    crew_range_fn body;
    void *ctx;
    size_t grain;
};

/* One piece of work: a range, in a block of its own. */
struct piece {
    struct pfor *pf;
    size_t lo, hi;
};

static int pfor_job(void *arg);

/* Splits [lo, hi) in halves, spawning the upper halves, until a piece is at
 * most grain long, then runs the body on it. */
static int pfor_range(struct pfor *pf, size_t lo, size_t hi)
{
    while (hi - lo > pf->grain) {
        size_t mid = lo + (hi - lo) / 2;
        struct piece *piece = crew__block_alloc();
        if (!piece)
            break; /* out of memory: run the rest here */
        piece->pf = pf;
        piece->lo = mid;
        piece->hi = hi;
        int rc = crew__group_spawn(&pf->group, pfor_job, piece, crew__block_free);
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

static int pfor_job(void *arg)
{
    struct piece *piece = arg;
    struct pfor *pf = piece->pf;
    size_t lo = piece->lo, hi = piece->hi;
    crew__block_free(piece);
    return pfor_range(pf, lo, hi);
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
    struct pfor pf;
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
        int brc = pfor_range(&pf, begin, end);
        if (brc)
            crew__group_fail(crew__gi(&pf.group), brc);
    } else {
        /* From outside: the whole range is one job; workers split it. */
        struct piece *piece = crew__block_alloc();
        if (!piece)
            return CREW_ENOMEM;
        piece->pf = &pf;
        piece->lo = begin;
        piece->hi = end;
        rc = crew__group_spawn(&pf.group, pfor_job, piece, crew__block_free);
        if (rc) {
            crew__block_free(piece);
            return rc;
        }
    }
    return crew_group_wait(&pf.group, task_error);
}
