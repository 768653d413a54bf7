/* group_impl.h - internal: the private layout behind crew_group and its
 * jobs, shared by group.c, pfor.c (parallel_for) and kinds.c.
 *
 * Protection legend:
 *   I  immutable after crew_group_init / the spawn
 *   A  atomic (orders at each field)
 */
#ifndef CREW_SRC_EXEC_GROUP_IMPL_H
#define CREW_SRC_EXEC_GROUP_IMPL_H

#include <stdatomic.h>
#include <stdint.h>

#include "crew/group.h"
#include "sched/task.h"

typedef struct crew__group_impl crew__group_impl;

/* A job: one task record of kind CREW__KIND_JOB (exec/future.h). */
typedef struct crew__job {
    crew__task hdr;           /* Q: link; I: kind, region */
    crew_job_fn fn;           /* I */
    void *arg;                /* I */
    crew__group_impl *group;  /* I: the group it belongs to (outlives the job) */
    void (*skip)(void *arg);  /* I: called instead of fn when skipped (may be NULL) */
} crew__job;

/* The private layout behind crew_group (caller storage, usually a stack
 * frame). */
struct crew__group_impl {
    crew_pool *pool;          /* I */
    /* A: futex word: jobs spawned and not finished (low 31 bits) and
     * CREW__GS_WAITER.  Spawners add, runners subtract (acq_rel); a
     * runner's decrement is its last access to the group (the group may
     * live on the waiter's stack), the wake that may follow is a system
     * call on the address only. */
    _Atomic uint32_t state;
    _Atomic uint32_t flags;   /* A: CREW__GF_*: fetch_or (release) by runners and cancel */
    _Atomic int error;        /* A: first failing job's status (first CAS from 0 wins) */
    /* I: the group of the job that created this one (isolation), or NULL. */
    crew__group_impl *parent;
};

#define CREW__GS_WAITER 0x80000000u /* a waiter may sleep on state: wake it */
#define CREW__GS_COUNT 0x7fffffffu
#define CREW__GF_FAILED 0x1u
#define CREW__GF_CANCELLED 0x2u
#define CREW__GF_BROKEN 0x4u    /* a job was dropped because the pool broke */

static inline crew__group_impl *crew__gi(crew_group *g)
{
    return (crew__group_impl *)(void *)g;
}

/* crew_group_spawn with a function that receives arg if the job is
 * skipped (the group failed or was cancelled first), so arg never leaks. */
int crew__group_spawn(crew_group *g, crew_job_fn fn, void *arg, void (*skip)(void *));

/* Marks g failed with status rc (the first status wins). */
void crew__group_fail(crew__group_impl *g, int rc);

/* The kind's operations (kinds.c). */
extern const crew__task_ops crew__job_ops;

#endif
