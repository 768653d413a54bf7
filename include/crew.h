/*
 * crew.h - parcel out work among a bunch of worker threads.
 *
 * One include for the whole library:
 *   crew/error.h   error codes, crew_strerror, the monotonic clock
 *   crew/queue.h   Queue / LifoQueue / PriorityQueue with task_done, join, shutdown
 *   crew/squeue.h  SimpleQueue: lock-free, async-signal-safe put
 *   crew/pool.h    the executor: worker pool, submit, shutdown, stats
 *   crew/future.h  futures, wait, as_completed
 *   crew/map.h     Executor.map with bounded tasks in flight
 *   crew/group.h   fork-join task groups and parallel_for
 */
#ifndef CREW_H
#define CREW_H

#include "crew/error.h"
#include "crew/queue.h"
#include "crew/squeue.h"
#include "crew/pool.h"
#include "crew/future.h"
#include "crew/map.h"
#include "crew/group.h"

#define CREW_VERSION_MAJOR 0
#define CREW_VERSION_MINOR 1
#define CREW_VERSION_PATCH 0

#endif /* CREW_H */
