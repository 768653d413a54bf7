/* pool.c - the scheduler: worker threads, work stealing, parking, shutdown.
 *
 * Glossary
 *   worker      a thread of the pool, with its own deque (deque.h)
 *   injection   the queue for tasks submitted from outside the pool (inject.h)
 *   spinning    an idle worker still looking for work before it parks
 *   parked      an idle worker asleep on its park word (futex)
 *   blocked     a worker inside a crew wait that found no work to help with
 *               and sleeps on the awaited object; it is not counted as
 *               available, so a replacement may be started
 *
 * Where work goes: a task submitted from outside goes to the submitting
 * thread's ring (ring.h; its overflow queue when full); a group job spawned
 * from outside goes to the injection queue; a task submitted or spawned by a
 * worker goes to that worker's own deque.  A worker looks for work in its
 * own deque (newest first), then in its own batch and the other workers'
 * batches (oldest first), then takes from the rings (oldest first, several
 * at a time into its batch), then takes a batch from the injection queue
 * (the rest into its batch), then steals from the other workers' deques
 * (oldest first), starting at a random victim.  A worker moving tasks into
 * its batch names the source meanwhile (crew__batch's filling), so that
 * no other worker runs ahead of them or counts the pool as out of work
 * (docs/SCHEDULER.md, "Tasks in flight").
 *
 * Sleeping and waking (docs/SCHEDULER.md has the full argument): a worker
 * that finds nothing spins for a short while (at most spin_limit workers
 * spin at once), then parks:
 *   1. store park = 1 (seq_cst)
 *   2. counts += SLEEP, then spinning -= 1 (seq_cst RMWs), heavy fence
 *      (fence.h)
 *   3. look for work once more (seq_cst loads of the rings, the injection
 *      tails, every deque's top/bottom, every batch and its filling word)
 *      and at the shutdown flag
 *   4. if something is there: CAS park 1 -> 0; if that wins, counts -= SLEEP
 *      and go back to work; if it loses, a waker already did both for us
 *   5. futex-wait while park == 1
 * A thread that makes work available does:
 *   a. publish the task (seq_cst CAS of an injection tail, the deque's
 *      seq_cst bottom update, or a ring's tail store and a light fence)
 *   b. load spinning and counts (seq_cst); if a worker sleeps and none
 *      spins, CAS some worker's park 1 -> 0, counts -= SLEEP, futex-wake it
 * Steps 2-3 and a-b form a Dekker pattern: either the waker sees SLEEP (and
 * wakes someone) or the sleeper sees the task.  With only a light fence on
 * the publishing side, the heavy fence on the sleeping side makes it hold
 * (docs/SCHEDULER.md, "Light and heavy fences").  A worker is woken by
 * exactly one CAS, so one task never wakes two workers, and a burst of
 * submissions wakes workers one at a time as the woken ones start spinning.
 *
 * Lazy start and retirement: no thread exists until the first submit.  A
 * submit that finds no parked and no spinning worker starts a new thread if
 * fewer than max_workers are available (alive - blocked).  A parked worker
 * whose park times out (idle_timeout_ns) retires, then re-checks the
 * injection queue so that a submit that raced with the retirement is not
 * left without a worker.
 */
#include "sched/pool.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/compiler.h"
#include "base/backoff.h"
#include "base/clock.h"
#include "base/fence.h"
#include "base/futex.h"
#include "sched/scheduler.h"
#include "base/sys.h"

CREW__TLS crew__worker *crew__self;
CREW__TLS uintptr_t crew__iso;
CREW__TLS void *crew__task_ctx;

/* Incremented in the child after every fork(); a pool remembers the value at
 * creation and refuses work when it differs. */
static _Atomic uint64_t crew__fork_generation;
static pthread_once_t crew__atfork_once = PTHREAD_ONCE_INIT;

static void crew__atfork_child(void)
{
    atomic_fetch_add_explicit(&crew__fork_generation, 1, memory_order_relaxed);
}

static void crew__atfork_register(void)
{
    (void)pthread_atfork(NULL, NULL, crew__atfork_child);
}

bool crew__pool_forked(const crew_pool *p)
{
    return p->fork_gen != atomic_load_explicit(&crew__fork_generation, memory_order_relaxed);
}

#define CREW__MAX_WORKERS 4096
#define CREW__EXTRA_SLOTS 256       /* replacements for blocked workers */
#define CREW__INJ_BATCH 8           /* tasks taken from the injection queue at once */
#define CREW__SPIN_ROUNDS 256       /* find_work rounds before parking (~tens of µs) */
#define CREW__BATCH_START 4         /* a worker's first batch from a ring (crew__take_batch) */
#define CREW__BATCH_FAST_NS 10000   /* a batch done faster than this: double the next */
#define CREW__BATCH_SLOW_NS 50000   /* slower than this: halve it */
#define CREW__RING_STALL_NS 50000   /* flow control gives up after this without progress */
#define CREW__WAIT_SPIN_NS 20000    /* spin of a waiter outside the pool */
#define CREW__BLOCKED_RECHECK_NS (10 * (int64_t)1000000) /* see crew__wait_word_in */
#define CREW__DEFAULT_IDLE_NS (10 * (int64_t)1000000000)

/* ---- options, create -------------------------------------------------- */

void crew_pool_options_init(crew_pool_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->name = "crew";
}

static unsigned crew__online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

int crew_pool_create(crew_pool **out, const crew_pool_options *opts)
{
    if (!out)
        return CREW_EINVAL;
    crew_pool_options defaults;
    if (!opts) {
        crew_pool_options_init(&defaults);
        opts = &defaults;
    }
    if (opts->workers > CREW__MAX_WORKERS)
        return CREW_EINVAL;
    pthread_once(&crew__atfork_once, crew__atfork_register);
    crew__fence_init();

    crew_pool *p = crew__alloc_lines(sizeof *p);
    if (!p)
        return CREW_ENOMEM;
    memset(p, 0, sizeof *p);
    p->max_workers = opts->workers ? opts->workers : crew__online_cpus();
    p->max_slots = p->max_workers + CREW__EXTRA_SLOTS;
    size_t wbytes = crew__round_lines((size_t)p->max_slots * sizeof(crew__worker));
    p->workers = crew__alloc_lines(wbytes);
    if (!p->workers) {
        crew__free(p);
        return CREW_ENOMEM;
    }
    memset(p->workers, 0, wbytes);
    for (unsigned i = 0; i < p->max_slots; i++) {
        crew__worker *w = &p->workers[i];
        w->pool = p;
        w->index = i;
        w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
        atomic_init(&w->inl.hdr.word, CREW__KIND_INLINE);
        crew__batch_init(&w->batch);
        w->batch_max = CREW__BATCH_START;
    }
    crew__inject_init(&p->inj);
    /* At least two may spin: then, while one runs the task it found, another
     * is still spinning, and a submit right behind it (W4's back-to-back
     * rounds) costs no futex wake-up.  Half the workers at most for big
     * pools, as Go limits its spinning threads. */
    p->spin_limit = p->max_workers / 2 > 2 ? p->max_workers / 2 : (p->max_workers < 2 ? 1 : 2);
    p->idle_timeout_ns = opts->idle_timeout_ns == 0 ? CREW__DEFAULT_IDLE_NS : opts->idle_timeout_ns;
    snprintf(p->name, sizeof p->name, "%s", opts->name ? opts->name : "crew");
    p->init = opts->init;
    p->init_ctx = opts->init_ctx;
    p->unobserved_fn = opts->unobserved;
    p->unobserved_ctx = opts->unobserved_ctx;
    p->fork_gen = atomic_load_explicit(&crew__fork_generation, memory_order_relaxed);
    atomic_init(&p->refs, 1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->join_lock, NULL);
    pthread_mutex_init(&p->cancel_lock, NULL);
    pthread_mutex_init(&p->deadlock_lock, NULL);
    *out = p;
    return 0;
}

