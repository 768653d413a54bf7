/* pool.c - a pool's life: options, create, references, free, statistics,
 * fork().  The scheduler's design is in README.md beside this file; the
 * other parts live in find.c (finding work), wake.c (waking and starting
 * workers), worker.c (the worker loop, parking, running tasks), submit.c
 * (queueing from outside, submission rings), shutdown.c and wait.c (the
 * helping wait, isolation).
 */
#include "sched/pool.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/fence.h"
#include "base/platform.h"
#include "sched/sched.h"

CREW__TLS crew__worker *crew__self;
CREW__TLS uintptr_t crew__iso;
CREW__TLS void *crew__task_ctx;
CREW__TLS crew_pool *crew__outside_pool;

#define DEFAULT_IDLE_NS (10 * (int64_t)1000000000)

/* ---- fork() --------------------------------------------------------------- */

/* crew__fork_gen (pool.h): a line of its own.  Read on every submit and
 * group init (crew__pool_forked), it must not share a line with a global
 * the program writes often (the linker placed it beside the W1
 * benchmark's task counter: 25 -> 20 ns per task once apart). */
crew__fork_gen_line crew__fork_gen;
#define fork_generation (crew__fork_gen.n)
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void)
{
    atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
}

static void atfork_register(void)
{
    (void)pthread_atfork(NULL, NULL, atfork_child);
}

/* ---- options, create ------------------------------------------------------ */

void crew_pool_options_init(crew_pool_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->name = "crew";
}

static unsigned online_cpus(void)
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
    pthread_once(&atfork_once, atfork_register);
    crew__fence_init();

    crew_pool *p = crew__alloc_lines(sizeof *p);
    if (!p)
        return CREW_ENOMEM;
    memset(p, 0, sizeof *p);
    p->max_workers = opts->workers ? opts->workers : online_cpus();
    p->max_slots = p->max_workers + CREW__EXTRA_SLOTS;
    /* Only the pointers: a worker is allocated when its slot first starts. */
    p->workers = crew__calloc(p->max_slots, sizeof *p->workers);
    if (!p->workers) {
        crew__free(p);
        return CREW_ENOMEM;
    }
    crew__inject_init(&p->inj);
    /* At least two may spin: then, while one runs the task it found, another
     * is still spinning, and a submit right behind it (back-to-back
     * round trips) costs no futex wake-up.  Half the workers at most for
     * big pools, as Go limits its spinning threads. */
    p->spin_limit = p->max_workers / 2 > 2 ? p->max_workers / 2 : (p->max_workers < 2 ? 1 : 2);
    p->idle_timeout_ns = opts->idle_timeout_ns == 0 ? DEFAULT_IDLE_NS : opts->idle_timeout_ns;
    snprintf(p->name, sizeof p->name, "%s", opts->name ? opts->name : "crew");
    p->init = opts->init;
    p->init_ctx = opts->init_ctx;
    /* Tasks of a pool with an initializer expect what it set up in their
     * thread: they run only on workers. */
    p->workers_only = opts->workers_only || opts->init != NULL;
    p->unobserved_fn = opts->unobserved;
    p->unobserved_ctx = opts->unobserved_ctx;
    p->fork_gen = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    atomic_init(&p->refs, 1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->join_lock, NULL);
    pthread_mutex_init(&p->cancel_lock, NULL);
    pthread_mutex_init(&p->deadlock_lock, NULL);
    *out = p;
    return 0;
}

void crew__pool_free(crew_pool *p)
{
    unsigned nrings = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < nrings; i++)
        crew__free(p->rings[i]);
    unsigned nslots = atomic_load_explicit(&p->nslots, memory_order_acquire);
    for (unsigned i = 0; i < nslots; i++) {
        crew__worker *w = crew__worker_at(p, i);
        CREW__ASSERT(atomic_load_explicit(&w->slot, memory_order_relaxed) == CREW__SLOT_FREE);
        CREW__ASSERT(crew__deque_valid(&w->dq) && crew__deque_size_hint(&w->dq) == 0);
        crew__deque_destroy(&w->dq);
        crew__free(w);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->join_lock);
    pthread_mutex_destroy(&p->cancel_lock);
    pthread_mutex_destroy(&p->deadlock_lock);
    crew__free(p->workers);
    crew__free(p);
}

void crew__pool_retain(crew_pool *p)
{
    uint32_t old = atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    CREW__ASSERT(old > 0); /* never revived from zero */
    (void)old;
}

void crew__pool_release(crew_pool *p)
{
    /* acq_rel: the last releaser sees every other holder's writes. */
    uint32_t old = atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel);
    CREW__ASSERT(old > 0); /* a double release */
    if (old == 1)
        crew__pool_free(p);
}

unsigned crew__pool_max_workers(const crew_pool *p)
{
    return p ? p->max_workers : 0;
}

crew_pool *crew_pool_current(void)
{
    return crew__self ? crew__self->pool : crew__outside_pool;
}

/* ---- tasks run by a waiting thread outside the pool ---------------------- */

bool crew__outside_begin_counted(crew_pool *p)
{
    /* seq_cst RMW, then seq_cst load of the flags: against shutdown's
     * seq_cst flag store then its look at out_running (crew__outside_wait):
     * either shutdown waits for us or we see its flag. */
    atomic_fetch_add_explicit(&p->out_running, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&p->flags, memory_order_seq_cst) & (CREW__P_SHUTDOWN | CREW__P_BROKEN)) {
        crew__outside_end_counted(p, false, 0);
        return false;
    }
    return true;
}

