/* pool.h - internal: the layout of a pool and its workers, shared by the
 * scheduler's files (src/sched/) and read by the executor layer through
 * sched.h.  Design, glossary and the parking protocol: src/sched/README.md.
 *
 * Protection legend (each shared field says which):
 *   I   immutable after crew_pool_create (or after the slot was published)
 *   O   the owning worker's thread only
 *   A   atomic; the comment names the orders and what they pair with
 *   L   under p->lock          (starting threads, claiming slots and rings)
 *   J   under p->join_lock     (joining threads)
 *   C   under p->cancel_lock   (shutdown's cancel)
 *   D   under p->deadlock_lock (wait-cycle checks, exec/future_wait.c)
 * Lock order: lock, then join_lock (a starter reaping an exited slot);
 * join_lock is never held while taking lock.  cancel_lock and
 * deadlock_lock are leaves: nothing else is taken while they are held.
 */
#ifndef CREW_SRC_SCHED_POOL_H
#define CREW_SRC_SCHED_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/assert.h"
#include "base/compiler.h"
#include "base/fence.h"
#include "base/sys.h"
#include "base/tls.h"
#include "crew/pool.h"
#include "sched/deque.h"
#include "sched/inject.h"
#include "sched/subring.h"
#include "sched/task.h"

/* Fields of crew_pool.counts, one 64-bit word so that a sleeper's
 * registration is a single seq_cst RMW (README.md).  Spinning workers are
 * counted apart (crew_pool.spinning): that count changes every time a busy
 * worker runs dry, and a submit's hot path reads counts.  Each field has
 * 16 bits (CREW__C_FIELD).
 *
 * SLEEP may go below zero for a moment: a parking worker stores its park
 * word before it counts itself sleeping (so that a waker that sees the
 * count finds the word), and a waker that finds the word first (shutdown
 * wakes every parked worker without looking at the count) takes the worker
 * out of the count before it is in.  So SLEEP is the top field, whose
 * borrow leaves the others alone, and the worker's own increment brings it
 * back.  ALIVE and BLOCK never go below zero (crew__counts_sub checks). */
#define CREW__C_ALIVE ((uint64_t)1)        /* worker threads that take work */
#define CREW__C_BLOCK ((uint64_t)1 << 16)  /* of those, blocked in a crew wait */
#define CREW__C_SLEEP ((uint64_t)1 << 48)  /* parked idle workers */
#define CREW__C_FIELD(c, unit) ((unsigned)(((c) / (unit)) & 0xffffu))

/* crew_pool.flags */
#define CREW__P_SHUTDOWN 0x1u
#define CREW__P_BROKEN 0x2u
#define CREW__P_CANCEL 0x4u   /* shutdown(cancel_pending): queued futures are dropped */
#define CREW__P_SEALED 0x8u   /* after SHUTDOWN/BROKEN: no submit is still pushing */

#define CREW__MAX_WORKERS 4096
#define CREW__EXTRA_SLOTS 256 /* replacements for blocked workers */
#define CREW__MAX_RINGS 64    /* submitting threads with a ring of their own */

/* crew__worker.slot: 0 (no thread), or RUNNING with the other bits */
#define CREW__SLOT_FREE 0u
#define CREW__SLOT_RUNNING 0x1u /* a thread runs (or is being started) here */
#define CREW__SLOT_TID 0x2u     /* thread holds its id: it may be joined */
#define CREW__SLOT_EXITED 0x4u  /* the thread has returned, or is about to */

/* A worker's view of one submission ring (find.c): the ring's tail and
 * its owner's retract count (crew__subring) at the worker's last look that
 * found it empty, the looks it skips after each such look in which every
 * new entry had been taken back by the owner, and how many of them remain.
 * Low 32 bits: only differences are used. */
typedef struct crew__ring_look {
    uint32_t tail, retracted;
    uint8_t skip, left;
} crew__ring_look;