static void crew__pool_free(crew_pool *p)
{
    unsigned nrings = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < nrings; i++)
        crew__free(p->rings[i]);
    for (unsigned i = 0; i < p->max_slots; i++)
        if (atomic_load_explicit(&p->workers[i].dq_ready, memory_order_relaxed))
            crew__deque_destroy(&p->workers[i].dq);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->join_lock);
    pthread_mutex_destroy(&p->cancel_lock);
    pthread_mutex_destroy(&p->deadlock_lock);
    crew__free(p->workers);
    crew__free(p);
}

void crew__pool_retain(crew_pool *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void crew__pool_release(crew_pool *p)
{
    /* acq_rel: the last releaser sees every other holder's writes. */
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        crew__pool_free(p);
}

unsigned crew__pool_max_workers(const crew_pool *p)
{
    return p ? p->max_workers : 0;
}

crew_pool *crew_pool_current(void)
{
    return crew__self ? crew__self->pool : NULL;
}

void crew__pool_count_unobserved(crew_pool *p, int task_error)
{
    atomic_fetch_add_explicit(&p->unobserved, 1, memory_order_relaxed);
    if (p->unobserved_fn)
        p->unobserved_fn(task_error, p->unobserved_ctx);
}

/* ---- finding work ------------------------------------------------------- */

static uint64_t crew__rand(crew__worker *w)
{
    /* xorshift64: victim choice only needs to be cheap and spread out. */
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return x;
}

/* The predicate of a wait inside an isolation region: t was created in
 * region ctx. */
static bool crew__accept_region(const crew__task *t, const void *ctx)
{
    return t->iso == (uintptr_t)ctx;
}

static crew__task *crew__steal_any(crew__worker *w)
{
    crew_pool *p = w->pool;
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_acquire);
    if (n < 2)
        return NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int lost = 0;
        unsigned start = (unsigned)(crew__rand(w) % n);
        for (unsigned k = 0; k < n; k++) {
            crew__worker *v = &p->workers[(start + k) % n];
            if (v == w || !atomic_load_explicit(&v->dq_ready, memory_order_acquire))
                continue;
            int l = 0;
            crew__task *t = crew__deque_steal(&v->dq, &l);
            if (t)
                return t;
            lost |= l;
        }
        if (!lost)
            break;
    }
    return NULL;
}

/* After entries went into our batch: others may take some.  The batch's
 * tail was a release store; the light fence orders it before notify's
 * loads, as for a push on a ring (every worker that parks takes a heavy
 * fence before its last look, which covers the batches). */
static void crew__batch_published(crew__worker *w)
{
    crew__fence_light();
    crew__pool_notify(w->pool);
}

/* The sources (rings, the injection queue) that other workers are moving
 * tasks from into their batches, as seen by crew__steal_batch: a worker
 * takes nothing from those meanwhile (crew__batch's filling).  Past
 * CREW__FILLERS of them, all sources count as busy. */
#define CREW__FILLERS 8
typedef struct crew__fillers {
    unsigned n;
    void *src[CREW__FILLERS];
} crew__fillers;

static bool crew__fillers_has(const crew__fillers *f, const void *src)
{
    if (f->n > CREW__FILLERS)
        return true;
    for (unsigned i = 0; i < f->n; i++)
        if (f->src[i] == src)
            return true;
    return false;
}

/* An entry of another worker's batch.  Those entries left a ring before
 * anything still on it, so an idle worker takes them first, and none waits
 * behind a busy or blocked worker (a task blocked outside crew on a task
 * submitted right after it, which the same batch took, is not stuck).
 * Notes in *busy the sources other workers are filling their batches from:
 * a task taken from one of those now would run ahead of theirs. */
static crew__task *crew__steal_batch(crew__worker *w, crew__fillers *busy)
{
    crew_pool *p = w->pool;
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_acquire);
    for (unsigned k = 0; k < n; k++) {
        crew__worker *v = &p->workers[k];
        crew__task *t;
        if (v == w)
            continue;
        void *src = crew__batch_filling(&v->batch);
        if (src) {
            if (busy->n < CREW__FILLERS)
                busy->src[busy->n] = src;
            if (busy->n <= CREW__FILLERS)
                busy->n++;
        }
        if ((t = crew__batch_take(&v->batch, &w->inl)) != NULL)
            return t;
    }
    return NULL;
}

/* Around taking tasks from source src into our batch (crew__batch's
 * filling).  The source is stored relaxed: the claim that follows (the
 * ring's CAS, the injection queue's head store) is a release, so whoever
 * sees the claim sees it. */
static void crew__fill_begin(crew__worker *w, void *src)
{
    atomic_store_explicit(&w->batch.filling, src, memory_order_relaxed);
}

static void crew__fill_end(crew__worker *w)
{
    /* release: the batch's entries and tail before the NULL. */
    atomic_store_explicit(&w->batch.filling, NULL, memory_order_release);
}

/* Takes a batch from injection queue q (src: q, or the ring whose
 * overflow queue it is): returns the first task and keeps the rest in our
 * batch: submitted tasks (and jobs from outside) should start in
 * submission order across workers, and a batch hands the oldest to us and
 * to a thief alike.  Our batch is empty here: crew__find_work looks at the
 * queues only after crew__batch_take found it empty, and only we fill it
 * (crew__take_batch, before this, leaves it empty when it returns NULL). */
static crew__task *crew__take_inject(crew__worker *w, crew__inject *q, void *src)
{
    crew__task *batch[CREW__INJ_BATCH];
    crew__fill_begin(w, src);
    size_t n = crew__inject_pop_batch(q, batch, CREW__INJ_BATCH);
    if (n > 1)
        crew__batch_put(&w->batch, batch + 1, (unsigned)(n - 1));
    crew__fill_end(w);
    if (n == 0)
        return NULL;
    if (n > 1)
        crew__batch_published(w);
    return batch[0];
}

/* Our own ring's oldest entries into our batch, as many as fit in the
 * time budget: the size doubles while a batch takes under
 * CREW__BATCH_FAST_NS and halves when one takes over CREW__BATCH_SLOW_NS.
 * Long tasks thus come one at a time (another worker can take the next
 * one the moment it is idle), short ones in bulk (one CAS on the shared
 * head, and the ring's lines cross once per batch instead of per task).
 * Returns the first entry, or NULL if the ring was empty. */
static crew__task *crew__take_batch(crew__worker *w, crew__ring *r)
{
    int64_t now = crew_now_ns();
    if (w->batch_last > 0) {
        int64_t spent = now - w->batch_t0;
        if (spent < CREW__BATCH_FAST_NS && w->batch_max < CREW__BATCH_CAP)
            w->batch_max *= 2;
        else if (spent > CREW__BATCH_SLOW_NS && w->batch_max > 1)
            w->batch_max /= 2;
    }
    crew__fill_begin(w, r);
    unsigned n = crew__batch_fill(&w->batch, r, &w->ring_tail, w->batch_max);
    crew__fill_end(w);
    w->batch_last = n;
    w->batch_t0 = now;
    if (n == 0)
        return NULL;
    if (n > 1)
        crew__batch_published(w);
    return crew__batch_take(&w->batch, &w->inl);
}

/* The oldest task of some submission ring, starting with the ring that
 * last had one (its lines are likely in our cache).  Skips the rings that
 * another worker is filling its batch from (busy). */
