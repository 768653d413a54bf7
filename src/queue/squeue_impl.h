/* squeue_impl.h - internal: the layout of crew_squeue (squeue.c), so
 * tests can observe its state (e.g. how many getters are blocked).  The
 * design is described at the top of squeue.c and in README.md.
 *
 * Protection legend: A atomic (the comment names the RMWs and orders),
 * L under cons_mu (the consumers' private list). */
#ifndef CREW_SRC_QUEUE_SIMPLE_H
#define CREW_SRC_QUEUE_SIMPLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "crew/squeue.h"
#include "base/sys.h" /* CREW__CACHE_LINE */

#define SNODE_ALLOCATED 1u /* node came from crew_squeue_put's malloc */

struct crew_squeue {
    /* The producers' stack: CAS by producers (seq_cst), exchange by a
     * consumer holding cons_mu. */
    _Alignas(CREW__CACHE_LINE) _Atomic(crew_snode *) top;
    /* Items put minus items gotten, for size/empty: fetch_add by producers
     * (after their push), fetch_sub by consumers (relaxed: a snapshot). */
    _Atomic int64_t count;

    /* Consumers registered to sleep (RMW by consumers, seq_cst load by
     * producers) and the futex word they sleep on (bumped by wakers). */
    _Alignas(CREW__CACHE_LINE) _Atomic uint32_t waiters;
    _Atomic uint32_t word;
    /* Threads inside a blocking get (destroy refuses while non-zero). */
    _Atomic uint32_t blocked;

    /* Consumers' side. */
    _Alignas(CREW__CACHE_LINE) pthread_mutex_t cons_mu;
    crew_snode *list_head; /* cons_mu: oldest first */
    crew_snode *list_tail; /* cons_mu */
};

#endif