typedef struct crew__worker {
    crew__deque dq;               /* A: the owner pushes and pops, anyone steals (deque.h) */
    /* A: park word (futex): 1 while parked, 0 awake.  The owner stores 1
     * (seq_cst) before registering as sleeping; whoever CASes it 1 -> 0
     * (a waker, or the owner cancelling its park) also removes the owner
     * from the sleeping count. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint32_t park;
    /* A+L+J: CREW__SLOT_*: FREE -> RUNNING by the starter under lock, which
     * then stores thread and sets TID (release); EXITED set by the thread
     * itself as its last act (release); -> FREE by whoever joins it (only
     * once TID is set: acquire), under join_lock, or by the starter if the
     * thread could not be created.  The thread may exit before its starter
     * has stored its id, so TID and EXITED are separate bits. */
    _Atomic uint32_t slot;
    /* D (A for the owner's unlocked "anything published?" test): what this
     * worker's wait published for wait-cycle detection (exec/future_wait.c),
     * or NULL. */
    _Atomic(void *) waiting_on;
    /* A (O writes, relaxed load + store; crew_pool_get_stats reads):
     * tasks started, completed, failed by this worker. */
    _Atomic uint64_t n_started, n_completed, n_failed;
    crew_pool *pool;              /* I */
    unsigned index;               /* I */
    /* O: the blocks of the jobs this worker ran last, at most
     * CREW__WORKER_BLOCKS, linked through their first word, for the jobs
     * it spawns next (sched.h, crew__worker_block_take). */
    void *blocks;
    unsigned nblocks;
    uint64_t rng;                 /* O: victim selection */
    unsigned ring_next;           /* O: the ring to look at first */
    uint64_t ring_tail;           /* O: that ring's tail as last seen */
    crew__inline inl;             /* O: holds the inline task it took */
    /* O: batch-size control: entries moved from a ring at a time
     * (1..CREW__BATCH_CAP), and when and how many the last fill moved. */
    unsigned batch_max, batch_last;
    int64_t batch_t0;
    crew__batch batch;            /* A: the owner fills, anyone takes (subring.h) */
    unsigned looks;               /* O: looks past its own deque (which queue first) */
    /* L (written by the starter before pthread_create, which publishes it
     * to the new thread), then O: the task the submit that started this
     * thread handed it, to run before it looks for work (has_first): an
     * inline entry (first_fn, first_arg) or a record (first_fn NULL). */
    bool has_first;
    crew_task_fn first_fn;
    void *first_arg;
    pthread_t thread;             /* L (written before TID), J (joined) */
    /* O: per submission ring, how this worker looks at it (find.c,
     * "Rings whose owner runs its own tasks"). */
    crew__ring_look look[CREW__MAX_RINGS];
} crew__worker;

struct crew_pool {
    crew__inject inj;             /* A: submissions from outside without a ring (inject.h) */
    /* A: worker counts (CREW__C_* fields): seq_cst RMWs by workers, seq_cst
     * loads by submitters (the Dekker pattern of README.md). */
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t counts;
    _Atomic uint32_t wake_rr;     /* A (relaxed): rotating start of wake scans */
    /* A: idle workers spinning for work: seq_cst RMWs by workers, seq_cst
     * loads by wakers (README.md). */
    _Alignas(CREW__CACHE_LINE) _Atomic uint32_t spinning;
    /* Read-mostly line. */
    /* A: CREW__P_*: set with seq_cst fetch_or, never cleared. */
    _Alignas(CREW__CACHE_LINE) _Atomic uint32_t flags;
    /* A+L: slots ever started; scans look at workers[0..nslots).  Grows
     * under lock (release store), after the slot's pointer (release);
     * read with acquire. */
    _Atomic uint32_t nslots;
    /* A (relaxed RMW; only counted, never used for decisions). */
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t submitted, cancelled, broken, unobserved;
    /* A (relaxed RMW): tasks of futures that a waiting thread outside the
     * pool ran itself (exec/future.c, crew__future_run_outside). */
    _Atomic uint64_t out_completed, out_failed;
    /* A: such runs in progress (CREW__OUT_COUNT), and CREW__OUT_WAITING
     * once a shutdown waits for them to end (seq_cst: the Dekker pattern
     * of crew__outside_begin against shutdown's flag). */
    _Atomic uint32_t out_running;
#define CREW__OUT_WAITING 0x80000000u
#define CREW__OUT_COUNT 0x7fffffffu
    /* A: the user's reference + one per claimed ring + one per failed future
     * pending release (acq_rel decrement: the last one frees). */
    _Atomic uint32_t refs;
    /* A+C: odd while shutdown's cancel holds tasks it took off the queues
     * and has not put back or dropped yet: incremented (seq_cst, under
     * cancel_lock) before it takes the first and after it put the last
     * back.  A worker looking for work reads it before and after the
     * queues (crew__work_visible), so it never sees an empty pool while
     * tasks are out of sight. */
    _Atomic uint32_t held_seq;
    unsigned max_workers;         /* I: workers that may take work at once */
    unsigned max_slots;           /* I: thread slots (workers + replacements for blocked ones) */
    unsigned spin_limit;          /* I: most workers spinning at once */
    bool workers_only;            /* I: no task runs on a waiting thread outside */
    int64_t idle_timeout_ns;      /* I: < 0: never retire */
    char name[11];                /* I */
    crew_init_fn init;            /* I */
    void *init_ctx;               /* I */
    crew_unobserved_fn unobserved_fn; /* I */
    void *unobserved_ctx;         /* I */
    uint64_t fork_gen;            /* I: crew__fork_generation at create */
    pthread_mutex_t lock;         /* starting threads, slots, rings; before join_lock */
    pthread_mutex_t join_lock;    /* joins (shutdown; a starter reaping a slot) */
    pthread_mutex_t cancel_lock;  /* shutdown's cancels (held_seq); a leaf */
    pthread_mutex_t deadlock_lock; /* wait-cycle checks (exec/future_wait.c); a leaf */
    /* A+L: workers[0..max_slots), each NULL until its first start, which
     * allocates it (aligned, zeroed, its deque initialised) and stores it
     * (release) under lock before nslots covers it; every slot below
     * nslots is allocated (slots are taken lowest first).  Freed with the
     * pool.  An idle pool so costs the pointer array, not the workers. */
    _Atomic(crew__worker *) *workers;
    /* A+L: submission rings of threads outside the pool (subring.h):
     * rings[i] is written once under lock, before nrings grows past i
     * (seq_cst store, which crew__pool_seal's scan after its heavy fence
     * relies on); read after an acquire load of nrings.  Freed with the
     * pool. */
    _Atomic uint32_t nrings;
    crew__subring *rings[CREW__MAX_RINGS];
};