static crew__task *crew__take_submitted(crew__worker *w, const crew__fillers *busy)
{
    crew_pool *p = w->pool;
    unsigned n = atomic_load_explicit(&p->nrings, memory_order_acquire);
    if (n == 0)
        return NULL;
    unsigned i = w->ring_next < n ? w->ring_next : 0;
    crew__ring *r = p->rings[i];
    crew__task *t;
    if (!crew__fillers_has(busy, r) &&
        ((t = crew__take_batch(w, r)) != NULL || (t = crew__take_inject(w, &r->ovq, r)) != NULL))
        return t;
    for (unsigned k = 1; k < n; k++) {
        if (++i == n)
            i = 0;
        r = p->rings[i];
        if (crew__fillers_has(busy, r))
            continue;
        uint64_t tail = 0;
        if ((t = crew__ring_take(r, &tail, &w->inl)) != NULL ||
            (t = crew__take_inject(w, &r->ovq, r)) != NULL) {
            w->ring_next = i;
            w->ring_tail = tail;
            return t;
        }
    }
    return NULL;
}

crew__task *crew__find_work(crew__worker *w, const crew__accept *acc)
{
    crew_pool *p = w->pool;
    crew__accept region;
    if (!acc && crew__iso) {
        region.fn = crew__accept_region;
        region.ctx = (const void *)crew__iso;
        acc = &region;
    }
    crew__task *t = crew__deque_pop(&w->dq);
    if (acc) {
        /* Isolated wait: run only tasks the waiter accepts (its region's,
         * or its group's).  They sit on our own deque, but unrelated work
         * (a batch taken from the injection queue by a nested plain wait)
         * may lie on top of them: move such tasks to the injection queue,
         * where any worker (or we, later) will run them. */
        while (t && !acc->fn(t, acc->ctx)) {
            crew__inject_push_accepted(&p->inj, t);
            crew__pool_notify(p);
            t = crew__deque_pop(&w->dq);
        }
        return t;
    }
    if (t)
        return t;
    /* Our batch next (entries we took from a ring in one go), then the
     * other workers' batches. */
    crew__fillers busy;
    busy.n = 0;
    if ((t = crew__batch_take(&w->batch, &w->inl)) != NULL ||
        (t = crew__steal_batch(w, &busy)) != NULL)
        return t;
    /* Submissions: the rings first, but every 16th look the injection queue
     * first, so that neither can starve the other.  None from a source
     * that another worker is moving tasks from into its batch: we would
     * run ahead of those, and could block (a task waiting outside crew for
     * one of them) while they wait behind a blocked worker. */
    bool inject_first = (++w->looks & 15) == 0;
    if (!inject_first && (t = crew__take_submitted(w, &busy)) != NULL)
        return t;
    if (!crew__fillers_has(&busy, &p->inj) && (t = crew__take_inject(w, &p->inj, &p->inj)) != NULL)
        return t;
    if (inject_first && (t = crew__take_submitted(w, &busy)) != NULL)
        return t;
    return crew__steal_any(w);
}

/* Might any task be waiting in the queues, the deques or the batches? */
static bool crew__queued_visible(crew_pool *p)
{
    if (crew__inject_maybe_nonempty(&p->inj))
        return true;
    unsigned nr = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < nr; i++)
        if (crew__ring_nonempty(p->rings[i]) || crew__inject_maybe_nonempty(&p->rings[i]->ovq))
            return true;
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        crew__worker *v = &p->workers[i];
        if (atomic_load_explicit(&v->dq_ready, memory_order_acquire) &&
            crew__deque_size_hint(&v->dq) > 0)
            return true;
        /* filling first: see crew__batch_filling. */
        if (crew__batch_filling(&v->batch) != NULL || crew__batch_nonempty(&v->batch))
            return true;
    }
    return false;
}

/* Might any task be waiting anywhere?  seq_cst loads: the sleeper's side of
 * the Dekker pattern.  held_seq before and after the queues: a task that
 * shutdown's cancel holds out of them was taken after our first read (then
 * the second differs or is odd) or is back before our second (then the
 * queues showed it, or the second read differs). */
static bool crew__work_visible(crew_pool *p)
{
    uint32_t seq = atomic_load_explicit(&p->held_seq, memory_order_seq_cst);
    if (seq & 1)
        return true;
    if (crew__queued_visible(p))
        return true;
    return atomic_load_explicit(&p->held_seq, memory_order_seq_cst) != seq;
}

/* ---- waking and starting workers --------------------------------------- */

/* Wakes one parked worker.  Returns false if none was parked. */
static bool crew__wake_one(crew_pool *p)
{
    unsigned n = atomic_load_explicit(&p->nslots, memory_order_acquire);
    if (n == 0)
        return false;
    unsigned start = atomic_fetch_add_explicit(&p->wake_rr, 1, memory_order_relaxed) % n;
    for (unsigned k = 0; k < n; k++) {
        crew__worker *v = &p->workers[(start + k) % n];
        uint32_t one = 1;
        /* seq_cst: pairs with the parking worker's seq_cst store of 1 and
         * its own cancel CAS; exactly one of them moves park to 0. */
        if (atomic_load_explicit(&v->park, memory_order_relaxed) == 1 &&
            atomic_compare_exchange_strong_explicit(&v->park, &one, 0, memory_order_seq_cst,
                                                    memory_order_relaxed)) {
            atomic_fetch_sub_explicit(&p->counts, CREW__C_SLEEP, memory_order_seq_cst);
            crew__futex_wake(&v->park, 1);
            return true;
        }
    }
    return false;
}

static void *crew__worker_main(void *arg);

/* Starts a worker thread if fewer than max_workers are available.  After
 * shutdown, only while work is queued: the queued tasks still run (or are
 * dropped) by workers, and shutdown with wait never leaves them to fewer
 * workers than the pool may have.  Returns 0 (started, or not needed),
 * CREW_ETHREAD or CREW_ENOMEM.  Lock order: p->lock, then join_lock. */
static int crew__start_worker(crew_pool *p)
{
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_seq_cst);
    unsigned avail = CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK);
    if (avail >= p->max_workers)
        goto out;
    if ((atomic_load_explicit(&p->flags, memory_order_acquire) & (CREW__P_SHUTDOWN | CREW__P_BROKEN)) &&
        !crew__work_visible(p))
        goto out;
    crew__worker *w = NULL;
    for (unsigned i = 0; i < p->max_slots && !w; i++) {
        crew__worker *v = &p->workers[i];
        uint32_t s = atomic_load_explicit(&v->slot, memory_order_acquire);
        /* The thread is gone or about to return: reap it.  join_lock keeps
         * shutdown from joining it too; if shutdown holds it (it may be
         * joining us: a worker starting another), shutdown reaps it. */
        const uint32_t done = CREW__SLOT_RUNNING | CREW__SLOT_TID | CREW__SLOT_EXITED;
        if (s == done && pthread_mutex_trylock(&p->join_lock) == 0) {
            if (atomic_load_explicit(&v->slot, memory_order_acquire) == done) {
                pthread_join(v->thread, NULL);
                atomic_store_explicit(&v->slot, CREW__SLOT_FREE, memory_order_release);
            }
            pthread_mutex_unlock(&p->join_lock);
            s = atomic_load_explicit(&v->slot, memory_order_acquire);
        }
        if (s == CREW__SLOT_FREE)
            w = v;
    }
    if (!w) {
        rc = CREW_ETHREAD;
        goto out;
    }
    if (!atomic_load_explicit(&w->dq_ready, memory_order_relaxed)) {
        if (crew__deque_init(&w->dq, 6) != 0) {
            rc = CREW_ENOMEM;
            goto out;
        }
        /* release: thieves that see dq_ready == 1 (acquire) see the deque. */
        atomic_store_explicit(&w->dq_ready, 1, memory_order_release);
    }
    if (w->index >= atomic_load_explicit(&p->nslots, memory_order_relaxed))
        atomic_store_explicit(&p->nslots, w->index + 1, memory_order_release);
    atomic_store_explicit(&w->slot, CREW__SLOT_RUNNING, memory_order_release);
    /* A new worker counts as spinning until its first look for work: it
     * will take what is queued, so submits meanwhile start no one else. */
    atomic_fetch_add_explicit(&p->spinning, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&p->counts, CREW__C_ALIVE, memory_order_seq_cst);
    pthread_t tid;
    if (crew__thread_create(&tid, crew__worker_main, w) != 0) {
        atomic_fetch_sub_explicit(&p->counts, CREW__C_ALIVE, memory_order_seq_cst);
        atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_seq_cst);
        atomic_store_explicit(&w->slot, CREW__SLOT_FREE, memory_order_release);
        rc = CREW_ETHREAD;
    } else {
        w->thread = tid;
        /* release: a joiner that sees TID (acquire) sees thread. */
        atomic_fetch_or_explicit(&w->slot, CREW__SLOT_TID, memory_order_release);
    }
