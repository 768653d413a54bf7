/*
 * wait.c - waiting on many futures: crew_wait (Python's
 * concurrent.futures.wait) and the crew_as_completed iterator (Python's
 * as_completed).  Built only on the public future API plus the scheduler's
 * crew__wait_word / crew__wake_word and crew__future_remove_done_callback
 * (sched/sched.h).  See docs/FUTURES.md for the design in prose.
 *
 * Both follow the same pattern: a small shared object, reference counted,
 * holds a futex word; a done callback on every watched future records the
 * completion in it, changes the word and wakes it; the waiting thread loads
 * the word, checks its condition, and only then sleeps with
 * crew__wait_word(word, loaded value), so no completion is missed (the
 * protocol of sched/sched.h).  crew__wait_word also lets a pool worker run
 * other queued tasks while it waits, so waiting from inside a task never
 * deadlocks the pool.
 *
 * Ownership of the shared object: one reference for the waiting side and one
 * for every callback that was registered.  A callback drops its own reference
 * when it has run.  When the waiting side gives up (timeout, destroy) it takes
 * back each callback with crew__future_remove_done_callback: if that returns
 * true the callback will never run and the waiting side drops the reference
 * for it; if false the callback has run or is running and drops its own.
 * Whoever drops the last reference frees the object, exactly once.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/clock.h"
#include "crew/future.h"
#include "exec/future.h"
#include "sched/sched.h"
#include "base/sys.h"

/* Whether a finished future failed: CREW_ETASK or CREW_EBROKEN.  Uses the
 * non-observing query: crew_wait does not count as looking at the error. */
static bool future_failed(const crew_future *f)
{
    int rc = crew__future_peek(f);
    return rc == CREW_ETASK || rc == CREW_EBROKEN;
}

/* ---- crew_wait ------------------------------------------------------- */

/* The shared state of one crew_wait call. */
typedef struct waiter {
    /* Changed (after finished/failed) by the callback that makes the
     * condition true; loaded by the waiting thread before it checks the
     * condition and sleeps on it (sched/sched.h protocol). */
    _Atomic uint32_t word;
    /* Number of callbacks that have run (one per entry of fs). */
    _Atomic size_t finished;
    /* Set by a callback whose future failed (FIRST_EXCEPTION only). */
    _Atomic bool failed;
    /* The caller's reference + one per registered callback. */
    _Atomic size_t refs;
    /* Immutable after creation: read by callbacks without ordering. */
    crew_wait_mode mode;
    size_t total; /* number of entries (callbacks), duplicates included */
} waiter;

static void waiter_unref(waiter *w)
{
    /* acq_rel: the last dropper must see every other holder's writes
     * (pairs with the other holders' fetch_sub). */
    if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1)
        crew__free(w);
}

/* Whether mode's condition holds, given the callbacks' records. */
static bool waiter_ready(waiter *w)
{
    /* acquire: pairs with the callbacks' release on finished / failed. */
    size_t fin = atomic_load_explicit(&w->finished, memory_order_acquire);
    if (fin >= w->total)
        return true;
    switch (w->mode) {
    case CREW_FIRST_COMPLETED:
        return fin > 0;
    case CREW_FIRST_EXCEPTION:
        return atomic_load_explicit(&w->failed, memory_order_acquire);
    default:
        return false;
    }
}

/* The done callback: records the completion; wakes the waiter when this
 * completion is the one that makes the condition true. */
static void waiter_on_done(crew_future *f, void *ctx)
{
    waiter *w = ctx;
    bool failed_now = false;
    if (w->mode == CREW_FIRST_EXCEPTION && future_failed(f)) {
        failed_now = true;
        /* release: pairs with the acquire load in waiter_ready. */
        atomic_store_explicit(&w->failed, true, memory_order_release);
    }
    /* acq_rel: counts completions among callbacks racing on other threads;
     * release pairs with the acquire load in waiter_ready. */
    size_t fin = atomic_fetch_add_explicit(&w->finished, 1, memory_order_acq_rel) + 1;
    bool wake = fin == w->total || failed_now ||
                (w->mode == CREW_FIRST_COMPLETED && fin == 1);
    if (wake) {
        /* release: orders the finished/failed updates above before the word
         * change; pairs with the acquire load of word in wait_loop. */
        atomic_fetch_add_explicit(&w->word, 1, memory_order_release);
        crew__wake_word(&w->word);
    }
    waiter_unref(w); /* the reference this callback held */
}

/* Fills done[] and *ndone from the futures' current states. */
static size_t fill_done(crew_future *const *fs, size_t n, bool *done)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        bool d = crew_future_done(fs[i]);
        if (done)
            done[i] = d;
        count += d;
    }
    return count;
}

/* The condition checked straight from the futures' states (no callbacks):
 * the fast path when it already holds or the deadline has passed. */
