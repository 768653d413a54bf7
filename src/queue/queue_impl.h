/* queue_impl.h - internal: the layout of crew_queue and the interface between
 * queue.c (public API, argument checks, task_done/join) and the two
 * implementations behind it:
 *
 *   ring_fifo.c     the bounded FIFO: a lock-free ring of sequence-numbered
 *                   slots (Vyukov's bounded MPMC queue) with futex sleeping.
 *   locked.c        LIFO, PRIORITY and unbounded FIFO (and bounded FIFOs too
 *                   large to preallocate, or of maxsize 1): one mutex and
 *                   two futex words.
 *
 * The protocols (slot sequence numbers, the wait/wake eventcount, the
 * shutdown bits, join, changing maxsize and the ring's move to the locked
 * store) are written up in README.md.
 *
 * Protection legend: every field of the ring is atomic (A) and says which
 * RMWs and orders touch it; the locked kinds' fields are under their mutex
 * (L: mu) except the futex words and counters marked A; configuration is
 * immutable after create (I) except maxsize and the ring's bound, which
 * only crew_queue_set_maxsize writes (under locked.mu, read atomically
 * without it), and ring_impl, which a move to the locked store clears once.
 *
 * Lock order: locked.mu is the only queue lock.  It also serializes the
 * calls that change the representation or its bound: crew_queue_set_maxsize
 * and, while the queue is a ring, the ring's shutdown (README.md, section 10).
 *
 * Blocking calls reach an implementation as (wait, deadline): wait == false is
 * the try_ form (CREW_EFULL / CREW_EEMPTY when it cannot proceed at once);
 * wait == true blocks until deadline (absolute, crew_now_ns; CREW__FOREVER for
 * none) and then returns CREW_ETIMEDOUT.  A negative relative timeout has
 * its own calls, which answer as Python does: shutdown and boundedness are
 * checked before the timeout is rejected (README.md, "Order of checks").
 *
 * A ring put or get that finds the ring moved to the locked store makes
 * the same call on the locked store (whose mutex the move holds until it is
 * done); the ring's other calls return CREW__QMOVED to queue.c instead.
 */
#ifndef CREW_SRC_QUEUE_IMPL_H
#define CREW_SRC_QUEUE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crew/queue.h"
#include "base/sys.h"


/* One slot of the ring.  seq says what the slot holds (README.md):
 *   seq == pos          free, for the producer that claims position pos
 *   seq == pos + 1      holds the item put at position pos
 *   seq == pos + cap    consumed; free for position pos + cap
 * item is written by the producer that claimed the slot before it publishes
 * seq = pos + 1 (release) and read by the consumer that claimed it after it
 * saw that seq (acquire). */
struct crew__qslot {
    _Atomic uint64_t seq;
    void *item;
};

/* Bits above every position in tail and head.  Positions stay below 2^60
 * (36 years at one item per nanosecond).  Bit 63 (ATTN) is set whenever
 * any of the others is, so the fast paths test one sign bit, as they would
 * for a lone shutdown bit, and look at the others only when it is set. */
#define CREW__QATTN (UINT64_C(1) << 63)
#define CREW__QTAIL_SHUT (UINT64_C(1) << 62) /* in tail: shut down, puts fail */
#define CREW__QHEAD_DROP (UINT64_C(1) << 62) /* in head: immediate shutdown */
/* In tail and head: the ring moved to the locked store (set_maxsize with a
 * bound above the ring's capacity, or 0); no claim on the ring succeeds. */
#define CREW__QMOVED_BIT (UINT64_C(1) << 61)
/* In tail: q->bound is below cap; puts check it against head. */
#define CREW__QTAIL_LIMITED (UINT64_C(1) << 60)
#define CREW__QPOS(x) ((x) & ((UINT64_C(1) << 60) - 1))

/* What a ring call returns when the ring has moved (not a crew error). */
#define CREW__QMOVED (-1001)

/* The lock-free bounded FIFO (ring_fifo.c).  Each hot counter has its own
 * cache line so producers and consumers do not slow each other down. */