out:
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void crew__pool_notify(crew_pool *p)
{
    /* seq_cst: the waker's side of the Dekker pattern (after the publish). */
    if (atomic_load_explicit(&p->spinning, memory_order_seq_cst) != 0)
        return; /* a spinning worker will find it */
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_seq_cst);
    if (CREW__C_FIELD(c, CREW__C_SLEEP) != 0 && crew__wake_one(p))
        return;
    /* Lazy start, unless the work is gone already (a worker that was
     * starting or spinning took it between our publication and our look at
     * the counts): Python's rule, a new thread only for work no idle worker
     * can take. */
    if (CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) < p->max_workers &&
        crew__work_visible(p))
        (void)crew__start_worker(p);
}

/* crew__pool_notify for a publication followed only by crew__fence_light
 * (a push on a submission ring).  If no worker is parked and the pool has
 * all the workers it may have, nothing needs doing, and the light fence is
 * enough to know it: a worker that parks, retires or blocks after our load
 * of counts looks for work after a heavy fence and sees the task
 * (fence.h); a spinning worker finds it; a busy one will look when done.
 * Otherwise take a full fence and the ordinary path, whose Dekker pattern
 * is symmetric. */
static void crew__pool_notify_light(crew_pool *p)
{
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    if (CREW__C_FIELD(c, CREW__C_SLEEP) == 0 &&
        CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) >= p->max_workers)
        return;
    crew__fence_full();
    crew__pool_notify(p);
}

/* After setting SHUTDOWN or BROKEN: waits until no submit is between its
 * check of the flags and its push on a ring, then sets SEALED.  A submit
 * announces itself (in_submit = 1, light fence) before it loads the flags,
 * so after our heavy fence either it saw the flag and pushes nothing, or we
 * see its announcement and wait for its release of in_submit: every task on
 * a ring was pushed before SEALED, and a worker that sees SEALED sees it
 * (docs/SCHEDULER.md "Shutdown").  Workers exit only once SEALED is set. */
static void crew__pool_seal(crew_pool *p)
{
    crew__fence_heavy();
    unsigned n = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        crew__ring *r = p->rings[i];
        /* acquire: pairs with the submitter's release store of 0. */
        for (unsigned k = 0; atomic_load_explicit(&r->in_submit, memory_order_acquire); k++) {
            if (k < 64)
                crew__cpu_relax();
            else
                sched_yield(); /* the submitter may have been preempted */
        }
    }
    atomic_fetch_or_explicit(&p->flags, CREW__P_SEALED, memory_order_seq_cst);
}

/* ---- running tasks ---------------------------------------------------- */

/* Runs t, which the caller took off the queues. */
static void crew__run_task_now(crew__worker *w, crew__task *t)
{
    uint32_t flags = atomic_load_explicit(&w->pool->flags, memory_order_acquire);
    if (atomic_load_explicit(&t->word, memory_order_relaxed) & CREW__KIND_INLINE) {
        crew__inline *in = (crew__inline *)t;
        if (flags & (CREW__P_BROKEN | CREW__P_CANCEL))
            crew__inline_drop(w->pool, (flags & CREW__P_BROKEN) != 0);
        else
            crew__inline_run(w, w->pool, in->fn, in->arg);
        return;
    }
    if (flags & CREW__P_BROKEN) {
        crew__task_drop(t, 1);
        return;
    }
    if (atomic_load_explicit(&t->word, memory_order_relaxed) & CREW__KIND_FUTURE) {
        if (flags & CREW__P_CANCEL)
            crew__task_drop(t, 0); /* queued before shutdown(cancel_pending) */
        else
            crew__future_run((crew_future *)t);
    } else {
        crew__job_run((crew__job *)t);
    }
}

/* crew__run_task for a task of another isolation region than ours. */
static CREW__COLD void crew__run_task_in_region(crew__worker *w, crew__task *t)
{
    uintptr_t iso = crew__iso;
    crew__iso = t->iso;
    crew__run_task_now(w, t);
    crew__iso = iso;
}

void crew__run_task(crew__worker *w, crew__task *t)
{
    /* The task runs in its own isolation region, whatever the task that is
     * waiting lower on this stack was in; ours comes back after.  (Its
     * context, crew__task_ctx, is its runner's to set.) */
    if (CREW__UNLIKELY(t->iso != crew__iso))
        crew__run_task_in_region(w, t);
    else
        crew__run_task_now(w, t);
}

/* ---- the worker ---------------------------------------------------------- */

/* What crew__idle decided: keep working, exit, or exit having already
 * dropped out of the ALIVE count (retired). */
enum { CREW__IDLE_CONTINUE, CREW__IDLE_EXIT, CREW__IDLE_RETIRED };

/* Cancels our park if nobody woke us yet.  Returns true if we did. */
static bool crew__unpark_self(crew__worker *w)
{
    uint32_t one = 1;
    if (atomic_compare_exchange_strong_explicit(&w->park, &one, 0, memory_order_seq_cst,
                                                memory_order_relaxed)) {
        atomic_fetch_sub_explicit(&w->pool->counts, CREW__C_SLEEP, memory_order_seq_cst);
        return true;
    }
    return false;
}