static bool ready_now(crew_future *const *fs, size_t n, crew_wait_mode mode)
{
    size_t fin = 0;
    bool failed = false;
    for (size_t i = 0; i < n; i++) {
        if (!crew_future_done(fs[i]))
            continue;
        fin++;
        if (mode == CREW_FIRST_COMPLETED)
            return true;
        if (mode == CREW_FIRST_EXCEPTION && future_failed(fs[i]))
            failed = true;
    }
    return fin == n || failed;
}

/* Registers callbacks, waits, takes the callbacks back.  Returns 0,
 * CREW_ETIMEDOUT or CREW_ENOMEM. */
static int wait_slow(crew_future *const *fs, size_t n, crew_wait_mode mode,
                     int64_t deadline_ns)
{
    waiter *w = crew__malloc(sizeof *w);
    if (!w)
        return CREW_ENOMEM;
    atomic_init(&w->word, 0);
    atomic_init(&w->finished, 0);
    atomic_init(&w->failed, false);
    atomic_init(&w->refs, 1);
    w->mode = mode;
    w->total = n;

    int rc = 0;
    size_t registered = 0;
    for (; registered < n; registered++) {
        /* relaxed: the caller's reference keeps w alive; the callback's
         * reference is handed over by add_done_callback's own ordering. */
        atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
        if (crew_future_add_done_callback(fs[registered], waiter_on_done, w) != 0) {
            atomic_fetch_sub_explicit(&w->refs, 1, memory_order_relaxed);
            rc = CREW_ENOMEM;
            break;
        }
    }

    while (rc == 0) {
        /* acquire: pairs with the release fetch_add in waiter_on_done. */
        uint32_t seen = atomic_load_explicit(&w->word, memory_order_acquire);
        if (waiter_ready(w))
            break;
        if (crew__wait_word(&w->word, seen, deadline_ns) == CREW_ETIMEDOUT) {
            /* A future's state changes before its callbacks run: judge by
             * the states too, so a finished future is never missed. */
            if (!waiter_ready(w) && !ready_now(fs, n, mode))
                rc = CREW_ETIMEDOUT;
            break;
        }
    }

    /* Take back the callbacks that have not run (each removal takes back
     * one registration, so duplicates are handled one by one). */
    for (size_t i = 0; i < registered; i++) {
        if (crew__future_remove_done_callback(fs[i], waiter_on_done, w))
            waiter_unref(w); /* the reference the removed callback held */
    }
    waiter_unref(w); /* the caller's reference */
    return rc;
}

int crew_wait_until(crew_future *const *fs, size_t n, crew_wait_mode mode, bool *done,
                    size_t *ndone, int64_t deadline_ns)
{
    if (mode != CREW_FIRST_COMPLETED && mode != CREW_FIRST_EXCEPTION &&
        mode != CREW_ALL_COMPLETED)
        return CREW_EINVAL;
    if (n > 0 && !fs)
        return CREW_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return CREW_EINVAL;

    int rc = 0;
    if (n > 0 && !ready_now(fs, n, mode)) {
        if (deadline_ns != CREW__FOREVER && deadline_ns <= crew_now_ns())
            rc = CREW_ETIMEDOUT;
        else
            rc = wait_slow(fs, n, mode, deadline_ns);
        if (rc == CREW_ENOMEM)
            return rc;
    }
    size_t count = fill_done(fs, n, done);
    if (ndone)
        *ndone = count;
    return rc;
}

int crew_wait_timed(crew_future *const *fs, size_t n, crew_wait_mode mode, bool *done,
                    size_t *ndone, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return CREW_EINVAL;
    return crew_wait_until(fs, n, mode, done, ndone, crew__deadline_after(timeout_ns));
}

int crew_wait(crew_future *const *fs, size_t n, crew_wait_mode mode, bool *done,
              size_t *ndone)
{
    return crew_wait_until(fs, n, mode, done, ndone, CREW__FOREVER);
}

/* ---- as_completed ---------------------------------------------------- */

struct ac_shared;

/* One watched future that reports through a done callback (the node is the
 * callback's ctx, so each registration is told apart). */
typedef struct ac_node {
    struct ac_shared *s; /* immutable */
    crew_future *f;      /* immutable */
    /* Set once by whoever enqueues f: its callback, or a next that timed out
     * and found f finished before its callback ran (exchange acq_rel). */
    _Atomic bool claimed;
} ac_node;

/* The part shared between the iterator and the callbacks.  queue[] has one
 * slot per distinct future; each future is put in exactly once, in the next
 * free slot, so slot order is completion order. */
