/* future_create.c - futures completed by their creator (Python's Future()
 * with set_result, set_exception and set_running_or_notify_cancel).
 *
 * A created future (pool NULL) goes PENDING -> RUNNING (optional, by
 * set_running_or_notify_cancel) -> DONE by set_result or set_error, or
 * PENDING -> CANCELLED by crew_future_cancel.  Completing is two steps: a
 * CAS that sets SETTING (one completer wins; cancel sees the future as no
 * longer pending, as if it came after), the stores of result and error,
 * then the CAS to DONE (release), as a runner does. */
#include "base/alloc.h"
#include "exec/future.h"
#include "sched/sched.h"

int crew_future_create(crew_future **out, crew_cleanup_fn free_result)
{
    if (!out)
        return CREW_EINVAL;
    crew_future *f = crew__block_alloc();
    if (!f)
        return CREW_ENOMEM;
    atomic_init(&f->hdr.next, NULL); /* no runner: never part of a wait cycle */
    atomic_init(&f->hdr.word, CREW__KIND_BITS(CREW__KIND_FUTURE) | CREW_FUTURE_PENDING);
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
    uint32_t old = crew__future_leave_pending(f, CREW_FUTURE_RUNNING, &ok);
    if (ok) {
        if (old & CREW__FS_WAITERS)
            crew__wake_word(&f->hdr.word);
        return 0;
    }
    /* Cancel already woke the waiters and ran the callbacks. */
    return crew__fstate(old) == CREW_FUTURE_CANCELLED ? CREW_ECANCELLED : CREW_ESTATE;
}

/* set_result (task_error 0) and set_error. */
static int future_complete(crew_future *f, void *result, int task_error)
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
    crew__future_after_transition(f, s);
    crew_future_release(f);
    return 0;
}

int crew_future_set_result(crew_future *f, void *result)
{
    return future_complete(f, result, 0);
}

int crew_future_set_error(crew_future *f, int task_error, void *result)
{
    if (task_error == 0)
        return CREW_EINVAL;
    return future_complete(f, result, task_error);
}