/* Called when w found no work.  Spins, parks, or decides to exit. */
static int crew__idle(crew__worker *w, crew__task **found, bool holding_spin)
{
    crew_pool *p = w->pool;
    *found = NULL;
    uint32_t flags = atomic_load_explicit(&p->flags, memory_order_seq_cst);
    if (flags & (CREW__P_SHUTDOWN | CREW__P_BROKEN)) {
        if (holding_spin)
            atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_seq_cst);
        if (!(flags & CREW__P_SEALED)) {
            /* A submit may still be pushing (crew__pool_seal): look again
             * in a moment. */
            sched_yield();
            return CREW__IDLE_CONTINUE;
        }
        if (!crew__work_visible(p))
            return CREW__IDLE_EXIT;
        /* Work we did not find: another worker is moving it into its batch,
         * or shutdown's cancel holds it for a moment. */
        sched_yield();
        return CREW__IDLE_CONTINUE;
    }
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    /* More workers than allowed (a blocked one came back): retire now. */
    if (!holding_spin &&
        CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) > p->max_workers) {
        uint64_t want = c - CREW__C_ALIVE;
        if (atomic_compare_exchange_strong_explicit(&p->counts, &c, want, memory_order_seq_cst,
                                                    memory_order_relaxed))
            return CREW__IDLE_RETIRED; /* ALIVE already dropped by the CAS */
    }

    /* Spin phase: a few rounds of looking, if not too many spin already.
     * A new worker arrives here still counted as spinning (holding_spin). */
    uint32_t spinners;
    if (holding_spin)
        spinners = atomic_load_explicit(&p->spinning, memory_order_seq_cst) - 1;
    else
        spinners = atomic_fetch_add_explicit(&p->spinning, 1, memory_order_seq_cst);
    if (spinners < p->spin_limit) {
        for (int i = 0; i < CREW__SPIN_ROUNDS; i++) {
            crew__task *t = crew__find_work(w, NULL);
            if (t) {
                spinners = atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_seq_cst);
                /* We were the last spinner: let another look for the
                 * remaining work while we run this task. */
                if (spinners == 1 && crew__work_visible(p))
                    crew__pool_notify(p);
                *found = t;
                return CREW__IDLE_CONTINUE;
            }
            if (atomic_load_explicit(&p->flags, memory_order_relaxed))
                break;
            if ((i & 31) == 31)
                sched_yield();
            else
                for (int k = 0; k < 32; k++)
                    crew__cpu_relax();
        }
    }
    /* Park (steps 1-5 of the protocol at the top of this file).  We stop
     * counting as spinning only once counted as sleeping: a waker never
     * sees this worker as neither, which would make it start a thread
     * for a task that we are about to see. */
    atomic_store_explicit(&w->park, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&p->counts, CREW__C_SLEEP, memory_order_seq_cst);
    atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_seq_cst);
    crew__fence_heavy(); /* against submits that publish with a light fence */
    if (crew__work_visible(p) || atomic_load_explicit(&p->flags, memory_order_seq_cst)) {
        crew__unpark_self(w);
        return CREW__IDLE_CONTINUE;
    }
    int64_t deadline = p->idle_timeout_ns < 0 ? CREW__FOREVER : crew__deadline_after(p->idle_timeout_ns);
    while (atomic_load_explicit(&w->park, memory_order_acquire) == 1) {
        if (crew__futex_wait(&w->park, 1, deadline) == CREW_ETIMEDOUT && crew__unpark_self(w)) {
            /* Retire.  Then look once more: a submit that saw us sleeping
             * may have failed to wake us (we just unparked) and, seeing us
             * alive, not started anyone.  seq_cst RMW then seq_cst loads:
             * the Dekker pattern again, against the submitter's push and
             * its load of counts. */
            c = atomic_fetch_sub_explicit(&p->counts, CREW__C_ALIVE, memory_order_seq_cst) -
                CREW__C_ALIVE;
            crew__fence_heavy();
            /* Also during shutdown: queued work must run (or be dropped)
             * before the last worker leaves. */
            while (crew__work_visible(p)) {
                if (CREW__C_FIELD(c, CREW__C_ALIVE) - CREW__C_FIELD(c, CREW__C_BLOCK) >=
                    p->max_workers)
                    break; /* someone else took over */
                if (atomic_compare_exchange_weak_explicit(&p->counts, &c, c + CREW__C_ALIVE,
                                                          memory_order_seq_cst,
                                                          memory_order_relaxed))
                    return CREW__IDLE_CONTINUE; /* un-retired */
            }
            return CREW__IDLE_RETIRED;
        }
    }
    return CREW__IDLE_CONTINUE;
}

/* Starts worker w on its own CPU: moves the thread to the (index mod n)-th
 * CPU it may run on, then gives it back every CPU it may run on.  Only the
 * starting point changes; the kernel still moves the thread as it likes.
 * Without it, a worker woken by a submitting thread often starts on that
 * thread's CPU and waits, with another CPU idle, until the kernel's load
 * balancing moves it (W5 in docs/BENCHMARKS.md lost 3 % that way). */
static void crew__place_worker(const crew__worker *w)
{
#if defined(__linux__) && defined(CPU_SETSIZE)
    cpu_set_t allowed, one;
    if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0)
        return;
    int n = CPU_COUNT(&allowed);
    if (n < 2)
        return;
    int k = (int)(w->index % (unsigned)n);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &allowed) && k-- == 0) {
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0)
                (void)pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
            return;
        }
    }
#else
    (void)w;
#endif
}

static void *crew__worker_main(void *arg)
{
    crew__worker *w = arg;
    crew_pool *p = w->pool;
    crew__self = w;
    char tname[16];
    snprintf(tname, sizeof tname, "%s-%u", p->name, w->index);
    (void)pthread_setname_np(pthread_self(), tname);
    crew__place_worker(w);
    if (p->init && p->init(p->init_ctx) != 0) {
        /* Python's BrokenThreadPool: every pending and later task fails. */
        atomic_fetch_or_explicit(&p->flags, CREW__P_BROKEN, memory_order_seq_cst);
        crew__inject_close(&p->inj);
        crew__pool_seal(p);
        /* Wake everybody so they drain the queues as broken and exit. */
        while (crew__wake_one(p))
            ;
    }
    int why;
    /* We start counted as spinning (crew__start_worker): keep that until we
     * either find work or go idle, so no submit in between starts a second
     * thread for the task we are about to take. */
    bool holding_spin = true;
    for (;;) {
        crew__task *t = crew__find_work(w, NULL);
        if (t && holding_spin) {
            holding_spin = false;
            uint32_t spinners = atomic_fetch_sub_explicit(&p->spinning, 1, memory_order_seq_cst);
            if (spinners == 1 && crew__work_visible(p))
                crew__pool_notify(p); /* more work than we can take: maybe start another */
        }
        if (!t) {
            why = crew__idle(w, &t, holding_spin);
            holding_spin = false;
            if (why != CREW__IDLE_CONTINUE)
                break;
            if (!t)
                continue;
        }
        crew__run_task(w, t);
    }
    if (why == CREW__IDLE_EXIT)
        atomic_fetch_sub_explicit(&p->counts, CREW__C_ALIVE, memory_order_seq_cst);
    crew__block_flush();
    crew__self = NULL;
    /* After this the slot may be reaped (joined) by a starter or by
     * shutdown; the pool outlives every worker (shutdown joins them all). */
    atomic_fetch_or_explicit(&w->slot, CREW__SLOT_EXITED, memory_order_release);
    return NULL;
}

/* ---- submit ------------------------------------------------------------- */

static int crew__pool_state_error(crew_pool *p)
{
    uint32_t f = atomic_load_explicit(&p->flags, memory_order_acquire);
    if (f & CREW__P_BROKEN)
        return CREW_EBROKEN;
    if (f & CREW__P_SHUTDOWN)
        return CREW_ESHUTDOWN;
    return 0;
}

/* Makes sure a worker exists before a task is queued from outside, so that
 * a failure to start a thread is reported instead of left hanging.  Only a
 * failed start is an error: the worker we started may find nothing yet and
 * retire before our push (a short idle timeout), and then the push's
 * notification starts another one, as for any submit to a pool whose
 * workers have all retired. */
static int crew__pool_ensure_worker(crew_pool *p)
{
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    if (CREW__C_FIELD(c, CREW__C_ALIVE) != 0)
        return 0;
    return crew__start_worker(p);
}

int crew__pool_inject(crew_pool *p, crew__task *t)
{
    int rc = crew__pool_ensure_worker(p);
    if (rc)
        return rc;
    if (crew__inject_push(&p->inj, t) != 0) {
        rc = crew__pool_state_error(p);
        return rc ? rc : CREW_ESHUTDOWN;
    }
    crew__pool_notify(p);
    return 0;
}

/* ---- submission rings ------------------------------------------------------
 * The calling thread's ring: the pool it belongs to and the ring (NULL if
 * none was free).  A claimed ring holds a reference on its pool, so the pool
 * cannot be freed (nor another one created at its address) while this
 * thread's variables point at it. */
static CREW__TLS crew_pool *crew__my_pool;
static CREW__TLS crew__ring *crew__my_ring;
static pthread_key_t crew__ring_key;
static pthread_once_t crew__ring_key_once = PTHREAD_ONCE_INIT;

