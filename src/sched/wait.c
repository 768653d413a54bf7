/* wait.c - waiting inside the pool (README.md, "Waiting inside the
 * pool"): crew__wait_word, which every blocking crew call ends in, and
 * isolation regions (crew_isolate).
 */
#include "base/assert.h"
#include "base/backoff.h"
#include "base/clock.h"
#include "base/fence.h"
#include "base/platform.h"
#include "sched/pool.h"
#include "sched/sched.h"

#define WAIT_SPIN_NS 20000 /* spin of a waiter outside the pool */
#define HELP_SPIN_NS 20000 /* how long a helping wait looks for work before it blocks */

void crew__withdraw_wait(crew__worker *self)
{
    /* Relaxed: only this worker stores non-NULL into its own field. */
    if (atomic_load_explicit(&self->waiting_on, memory_order_relaxed)) {
        pthread_mutex_lock(&self->pool->deadlock_lock);
        atomic_store_explicit(&self->waiting_on, NULL, memory_order_relaxed);
        pthread_mutex_unlock(&self->pool->deadlock_lock);
    }
}

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
#define BLOCKED_RECHECK_NS (10 * (int64_t)1000000)
#if defined(CREW_FAULTS)
int64_t crew__blocked_recheck_ns = BLOCKED_RECHECK_NS; /* fault.h may lengthen it */
#define RECHECK_NS crew__blocked_recheck_ns
#else
#define RECHECK_NS BLOCKED_RECHECK_NS
#endif

/* One look for work by worker w waiting in a helping wait: runs what it
 * finds and returns true, or false if nothing (acc: tasks it may take).
 * While it runs another task it waits for nobody: a waiter that followed
 * its record would see a cycle that is not there; the caller returns after
 * a run, so its caller re-publishes and re-checks. */
static bool help_once(crew__worker *w, const crew__accept *acc)
{
    crew__task *t = crew__find_work(w, acc);
    if (!t)
        return false;
    crew__withdraw_wait(w);
    crew__run_task(w, t);
    return true;
}

static int wait_word_in(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns,
                        const crew__accept *acc, bool may_help)
{
    crew__worker *w = crew__self;
    if (!w) {
        /* A thread outside the pool spins up to WAIT_SPIN_NS first: a
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
                    until = now + WAIT_SPIN_NS;
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
    bool help = may_help && deadline_ns == CREW__FOREVER;
    if (help) {
        /* Look for work a while before blocking, as an idle worker spins
         * before it parks.  The awaited task usually runs on another
         * worker (a fork-join job it stole): it will push work we can
         * steal, or finish, within microseconds, and blocking here would
         * count us unavailable, which starts a replacement thread (a stack
         * and a malloc arena of its own, and its start-up) that the pool
         * retires again at once. */
        int64_t until = 0;
        for (unsigned i = 0;; i++) {
            if (help_once(w, acc))
                return 0;
            if (atomic_load_explicit(word, memory_order_acquire) != value)
                return 0;
            /* Bounded in time, not rounds (a round's look costs more in a
             * bigger pool, a yield more on a busy machine); as idle's spin
             * (worker.c): bursts of relaxes, a yield every 32nd round. */
            if ((i & 7) == 0) {
                int64_t now = crew_now_ns();
                if (!until)
                    until = now + HELP_SPIN_NS;
                else if (now >= until)
                    break;
            }
            crew__backoff_spins(i & 31, 31, 32);
        }
    } else if (crew_now_ns() >= deadline_ns) {
        return CREW_ETIMEDOUT;
    }
    for (;;) {
        /* Nothing to help with: block, and stop counting as available so
         * that queued work gets a replacement worker. */
        atomic_fetch_add_explicit(&p->counts, CREW__C_BLOCK, memory_order_seq_cst);
        crew__fence_heavy();
        if (crew__work_visible(p))
            crew__pool_notify(p);
        int64_t until = deadline_ns;
        if (help)
            until = crew__deadline_after(RECHECK_NS); /* see RECHECK_NS */
        int rc = crew__futex_wait(word, value, until);
        crew__counts_sub(p, CREW__C_BLOCK);
        if (rc != CREW_ETIMEDOUT || until == deadline_ns)
            return rc;
        /* Our own recheck, not the caller's deadline: one look for work
         * (no spin: the work a spin is for would have woken or started
         * someone), then block again. */
        if (atomic_load_explicit(word, memory_order_acquire) != value || help_once(w, acc))
            return 0;
    }
}

int crew__wait_word(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns)
{
    return wait_word_in(word, value, deadline_ns, NULL, true);
}

int crew__wait_word_isolated(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns,
                             const crew__accept *acc)
{
    return wait_word_in(word, value, deadline_ns, acc, true);
}

int crew__wait_word_blocking(_Atomic uint32_t *word, uint32_t value, int64_t deadline_ns)
{
    return wait_word_in(word, value, deadline_ns, NULL, false);
}

/* ---- isolation -------------------------------------------------------- */

/* Region numbers: never 0, never reused while the process lives (a 64-bit
 * count).  Relaxed: only uniqueness matters. */
static _Atomic uint64_t iso_next = 1;

int crew_isolate(crew_isolated_fn fn, void *ctx)
{
    if (!fn)
        return CREW_EINVAL;
    if (!crew__self)
        return fn(ctx); /* outside a pool a wait never runs tasks */
    uintptr_t outer = crew__iso;
    crew__iso = (uintptr_t)atomic_fetch_add_explicit(&iso_next, 1, memory_order_relaxed);
    int rc = fn(ctx);
    crew__iso = outer;
    return rc;
}