typedef struct ac_shared {
    /* Next free slot: reserved with fetch_add by whoever enqueues. */
    _Atomic size_t tail;
    /* Changed after each slot is filled; the iterator sleeps on it. */
    _Atomic uint32_t word;
    /* The iterator's reference + one per registered callback. */
    _Atomic size_t refs;
    ac_node *nodes; /* immutable pointer; one per distinct future */
    /* Slot i: NULL until filled (store release, load acquire by next);
     * written once. */
    _Atomic(crew_future *) queue[];
} ac_shared;

struct crew_as_completed {
    ac_shared *s;
    /* The distinct futures, one reference each: [0, nfirst) were finished
     * at creation (no callback), [nfirst, n) have a callback with ctx
     * &s->nodes[i].  Only the iterator's thread touches these fields. */
    crew_future **fs;
    size_t n, nfirst;
    size_t head; /* next slot to yield */
};

static void ac_unref(ac_shared *s)
{
    /* acq_rel: the last dropper sees every other holder's writes. */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        crew__free(s->nodes);
        crew__free(s);
    }
}

/* Puts f in the next free slot and wakes the iterator. */
static void ac_push(ac_shared *s, crew_future *f)
{
    /* relaxed: only reserves a distinct slot; the slot's store publishes. */
    size_t slot = atomic_fetch_add_explicit(&s->tail, 1, memory_order_relaxed);
    /* release: pairs with the acquire load of the slot in next_until. */
    atomic_store_explicit(&s->queue[slot], f, memory_order_release);
    /* release: pairs with the acquire load of word in next_until. */
    atomic_fetch_add_explicit(&s->word, 1, memory_order_release);
    crew__wake_word(&s->word);
}

static void ac_on_done(crew_future *f, void *ctx)
{
    ac_node *node = ctx;
    ac_shared *s = node->s;
    /* acq_rel: exactly one of this callback and a timed-out next claims f
     * (pairs with the exchange in ac_claim_finished). */
    if (!atomic_exchange_explicit(&node->claimed, true, memory_order_acq_rel))
        ac_push(s, f);
    ac_unref(s); /* the reference this callback held */
}

/* After a timeout: enqueues the futures that are finished but whose
 * callbacks have not run yet (a future's state changes before its callbacks
 * run).  Returns how many futures are claimed in all (enqueued, or about to
 * be by a callback between its claim and its push). */
static size_t ac_claim_finished(crew_as_completed *it)
{
    size_t claimed = it->nfirst;
    for (size_t i = it->nfirst; i < it->n; i++) {
        ac_node *node = &it->s->nodes[i];
        /* acquire: pairs with the exchange in ac_on_done (a hint; the
         * exchange below decides). */
        if (!atomic_load_explicit(&node->claimed, memory_order_acquire) &&
            crew_future_done(node->f) &&
            /* acq_rel: pairs with the exchange in ac_on_done. */
            !atomic_exchange_explicit(&node->claimed, true, memory_order_acq_rel))
            ac_push(it->s, node->f);
        claimed += atomic_load_explicit(&node->claimed, memory_order_acquire);
    }
    return claimed;
}

/* Pointer and position, to find duplicates by sorting. */
typedef struct ac_entry {
    uintptr_t p;
    size_t i;
} ac_entry;

static int ac_entry_cmp(const void *a, const void *b)
{
    const ac_entry *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Fills uniq[] with the distinct futures of fs in input order; returns how
 * many, or SIZE_MAX if out of memory. */
static size_t distinct_futures(crew_future *const *fs, size_t n, crew_future **uniq)
{
    if (n == 0)
        return 0;
    ac_entry *e = crew__malloc(n * sizeof *e);
    bool *keep = crew__calloc(n, sizeof *keep);
    if (!e || !keep) {
        crew__free(e);
        crew__free(keep);
        return SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        e[i].p = (uintptr_t)fs[i];
        e[i].i = i;
    }
    qsort(e, n, sizeof *e, ac_entry_cmp);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || e[i].p != e[i - 1].p)
            keep[e[i].i] = true; /* the first position of each pointer */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            uniq[k++] = fs[i];
    crew__free(e);
    crew__free(keep);
    return k;
}

/* Takes back the callbacks of it->fs[nfirst, upto) and drops the iterator's
 * references (shared part and futures). */
static void ac_teardown(crew_as_completed *it, size_t upto)
{
    for (size_t i = it->nfirst; i < upto; i++)
        if (crew__future_remove_done_callback(it->fs[i], ac_on_done, &it->s->nodes[i]))
            ac_unref(it->s); /* the reference the removed callback held */
    ac_unref(it->s);
    for (size_t i = 0; i < it->n; i++)
        crew_future_release(it->fs[i]);
    crew__free(it->fs);
    crew__free(it);
}