static void crew__ring_unclaim(crew__ring *r)
{
    crew_pool *p = r->pool;
    if (crew__pool_forked(p))
        return; /* a pool of the parent: leave it alone (crew_pool_destroy does) */
    /* release: the next owner sees our producer fields. */
    atomic_store_explicit(&r->owner, 0, memory_order_release);
    crew__pool_release(p);
}

/* Drops the calling thread's ring, if it has one. */
static void crew__ring_drop_mine(void)
{
    crew__ring *r = crew__my_ring;
    crew__my_pool = NULL;
    crew__my_ring = NULL;
    if (r) {
        (void)pthread_setspecific(crew__ring_key, NULL);
        crew__ring_unclaim(r);
    }
}

static void crew__ring_thread_exit(void *r)
{
    crew__my_pool = NULL;
    crew__my_ring = NULL;
    crew__ring_unclaim(r);
}

static void crew__ring_key_init(void)
{
    if (pthread_key_create(&crew__ring_key, crew__ring_thread_exit) != 0)
        crew__ring_key = (pthread_key_t)-1;
}

/* Claims a ring of p for the calling thread: a free one, or a new one.
 * NULL if all CREW__MAX_RINGS are taken, memory is short or there is no
 * membarrier (the thread then uses the injection queue). */
static crew__ring *crew__ring_claim(crew_pool *p)
{
    /* Without membarrier a ring push would need two full fences (see
     * crew__pool_submit_ring); the injection queue's one CAS is cheaper. */
    if (!atomic_load_explicit(&crew__fence_asym, memory_order_relaxed))
        return NULL;
    pthread_once(&crew__ring_key_once, crew__ring_key_init);
    if (crew__ring_key == (pthread_key_t)-1)
        return NULL;
    unsigned n = atomic_load_explicit(&p->nrings, memory_order_acquire);
    crew__ring *r = NULL;
    for (unsigned i = 0; i < n && !r; i++) {
        uint32_t zero = 0;
        /* acquire: pairs with the previous owner's release store of 0. */
        if (atomic_load_explicit(&p->rings[i]->owner, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&p->rings[i]->owner, &zero, 1,
                                                    memory_order_acquire, memory_order_relaxed))
            r = p->rings[i];
    }
    if (!r) {
        pthread_mutex_lock(&p->lock);
        n = atomic_load_explicit(&p->nrings, memory_order_relaxed);
        if (n < CREW__MAX_RINGS) {
            r = crew__alloc_lines(sizeof *r);
            if (r) {
                crew__ring_init(r, p);
                atomic_store_explicit(&r->owner, 1, memory_order_relaxed);
                p->rings[n] = r;
                /* seq_cst: seen by crew__pool_seal's scan after its heavy
                 * fence if our submit did not see the flags (pool.c). */
                atomic_store_explicit(&p->nrings, n + 1, memory_order_seq_cst);
            }
        }
        pthread_mutex_unlock(&p->lock);
        if (!r)
            return NULL;
    }
    if (pthread_setspecific(crew__ring_key, r) != 0) {
        atomic_store_explicit(&r->owner, 0, memory_order_release);
        return NULL;
    }
    crew__pool_retain(p);
    return r;
}

/* The calling thread's ring for p (claiming one, and dropping the ring of
 * another pool, on first use), or NULL. */
static inline crew__ring *crew__ring_for(crew_pool *p)
{
    if (crew__my_pool == p)
        return crew__my_ring;
    crew__ring_drop_mine();
    crew__my_ring = crew__ring_claim(p);
    crew__my_pool = p;
    return crew__my_ring;
}

/* Flow control for a full ring (ours, inside our announcement): wait while
 * the workers make progress on it, until a quarter of it is free.  A
 * thread that runs more than a ring's worth of tasks ahead of the workers
 * gains nothing by running further ahead; slowed to their pace it leaves
 * them the CPU time, and its tasks take the ring's fast path instead of
 * the overflow queue.  If the head has not moved for CREW__RING_STALL_NS
 * (the workers are blocked, or busy with long tasks, or waiting for this
 * very thread), returns false and the task goes to the overflow queue: a
 * submit never waits on the tasks themselves.  Spins a little, then
 * yields: not a sleep, the wait is as short as the workers are fast. */
static bool crew__ring_wait_space(crew__ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* acquire: as in crew__ring_push, before we reuse the slots. */
    uint64_t last = atomic_load_explicit(&r->head, memory_order_acquire);
    int64_t stalled_since = 0;
    for (unsigned i = 0;; i++) {
        if (i < 16) {
            for (int k = 0; k < 16; k++)
                crew__cpu_relax();
        } else {
            sched_yield();
        }
        uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail - h <= CREW__RING_CAP - CREW__RING_CAP / 4) {
            r->head_seen = h;
            return true;
        }
        if (h != last) {
            last = h;
            stalled_since = 0;
            continue;
        }
        int64_t now = crew_now_ns();
        if (stalled_since == 0)
            stalled_since = now;
        else if (now - stalled_since > CREW__RING_STALL_NS)
            return false;
    }
}

/* True once nothing this ring's owner sent to its overflow queue can still
 * be ahead of a push on the ring (the ring and the queue are both empty). */
static bool crew__ring_overflow_over(crew__ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
    return r->head_seen == tail && !crew__inject_maybe_nonempty(&r->ovq);
}

/* crew__pool_submit_ring's answer when an inline entry needs a block. */
#define CREW__NEEDS_BLOCK (-1000)

/* Queues the entry (fn, arg) (ring.h: fn == NULL and arg a block, or an
 * inline task) on ring r (ours) of p: crew__pool_inject's job for a thread
 * with a ring.  The fast path writes only lines this thread owns and has no
 * read-modify-write and no fence; see docs/SCHEDULER.md for why the light
 * fences are enough.  An inline entry that cannot go on the ring (its tasks
 * go to the overflow queue, which links blocks) is not queued:
 * CREW__NEEDS_BLOCK. */
