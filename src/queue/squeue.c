/* squeue.c - crew_squeue, Python's SimpleQueue: lock-free, reentrant put.
 *
 * Producers push nodes onto a Treiber stack (`top`) with one CAS: no lock,
 * no allocation (put_node), nothing a signal handler could deadlock on.  A
 * push that is interrupted between its load of top and its CAS by another
 * push (another thread, or a signal handler on the same thread) just sees its
 * CAS fail and retries, so put is reentrant.  Pushing only (the consumer
 * never pops single nodes off `top`) makes the stack immune to ABA: a CAS
 * that succeeds installs node->next == the current top, whatever happened
 * to that node before.
 *
 * Consumers, under `cons_mu` (consumers only; producers never touch it), own
 * a private FIFO list.  When it is empty they take the whole stack with one
 * exchange and reverse it onto the list.  Every node in the list was pushed
 * before every node still on the stack, so items leave in push order: the
 * order of the successful CASes on top.
 *
 * Sleeping: consumers sleep on a futex word (not a condvar: the waker may
 * be a signal handler), through crew__wait_word_blocking (sched/sched.h):
 * a crew task blocked in get runs no other task (a replacement worker runs
 * its pool's queued work).  A consumer registers in `waiters` (seq_cst), reads
 * `word`, re-checks `top`, and sleeps only if the stack is still empty; a
 * producer loads `waiters` after its seq_cst CAS on top and, if anyone is
 * registered, bumps `word` and calls futex wake.  Those seq_cst operations
 * pair up as in ring_fifo.c (README.md), so no wake-up is lost.
 */
#include "crew/squeue.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/platform.h"
#include "queue/squeue_impl.h"
#include "sched/sched.h"
#include "base/sys.h"

#define SQ_SPINS 16 /* retries (with a short pause) before a consumer sleeps */

int crew_squeue_create(crew_squeue **out)
{
    if (!out)
        return CREW_EINVAL;
    crew_squeue *q = crew__alloc_lines(sizeof(crew_squeue));
    if (!q)
        return CREW_ENOMEM;
    atomic_init(&q->top, NULL);
    atomic_init(&q->count, 0);
    atomic_init(&q->waiters, 0);
    atomic_init(&q->word, 0);
    atomic_init(&q->blocked, 0);
    if (pthread_mutex_init(&q->cons_mu, NULL) != 0) {
        crew__free(q);
        return CREW_ENOMEM;
    }
    q->list_head = q->list_tail = NULL;
    *out = q;
    return 0;
}

/* Moves the whole stack, reversed, onto the end of the private list
 * (cons_mu held). */
static void take_stack(crew_squeue *q)
{
    /* Acquire pairs with the producers' seq_cst CAS: their node writes are
     * visible.  (seq_cst also orders it in the sleep/wake pairing.) */
    crew_snode *n = atomic_exchange_explicit(&q->top, NULL, memory_order_seq_cst);
    crew_snode *rev = NULL, *last = n;
    while (n) {
        crew_snode *next = n->next_;
        n->next_ = rev;
        rev = n;
        n = next;
    }
    if (!rev)
        return;
    if (q->list_tail)
        q->list_tail->next_ = rev;
    else
        q->list_head = rev;
    q->list_tail = last;
    last->next_ = NULL;
}

int crew_squeue_destroy(crew_squeue *q, void (*drop)(void *item, void *ctx), void *ctx)
{
    if (!q)
        return CREW_EINVAL;
    if (atomic_load_explicit(&q->blocked, memory_order_seq_cst) != 0)
        return CREW_EBUSY;
    take_stack(q);
    crew_snode *n = q->list_head;
    while (n) {
        /* Read everything we need before drop: the caller may free a
         * caller-provided node once its item has been dropped. */
        crew_snode *next = n->next_;
        void *item = n->item_;
        if (n->flags_ & SNODE_ALLOCATED)
            crew__free(n);
        if (drop)
            drop(item, ctx);
        n = next;
    }
    pthread_mutex_destroy(&q->cons_mu);
    crew__free(q);
    return 0;
}