int crew_as_completed_create(crew_as_completed **out, crew_future *const *fs, size_t n)
{
    if (!out || (n > 0 && !fs))
        return CREW_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return CREW_EINVAL;

    /* Allocations: the iterator, its future list (first holding all of fs
     * to remove duplicates), the shared part and its nodes. */
    size_t cap = n ? n : 1;
    crew_as_completed *it = crew__calloc(1, sizeof *it);
    crew_future **uniq = crew__malloc(cap * sizeof *uniq);
    ac_shared *s = NULL;
    ac_node *nodes = NULL;
    size_t k = 0;
    if (it && uniq)
        k = distinct_futures(fs, n, uniq);
    if (it && uniq && k != SIZE_MAX) {
        s = crew__malloc(sizeof *s + k * sizeof s->queue[0]);
        nodes = crew__calloc(k ? k : 1, sizeof *nodes);
    }
    if (!s || !nodes) {
        crew__free(it);
        crew__free(uniq);
        crew__free(s);
        crew__free(nodes);
        return CREW_ENOMEM;
    }
    atomic_init(&s->tail, 0);
    atomic_init(&s->word, 0);
    atomic_init(&s->refs, 1);
    s->nodes = nodes;
    for (size_t i = 0; i < k; i++)
        atomic_init(&s->queue[i], NULL);
    it->s = s;
    it->fs = uniq;
    it->n = k;

    /* Those already finished come first, in input order: move them to the
     * front (stable for both parts) and straight into the first slots.  No
     * callback exists yet, so nothing races here. */
    crew_future **rest = crew__malloc(cap * sizeof *rest);
    if (!rest) {
        crew__free(nodes);
        crew__free(s);
        crew__free(uniq);
        crew__free(it);
        return CREW_ENOMEM;
    }
    size_t nf = 0, nr = 0;
    for (size_t i = 0; i < k; i++) {
        crew_future_retain(uniq[i]);
        if (crew_future_done(uniq[i])) {
            atomic_init(&s->queue[nf], uniq[i]);
            uniq[nf++] = uniq[i];
        } else {
            rest[nr++] = uniq[i];
        }
    }
    for (size_t i = 0; i < nr; i++)
        uniq[nf + i] = rest[i];
    crew__free(rest);
    it->nfirst = nf;
    atomic_init(&s->tail, nf);
    for (size_t i = 0; i < k; i++) {
        nodes[i].s = s;
        nodes[i].f = uniq[i];
        atomic_init(&nodes[i].claimed, i < nf);
    }

    /* The rest report through callbacks (at once if they finished since). */
    for (size_t i = nf; i < k; i++) {
        /* relaxed: the iterator's reference keeps s alive meanwhile; the
         * registration itself publishes s to the finishing thread. */
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
        if (crew_future_add_done_callback(uniq[i], ac_on_done, &nodes[i]) != 0) {
            atomic_fetch_sub_explicit(&s->refs, 1, memory_order_relaxed);
            ac_teardown(it, i);
            return CREW_ENOMEM;
        }
    }
    *out = it;
    return 0;
}

int crew_as_completed_next_until(crew_as_completed *it, crew_future **f, int64_t deadline_ns)
{
    if (!it || !f)
        return CREW_EINVAL;
    if (it->head == it->n)
        return CREW_EEMPTY;
    ac_shared *s = it->s;
    bool late = false;
    for (;;) {
        /* acquire: pairs with the release fetch_add in ac_push. */
        uint32_t seen = atomic_load_explicit(&s->word, memory_order_acquire);
        /* acquire: pairs with the release store of the slot in ac_push. */
        crew_future *got = atomic_load_explicit(&s->queue[it->head], memory_order_acquire);
        if (got) {
            it->head++;
            *f = got;
            return 0;
        }
        /* relaxed: only tells whether slot head is reserved; its store is
         * then a few instructions away in the enqueuing thread. */
        if (atomic_load_explicit(&s->tail, memory_order_relaxed) > it->head) {
            (void)crew__wait_word(&s->word, seen, CREW__FOREVER);
            continue;
        }
        if (late) {
            /* Past the deadline: a finished future whose callback has not
             * run yet still counts.  If any claimed future has not been
             * yielded, it is in a slot or about to be: wait for its push
             * (the word has changed since seen if it already happened). */
            if (ac_claim_finished(it) > it->head) {
                (void)crew__wait_word(&s->word, seen, CREW__FOREVER);
                continue;
            }
            return CREW_ETIMEDOUT;
        }
        if (crew__wait_word(&s->word, seen, deadline_ns) == CREW_ETIMEDOUT)
            late = true;
    }
}

int crew_as_completed_next_timed(crew_as_completed *it, crew_future **f, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return CREW_EINVAL;
    return crew_as_completed_next_until(it, f, crew__deadline_after(timeout_ns));
}

int crew_as_completed_next(crew_as_completed *it, crew_future **f)
{
    return crew_as_completed_next_until(it, f, CREW__FOREVER);
}

void crew_as_completed_destroy(crew_as_completed *it)
{
    if (!it)
        return;
    ac_teardown(it, it->n);
}