static int crew__pool_submit_ring(crew_pool *p, crew__ring *r, crew_task_fn fn, void *arg)
{
    int rc = crew__pool_ensure_worker(p);
    if (rc)
        return rc;
    /* Announce, then check the flags: crew__pool_seal's handshake. */
    atomic_store_explicit(&r->in_submit, 1, memory_order_relaxed);
    crew__fence_light();
    rc = crew__pool_state_error(p);
    if (rc) {
        atomic_store_explicit(&r->in_submit, 0, memory_order_release);
        return rc;
    }
    /* Once the ring was full, keep to its overflow queue until both are
     * empty (looking every 32 submits: the look reads lines the workers
     * write), so that one thread's tasks are taken in submission order. */
    if (r->overflow && (++r->overflow_n & 31) == 0 && crew__ring_overflow_over(r))
        r->overflow = false;
    if (r->overflow || (!crew__ring_push_entry(r, fn, arg) &&
                        !(crew__ring_wait_space(r) && crew__ring_push_entry(r, fn, arg)))) {
        r->overflow = true;
        if (fn) {
            atomic_store_explicit(&r->in_submit, 0, memory_order_release);
            return CREW__NEEDS_BLOCK;
        }
        /* Accepted: the flags were checked under the announcement. */
        crew__inject_push_accepted(&r->ovq, arg);
    }
    /* release: shutdown's sealing sees the push once it sees 0. */
    atomic_store_explicit(&r->in_submit, 0, memory_order_release);
    atomic_store_explicit(&r->submitted,
                          atomic_load_explicit(&r->submitted, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    crew__fence_light(); /* the push before the load of counts */
    crew__pool_notify_light(p);
    return 0;
}

int crew_pool_submit(crew_pool *p, crew_task_fn fn, void *arg, crew_future **out)
{
    return crew_pool_submit_ex(p, fn, arg, NULL, out);
}

int crew_pool_submit_ex(crew_pool *p, crew_task_fn fn, void *arg, crew_cleanup_fn cleanup,
                        crew_future **out)
{
    if (!p || !fn)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    int rc = crew__pool_state_error(p);
    if (rc)
        return rc;
    crew__worker *self = crew__self;
    if (!out && !cleanup && !(self && self->pool == p)) {
        crew__ring *r = crew__ring_for(p);
        if (r) {
            /* No block: the entry (fn, arg) itself goes on the ring. */
            rc = crew__pool_submit_ring(p, r, fn, arg);
            if (rc != CREW__NEEDS_BLOCK)
                return rc;
        }
    }
    crew_future *f = crew__block_alloc();
    if (!f)
        return CREW_ENOMEM;
    atomic_init(&f->hdr.next, NULL);
    atomic_init(&f->hdr.word, CREW__KIND_FUTURE | CREW_FUTURE_PENDING | (out ? 0 : CREW__FS_DETACHED));
    atomic_init(&f->hdr.aux, out ? 2u : 1u);
    f->hdr.iso = self && self->pool == p ? crew__iso : 0;
    f->u1.fn = fn;
    f->u3.arg = arg;
    f->u2.cleanup = cleanup;
    f->pool = p;
    f->cbs = NULL;

    if (self && self->pool == p) {
        /* From one of our own tasks: our own deque, no lock. */
        if (crew__deque_push(&self->dq, &f->hdr) != 0) {
            crew__block_free(f);
            return CREW_ENOMEM;
        }
        crew__pool_notify(p);
        atomic_fetch_add_explicit(&p->submitted, 1, memory_order_relaxed);
    } else {
        crew__ring *r = crew__ring_for(p);
        rc = r ? crew__pool_submit_ring(p, r, NULL, &f->hdr) : crew__pool_inject(p, &f->hdr);
        if (rc) {
            crew__block_free(f);
            return rc;
        }
        if (!r)
            atomic_fetch_add_explicit(&p->submitted, 1, memory_order_relaxed);
    }
    if (out)
        *out = f;
    return 0;
}

/* ---- shutdown ----------------------------------------------------------- */

/* A list of tasks chained through hdr.next, in order. */
typedef struct crew__tlist {
    crew__task *head, *tail;
} crew__tlist;

static void crew__tlist_add(crew__tlist *l, crew__task *t)
{
    atomic_store_explicit(&t->next, NULL, memory_order_relaxed);
    if (l->tail)
        atomic_store_explicit(&l->tail->next, t, memory_order_relaxed);
    else
        l->head = t;
    l->tail = t;
}

/* Empties injection queue q: its futures onto *futs, its group jobs onto
 * *jobs.  Runs no user code. */
static void crew__take_all(crew__inject *q, crew__tlist *futs, crew__tlist *jobs)
{
    crew__task *batch[CREW__INJ_BATCH];
    for (unsigned i = 0;;) {
        size_t n = crew__inject_pop_batch(q, batch, CREW__INJ_BATCH);
        if (n == 0) {
            if (!crew__inject_maybe_nonempty(q))
                break;
            /* another consumer holds the lock, or a link is pending */
            crew__backoff(i++);
            continue;
        }
        for (size_t k = 0; k < n; k++)
            crew__tlist_add(atomic_load_explicit(&batch[k]->word, memory_order_relaxed) &
                                    CREW__KIND_FUTURE
                                ? futs
                                : jobs,
                            batch[k]);
    }
}

/* Takes every task off the rings and the injection queues now and cancels
 * the futures (their cleanups and callbacks run in the calling thread).
 * Group jobs (spawned from outside before the shutdown) go back to the
 * injection queue for the workers, unless jobs_too (no worker is left to
 * run them): then they are dropped too (skipped, their group cancelled).
 * Futures on worker deques (submitted by running tasks) are cancelled by
 * the worker that reaches them (CREW__P_CANCEL, crew__run_task); stealing
 * them from here would also take group jobs off the deques where isolated
 * waits look for them.  While the tasks are out of the queues, held_seq
 * is odd (crew__work_visible); it is even again before any user code
 * runs. */
static void crew__cancel_queued(crew_pool *p, bool jobs_too)
{
    crew__tlist futs = {NULL, NULL}, jobs = {NULL, NULL};
    int broken = (atomic_load_explicit(&p->flags, memory_order_acquire) & CREW__P_BROKEN) != 0;
    crew__pool_retain(p); /* the drops below outlive a destroy racing with us */
    pthread_mutex_lock(&p->cancel_lock);
    atomic_fetch_add_explicit(&p->held_seq, 1, memory_order_seq_cst);
    /* The rings hold futures and inline entries (detached tasks without a
     * cleanup), never jobs.  Sealed: nothing more is pushed there. */
    unsigned nr = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < nr; i++) {
        crew__task *t;
        uint64_t tail = 0;
        crew__inline inl;
        atomic_init(&inl.hdr.word, CREW__KIND_INLINE);
        inl.hdr.iso = 0;
        while ((t = crew__ring_take(p->rings[i], &tail, &inl)) != NULL) {
            if (t == &inl.hdr)
                crew__inline_drop(p, broken); /* a count: no user code */
            else
                crew__tlist_add(&futs, t);
        }
        crew__take_all(&p->rings[i]->ovq, &futs, &jobs);
    }
    crew__take_all(&p->inj, &futs, &jobs);
    if (!jobs_too) {
        for (crew__task *t = jobs.head, *next; t; t = next) {
            next = atomic_load_explicit(&t->next, memory_order_relaxed);
            crew__inject_push_accepted(&p->inj, t);
        }
        jobs.head = NULL;
    }
    /* seq_cst: after the jobs' pushes (crew__work_visible). */
    atomic_fetch_add_explicit(&p->held_seq, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&p->cancel_lock);
    crew__pool_notify(p);
    for (crew__task *t = futs.head, *next; t; t = next) {
        next = atomic_load_explicit(&t->next, memory_order_relaxed);
        crew__task_drop(t, broken);
    }
    for (crew__task *t = jobs.head, *next; t; t = next) {
        next = atomic_load_explicit(&t->next, memory_order_relaxed);
        crew__task_drop(t, broken);
    }
    crew__pool_release(p);
}

/* Joins every worker thread that exists, until none is left.  Returns
 * false if work is still queued and no thread could be started for it. */
static bool crew__join_all(crew_pool *p)
{
    for (;;) {
        bool joined = false;
        pthread_mutex_lock(&p->join_lock);
        unsigned nslots = atomic_load_explicit(&p->nslots, memory_order_acquire);
        for (unsigned i = 0; i < nslots; i++) {
            crew__worker *v = &p->workers[i];
            uint32_t st = atomic_load_explicit(&v->slot, memory_order_acquire);
            if (st == CREW__SLOT_FREE)
                continue;
            joined = true;
            if (!(st & CREW__SLOT_TID)) {
                sched_yield(); /* its starter is between create and TID */
                continue;
            }
            /* Running threads exit on their own once no work is left. */
            pthread_join(v->thread, NULL);
            atomic_store_explicit(&v->slot, CREW__SLOT_FREE, memory_order_release);
        }
        pthread_mutex_unlock(&p->join_lock);
        if (joined)
            continue; /* a worker may have started another before it exited */
        /* No thread left.  A task published after the last worker looked
         * (its submitter's notification could not start a thread) still
         * needs one.  Not under join_lock: p->lock comes first. */
        if (!crew__work_visible(p))
            return true;
        uint64_t c = atomic_load_explicit(&p->counts, memory_order_seq_cst);
        if (CREW__C_FIELD(c, CREW__C_ALIVE) == 0 && crew__start_worker(p) != 0)
            return false;
    }
}

int crew_pool_shutdown(crew_pool *p, bool wait, bool cancel_pending)
{
    if (!p)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    if (wait && crew__self && crew__self->pool == p)
        return CREW_EDEADLK;
    atomic_fetch_or_explicit(&p->flags, CREW__P_SHUTDOWN | (cancel_pending ? CREW__P_CANCEL : 0),
                             memory_order_seq_cst);
    crew__inject_close(&p->inj);
    crew__pool_seal(p);
    if (cancel_pending)
        crew__cancel_queued(p, false);
    /* Wake every parked worker: each drains what is left and exits. */
    while (crew__wake_one(p))
        ;
    if (!wait)
        return 0;
    /* A thread may still start while we join (a worker starting another
     * for work it published, or a late notification): crew__join_all
     * joins until none is left.  If work is queued and no thread can be
     * started for it, the tasks are cancelled here rather than waited for
     * forever (their cleanups run, their futures are cancelled). */
    if (!crew__join_all(p))
        crew__cancel_queued(p, true);
    return 0;
}

int crew_pool_destroy(crew_pool *p)
{
    if (!p)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    int rc = crew_pool_shutdown(p, true, false);
    if (rc)
        return rc;
    if (crew__my_pool == p)
        crew__ring_drop_mine(); /* our ring's reference on p */
    crew__pool_release(p);
    return 0;
}

/* ---- statistics ------------------------------------------------------- */

int crew_pool_get_stats(crew_pool *p, crew_pool_stats *out)
{
    if (!p || !out)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    uint64_t started = 0, completed = 0, failed = 0;
    unsigned nslots = atomic_load_explicit(&p->nslots, memory_order_acquire);
    for (unsigned i = 0; i < nslots; i++) {
        crew__worker *v = &p->workers[i];
        started += atomic_load_explicit(&v->n_started, memory_order_relaxed);
        completed += atomic_load_explicit(&v->n_completed, memory_order_relaxed);
        failed += atomic_load_explicit(&v->n_failed, memory_order_relaxed);
    }
    uint64_t submitted = atomic_load_explicit(&p->submitted, memory_order_relaxed);
    unsigned nr = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < nr; i++)
        submitted += atomic_load_explicit(&p->rings[i]->submitted, memory_order_relaxed);
    uint64_t cancelled = atomic_load_explicit(&p->cancelled, memory_order_relaxed);
    uint64_t broken = atomic_load_explicit(&p->broken, memory_order_relaxed);
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    out->workers_alive = CREW__C_FIELD(c, CREW__C_ALIVE);
    out->workers_idle = CREW__C_FIELD(c, CREW__C_SLEEP) +
                        atomic_load_explicit(&p->spinning, memory_order_relaxed);
    uint64_t gone = started + cancelled + broken;
    out->queued = submitted > gone ? submitted - gone : 0;
    out->running = started > completed + failed ? started - completed - failed : 0;
    out->completed = completed;
    out->failed = failed + broken;
    out->cancelled = cancelled;
    out->unobserved = atomic_load_explicit(&p->unobserved, memory_order_relaxed);
    return 0;
}

