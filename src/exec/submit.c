/* submit.c - crew_pool_submit and crew_pool_submit_ex: a task becomes a
 * future record (or, detached without cleanup, no record at all) and goes
 * to the scheduler (sched.h).  The detached path is the hot one: from a
 * thread outside the pool it is one push on the thread's submission ring. */
#include "base/alloc.h"
#include "exec/future.h"
#include "sched/sched.h"

int crew_pool_submit(crew_pool *p, crew_task_fn fn, void *arg, crew_future **out)
{
    return crew_pool_submit_ex(p, fn, arg, NULL, out);
}

int crew_pool_submit_ex(crew_pool *p, crew_task_fn fn, void *arg, crew_cleanup_fn cleanup,
                        crew_future **out)
{
    if (!p || !fn)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    int rc = crew__pool_state_error(p);
    if (rc)
        return rc;
    crew__worker *self = crew__self;
    bool inside = self && self->pool == p;
    if (!out && !cleanup && !inside) {
        /* No record: the entry (fn, arg) itself goes on our ring. */
        rc = crew__sched_push_inline(p, fn, arg);
        if (rc != CREW__NEEDS_BLOCK)
            return rc;
    }
    crew_future *f = crew__block_alloc();
    if (!f)
        return CREW_ENOMEM;
    atomic_init(&f->hdr.next, NULL);
    atomic_init(&f->hdr.word, CREW__KIND_BITS(CREW__KIND_FUTURE) | CREW__TASK_COUNTED |
                                  CREW_FUTURE_PENDING | (out ? 0 : CREW__FS_DETACHED));
    /* The caller's reference, if a future is handed out, and the pool's. */
    atomic_init(&f->hdr.aux, out ? 2u : 1u);
    f->hdr.iso = inside ? crew__iso : 0;
    f->u1.fn = fn;
    f->u3.arg = arg;
    f->u2.cleanup = cleanup;
    f->pool = p;
    f->cbs = NULL;
    rc = crew__sched_push(p, &f->hdr);
    if (rc) {
        crew__block_free(f);
        return rc;
    }
    if (out)
        *out = f;
    return 0;
}