/* counts -= unit (seq_cst, as every RMW on counts); returns the new value.
 * ALIVE and BLOCK must not be empty; SLEEP may be, for a moment (above). */
static inline uint64_t crew__counts_sub(crew_pool *p, uint64_t unit)
{
    uint64_t old = atomic_fetch_sub_explicit(&p->counts, unit, memory_order_seq_cst);
    CREW__ASSERT(unit == CREW__C_SLEEP || CREW__C_FIELD(old, unit) > 0);
    return old - unit;
}

/* spinning -= 1 (seq_cst); returns the count before.  It must not be 0. */
static inline uint32_t crew__spinning_dec(crew_pool *p)
{
    uint32_t old = atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_seq_cst);
    CREW__ASSERT(old > 0);
    return old;
}

/* For assertions: p->lock is held (by someone: a weak check, which a
 * caller that forgot the lock fails unless another thread holds it). */
static inline bool crew__pool_locked(crew_pool *p)
{
    if (pthread_mutex_trylock(&p->lock) != 0)
        return true;
    pthread_mutex_unlock(&p->lock);
    return false;
}

/* True if p has fewer available workers than it may have (relaxed: a
 * hint for the submit path, which then tries crew__start_worker_for). */
static inline bool crew__pool_short(const crew_pool *p)
{
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    return CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) < p->max_workers;
}

/* Worker i of p, i < nslots (loaded with acquire by the caller). */
static inline crew__worker *crew__worker_at(const crew_pool *p, unsigned i)
{
    return atomic_load_explicit(&p->workers[i], memory_order_acquire);
}

/* ---- between the scheduler's files -------------------------------------- */

/* Incremented in the child after every fork() (pool.c); a pool remembers
 * the value at creation and refuses work when it differs (its threads do
 * not exist in the child).  Relaxed: a fork is a barrier for the child. */
typedef struct crew__fork_gen_line {
    _Alignas(CREW__CACHE_LINE) _Atomic uint64_t n;
} crew__fork_gen_line;
extern crew__fork_gen_line crew__fork_gen;

/* True if p was created before a fork() in this (child) process.  Inline:
 * on every submit and group init. */
static inline bool crew__pool_forked(const crew_pool *p)
{
    return p->fork_gen != atomic_load_explicit(&crew__fork_gen.n, memory_order_relaxed);
}

/* CREW_EBROKEN, CREW_ESHUTDOWN or 0 from p's flags (acquire). */
static inline int crew__pool_state_error(crew_pool *p)
{
    uint32_t f = atomic_load_explicit(&p->flags, memory_order_acquire);
    if (CREW__LIKELY(!(f & (CREW__P_BROKEN | CREW__P_SHUTDOWN))))
        return 0;
    return (f & CREW__P_BROKEN) ? CREW_EBROKEN : CREW_ESHUTDOWN;
}

/* Might any task be waiting anywhere?  seq_cst loads: the sleeper's side of
 * the Dekker pattern (find.c). */
bool crew__work_visible(crew_pool *p);

/* Wakes one parked worker.  Returns false if none was parked (wake.c). */
bool crew__wake_one(crew_pool *p);

