/* pool.h - internal: the pool and its workers, shared by pool.c (the
 * scheduler), future.c and group.c.
 *
 * Design and the parking protocol: docs/SCHEDULER.md.
 */
#ifndef CREW_SRC_POOL_H
#define CREW_SRC_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "crew/pool.h"
#include "sched/deque.h"
#include "sched/inject.h"
#include "sched/subring.h"
#include "sched/task.h"
#include "base/tls.h"

/* Fields of crew_pool.counts, one 64-bit word so that a sleeper's
 * registration is a single seq_cst RMW (docs/SCHEDULER.md).  Spinning
 * workers are counted apart (crew_pool.spinning): that count changes every
 * time a busy worker runs dry, and a submit's hot path reads counts. */
#define CREW__C_SLEEP ((uint64_t)1)        /* parked idle workers */
#define CREW__C_ALIVE ((uint64_t)1 << 32)  /* worker threads that take work */
#define CREW__C_BLOCK ((uint64_t)1 << 48)  /* of those, blocked in a crew wait */
#define CREW__C_FIELD(c, unit) ((unsigned)(((c) / (unit)) & 0xffffu))

/* crew_pool.flags */
#define CREW__P_SHUTDOWN 0x1u
#define CREW__P_BROKEN 0x2u
#define CREW__P_CANCEL 0x4u   /* shutdown(cancel_pending): queued futures are dropped */
#define CREW__P_SEALED 0x8u   /* after SHUTDOWN/BROKEN: no submit is still pushing */

#define CREW__MAX_RINGS 64    /* submitting threads with a ring of their own */

/* crew__worker.slot: 0 (no thread), or RUNNING with the other bits */
#define CREW__SLOT_FREE 0u
#define CREW__SLOT_RUNNING 0x1u /* a thread runs (or is being started) here */
#define CREW__SLOT_TID 0x2u     /* thread holds its id: it may be joined */
#define CREW__SLOT_EXITED 0x4u  /* the thread has returned, or is about to */

typedef struct crew__worker {
    crew__deque dq;               /* own deque: owner pushes/pops, anyone steals */
    /* Park word (futex): 1 while parked, 0 awake.  The owner stores 1
     * (seq_cst) before registering as sleeping; whoever CASes it 1 -> 0
     * (a waker, or the owner cancelling its park) also removes the owner
     * from the sleeping count. */
    _Alignas(64) _Atomic uint32_t park;
    /* CREW__SLOT_*: FREE -> RUNNING by the starter under pool lock, which
     * then stores thread and sets TID (release); EXITED set by the thread
     * itself as its last act (release); -> FREE by whoever joins it (only
     * once TID is set: acquire), under join_lock, or by the starter if
     * the thread could not be created.  The thread may exit before its
     * starter has stored its id, so TID and EXITED are separate bits. */
    _Atomic uint32_t slot;
    _Atomic uint32_t dq_ready;    /* 1 once dq is initialised (release, under pool lock) */
    /* The future of this pool that this worker waits for, or NULL
     * (deadlock detection, future.c).  Written by the owner and read by
     * other waiters, both under the pool's deadlock_lock; the owner holds a
     * reference on the future while it is published, so a reader under the
     * lock may look at it.  Relaxed atomics for the owner's unlocked
     * "is anything published" test. */
    _Atomic(crew_future *) waiting_on;
    /* Statistics, written only by the owner (relaxed load + store), read by
     * crew_pool_get_stats. */
    _Atomic uint64_t n_started, n_completed, n_failed;
    crew_pool *pool;              /* immutable */
    unsigned index;               /* immutable */
    uint64_t rng;                 /* owner only: victim selection */
    unsigned ring_next;           /* owner only: the ring to look at first */
    uint64_t ring_tail;           /* owner only: that ring's tail as last seen */
    crew__inline inl;             /* owner only: holds the inline task it took */
    /* Batch-size control (owner only): entries moved from a ring at a time
     * (1..CREW__BATCH_CAP), and when and how many the last fill moved. */
    unsigned batch_max, batch_last;
    int64_t batch_t0;
    crew__batch batch;            /* entries moved from a ring: owner fills, anyone takes */
    unsigned looks;               /* owner only: looks past its own deque (which queue first) */
    pthread_t thread;             /* written by the starter before TID; joined under join_lock */
} crew__worker;

