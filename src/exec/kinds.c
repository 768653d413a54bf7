/* kinds.c - the kinds of task the scheduler runs (sched/task.h), indexed by
 * the kind bits of a task's word: the executor knows every kind, the
 * scheduler none but its own (inline entries of submission rings). */
#include "exec/future.h"
#include "exec/group_impl.h"
#include "sched/sched.h"

_Static_assert(CREW__KIND_JOB != CREW__KIND_INLINE && CREW__KIND_FUTURE != CREW__KIND_INLINE &&
                   CREW__KIND_JOB != CREW__KIND_FUTURE && CREW__KIND_FUTURE < CREW__KINDS,
               "one kind number per kind");

const crew__task_ops *const crew__task_kinds[CREW__KINDS] = {
    [CREW__KIND_JOB] = &crew__job_ops,
    [CREW__KIND_INLINE] = &crew__inline_ops,
    [CREW__KIND_FUTURE] = &crew__future_ops,
};