/* Starts a worker thread if fewer than max_workers are available (wake.c).
 * 0 (started, or not needed), CREW_ETHREAD or CREW_ENOMEM. */
int crew__start_worker(crew_pool *p);

/* crew__start_worker_for's answer when it started nobody. */
#define CREW__NOT_STARTED (-1001)

/* For a submit from outside, before it queues the entry (fn, arg)
 * (subring.h): if no worker is idle (parked or spinning), nothing is
 * queued (one thread's tasks start in the order submitted) and fewer than
 * max_workers are available, starts one that runs the entry first -- the
 * submit that pays for a thread gets its task run on it, and a burst of
 * submits starts as many workers as it has tasks (Python's rule).  Returns
 * 0 (started: the entry is the new worker's, not queued), CREW__NOT_STARTED
 * (queue it as usual), or an error when no worker exists at all and none
 * could be started (the entry was not queued). */
int crew__start_worker_for(crew_pool *p, crew_task_fn fn, void *arg);

/* crew__outside_begin and _end (sched.h) for a thread without a ring of
 * p: counted in out_running (pool.c). */
bool crew__outside_begin_counted(crew_pool *p);
void crew__outside_end_counted(crew_pool *p, bool ran, int rc);

/* shutdown(wait), after crew__pool_seal: waits until no thread outside the
 * pool runs one of its tasks (crew__outside_begin, sched.h): those counted
 * in the pool (pool.c), then those announced on rings (submit.c). */
void crew__outside_wait(crew_pool *p);
void crew__outside_wait_rings(crew_pool *p);

/* Wakes a parked worker if one is parked and none is spinning, and starts
 * a worker if none can take the work: after publishing a task (wake.c). */
void crew__pool_notify(crew_pool *p);

/* crew__pool_notify for a publication followed only by crew__fence_light
 * (a push on a submission ring).  If no worker is parked and the pool has
 * all the workers it may have, nothing needs doing, and the light fence is
 * enough to know it: a worker that parks, retires or blocks after our load
 * of counts looks for work after a heavy fence and sees the task
 * (base/fence.h); a spinning worker finds it; a busy one will look when
 * done.  Otherwise take a full fence and the ordinary path, whose Dekker
 * pattern is symmetric. */
static inline void crew__pool_notify_light(crew_pool *p)
{
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    if (CREW__LIKELY(CREW__C_FIELD(c, CREW__C_SLEEP) == 0 &&
                     CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) >=
                         p->max_workers))
        return;
    crew__fence_full();
    crew__pool_notify(p);
}

/* crew__pool_notify after a seq_cst publication (a push on the worker's
 * own deque, whose bottom store is seq_cst): the same decision with the
 * common case first.  One seq_cst load of counts, after the publication in
 * the total order S: if no worker is parked and the pool has all the
 * workers it may have (crew__pool_full_awake), crew__pool_notify would do
 * nothing either (it wakes only a parked worker and starts one only when
 * fewer are available), so stop here; otherwise take its path, which loads
 * both words again.  The
 * argument that no wake-up is lost is crew__pool_notify's own (README.md,
 * "Parking and waking"): a worker that parks after this load counts itself
 * SLEEP before its last look (seq_cst RMW, heavy fence), so either this
 * load sees it or its look sees the task; the spinning count, which this
 * path does not read, only ever lets notify stop earlier. */
static inline bool crew__pool_full_awake(const crew_pool *p, uint64_t c)
{
    /* Nobody parked or blocked (every field above ALIVE is 0), and all the
     * workers it may have alive.  Stricter than "no SLEEP and ALIVE - BLOCK
     * >= max_workers" while a worker is blocked: notify then decides. */
    return (c >> 16) == 0 && (unsigned)c >= p->max_workers;
}

static inline void crew__pool_notify_pushed(crew_pool *p)
{
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_seq_cst);
    if (CREW__LIKELY(crew__pool_full_awake(p, c)))
        return;
    crew__pool_notify(p);
}

/* After setting SHUTDOWN or BROKEN: waits until no submit is between its
 * check of the flags and its push on a ring, then sets SEALED (wake.c). */
void crew__pool_seal(crew_pool *p);

/* The worker thread's body (worker.c). */
void *crew__worker_main(void *arg);

/* Drops the calling thread's ring if it is one of p's (submit.c). */
void crew__subring_drop_mine_of(crew_pool *p);

/* Frees p: its rings, its workers' deques and memory (pool.c).  Called by
 * crew__pool_release with the last reference. */
void crew__pool_free(crew_pool *p);

#endif
