/* fault.h - internal, tests only: making crew's own system calls fail.
 *
 * In a build with CREW_FAULTS (cmake -DCREW_FAULTS=ON) the wrappers of
 * sys.h count every call of the armed kinds, and the one numbered fail_at
 * (from 1, counting from the arming) fails as the real call would when out
 * of resources: NULL for the allocators and the mapping, EAGAIN for
 * pthread_create.  One failure per arming; later calls succeed.  A driver
 * arms with fail_at = 1, 2, 3, ... until a run sees no failure, so every
 * call site fails once (tests/faults/).  Only crew's own calls are counted,
 * never the rest of the process.
 *
 * thread_delay makes the thread that starts a thread sleep that long after
 * pthread_create returned: the new worker then runs (and may go idle and
 * retire) before its starter goes on, which is how a submit that races with
 * a retiring worker is reproduced.
 *
 * The settings are process-wide atomics; arm them while no crew call runs.
 */
#ifndef CREW_SRC_FAULT_H
#define CREW_SRC_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#define CREW__FAULT_ALLOC 0x1u  /* crew__malloc, crew__calloc, crew__alloc_lines */
#define CREW__FAULT_MAP 0x2u    /* crew__map_region */
#define CREW__FAULT_THREAD 0x4u /* crew__thread_create */
#define CREW__FAULT_ALL 0x7u
#define CREW__FAULT_FENCE 0x8u  /* crew__membarrier_expedited (not in ALL) */

/* Starts counting calls of `kinds` from zero; call number fail_at fails
 * (0: none fails). */
void crew__fault_arm(unsigned kinds, uint64_t fail_at);

/* As crew__fault_arm, but every call from number first on fails (resources
 * that stay exhausted). */
void crew__fault_arm_from(unsigned kinds, uint64_t first);

/* Calls of the armed kinds since the arming. */
uint64_t crew__fault_calls(void);

/* True once the armed failure happened. */
bool crew__fault_fired(void);

/* Whoever starts a thread sleeps us microseconds after (0: none). */
void crew__fault_thread_delay(unsigned us);

/* The failing call sleeps us microseconds before it fails (0: none): the
 * work a public call queued before it met the failure gets time to run. */
void crew__fault_fail_delay(unsigned us);

/* Pause points: places in crew's code where a thread sleeps a while in a
 * CREW_FAULTS build, to open a race window that is otherwise a few
 * instructions wide.  crew__fault_pause_set(point, us) arms one (0: off).
 *   CREW__PAUSE_RETIRE  a retiring worker, before it drops out of the live
 *                       count and again after, before its last look for
 *                       work: a task submitted in the first sleep is queued
 *                       for it, one in the second finds no worker alive
 *                       (fault_retire_order)
 *   CREW__PAUSE_START   a submit that will start a thread for its own task,
 *                       before it takes the pool's lock: a shutdown can
 *                       run meanwhile (fault_shutdown_start)
 *   CREW__PAUSE_FIRST_LOOK  a new worker without a task of its own (counted
 *                       as spinning), before its first look for work
 *   CREW__PAUSE_SURPLUS a worker still counted as spinning that found the
 *                       pool over its limit, before it stops counting and
 *                       leaves: a submit meanwhile relies on it
 *                       (fault_surplus_spinner)
 *   CREW__PAUSE_SPIN    each round of an idle worker's spin, before it
 *                       looks: stretches the spin phase (fault_surplus_spin)
 *   CREW__PAUSE_FILLED  a worker that moved entries from a ring into its
 *                       batch, before it takes the first: other workers
 *                       may take them all meanwhile (fault_batch_stolen) */
enum {
    CREW__PAUSE_RETIRE,
    CREW__PAUSE_START,
    CREW__PAUSE_FIRST_LOOK,
    CREW__PAUSE_SURPLUS,
    CREW__PAUSE_SPIN,
    CREW__PAUSE_FILLED,
    CREW__PAUSE_POINTS
};
void crew__fault_pause_set(unsigned point, unsigned us);

#if defined(CREW_FAULTS)
void crew__fault_pause(unsigned point);
#define CREW__FAULT_PAUSE(point) crew__fault_pause(point)
#else
#define CREW__FAULT_PAUSE(point) ((void)0)
#endif

/* How often a worker blocked in a helping wait looks for work on its own
 * (pool.c, CREW__RECHECK_NS): a test lengthens it to show that a case does
 * not depend on that look. */
extern int64_t crew__blocked_recheck_ns;

#endif