/* Async-signal-safe: atomics on lock-free types and a futex system call. */
static void push(crew_squeue *q, crew_snode *node)
{
    crew_snode *old = atomic_load_explicit(&q->top, memory_order_relaxed);
    do {
        node->next_ = old;
        /* seq_cst: releases the node's fields to the consumer's exchange,
         * and is the publish half of the Dekker pair with a consumer that
         * registers in waiters and then re-checks top. */
    } while (!atomic_compare_exchange_weak_explicit(&q->top, &old, node, memory_order_seq_cst,
                                                    memory_order_relaxed));
    atomic_fetch_add_explicit(&q->count, 1, memory_order_relaxed);
    /* Pairs with the consumer's seq_cst fetch_add on waiters. */
    if (atomic_load_explicit(&q->waiters, memory_order_seq_cst) != 0) {
        atomic_fetch_add_explicit(&q->word, 1, memory_order_seq_cst);
        crew__futex_wake(&q->word, 1);
    }
}

int crew_squeue_put(crew_squeue *q, void *item)
{
    if (!q)
        return CREW_EINVAL;
    crew_snode *n = crew__malloc(sizeof *n);
    if (!n)
        return CREW_ENOMEM;
    n->item_ = item;
    n->flags_ = SNODE_ALLOCATED;
    push(q, n);
    return 0;
}

int crew_squeue_put_node(crew_squeue *q, crew_snode *node, void *item)
{
    if (!q || !node)
        return CREW_EINVAL;
    node->item_ = item;
    node->flags_ = 0;
    push(q, node);
    return 0;
}

/* Takes the oldest item if there is one.  Returns 0 or CREW_EEMPTY. */
static int try_take(crew_squeue *q, void **item)
{
    crew_snode *n;
    pthread_mutex_lock(&q->cons_mu);
    if (!q->list_head)
        take_stack(q);
    n = q->list_head;
    if (n) {
        q->list_head = n->next_;
        if (!q->list_head)
            q->list_tail = NULL;
    }
    pthread_mutex_unlock(&q->cons_mu);
    if (!n)
        return CREW_EEMPTY;
    /* The node is ours alone now; read it before handing it back. */
    *item = n->item_;
    if (n->flags_ & SNODE_ALLOCATED)
        crew__free(n);
    atomic_fetch_sub_explicit(&q->count, 1, memory_order_relaxed);
    return 0;
}

static int get_until(crew_squeue *q, void **item, int64_t deadline)
{
    if (try_take(q, item) == 0)
        return 0;
    atomic_fetch_add_explicit(&q->blocked, 1, memory_order_seq_cst);
    int rc;
    for (unsigned spins = 0;; spins++) {
        if (try_take(q, item) == 0) {
            rc = 0;
            break;
        }
        if (deadline != CREW__FOREVER && crew_now_ns() >= deadline) {
            rc = CREW_ETIMEDOUT;
            break;
        }
        if (spins < SQ_SPINS) {
            crew__backoff_spins(spins, SQ_SPINS, 2);
            continue;
        }
        /* Register, read the word, re-check (the private list too: another
         * consumer may have moved items there), and sleep only if there is
         * still nothing.  try_take's seq_cst exchange on top is the re-check
         * half of the Dekker pair with push. */
        atomic_fetch_add_explicit(&q->waiters, 1, memory_order_seq_cst);
        uint32_t w = atomic_load_explicit(&q->word, memory_order_seq_cst);
        if (try_take(q, item) == 0) {
            atomic_fetch_sub_explicit(&q->waiters, 1, memory_order_seq_cst);
            rc = 0;
            break;
        }
        crew__wait_word_blocking(&q->word, w, deadline);
        atomic_fetch_sub_explicit(&q->waiters, 1, memory_order_seq_cst);
    }
    atomic_fetch_sub_explicit(&q->blocked, 1, memory_order_seq_cst);
    return rc;
}

int crew_squeue_get(crew_squeue *q, void **item)
{
    if (!q || !item)
        return CREW_EINVAL;
    return get_until(q, item, CREW__FOREVER);
}

int crew_squeue_try_get(crew_squeue *q, void **item)
{
    if (!q || !item)
        return CREW_EINVAL;
    return try_take(q, item);
}

int crew_squeue_get_timed(crew_squeue *q, void **item, int64_t timeout_ns)
{
    if (!q || !item || timeout_ns < 0)
        return CREW_EINVAL;
    return get_until(q, item, crew__deadline_after(timeout_ns));
}

int crew_squeue_get_until(crew_squeue *q, void **item, int64_t deadline_ns)
{
    if (!q || !item)
        return CREW_EINVAL;
    return get_until(q, item, deadline_ns);
}

size_t crew_squeue_size(const crew_squeue *q)
{
    if (!q)
        return 0;
    int64_t n = atomic_load_explicit(&q->count, memory_order_relaxed);
    return n > 0 ? (size_t)n : 0;
}

bool crew_squeue_empty(const crew_squeue *q)
{
    return crew_squeue_size(q) == 0;
}