void crew__outside_end_counted(crew_pool *p, bool ran, int rc)
{
    if (ran)
        atomic_fetch_add_explicit(rc ? &p->out_failed : &p->out_completed, 1,
                                  memory_order_relaxed);
    /* Without a shutdown waiting, one CAS (never from a word with WAITING:
     * that waiter must be woken, below).  With one, under p->lock: shutdown
     * takes the lock once it saw the count reach zero, so we are done with
     * p before it can free it. */
    uint32_t v = atomic_load_explicit(&p->out_running, memory_order_relaxed);
    while (!(v & CREW__OUT_WAITING)) {
        /* release: our run's writes before a shutdown that sees the count. */
        if (atomic_compare_exchange_weak_explicit(&p->out_running, &v, v - 1,
                                                  memory_order_release, memory_order_relaxed))
            return;
    }
    pthread_mutex_lock(&p->lock);
    v = atomic_fetch_sub_explicit(&p->out_running, 1, memory_order_release) - 1;
    if ((v & CREW__OUT_COUNT) == 0)
        crew__futex_wake_all(&p->out_running);
    pthread_mutex_unlock(&p->lock);
}

void crew__outside_wait(crew_pool *p)
{
    /* seq_cst: after our flag store (crew__outside_begin's pattern). */
    uint32_t v = atomic_fetch_or_explicit(&p->out_running, CREW__OUT_WAITING, memory_order_seq_cst) |
                 CREW__OUT_WAITING;
    while (v & CREW__OUT_COUNT) {
        (void)crew__futex_wait(&p->out_running, v, CREW__FOREVER);
        v = atomic_load_explicit(&p->out_running, memory_order_acquire);
    }
    /* The last ender may still be inside its critical section. */
    pthread_mutex_lock(&p->lock);
    pthread_mutex_unlock(&p->lock);
    crew__outside_wait_rings(p);
}

void crew__count_unobserved(crew_pool *p, int task_error)
{
    atomic_fetch_add_explicit(&p->unobserved, 1, memory_order_relaxed);
    if (p->unobserved_fn)
        p->unobserved_fn(task_error, p->unobserved_ctx);
}

/* ---- statistics ------------------------------------------------------------ */

int crew_pool_get_stats(crew_pool *p, crew_pool_stats *out)
{
    if (!p || !out)
        return CREW_EINVAL;
    if (crew__pool_forked(p))
        return CREW_EFORKED;
    uint64_t started = 0, completed = 0, failed = 0;
    unsigned nslots = atomic_load_explicit(&p->nslots, memory_order_acquire);
    for (unsigned i = 0; i < nslots; i++) {
        crew__worker *v = crew__worker_at(p, i);
        started += atomic_load_explicit(&v->n_started, memory_order_relaxed);
        completed += atomic_load_explicit(&v->n_completed, memory_order_relaxed);
        failed += atomic_load_explicit(&v->n_failed, memory_order_relaxed);
    }
    /* Tasks run by waiting threads outside: finished, plus those running
     * now (out_running also counts, for a moment, a thread between its
     * begin and a claim it then loses: one RMW less per such run). */
    uint64_t out_done = atomic_load_explicit(&p->out_completed, memory_order_relaxed);
    uint64_t out_failed = atomic_load_explicit(&p->out_failed, memory_order_relaxed);
    completed += out_done;
    failed += out_failed;
    started += out_done + out_failed +
               (atomic_load_explicit(&p->out_running, memory_order_relaxed) & CREW__OUT_COUNT);
    uint64_t submitted = atomic_load_explicit(&p->submitted, memory_order_relaxed);
    unsigned nr = atomic_load_explicit(&p->nrings, memory_order_acquire);
    for (unsigned i = 0; i < nr; i++) {
        crew__subring *r = p->rings[i];
        submitted += atomic_load_explicit(&r->submitted, memory_order_relaxed);
        /* Outside runs announced on rings, as out_* above. */
        uint64_t rd = atomic_load_explicit(&r->run_done, memory_order_relaxed);
        uint64_t rf = atomic_load_explicit(&r->run_failed, memory_order_relaxed);
        completed += rd;
        failed += rf;
        started += rd + rf + atomic_load_explicit(&r->in_run, memory_order_relaxed);
    }
    uint64_t cancelled = atomic_load_explicit(&p->cancelled, memory_order_relaxed);
    uint64_t broken = atomic_load_explicit(&p->broken, memory_order_relaxed);
    uint64_t c = atomic_load_explicit(&p->counts, memory_order_relaxed);
    out->workers_alive = CREW__C_FIELD(c, CREW__C_ALIVE);
    unsigned sleeping = CREW__C_FIELD(c, CREW__C_SLEEP);
    if (sleeping >= 0x8000u)
        sleeping = 0; /* below zero for a moment (pool.h) */
    out->workers_idle = sleeping + atomic_load_explicit(&p->spinning, memory_order_relaxed);
    uint64_t gone = started + cancelled + broken;
    out->queued = submitted > gone ? submitted - gone : 0;
    out->running = started > completed + failed ? started - completed - failed : 0;
    out->completed = completed;
    out->failed = failed + broken;
    out->cancelled = cancelled;
    out->unobserved = atomic_load_explicit(&p->unobserved, memory_order_relaxed);
    return 0;
}