/* ---- waiting inside the pool (sched.h) ---------------------------------- */

void crew__wake_word(_Atomic uint32_t *word)
{
    crew__futex_wake_all(word);
}

/* How often a worker blocked in a helping wait looks for work again.  The
 * queues cannot wake it (it sleeps on the awaited word, which belongs to
 * another object: a futex waits on one word, and a nudge that changes the
 * awaited word would need a bit reserved in every word crew waits on), and
 * new work normally needs no such look: whoever queues it wakes a parked
 * worker or starts one (also after shutdown), and a blocked worker does
 * not count as available, so one is started.  The look covers the case
 * where no thread can be started (pthread_create fails, or every slot is
 * taken) while every worker is blocked on work that only the queue holds:
 * then a blocked worker finds it here.  A wake-up per period per blocked
 * worker; never a busy loop. */
#if defined(CREW_FAULTS)
int64_t crew__blocked_recheck_ns = CREW__BLOCKED_RECHECK_NS; /* fault.h may lengthen it */
#define CREW__RECHECK_NS crew__blocked_recheck_ns
#else
#define CREW__RECHECK_NS CREW__BLOCKED_RECHECK_NS
#endif

static int crew__wait_word_in(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns,
                              const crew__accept *acc)
{
    crew__worker *w = crew__self;
    if (!w) {
        /* A thread outside the pool spins up to CREW__WAIT_SPIN_NS first: a
         * result that is microseconds away (a spinning worker picks a task
         * up in well under a microsecond) should not cost a futex sleep and
         * wake-up, tens of microseconds on this kind of machine. */
        int64_t until = 0;
        for (unsigned i = 1;; i++) {
            if (atomic_load_explicit(word, memory_order_acquire) != value)
                return 0;
            crew__cpu_relax();
            if ((i & 63) == 0) {
                int64_t now = crew_now_ns();
                if (!until)
                    until = now + CREW__WAIT_SPIN_NS;
                if (now >= until || now >= deadline_ns)
                    break;
            }
        }
        return crew__futex_wait(word, value, deadline_ns);
    }
    for (int i = 0; i < 64; i++) {
        if (atomic_load_explicit(word, memory_order_acquire) != value)
            return 0;
        crew__cpu_relax();
    }
    crew_pool *p = w->pool;
    /* acquire: pairs with the release/seq_cst change of the word by the
     * thread that completes the awaited work. */
    if (atomic_load_explicit(word, memory_order_acquire) != value)
        return 0;
    /* A timed wait runs no other task meanwhile: a task could take longer
     * than the deadline, and the deadline would wait for it.  It blocks as
     * a blocked worker does, so a replacement runs the queued work. */
    bool help = deadline_ns == CREW__FOREVER;
    if (help) {
        crew__task *t = crew__find_work(w, acc);
        if (t) {
            /* While we run another task we wait for nobody: a waiter that
             * followed our record would see a cycle that is not there.
             * Return afterwards so the caller re-publishes and re-checks. */
            crew__withdraw_wait(w);
            crew__run_task(w, t);
            return 0;
        }
    } else if (crew_now_ns() >= deadline_ns) {
        return CREW_ETIMEDOUT;
    }
    /* Nothing to help with: block, and stop counting as available so that
     * queued work gets a replacement worker. */
    atomic_fetch_add_explicit(&p->counts, CREW__C_BLOCK, memory_order_seq_cst);
    crew__fence_heavy();
    if (crew__work_visible(p))
        crew__pool_notify(p);
    int64_t until = deadline_ns;
    if (help)
        until = crew__deadline_after(CREW__RECHECK_NS); /* see CREW__RECHECK_NS */
    int rc = crew__futex_wait(word, value, until);
    atomic_fetch_sub_explicit(&p->counts, CREW__C_BLOCK, memory_order_seq_cst);
    if (rc == CREW_ETIMEDOUT && until != deadline_ns)
        rc = 0; /* our own recheck, not the caller's deadline */
    return rc;
}

int crew__wait_word(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns)
{
    return crew__wait_word_in(word, value, deadline_ns, NULL);
}

int crew__wait_word_isolated(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns,
                             const crew__accept *acc)
{
    return crew__wait_word_in(word, value, deadline_ns, acc);
}

/* ---- isolation -------------------------------------------------------- */

/* Region numbers: never 0, never reused while the process lives (a 64-bit
 * count).  Relaxed: only uniqueness matters. */
static _Atomic uint64_t crew__iso_next = 1;

int crew_isolate(crew_isolated_fn fn, void *ctx)
{
    if (!fn)
        return CREW_EINVAL;
    if (!crew__self)
        return fn(ctx); /* outside a pool a wait never runs tasks */
    uintptr_t outer = crew__iso;
    crew__iso = (uintptr_t)atomic_fetch_add_explicit(&crew__iso_next, 1, memory_order_relaxed);
    int rc = fn(ctx);
    crew__iso = outer;
    return rc;
}