struct crew__qring {
    /* Next position to put, with the bits above.  Written only by CAS
     * (seq_cst) in producers and set_maxsize, and fetch_or (seq_cst) in
     * shutdown, a move and set_maxsize; read by everyone. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t tail;
    /* Next position to get.  Written only by CAS (seq_cst) in consumers,
     * fetch_or (seq_cst) by an immediate shutdown or a move, and a store by
     * the thread that drains after an immediate shutdown. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t head;
    /* Consumers registered to sleep (RMW by consumers, read by producers)
     * and the futex word they sleep on (bumped by whoever wakes them). */
    _Alignas(CREW__CACHE_LINE) _Atomic uint32_t cons_waiters;
    _Atomic uint32_t cons_word;
    /* The same for producers waiting for a free slot. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint32_t prod_waiters;
    _Atomic uint32_t prod_word;
};

/* One entry of the locked store: the item and its insertion number (the
 * tie-break that makes PRIORITY stable). */
struct crew__qentry {
    void *item;
    uint64_t seq;
};

/* The locked kinds (locked.c).  Every field is protected by mu except
 * the atomics, which are also written under mu but read without it.
 * Every queue has one: a ring uses only its mu (to serialize set_maxsize
 * and shutdown) until it moves here. */
struct crew__qlocked {
    pthread_mutex_t mu;
    /* Futex words getters / putters sleep on (crew__wait_word): bumped
     * under mu after items are added / removed, read under mu before a
     * waiter unlocks to sleep, so no wake-up falls in between. */
    _Atomic uint32_t not_empty;
    _Atomic uint32_t not_full;
    struct crew__qentry *buf; /* mu: FIFO ring / LIFO stack / PRIORITY heap */
    size_t cap;               /* mu: entries allocated in buf */
    size_t first;             /* mu: FIFO only: index of the oldest entry */
    size_t count;             /* mu: entries held */
    uint64_t next_seq;        /* mu: insertion number of the next put */
    unsigned getters_waiting; /* mu: threads sleeping on not_empty */
    unsigned putters_waiting; /* mu: threads sleeping on not_full */
    bool shut;                /* mu: shut down */
    _Atomic uint64_t puts;    /* written under mu (relaxed RMW + seq_cst);
                                 read by join/task_done without mu */
    _Atomic size_t size;      /* mirror of count for crew_queue_size */
    _Atomic bool shut_flag;   /* mirror of shut for crew_queue_is_shutdown */
};

struct crew_queue {
    /* Read-mostly: read by every call, written only by set_maxsize and
     * shutdown, so this line stays shared in every cache. */
    /* true: the ring (ring); false: the locked store (locked).  Cleared
     * once, under locked.mu, by a move of the ring (release, after the
     * locked store holds the ring's items and count of puts; loads are
     * acquire). */
    _Atomic bool ring_impl;
    crew_queue_kind kind; /* I */
    /* A (written under locked.mu, relaxed): Python's maxsize, 0 unbounded. */
    _Atomic size_t maxsize;
    /* A, ring only: the bound puts respect, 1..cap; equal to maxsize while
     * the queue is a ring that is not shut down.  Written under locked.mu
     * (seq_cst: pairs with a sleeping producer's re-check, README.md
     * section 10).  Below cap, LIMITED is set in tail (after the store), so
     * the put fast path, which sees no ATTN bit, never reads it. */
    _Atomic uint64_t bound;
    crew_compare_fn compare;
    void *compare_ctx;
    crew_drop_fn drop;
    void *drop_ctx;
    struct crew__qslot *slots; /* ring only: cap slots, freed by destroy */
    uint64_t cap;              /* ring only: the maxsize given at create */
    uint64_t mask;             /* ring only: cap - 1 when cap is a power of 2 */
    bool pow2;                 /* ring only */
    /* ring only: set (seq_cst) once by shutdown after SHUT is in tail, so
     * an empty get can skip reading tail.  Written once, so this line
     * stays read-mostly. */
    _Atomic bool shut_hint;