struct crew_pool {
    crew__inject inj;             /* submissions from outside the pool */
    /* Worker counts (CREW__C_* fields): seq_cst RMWs by workers, seq_cst
     * loads by submitters (the Dekker pattern of docs/SCHEDULER.md). */
    _Alignas(64) _Atomic uint64_t counts;
    _Atomic uint32_t wake_rr;     /* rotating start of wake scans (relaxed) */
    /* Idle workers spinning for work: seq_cst RMWs by workers, seq_cst
     * loads by wakers (docs/SCHEDULER.md). */
    _Alignas(64) _Atomic uint32_t spinning;
    /* Read-mostly line. */
    _Alignas(64) _Atomic uint32_t flags; /* CREW__P_*: set with seq_cst fetch_or, never cleared */
    /* Slots ever started: scans look at workers[0..nslots).  Grows under
     * lock (release store); read with acquire. */
    _Atomic uint32_t nslots;
    /* Statistics (relaxed RMW; only counted, never used for decisions). */
    _Alignas(64) _Atomic uint64_t submitted, cancelled, broken, unobserved;
    _Atomic uint32_t refs;        /* the user's reference + one per failed future pending release */
    /* Configuration: immutable after create. */
    unsigned max_workers;         /* workers that may take work at once */
    unsigned max_slots;           /* thread slots (workers + replacements for blocked ones) */
    unsigned spin_limit;          /* most workers spinning at once */
    int64_t idle_timeout_ns;      /* < 0: never retire */
    char name[11];
    crew_init_fn init;
    void *init_ctx;
    crew_unobserved_fn unobserved_fn;
    void *unobserved_ctx;
    uint64_t fork_gen;            /* crew__fork_generation at create */
    pthread_mutex_t lock;         /* protects starting threads and slot reuse */
    pthread_mutex_t join_lock;    /* serialises joins (shutdown; a starter reaping a slot) */
    pthread_mutex_t cancel_lock;  /* serialises shutdown's cancels (held_seq) */
    /* Odd while shutdown's cancel holds tasks it took off the queues and
     * has not put back or dropped yet: incremented (seq_cst, under
     * cancel_lock) before it takes the first and after it put the last
     * back.  A worker looking for work reads it before and after the
     * queues (crew__work_visible), so it never sees an empty pool while
     * tasks are out of sight. */
    _Atomic uint32_t held_seq;
    pthread_mutex_t deadlock_lock; /* serialises wait-cycle checks (future.c) */
    crew__worker *workers;        /* [max_slots], 64-byte aligned */
    /* Submission rings of threads outside the pool (ring.h): rings[i] is
     * written once under lock, before nrings grows past i (seq_cst store,
     * which crew__pool_seal's scan after its heavy fence relies on); read
     * after an acquire load of nrings.  Freed with the pool. */
    _Atomic uint32_t nrings;
    crew__ring *rings[CREW__MAX_RINGS];
};

/* The worker running on this thread (NULL outside any pool). */
extern CREW__TLS crew__worker *crew__self;

/* The isolation region the calling thread is in (crew_isolate), or 0.
 * Tasks a worker creates for its own pool carry it (crew__task.iso); a
 * wait inside a region runs only tasks of that region meanwhile; while a
 * worker runs a task, it is that task's region. */
extern CREW__TLS uintptr_t crew__iso;

/* The context of the task the calling worker runs, for its runner's use
 * (group.c: the job's group, the parent of groups created inside it), or
 * NULL.  Every runner sets it for its task and restores it after (future.c
 * clears it, group.c sets the job's group), so nothing leaks from one task
 * into another run by a helping wait inside it. */
extern CREW__TLS void *crew__task_ctx;

/* Which tasks a waiting worker may run meanwhile: fn(t, ctx) true.  NULL
 * (every task, or in an isolation region only the region's). */
typedef struct crew__accept {
    bool (*fn)(const crew__task *t, const void *ctx);
    const void *ctx;
} crew__accept;

/* True if p was created before a fork() in this (child) process. */
bool crew__pool_forked(const crew_pool *p);

/* Called after a task is pushed on the calling worker's own deque (or after
 * the injection queue got work): wakes a parked worker if one is parked and
 * none is spinning, and starts a worker if none can take the work. */
void crew__pool_notify(crew_pool *p);

/* Runs one task on the calling worker (either kind). */
void crew__run_task(crew__worker *w, crew__task *t);

/* One task to run for worker w (own deque, injection queue, steal), or NULL.
 * With acc (or inside an isolation region), only tasks acc accepts, and
 * only from w's own deque (an isolated wait); the ones on top that it does
 * not accept move to the injection queue. */
crew__task *crew__find_work(crew__worker *w, const crew__accept *acc);

/* Queues t (a future or job) from a thread that is not a worker of p, making
 * sure a worker exists.  0, CREW_ESHUTDOWN, CREW_EBROKEN, CREW_ETHREAD,
 * CREW_ENOMEM; on error t was not queued. */
int crew__pool_inject(crew_pool *p, crew__task *t);

/* crew__wait_word, but an isolated wait: only tasks acc accepts are run
 * meanwhile. */
int crew__wait_word_isolated(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns,
                             const crew__accept *acc);

/* Withdraws the calling worker's published wait (future.c), if any: it is
 * about to run another task, and waits for nothing meanwhile. */
void crew__withdraw_wait(crew__worker *self);

/* Pool references held by failed futures (for the unobserved hook). */
void crew__pool_retain(crew_pool *p);
void crew__pool_release(crew_pool *p);

/* Statistics hooks for future.c. */
void crew__pool_count_unobserved(crew_pool *p, int task_error);

#endif