    /* task_done/join (queue.c).  done counts task_done calls plus dropped
     * items; always done <= puts (CAS in task_done and shutdown, seq_cst).
     * Joiners register in join_waiters and sleep on join_word. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t done;
    _Atomic uint32_t join_waiters;
    _Atomic uint32_t join_word;

    /* Threads inside a waiting slow path (put, get, join) of any form: RMW
     * when entering and as the last access when leaving; destroy refuses to
     * run while it is not zero. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint32_t blocked;

    /* Not a union: after a move, threads that loaded ring_impl before it
     * may still touch the ring's counters and futex words (they find the
     * MOVED bit and come to the locked store). */
    struct crew__qring ring;
    struct crew__qlocked locked;
};

/* Bounded FIFOs of 2 up to this many slots use the ring (16 bytes a slot,
 * all allocated at create); larger ones, and maxsize 1, use the locked
 * store. */
#define CREW__QRING_MAX_SLOTS (UINT64_C(1) << 22)

/* ring_fifo.c */
int crew__qring_init(crew_queue *q);
/* Frees the slots; drops what is left first unless the ring has moved. */
void crew__qring_fini(crew_queue *q);
int crew__qring_put(crew_queue *q, void *const *items, size_t n, size_t *count, bool wait,
                    int64_t deadline);
int crew__qring_get(crew_queue *q, void **items, size_t n, size_t *count, bool wait,
                    int64_t deadline);
size_t crew__qring_size(const crew_queue *q);
uint64_t crew__qring_puts(const crew_queue *q);
bool crew__qring_is_shutdown(const crew_queue *q);
/* Shuts the ring down and stores the number of items dropped (given to
 * q->drop) in *dropped; CREW__QMOVED if the ring had moved (then nothing
 * was done).  Takes locked.mu. */
int crew__qring_shutdown(crew_queue *q, bool immediate, uint64_t *dropped);
/* For a negative timeout: CREW_ESHUTDOWN or CREW_EINVAL as Python decides
 * (put: shut down; get: shut down and empty), or CREW__QMOVED. */
int crew__qring_bad_timeout(const crew_queue *q, bool put);
/* Changes maxsize (locked.mu held, ring_impl true): within the capacity the
 * bound changes in place; 0 or above it, the ring moves to the locked
 * store.  0 or CREW_ENOMEM (nothing changed). */
int crew__qring_set_maxsize(crew_queue *q, size_t maxsize);

/* locked.c */
int crew__qlocked_init(crew_queue *q);
void crew__qlocked_fini(crew_queue *q);
int crew__qlocked_put(crew_queue *q, void *const *items, size_t n, size_t *count, bool wait,
                      int64_t deadline);
int crew__qlocked_get(crew_queue *q, void **items, size_t n, size_t *count, bool wait,
                      int64_t deadline);
size_t crew__qlocked_size(const crew_queue *q);
uint64_t crew__qlocked_puts(const crew_queue *q);
bool crew__qlocked_is_shutdown(const crew_queue *q);
uint64_t crew__qlocked_shutdown(crew_queue *q, bool immediate);
/* A put / get given a negative relative timeout: the put goes in at once
 * if the queue is unbounded; otherwise CREW_ESHUTDOWN or CREW_EINVAL. */
int crew__qlocked_put_bad_timeout(crew_queue *q, void *const *items, size_t n, size_t *count);
int crew__qlocked_get_bad_timeout(crew_queue *q);
/* Changes maxsize (mu held); wakes every blocked putter if it grew. */
void crew__qlocked_set_maxsize(crew_queue *q, size_t maxsize);
/* Takes over a moved ring's items (mu held, store empty): buf holds count
 * entries in FIFO order and has room for cap; puts is the ring's count of
 * successful puts, which the store's own count continues. */
void crew__qlocked_adopt(crew_queue *q, struct crew__qentry *buf, size_t cap, size_t count,
                         uint64_t puts);

#endif
