/* fuzz_pool.c - programs of pool operations, checked by accounting.
 *
 * The input is a program run by one driver thread against a pool of 1-3
 * workers (created lazily; destroy ends a "generation" and the next
 * operation that needs a pool creates a new one):
 *   submit      with or without cleanup, detached or with a future; the task
 *               succeeds, fails with its own status, waits on a gate the
 *               program opens later, waits (timed) on an earlier task's
 *               future, or submits a detached child task from its worker
 *   cancel      from the driver, from a side thread (racing the rest of the
 *               program and the pool's destroy), or from a done callback
 *   wait, result and their try/timed/until forms, release and retain
 *   add_done_callback (counting, releasing the driver's reference, submitting
 *               a child, cancelling another future)
 *   crew_wait and as_completed over some futures (duplicates included)
 *   groups      init, spawn (jobs that succeed, fail or fork-join in a nested
 *               group), wait / wait_isolated, cancel
 *   parallel_for (small ranges anywhere in size_t, and ranges within a few
 *               indexes of SIZE_MAX with grain 0), map (iterated in part or
 *               to the end, or map_all)
 *   shutdown    wait or not, cancel_pending or not; destroy; bad arguments
 *   wait-running  poll until a task has started (puts a worker in a known
 *               state, for hand-written programs)
 * FUZZ_SKIP names: idle (no short idle timeouts), pfor_huge (no range near
 * SIZE_MAX), side (no side-thread cancels), cancel_pending (no check that
 * shutdown(cancel_pending) left nothing of the driver's PENDING),
 * group_cancel (no shutdown(cancel_pending) while a group has jobs).
 * No call can block for good: a blocking form is used only when everything
 * it waits for is known to finish (every gate a task waits on is open; tasks
 * wait on nothing else without a deadline); otherwise the timed form with 0
 * or a few hundred microseconds.  Calls that need the workers to make progress
 * (group wait, parallel_for, map_all, shutdown with wait, destroy) open
 * every gate first.
 *
 * Checked on the spot: every code against what the state allows (submit:
 * 0 or CREW_ESHUTDOWN after shutdown; a result of 0 only for a task that ran
 * and succeeded, with its result; CREW_ETASK only for a failing task that
 * ran, with its status; CREW_ECANCELLED only for one that never ran; ...),
 * states only move forward, done callbacks get their own future and find it
 * done, a group's outcome matches its jobs, parallel_for covers its range
 * exactly once (or stops on the failing index), map returns items in order
 * with their results; once shutdown(cancel_pending) returns, none of the
 * driver's tasks is PENDING and the cancelled ones' cleanups have run
 * (pool.h: in the calling thread).  Checked when a pool is destroyed (after
 * shutdown(wait)): every accepted task ran exactly once or had its cleanup
 * called exactly once (tasks without a cleanup: ran at most once), never
 * both; a refused one neither; cancel returned true iff the task did not
 * run; a future still held is DONE iff its task ran; the counters:
 * completed, failed and cancelled match the tasks (map chunks, which the
 * program cannot see, are bounded by the chunks attempted), nothing queued
 * or running, no worker alive, unobserved == the hook's calls.  At the end
 * of the input: every done callback ran exactly once, and the unobserved
 * hook ran exactly for the failed tasks whose error nobody read.  Leaks
 * (futures, callbacks, iterators, maps) are LSan's in the sanitized builds.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"

#define MAX_TASKS 64       /* task records per input (children included) */
#define MAX_CBS 64         /* done callbacks per input */
#define NGATES 4
#define MAX_JOBS 16        /* jobs per group between init and wait */
#define MAX_SIDE 8         /* side threads per generation */
#define MAX_MAP 12         /* inputs of one map */
#define MAX_PFOR 200       /* indexes of one small parallel_for */
#define STATUS_BASE 1000   /* a failing task's status: STATUS_BASE + its index */
#define JOB_STATUS_BASE 2000
#define BODY_STATUS 3000
#define MAP_STATUS_BASE 4000

/* ---- gates ------------------------------------------------------------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open; /* protected by mu */
} gate;

static gate gates[NGATES] = {
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0},
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0},
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0},
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0},
};
static unsigned gates_opened; /* driver only: bit i: gate i is open */
static unsigned gates_used;   /* driver only: bit i: a task waits on gate i */

static void gate_set(gate *g, int open)
{
    pthread_mutex_lock(&g->mu);
    g->open = open;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_pass(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void open_gate(int i)
{
    if (!(gates_opened & (1u << i))) {
        gate_set(&gates[i], 1);
        gates_opened |= 1u << i;
    }
}

static void open_all_gates(void)
{
    for (int i = 0; i < NGATES; i++)
        open_gate(i);
}

/* Every task finishes without waiting for the driver (no task waits on a
 * closed gate): blocking is safe. */
static bool all_open(void)
{
    return (gates_used & ~gates_opened) == 0;
}

static void nap_ns(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

/* ---- records ----------------------------------------------------------- */

enum { K_OK, K_FAIL, K_GATE, K_WAITER, K_SPAWNER, NKINDS };
static const char *const kind_name[NKINDS] = {"ok", "fail", "gate", "waiter", "spawner"};

typedef struct task_rec task_rec;
struct task_rec {
    /* Set by the driver before the task is submitted; immutable after. */
    int idx, gen, kind, gate, status;
    bool has_cleanup, slow_cleanup, slow, detached, is_child;
    crew_pool *pool;
    task_rec *target;       /* waiter: the task it waits on */
    crew_future *target_f;  /* waiter: a reference of its own on target's future */
    int64_t wait_ns;        /* waiter: its timeout */
    task_rec *child;        /* spawner: the child it submits */
    /* Written by workers, callbacks and side threads. */
    atomic_int ran, cleaned, observed, hooked;
    atomic_int submitted;   /* the submit returned 0 */
    atomic_int waiter_rc;
    atomic_int cancel_true, cancel_false;
    atomic_int side_true;   /* cancels by side threads that returned true */
    /* Driver only. */
    bool attempted;         /* a submit was tried */
    crew_future *f;         /* the driver's reference, or NULL */
    int last_state;
};

enum { CB_COUNT, CB_RELEASE, CB_SUBMIT, CB_CANCEL, NCBS };

typedef struct cb_rec {
    task_rec *t;          /* whose future */
    crew_future *expect;  /* the future the callback must receive */
    int flavor;
    crew_pool *pool;      /* CB_SUBMIT: where the child goes */
    task_rec *child;      /* CB_SUBMIT */
    task_rec *other;      /* CB_CANCEL: the task to cancel */
    crew_future *other_f; /* CB_CANCEL: a reference of the callback's own */
    atomic_int ran;
} cb_rec;

enum { J_OK, J_FAIL, J_NESTED, NJOBKINDS };

typedef struct job_rec {
    int kind, status;
    bool isolated;        /* J_NESTED: waits with wait_isolated */
    bool spawned;         /* spawn returned 0 (driver) */
    atomic_int ran, sub_ran;
    struct group_slot *slot;
} job_rec;

typedef struct group_slot {
    crew_group g;
    bool active;          /* initialised, not waited yet */
    bool cancelled;       /* crew_group_cancel called */
    crew_pool *pool;
    job_rec jobs[MAX_JOBS];
    int njobs;
} group_slot;

typedef struct side_rec {
    pthread_t th;
    task_rec *t;
    crew_future *f; /* the side thread's own reference */
} side_rec;

typedef struct map_item {
    atomic_int ran;
    int fail;
    int snapshot; /* ran when the map was destroyed */
    crew_pool *pool;
} map_item;

static struct world {
    crew_pool *pool;  /* the current pool, NULL between generations */
    int gen;
    unsigned workers;
    bool shut;        /* crew_pool_shutdown was called on pool */
    task_rec tasks[MAX_TASKS];
    int ntasks;
    cb_rec cbs[MAX_CBS];
    int ncbs;
    group_slot groups[2];
    side_rec side[MAX_SIDE];
    int nside;
    /* map chunks of this generation: they count in the pool's statistics */
    uint64_t map_attempted, map_ran, map_cancelled;
    map_item map[MAX_MAP];
    int nmap; /* items of the last map, whose snapshot still holds */
    int64_t poll_budget_ns; /* left for op_wait_running in this program */
} W;

/* ---- task, cleanup, callback, hook ------------------------------------- */

static void cleanup_fn(void *arg);

/* Checks an outcome read from t's future (any thread). */
static void check_outcome(task_rec *t, int rc, void *res, int err)
{
    switch (rc) {
    case CREW_EPENDING:
    case CREW_ETIMEDOUT:
        break;
    case 0:
        FZ_CHECK(t->kind != K_FAIL);
        FZ_EQ(atomic_load(&t->ran), 1);
        FZ_CHECK(res == t);
        break;
    case CREW_ETASK:
        FZ_CHECK(t->kind == K_FAIL);
        FZ_EQ(atomic_load(&t->ran), 1);
        FZ_EQ(err, t->status);
        FZ_CHECK(res == t);
        atomic_store(&t->observed, 1);
        break;
    case CREW_ECANCELLED:
        FZ_EQ(atomic_load(&t->ran), 0);
        break;
    default:
        FZ_RC(rc, 0); /* no other code is possible */
    }
}

static void run_waiter(task_rec *t)
{
    int rc = crew_future_wait_timed(t->target_f, t->wait_ns);
    atomic_store(&t->waiter_rc, rc);
    /* A helping wait may run a waiter that waits on a task below it on the
     * same stack: that cycle gives CREW_EDEADLK to one of them. */
    FZ_CHECK(rc == 0 || rc == CREW_ETIMEDOUT ||
             (rc == CREW_EDEADLK && t->target->kind == K_WAITER));
    void *res = NULL;
    int err = 0;
    int r = crew_future_try_result(t->target_f, &res, &err);
    if (rc == 0)
        FZ_CHECK(r != CREW_EPENDING);
    check_outcome(t->target, r, res, err);
    crew_future_release(t->target_f);
}

static int task_fn(void *arg, void **result);

static void run_spawner(task_rec *t)
{
    task_rec *c = t->child;
    if (!c)
        return;
    int rc = crew_pool_submit_ex(crew_pool_current(), task_fn, c,
                                 c->has_cleanup ? cleanup_fn : NULL, NULL);
    FZ_CHECK(rc == 0 || rc == CREW_ESHUTDOWN);
    atomic_store(&c->submitted, rc == 0);
}

static int task_fn(void *arg, void **result)
{
    task_rec *t = arg;
    FZ_CHECK(*result == NULL);
    FZ_CHECK(crew_pool_current() == t->pool);
    FZ_EQ(atomic_fetch_add(&t->ran, 1), 0);
    FZ_EQ(atomic_load(&t->cleaned), 0);
    switch (t->kind) {
    case K_GATE:
        gate_pass(&gates[t->gate]);
        break;
    case K_WAITER:
        run_waiter(t);
        break;
    case K_SPAWNER:
        run_spawner(t);
        break;
    default:
        break;
    }
    if (t->slow)
        nap_ns(300000); /* keeps its worker busy: widens shutdown's windows */
    *result = t;
    return t->kind == K_FAIL ? t->status : 0;
}

static void cleanup_fn(void *arg)
{
    task_rec *t = arg;
    FZ_EQ(atomic_fetch_add(&t->cleaned, 1), 0);
    FZ_EQ(atomic_load(&t->ran), 0);
    if (t->slow_cleanup)
        nap_ns(200000); /* widens the window of a cancel racing destroy */
    if (t->kind == K_WAITER)
        crew_future_release(t->target_f); /* the task's own reference */
}

static void record_cancel(task_rec *t, bool ok)
{
    atomic_fetch_add(ok ? &t->cancel_true : &t->cancel_false, 1);
}

static void done_cb(crew_future *f, void *ctx)
{
    cb_rec *c = ctx;
    FZ_CHECK(f == c->expect);
    FZ_CHECK(crew_future_done(f));
    FZ_EQ(atomic_fetch_add(&c->ran, 1), 0);
    switch (c->flavor) {
    case CB_RELEASE: /* the driver's reference was handed to us */
        crew_future_release(f);
        break;
    case CB_SUBMIT: {
        int rc = crew_pool_submit_ex(c->pool, task_fn, c->child,
                                     c->child->has_cleanup ? cleanup_fn : NULL, NULL);
        FZ_CHECK(rc == 0 || rc == CREW_ESHUTDOWN);
        atomic_store(&c->child->submitted, rc == 0);
        break;
    }
    case CB_CANCEL: {
        bool ok = crew_future_cancel(c->other_f);
        record_cancel(c->other, ok);
        crew_future_release(c->other_f);
        break;
    }
    default:
        break;
    }
}

static void unobserved_hook(int task_error, void *ctx)
{
    int gen = (int)(intptr_t)ctx;
    int idx = task_error - STATUS_BASE;
    FZ_CHECK(idx >= 0 && idx < MAX_TASKS);
    task_rec *t = &W.tasks[idx];
    FZ_CHECK(t->kind == K_FAIL && t->gen == gen);
    FZ_EQ(atomic_load(&t->ran), 1);
    FZ_EQ(atomic_load(&t->observed), 0);
    FZ_EQ(atomic_fetch_add(&t->hooked, 1), 0);
}

/* ---- the pool ---------------------------------------------------------- */

static void ensure_pool(fz_in *in)
{
    if (W.pool)
        return;
    static const int64_t idle[8] = {-1, -1, -1, 0, 1000000, 100000, 1000, -1};
    unsigned b = fz_byte(in);
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 1 + b % 3;
    o.idle_timeout_ns = fz_skip("idle") ? -1 : idle[(b / 3) % 8];
    o.name = "fz";
    o.unobserved = unobserved_hook;
    W.gen++;
    o.unobserved_ctx = (void *)(intptr_t)W.gen;
    fz_trace("pool create: %u workers, idle %lld ns (generation %d)", o.workers,
             (long long)o.idle_timeout_ns, W.gen);
    FZ_RC(crew_pool_create(&W.pool, &o), 0);
    W.workers = o.workers;
    W.shut = false;
    W.map_attempted = W.map_ran = W.map_cancelled = 0;
    for (int i = 0; i < NGATES; i++)
        gate_set(&gates[i], 0); /* every task of the last pool has finished */
    gates_opened = gates_used = 0;
}

static task_rec *new_rec(int kind)
{
    if (W.ntasks >= MAX_TASKS)
        return NULL;
    task_rec *t = &W.tasks[W.ntasks];
    memset(t, 0, sizeof *t);
    t->idx = W.ntasks++;
    t->gen = W.gen;
    t->pool = W.pool;
    t->kind = kind;
    t->status = STATUS_BASE + t->idx;
    return t;
}

/* A task whose future the driver holds, found from a program byte, or NULL. */
static task_rec *pick_held(fz_in *in)
{
    unsigned b = fz_byte(in);
    for (int k = 0; k < W.ntasks; k++) {
        task_rec *t = &W.tasks[(b + (unsigned)k) % (unsigned)W.ntasks];
        if (t->f)
            return t;
    }
    return NULL;
}

static int64_t pick_timeout(fz_in *in)
{
    static const int64_t t[4] = {0, 0, 50000, 300000};
    return t[fz_pick(in, 4)];
}

/* ---- operations -------------------------------------------------------- */

static void op_submit(fz_in *in)
{
    ensure_pool(in);
    unsigned a = fz_byte(in), b = fz_byte(in);
    int kind = (int)(a % NKINDS);
    task_rec *target = NULL;
    if (kind == K_WAITER && !(target = pick_held(in)))
        kind = K_OK;
    task_rec *t = new_rec(kind);
    if (!t)
        return;
    t->gate = (int)(a / NKINDS) % NGATES;
    if (kind == K_GATE)
        gates_used |= 1u << t->gate;
    t->has_cleanup = b & 1;
    t->detached = b & 2;
    t->slow_cleanup = b & 4;
    t->slow = b & 64;
    if (kind == K_WAITER) {
        static const int64_t waits[4] = {0, 50000, 300000, 1000000};
        t->target = target;
        t->target_f = crew_future_retain(target->f);
        FZ_CHECK(t->target_f == target->f);
        t->wait_ns = waits[(a / 20) % 4];
        t->has_cleanup = true; /* a cancelled waiter must drop its reference */
    }
    if (kind == K_SPAWNER) {
        task_rec *c = new_rec((b & 8) ? K_FAIL : K_OK);
        if (c) {
            c->is_child = true;
            c->detached = true;
            c->has_cleanup = b & 16;
            c->attempted = true;
            t->child = c;
        }
    }
    t->attempted = true;
    crew_future *f = NULL;
    crew_cleanup_fn cl = t->has_cleanup ? cleanup_fn : NULL;
    fz_trace("submit #%d %s%s%s%s%s", t->idx, kind_name[kind], t->has_cleanup ? " cleanup" : "",
             t->slow_cleanup && t->has_cleanup ? " (slow)" : "", t->detached ? " detached" : "",
             t->slow ? " slow" : "");
    int rc = (b & 32) && !cl ? crew_pool_submit(W.pool, task_fn, t, t->detached ? NULL : &f)
                             : crew_pool_submit_ex(W.pool, task_fn, t, cl, t->detached ? NULL : &f);
    if (rc == CREW_ETHREAD)
        fz_fail(__FILE__, __LINE__, "submit returned CREW_ETHREAD but no thread creation failed");
    FZ_RC(rc, W.shut ? CREW_ESHUTDOWN : 0);
    if (rc != 0) {
        if (kind == K_WAITER)
            crew_future_release(t->target_f);
        return;
    }
    atomic_store(&t->submitted, 1);
    if (!t->detached) {
        FZ_CHECK(f != NULL);
        t->f = f;
    }
}

static void op_cancel(fz_in *in)
{
    task_rec *t = pick_held(in);
    if (!t)
        return;
    bool ok = crew_future_cancel(t->f);
    fz_trace("cancel #%d -> %s", t->idx, ok ? "true" : "false");
    record_cancel(t, ok);
    crew_future_state s = crew_future_get_state(t->f);
    if (ok) {
        FZ_EQ(s, CREW_FUTURE_CANCELLED);
        FZ_EQ(atomic_load(&t->ran), 0);
    } else {
        FZ_CHECK(s == CREW_FUTURE_RUNNING || s == CREW_FUTURE_DONE);
    }
}

static void op_wait(fz_in *in)
{
    task_rec *t = pick_held(in);
    if (!t)
        return;
    unsigned form = fz_pick(in, 3);
    int rc;
    if (form == 0 && all_open()) {
        fz_trace("wait #%d", t->idx);
        rc = crew_future_wait(t->f);
        FZ_RC(rc, 0);
    } else if (form == 1) {
        int64_t ns = pick_timeout(in);
        fz_trace("wait_timed #%d %lld", t->idx, (long long)ns);
        rc = crew_future_wait_timed(t->f, ns);
    } else {
        int64_t dl = crew_now_ns() + pick_timeout(in) - 1000;
        fz_trace("wait_until #%d", t->idx);
        rc = crew_future_wait_until(t->f, dl);
    }
    FZ_CHECK(rc == 0 || rc == CREW_ETIMEDOUT);
    if (rc == 0)
        FZ_CHECK(crew_future_done(t->f));
}

/* Polls until the task has started or finished: programs use it to put a
 * worker in a known state (busy in a gated task) before going on.  All the
 * polls of one program share a budget of 20 ms (a task behind a closed gate
 * never starts, and programs must stay quick). */
static void op_wait_running(fz_in *in)
{
    task_rec *t = pick_held(in);
    if (!t || W.poll_budget_ns <= 0)
        return;
    fz_trace("wait until #%d has started", t->idx);
    int64_t start = crew_now_ns(), end = start + W.poll_budget_ns;
    while (crew_future_get_state(t->f) == CREW_FUTURE_PENDING && crew_now_ns() < end)
        nap_ns(20000);
    W.poll_budget_ns -= crew_now_ns() - start;
}

static void op_result(fz_in *in)
{
    task_rec *t = pick_held(in);
    if (!t)
        return;
    unsigned form = fz_pick(in, 4);
    bool done_before = crew_future_done(t->f);
    void *const untouched = (void *)&W; /* never a task's result */
    void *res = untouched;
    int err = -777, rc;
    if (form == 0 && all_open()) {
        fz_trace("result #%d", t->idx);
        rc = crew_future_result(t->f, &res, &err);
        FZ_CHECK(rc != CREW_ETIMEDOUT && rc != CREW_EPENDING);
    } else if (form == 1) {
        fz_trace("try_result #%d", t->idx);
        rc = crew_future_try_result(t->f, &res, &err);
        FZ_CHECK(rc != CREW_ETIMEDOUT);
    } else if (form == 2) {
        int64_t ns = pick_timeout(in);
        fz_trace("result_timed #%d %lld", t->idx, (long long)ns);
        rc = crew_future_result_timed(t->f, &res, &err, ns);
        FZ_CHECK(rc != CREW_EPENDING);
    } else {
        fz_trace("result_until #%d", t->idx);
        rc = crew_future_result_until(t->f, &res, &err, crew_now_ns() + pick_timeout(in) - 1000);
        FZ_CHECK(rc != CREW_EPENDING);
    }
    if (done_before)
        FZ_CHECK(rc != CREW_EPENDING && rc != CREW_ETIMEDOUT);
    if (rc != 0 && rc != CREW_ETASK) {
        /* An error did nothing: neither out-parameter was written. */
        FZ_CHECK(res == untouched);
        FZ_EQ(err, -777);
    }
    if (rc == CREW_EPENDING || rc == CREW_ETIMEDOUT)
        return;
    check_outcome(t, rc, res, err);
    if (rc == 0)
        FZ_CHECK(err == -777 || err == 0);
}

static void op_release(fz_in *in)
{
    task_rec *t = pick_held(in);
    if (!t)
        return;
    if (fz_pick(in, 4) == 0) {
        fz_trace("retain+release #%d", t->idx);
        FZ_CHECK(crew_future_retain(t->f) == t->f);
        crew_future_release(t->f);
        return;
    }
    fz_trace("release #%d", t->idx);
    crew_future_release(t->f);
    t->f = NULL;
}

static void op_callback(fz_in *in)
{
    task_rec *t = pick_held(in);
    if (!t || W.ncbs >= MAX_CBS)
        return;
    cb_rec *c = &W.cbs[W.ncbs];
    memset(c, 0, sizeof *c);
    c->t = t;
    c->expect = t->f;
    c->flavor = (int)fz_pick(in, NCBS);
    if (c->flavor == CB_SUBMIT) {
        /* A child for the live pool: the callback runs before that pool's
         * destroy returns (at once if the future is done). */
        task_rec *ch = W.pool ? new_rec(K_OK) : NULL;
        if (ch) {
            ch->is_child = true;
            ch->detached = true;
            ch->has_cleanup = fz_pick(in, 2);
            ch->attempted = true;
            c->child = ch;
            c->pool = W.pool;
        } else {
            c->flavor = CB_COUNT;
        }
    }
    if (c->flavor == CB_CANCEL) {
        task_rec *o = pick_held(in);
        if (o) {
            c->other = o;
            c->other_f = crew_future_retain(o->f);
        } else {
            c->flavor = CB_COUNT;
        }
    }
    bool done_before = crew_future_done(t->f);
    crew_future *f = t->f;
    if (c->flavor == CB_RELEASE)
        t->f = NULL; /* the callback owns the driver's reference now */
    fz_trace("add_done_callback #%d flavor %d%s", t->idx, c->flavor,
             done_before ? " (already done)" : "");
    W.ncbs++;
    FZ_RC(crew_future_add_done_callback(f, done_cb, c), 0);
    if (done_before)
        FZ_EQ(atomic_load(&c->ran), 1); /* ran at once, in this thread */
}

/* Up to 8 held futures chosen by a mask (bit k: the k-th held future from a
 * starting point, k < 7), the first one listed twice if bit 7 is set. */
static size_t pick_set(fz_in *in, crew_future **fs, task_rec **ts)
{
    unsigned mask = fz_byte(in), start = fz_byte(in), held = 0;
    size_t n = 0;
    for (int k = 0; k < W.ntasks && n < 8; k++) {
        task_rec *t = &W.tasks[(start + (unsigned)k) % (unsigned)W.ntasks];
        if (t->f && (mask & (1u << (held++ % 7)))) {
            ts[n] = t;
            fs[n++] = t->f;
        }
    }
    if (n > 0 && (mask & 0x80)) {
        ts[n] = ts[0];
        fs[n] = fs[0];
        n++;
    }
    return n;
}

static bool failed_now(task_rec *t, crew_future *f)
{
    return t->kind == K_FAIL && crew_future_get_state(f) == CREW_FUTURE_DONE;
}

static void op_crew_wait(fz_in *in)
{
    crew_future *fs[9];
    task_rec *ts[9];
    size_t n = pick_set(in, fs, ts);
    crew_wait_mode mode = (crew_wait_mode)(1 + fz_pick(in, 3));
    bool done[9];
    size_t ndone = 999;
    int rc;
    if (fz_pick(in, 2) && all_open()) {
        fz_trace("crew_wait n=%zu mode %d", n, (int)mode);
        rc = crew_wait(fs, n, mode, done, &ndone);
        FZ_RC(rc, 0);
    } else {
        int64_t ns = pick_timeout(in);
        fz_trace("crew_wait_timed n=%zu mode %d %lld", n, (int)mode, (long long)ns);
        rc = crew_wait_timed(fs, n, mode, done, &ndone, ns);
        FZ_CHECK(rc == 0 || rc == CREW_ETIMEDOUT);
    }
    size_t count = 0;
    bool any_failed = false;
    for (size_t i = 0; i < n; i++) {
        if (done[i]) {
            count++;
            FZ_CHECK(crew_future_done(fs[i]));
            any_failed |= failed_now(ts[i], fs[i]);
        }
    }
    FZ_EQ(ndone, count);
    if (rc == 0 && n > 0) {
        if (mode == CREW_FIRST_COMPLETED)
            FZ_CHECK(count >= 1);
        else if (mode == CREW_ALL_COMPLETED)
            FZ_EQ(count, n);
        else
            FZ_CHECK(count == n || any_failed);
    }
}

static void op_as_completed(fz_in *in)
{
    crew_future *fs[9];
    task_rec *ts[9];
    size_t n = pick_set(in, fs, ts);
    bool blocking = fz_pick(in, 2) && all_open();
    int64_t ns = pick_timeout(in);
    crew_as_completed *it = NULL;
    fz_trace("as_completed n=%zu %s", n, blocking ? "blocking" : "timed");
    FZ_RC(crew_as_completed_create(&it, fs, n), 0);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && fs[j] != fs[i])
            j++;
        distinct += j == i;
    }
    bool yielded[9] = {false};
    size_t got = 0;
    for (size_t step = 0; step < n + 2; step++) {
        crew_future *f = NULL;
        int rc = blocking ? crew_as_completed_next(it, &f)
                          : crew_as_completed_next_timed(it, &f, ns);
        if (rc == CREW_EEMPTY) {
            FZ_EQ(got, distinct);
            break;
        }
        if (rc == CREW_ETIMEDOUT) {
            FZ_CHECK(!blocking);
            break;
        }
        FZ_RC(rc, 0);
        size_t k = 0;
        while (k < n && fs[k] != f)
            k++;
        FZ_CHECK(k < n);       /* one of ours */
        FZ_CHECK(!yielded[k]); /* once */
        yielded[k] = true;
        FZ_CHECK(crew_future_done(f));
        got++;
    }
    if (blocking)
        FZ_EQ(got, distinct);
    crew_as_completed_destroy(it);
}

/* ---- groups ------------------------------------------------------------ */

static int sub_job(void *arg)
{
    job_rec *j = arg;
    atomic_fetch_add(&j->sub_ran, 1);
    return 0;
}

static int job_fn(void *arg)
{
    job_rec *j = arg;
    FZ_CHECK(crew_pool_current() == j->slot->pool);
    FZ_EQ(atomic_fetch_add(&j->ran, 1), 0);
    if (j->kind == J_NESTED) {
        crew_group g2;
        FZ_RC(crew_group_init(&g2, crew_pool_current()), 0);
        FZ_RC(crew_group_spawn(&g2, sub_job, j), 0);
        FZ_RC(crew_group_spawn(&g2, sub_job, j), 0);
        int err = -1;
        FZ_RC(j->isolated ? crew_group_wait_isolated(&g2, &err) : crew_group_wait(&g2, &err), 0);
        FZ_EQ(atomic_load(&j->sub_ran), 2);
    }
    return j->kind == J_FAIL ? j->status : 0;
}

static int failed_jobs_ran(const group_slot *s)
{
    int k = 0;
    for (int i = 0; i < s->njobs; i++)
        k += s->jobs[i].kind == J_FAIL && atomic_load(&s->jobs[i].ran) > 0;
    return k;
}

static void group_wait_slot(group_slot *s, bool isolated)
{
    open_all_gates(); /* the workers must be free to run the jobs */
    int err = -777;
    fz_trace("group_wait%s (%d jobs)", isolated ? "_isolated" : "", s->njobs);
    int rc = isolated ? crew_group_wait_isolated(&s->g, &err) : crew_group_wait(&s->g, &err);
    s->active = false;
    bool all_ran = true;
    for (int i = 0; i < s->njobs; i++) {
        job_rec *j = &s->jobs[i];
        int ran = atomic_load(&j->ran);
        FZ_CHECK(ran <= 1);
        FZ_CHECK(j->spawned || ran == 0);
        if (j->spawned && !ran)
            all_ran = false;
    }
    int failed = failed_jobs_ran(s);
    if (failed) {
        /* The first failing job's status: one of the failed jobs'. */
        FZ_RC(rc, CREW_ETASK);
        bool found = false;
        for (int i = 0; i < s->njobs; i++)
            found |= s->jobs[i].kind == J_FAIL && atomic_load(&s->jobs[i].ran) &&
                     s->jobs[i].status == err;
        FZ_CHECK(found);
    } else if (s->cancelled) {
        FZ_RC(rc, CREW_ECANCELLED);
    } else {
        FZ_RC(rc, 0);
        FZ_CHECK(all_ran); /* nothing skipped without a failure or a cancel */
    }
}

static void op_group(fz_in *in)
{
    ensure_pool(in);
    group_slot *s = &W.groups[fz_pick(in, 2)];
    unsigned sub = fz_pick(in, 6);
    if (s->active && s->pool != W.pool)
        sub = 3; /* a group of an older pool: wait for it first */
    if (!s->active && sub != 0 && sub != 1 && sub != 2)
        return; /* wait and cancel need an initialised group */
    if (!s->active) {
        memset(s->jobs, 0, sizeof s->jobs);
        s->njobs = 0;
        s->cancelled = false;
        fz_trace("group_init");
        int rc = crew_group_init(&s->g, W.pool);
        FZ_RC(rc, W.shut ? CREW_ESHUTDOWN : 0);
        if (rc != 0)
            return;
        s->active = true;
        s->pool = W.pool;
        if (sub == 0)
            return;
    }
    switch (sub) {
    case 0:
    case 1:
    case 2: {
        if (s->njobs >= MAX_JOBS)
            return;
        job_rec *j = &s->jobs[s->njobs];
        unsigned b = fz_byte(in);
        memset(j, 0, sizeof *j);
        j->kind = (int)(b % NJOBKINDS);
        j->isolated = b & 8;
        j->status = JOB_STATUS_BASE + s->njobs;
        j->slot = s;
        s->njobs++;
        fz_trace("group_spawn job %d kind %d", s->njobs - 1, j->kind);
        int rc = crew_group_spawn(&s->g, job_fn, j);
        j->spawned = rc == 0;
        if (rc == CREW_ECANCELLED)
            FZ_CHECK(s->cancelled || failed_jobs_ran(s) > 0);
        else if (rc == CREW_ESHUTDOWN)
            FZ_CHECK(W.shut);
        else if (rc == CREW_ETHREAD)
            fz_fail(__FILE__, __LINE__, "group_spawn returned CREW_ETHREAD but no thread creation failed");
        else
            FZ_RC(rc, 0);
        if (rc == 0)
            FZ_CHECK(!s->cancelled && !W.shut);
        break;
    }
    case 3:
    case 4:
        group_wait_slot(s, sub == 4);
        break;
    default:
        fz_trace("group_cancel");
        FZ_RC(crew_group_cancel(&s->g), 0);
        s->cancelled = true;
        break;
    }
}

static void wait_all_groups(void)
{
    for (int i = 0; i < 2; i++)
        if (W.groups[i].active)
            group_wait_slot(&W.groups[i], false);
}

/* ---- parallel_for -------------------------------------------------------- */

typedef struct pfor_ctx {
    size_t begin, len, fail_at; /* fail_at == len: no failure */
    bool huge;
    size_t max_piece;           /* 0: not checked */
    crew_pool *pool;
    atomic_uchar hits[MAX_PFOR];
    atomic_long pieces;
    _Atomic size_t covered;     /* huge mode: sum of piece lengths */
    long max_pieces;            /* huge mode: more pieces than this is a runaway */
    atomic_int bad_piece;       /* a piece longer than max_piece, or empty */
} pfor_ctx;

static int pfor_body(size_t lo, size_t hi, void *arg)
{
    pfor_ctx *c = arg;
    FZ_CHECK(crew_pool_current() == c->pool);
    long k = atomic_fetch_add(&c->pieces, 1) + 1;
    if (lo >= hi || (c->max_piece && hi - lo > c->max_piece))
        atomic_store(&c->bad_piece, 1);
    if (c->huge) {
        atomic_fetch_add(&c->covered, hi - lo);
        /* Stop a runaway split (a grain that collapsed to 1) with an error. */
        return k > c->max_pieces ? BODY_STATUS + 1 : 0;
    }
    FZ_CHECK(lo >= c->begin && hi <= c->begin + c->len);
    int rc = 0;
    for (size_t i = lo; i < hi; i++) {
        atomic_fetch_add(&c->hits[i - c->begin], 1);
        if (i - c->begin == c->fail_at)
            rc = BODY_STATUS;
    }
    return rc;
}

static void op_pfor(fz_in *in)
{
    ensure_pool(in);
    open_all_gates();
    static pfor_ctx c; /* large; one at a time */
    memset(&c, 0, sizeof c);
    c.pool = W.pool;
    unsigned mode = fz_byte(in);
    size_t grain;
    int err = -777;
    if (mode % 8 == 0 && !fz_skip("pfor_huge")) {
        /* A range within a few indexes of SIZE_MAX, grain 0: about 8 pieces
         * per worker, so the pieces are huge; never a piece per index. */
        c.huge = true;
        c.begin = fz_pick(in, 4);
        size_t end = SIZE_MAX - fz_pick(in, 32);
        c.len = end - c.begin;
        c.max_pieces = 16 * (long)W.workers;
        grain = 0;
        fz_trace("parallel_for [%zu, SIZE_MAX-%zu) grain 0", c.begin, SIZE_MAX - end);
        int rc = crew_parallel_for(W.pool, c.begin, end, 0, pfor_body, &c, &err);
        if (W.shut) {
            FZ_RC(rc, CREW_ESHUTDOWN);
            FZ_EQ(atomic_load(&c.pieces), 0);
            return;
        }
        if (rc != 0 || atomic_load(&c.pieces) > c.max_pieces)
            fprintf(stderr, "parallel_for over %zu indexes, grain 0, %u workers: %ld pieces "
                            "so far (at most %ld expected), %s\n",
                    c.len, W.workers, (long)atomic_load(&c.pieces), c.max_pieces,
                    crew_err_name(rc));
        FZ_RC(rc, 0);
        FZ_CHECK(atomic_load(&c.pieces) <= c.max_pieces);
        FZ_CHECK(atomic_load(&c.covered) == c.len);
        FZ_EQ(atomic_load(&c.bad_piece), 0);
        return;
    }
    static const size_t bases[4] = {0, 7, SIZE_MAX / 2, SIZE_MAX - MAX_PFOR - 1};
    c.len = fz_pick(in, MAX_PFOR);
    c.begin = bases[fz_pick(in, 4)];
    static const size_t grains[8] = {0, 1, 2, 3, 7, 64, 1000, SIZE_MAX};
    grain = grains[fz_pick(in, 8)];
    c.fail_at = fz_pick(in, 4) == 0 ? fz_pick(in, (unsigned)c.len + 1) : c.len;
    c.max_piece = grain;
    fz_trace("parallel_for [%zu, +%zu) grain %zu fail_at %zu", c.begin, c.len, grain,
             c.fail_at);
    int rc = crew_parallel_for(W.pool, c.begin, c.begin + c.len, grain, pfor_body, &c, &err);
    long pieces = atomic_load(&c.pieces);
    if (W.shut && c.len > 0) {
        FZ_RC(rc, CREW_ESHUTDOWN);
        FZ_EQ(pieces, 0);
        return;
    }
    FZ_EQ(atomic_load(&c.bad_piece), 0);
    if (grain == 0 && c.len > 0)
        FZ_CHECK(pieces <= 16 * (long)W.workers); /* about 8 per worker */
    if (c.fail_at < c.len) {
        FZ_RC(rc, CREW_ETASK);
        FZ_EQ(err, BODY_STATUS);
        FZ_EQ(atomic_load(&c.hits[c.fail_at]), 1);
        for (size_t i = 0; i < c.len; i++)
            FZ_CHECK(atomic_load(&c.hits[i]) <= 1);
    } else {
        FZ_RC(rc, 0);
        for (size_t i = 0; i < c.len; i++)
            FZ_EQ(atomic_load(&c.hits[i]), 1);
    }
}

/* ---- map --------------------------------------------------------------- */

static int map_fn(void *arg, void **result)
{
    map_item *m = arg;
    FZ_CHECK(*result == NULL);
    FZ_CHECK(crew_pool_current() == m->pool);
    FZ_EQ(atomic_fetch_add(&m->ran, 1), 0);
    *result = m;
    return m->fail ? MAP_STATUS_BASE + (int)(m - W.map) : 0;
}

/* No map function ran after its map was destroyed. */
static void check_map_snapshot(void)
{
    for (int i = 0; i < W.nmap; i++)
        FZ_EQ(atomic_load(&W.map[i].ran), W.map[i].snapshot);
}

/* Checks one item's outcome from crew_map_next or crew_map_all. */
static void map_item_outcome(size_t i, int rc, void *res, int err, bool *chunk_ran,
                             bool *chunk_cancelled)
{
    map_item *m = &W.map[i];
    switch (rc) {
    case 0:
        FZ_CHECK(!m->fail);
        FZ_EQ(atomic_load(&m->ran), 1);
        FZ_CHECK(res == m);
        *chunk_ran = true;
        break;
    case CREW_ETASK:
        FZ_CHECK(m->fail);
        FZ_EQ(atomic_load(&m->ran), 1);
        FZ_EQ(err, MAP_STATUS_BASE + (int)i);
        *chunk_ran = true;
        break;
    case CREW_ECANCELLED: /* its chunk was cancelled by a shutdown */
        FZ_CHECK(W.shut);
        FZ_EQ(atomic_load(&m->ran), 0);
        *chunk_cancelled = true;
        break;
    case CREW_ESHUTDOWN: /* its chunk could not be submitted */
        FZ_CHECK(W.shut);
        FZ_EQ(atomic_load(&m->ran), 0);
        break;
    default:
        FZ_RC(rc, 0);
    }
}

static void op_map(fz_in *in)
{
    ensure_pool(in);
    check_map_snapshot();
    static const size_t chunks[5] = {0, 1, 2, 3, 5};
    unsigned a = fz_byte(in), fails = fz_byte(in) | (fz_byte(in) << 8);
    size_t n = a % (MAX_MAP + 1);
    crew_map_options o = {chunks[(a / 13) % 5], fz_pick(in, 4)};
    size_t cs = o.chunksize ? o.chunksize : 1;
    size_t nchunks = (n + cs - 1) / cs;
    void *inputs[MAX_MAP];
    memset(W.map, 0, sizeof W.map);
    W.nmap = (int)n;
    for (size_t i = 0; i < n; i++) {
        W.map[i].fail = (fails >> i) & 1;
        W.map[i].pool = W.pool;
        inputs[i] = &W.map[i];
    }
    bool ran[MAX_MAP] = {false}, cancelled[MAX_MAP] = {false};
    unsigned mode = fz_pick(in, 3);
    if (mode == 0) {
        open_all_gates();
        void *results[MAX_MAP];
        int errors[MAX_MAP];
        fz_trace("map_all n=%zu chunksize %zu buffersize %zu", n, o.chunksize, o.buffersize);
        int rc = crew_map_all(W.pool, map_fn, inputs, n, results, errors, &o);
        if (rc == CREW_ETHREAD)
            fz_fail(__FILE__, __LINE__, "map_all returned CREW_ETHREAD but no thread creation failed");
        if (W.shut && n > 0) {
            /* create refused: nothing ran, errors[] untouched */
            FZ_RC(rc, CREW_ESHUTDOWN);
            for (size_t i = 0; i < n; i++)
                FZ_EQ(atomic_load(&W.map[i].ran), 0);
        } else {
            int first_crew = 0;
            bool any_task = false;
            for (size_t i = 0; i < n; i++) {
                int e = errors[i];
                int irc = e == 0 ? 0 : e < 0 ? e : CREW_ETASK;
                map_item_outcome(i, irc, results[i], e, &ran[i / cs], &cancelled[i / cs]);
                if (irc == CREW_ETASK)
                    any_task = true;
                else if (irc != 0 && !first_crew)
                    first_crew = irc;
            }
            FZ_RC(rc, first_crew ? first_crew : any_task ? CREW_ETASK : 0);
        }
        W.map_attempted += nchunks;
    } else {
        bool blocking = mode == 1 && all_open();
        int64_t ns = pick_timeout(in);
        size_t consume = fz_pick(in, (unsigned)n + 2);
        /* Now and then a shutdown (no wait) in the middle of the iteration:
         * the chunks not started are cancelled (cancel_pending) or run, and
         * those not submitted yet report CREW_ESHUTDOWN. */
        unsigned sd = fz_byte(in);
        size_t shut_at = sd % 4 == 0 ? (sd / 8) % (consume + 1) : SIZE_MAX;
        bool shut_cancel = (sd & 4) && !((W.groups[0].active || W.groups[1].active) &&
                                          fz_skip("group_cancel"));
        crew_map *m = NULL;
        fz_trace("map n=%zu chunksize %zu buffersize %zu, consume %zu %s", n, o.chunksize,
                 o.buffersize, consume, blocking ? "blocking" : "timed");
        int rc = crew_map_create(&m, W.pool, map_fn, inputs, n, &o);
        if (rc == CREW_ETHREAD)
            fz_fail(__FILE__, __LINE__, "map_create returned CREW_ETHREAD but no thread creation failed");
        if (rc != 0) {
            /* An error means nothing happened: no fn call at all. */
            FZ_RC(rc, W.shut && n > 0 ? CREW_ESHUTDOWN : 0);
            for (size_t i = 0; i < n; i++)
                FZ_EQ(atomic_load(&W.map[i].ran), 0);
            return;
        }
        W.map_attempted += nchunks;
        size_t next = 0;
        for (size_t step = 0; step < consume; step++) {
            if (step == shut_at) {
                fz_trace("shutdown wait=0 cancel=%d in the middle of the map", shut_cancel);
                FZ_RC(crew_pool_shutdown(W.pool, false, shut_cancel), 0);
                W.shut = true;
            }
            size_t idx = 999;
            void *res = NULL;
            int err = -777;
            int r = blocking ? crew_map_next(m, &idx, &res, &err)
                             : crew_map_next_timed(m, &idx, &res, &err, ns);
            if (r == CREW_EEMPTY) {
                FZ_EQ(next, n);
                break;
            }
            if (r == CREW_ETIMEDOUT) {
                FZ_CHECK(!blocking);
                break;
            }
            FZ_EQ(idx, next); /* input order */
            map_item_outcome(idx, r, res, err, &ran[idx / cs], &cancelled[idx / cs]);
            next++;
        }
        fz_trace("map_destroy after %zu items", next);
        FZ_RC(crew_map_destroy(m), 0);
    }
    for (size_t i = 0; i < n; i++) {
        int r = atomic_load(&W.map[i].ran);
        FZ_CHECK(r <= 1);
        if (r)
            ran[i / cs] = true;
        W.map[i].snapshot = r;
    }
    for (size_t c = 0; c < nchunks; c++) {
        FZ_CHECK(!(ran[c] && cancelled[c]));
        W.map_ran += ran[c];
        W.map_cancelled += cancelled[c];
    }
}

/* ---- side threads: cancel from outside the pool ------------------------ */

static void *side_main(void *arg)
{
    side_rec *s = arg;
    bool ok = crew_future_cancel(s->f);
    record_cancel(s->t, ok);
    if (ok)
        atomic_fetch_add(&s->t->side_true, 1);
    crew_future_release(s->f);
    return NULL;
}

static void op_side_cancel(fz_in *in)
{
    task_rec *t = pick_held(in);
    if (!t || W.nside >= MAX_SIDE || fz_skip("side"))
        return;
    side_rec *s = &W.side[W.nside];
    s->t = t;
    s->f = crew_future_retain(t->f);
    fz_trace("side thread cancels #%d", t->idx);
    if (pthread_create(&s->th, NULL, side_main, s) != 0) {
        crew_future_release(s->f); /* not a finding: the harness's thread */
        return;
    }
    W.nside++;
}

static void join_side_threads(void)
{
    for (int i = 0; i < W.nside; i++)
        pthread_join(W.side[i].th, NULL);
    W.nside = 0;
}

/* ---- shutdown, destroy and the accounting ------------------------------ */

/* pool.h: cancel_pending cancels every task still queued, running its
 * cleanup in the calling thread for tasks submitted from outside the pool.
 * A task a worker has already taken is the worker's: at most one per live
 * worker (the one it is about to start, or the one whose submit started it)
 * may still be PENDING when shutdown returns, or CANCELLED by that worker
 * with its cleanup still running (found by the fuzzer: a slow cleanup).
 * Every other cancelled one's cleanup has run (unless a side thread's
 * cancel of it is still under way); the accounting at destroy checks that
 * every task ran or was cleaned up. */
static void check_cancelled_by_shutdown(void)
{
    crew_pool_stats s;
    FZ_RC(crew_pool_get_stats(W.pool, &s), 0);
    int pending = 0;
    for (int i = 0; i < W.ntasks; i++) {
        task_rec *t = &W.tasks[i];
        if (t->gen != W.gen || !t->f || t->is_child)
            continue;
        crew_future_state st = crew_future_get_state(t->f);
        /* A worker's taken task is cancelled by that worker (pool.h): it
         * may be PENDING still, or CANCELLED with its cleanup under way. */
        bool held = st == CREW_FUTURE_PENDING ||
                    (st == CREW_FUTURE_CANCELLED && t->has_cleanup && W.nside == 0 &&
                     atomic_load(&t->cleaned) == 0);
        if (held && ++pending > (int)s.workers_alive) {
            char msg[160];
            snprintf(msg, sizeof msg, "%d tasks (#%d the last) still PENDING after "
                     "shutdown(cancel_pending) returned, with %u workers (cleanup ran: %d)",
                     pending, t->idx, s.workers_alive, atomic_load(&t->cleaned));
            fz_fail(__FILE__, __LINE__, msg);
        }
    }
}

static void op_shutdown(fz_in *in)
{
    if (!W.pool)
        return;
    unsigned b = fz_byte(in);
    bool wait = b & 1, cancel = b & 2;
    if (cancel && (W.groups[0].active || W.groups[1].active) && fz_skip("group_cancel"))
        cancel = false;
    if (wait)
        open_all_gates();
    fz_trace("shutdown wait=%d cancel=%d", wait, cancel);
    FZ_RC(crew_pool_shutdown(W.pool, wait, cancel), 0);
    W.shut = true;
    if (cancel && !fz_skip("cancel_pending"))
        check_cancelled_by_shutdown();
}

static void check_states(void)
{
    for (int i = 0; i < W.ntasks; i++) {
        task_rec *t = &W.tasks[i];
        if (!t->f)
            continue;
        crew_future_state s1 = crew_future_get_state(t->f);
        bool d = crew_future_done(t->f);
        bool c = crew_future_cancelled(t->f);
        crew_future_state s2 = crew_future_get_state(t->f);
        /* Forward only: PENDING -> RUNNING -> DONE, PENDING -> CANCELLED. */
        crew_future_state p = (crew_future_state)t->last_state;
        FZ_CHECK(s1 == p || p == CREW_FUTURE_PENDING ||
                 (p == CREW_FUTURE_RUNNING && s1 == CREW_FUTURE_DONE));
        FZ_CHECK(s2 == s1 || s1 == CREW_FUTURE_PENDING ||
                 (s1 == CREW_FUTURE_RUNNING && s2 == CREW_FUTURE_DONE));
        if (s1 >= CREW_FUTURE_DONE)
            FZ_CHECK(d);
        if (d)
            FZ_CHECK(s2 >= CREW_FUTURE_DONE);
        if (c)
            FZ_EQ(s2, CREW_FUTURE_CANCELLED);
        if (s2 == CREW_FUTURE_DONE)
            FZ_EQ(atomic_load(&t->ran), 1);
        if (s2 == CREW_FUTURE_CANCELLED)
            FZ_EQ(atomic_load(&t->ran), 0);
        t->last_state = (int)s2;
    }
}

static void op_stats(void)
{
    check_states();
    if (!W.pool)
        return;
    crew_pool_stats s;
    FZ_RC(crew_pool_get_stats(W.pool, &s), 0);
    fz_trace("stats: alive %u idle %u queued %llu running %llu", s.workers_alive,
             s.workers_idle, (unsigned long long)s.queued, (unsigned long long)s.running);
    /* A worker blocked in a wait may get a replacement (docs/SCHEDULER.md,
     * "Waiting inside the pool": up to 256 extra threads). */
    FZ_CHECK(s.workers_alive <= W.workers + 256);
    /* An upper bound on the tasks the pool accepted: a child that a done
     * callback submits is marked submitted only once its submit returned,
     * and it may have run by then, so it counts while that may be so. */
    uint64_t accepted = W.map_attempted;
    for (int i = 0; i < W.ntasks; i++)
        accepted += W.tasks[i].gen == W.gen &&
                    (atomic_load(&W.tasks[i].submitted) || W.tasks[i].is_child);
    FZ_CHECK(s.completed + s.failed + s.cancelled <= accepted);
}

/* True if a done callback that submits to the current pool (CB_SUBMIT)
 * was added.  A side thread's cancel runs its future's callbacks in that
 * thread, which shutdown(wait) and destroy do not wait for (as in Python:
 * Future.cancel runs them in the caller); such a callback would then submit
 * to a destroyed pool, the caller's error and not a finding. */
static bool submit_callbacks(void)
{
    for (int i = 0; i < W.ncbs; i++)
        if (W.cbs[i].flavor == CB_SUBMIT && W.cbs[i].pool == W.pool)
            return true;
    return false;
}

/* Ends the current pool: every gate open, groups waited, shutdown with
 * wait, statistics checked, destroy, then every task of the pool checked. */
static void end_generation(fz_in *in)
{
    unsigned b = fz_byte(in);
    bool cancel = b & 1, release_first = b & 2, side_late = (b & 4) && !submit_callbacks();
    int gen = W.gen;
    open_all_gates();
    wait_all_groups();
    if (!side_late)
        join_side_threads();
    fz_trace("end of pool %d: shutdown(wait, cancel=%d)%s", gen, cancel,
             side_late ? ", side threads still running" : "");
    FZ_RC(crew_pool_shutdown(W.pool, true, cancel), 0);
    W.shut = true;
    if (release_first) {
        for (int i = 0; i < W.ntasks; i++) {
            if (W.tasks[i].gen == gen && W.tasks[i].f) {
                crew_future_release(W.tasks[i].f);
                W.tasks[i].f = NULL;
            }
        }
    }
    crew_pool_stats s;
    FZ_RC(crew_pool_get_stats(W.pool, &s), 0);
    FZ_RC(crew_pool_destroy(W.pool), 0);
    W.pool = NULL;
    join_side_threads();

    uint64_t ok = 0, failed = 0, cancelled = 0, hooked = 0, side_true = 0;
    for (int i = 0; i < W.ntasks; i++) {
        task_rec *t = &W.tasks[i];
        if (t->gen != gen || !t->attempted)
            continue;
        int ran = atomic_load(&t->ran), cl = atomic_load(&t->cleaned);
        int ct = atomic_load(&t->cancel_true), cf = atomic_load(&t->cancel_false);
        if (!atomic_load(&t->submitted)) {
            FZ_EQ(ran, 0);
            FZ_EQ(cl, 0);
            continue;
        }
        FZ_CHECK(ran <= 1 && cl <= 1);
        if (t->has_cleanup)
            FZ_EQ(ran + cl, 1);
        else
            FZ_EQ(cl, 0);
        if (ct)
            FZ_EQ(ran, 0);
        if (cf)
            FZ_EQ(ran, 1);
        if (t->f)
            FZ_EQ(crew_future_get_state(t->f),
                  ran ? CREW_FUTURE_DONE : CREW_FUTURE_CANCELLED);
        if (ran && t->kind == K_WAITER) {
            int w = atomic_load(&t->waiter_rc);
            FZ_CHECK(w == 0 || w == CREW_ETIMEDOUT || w == CREW_EDEADLK);
        }
        if (ran)
            *(t->kind == K_FAIL ? &failed : &ok) += 1;
        else
            cancelled++;
        hooked += (uint64_t)atomic_load(&t->hooked);
        side_true += (uint64_t)atomic_load(&t->side_true);
        if (atomic_load(&t->hooked))
            FZ_CHECK(t->detached || !t->f);
    }
    for (int i = 0; i < W.ncbs; i++)
        if (W.cbs[i].t->gen == gen)
            FZ_EQ(atomic_load(&W.cbs[i].ran), 1);
    fz_trace("stats: completed %llu failed %llu cancelled %llu unobserved %llu; tasks: ok %llu "
             "failed %llu cancelled %llu, map chunks: %llu attempted, %llu ran, %llu cancelled",
             (unsigned long long)s.completed, (unsigned long long)s.failed,
             (unsigned long long)s.cancelled, (unsigned long long)s.unobserved,
             (unsigned long long)ok, (unsigned long long)failed, (unsigned long long)cancelled,
             (unsigned long long)W.map_attempted, (unsigned long long)W.map_ran,
             (unsigned long long)W.map_cancelled);
    uint64_t late = side_late ? side_true : 0;
    FZ_CHECK(s.queued <= late); /* 0 unless a side thread's cancel is mid-way */
    FZ_EQ(s.running, 0);
    FZ_EQ(s.workers_alive, 0);
    FZ_EQ(s.failed, failed);
    /* A side thread's reference may be a failed future's last one. */
    if (side_late)
        FZ_CHECK(s.unobserved <= hooked);
    else
        FZ_EQ(s.unobserved, hooked);
    /* Map chunks are tasks the program cannot see one by one: between the
     * ones known to have run (or been cancelled) and the ones attempted. */
    FZ_CHECK(s.completed >= ok + W.map_ran);
    FZ_CHECK(s.completed <= ok + W.map_attempted);
    /* A cancel still running in a side thread when the stats were read
     * counts afterwards. */
    FZ_CHECK(s.cancelled + late >= cancelled + W.map_cancelled);
    FZ_CHECK(s.cancelled <= cancelled + W.map_attempted);
    FZ_CHECK(s.completed + s.cancelled <= ok + cancelled + W.map_attempted);
    if (W.map_attempted == 0) {
        FZ_EQ(s.completed, ok);
        if (!side_late)
            FZ_EQ(s.cancelled, cancelled);
    }
}

/* ---- bad arguments ----------------------------------------------------- */

static int noop_job(void *arg)
{
    (void)arg;
    return 0;
}

static void op_bad(fz_in *in)
{
    unsigned which = fz_pick(in, 8);
    fz_trace("bad call %u", which);
    crew_future *f = NULL;
    switch (which) {
    case 0: {
        crew_pool_options o;
        crew_pool_options_init(&o);
        o.workers = 4097;
        crew_pool *p = NULL;
        FZ_RC(crew_pool_create(&p, &o), CREW_EINVAL);
        FZ_RC(crew_pool_create(NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_pool_submit(NULL, task_fn, NULL, &f), CREW_EINVAL);
        FZ_RC(crew_pool_shutdown(NULL, true, true), CREW_EINVAL);
        FZ_RC(crew_pool_destroy(NULL), CREW_EINVAL);
        FZ_RC(crew_pool_get_stats(NULL, NULL), CREW_EINVAL);
        FZ_CHECK(crew_pool_current() == NULL);
        break;
    }
    case 1:
        FZ_RC(crew_future_wait(NULL), CREW_EINVAL);
        FZ_RC(crew_future_result(NULL, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_future_try_result(NULL, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_future_wait_timed(NULL, 0), CREW_EINVAL);
        FZ_CHECK(!crew_future_cancel(NULL));
        FZ_CHECK(!crew_future_done(NULL));
        FZ_CHECK(!crew_future_running(NULL));
        FZ_CHECK(!crew_future_cancelled(NULL));
        FZ_CHECK(crew_future_retain(NULL) == NULL);
        crew_future_release(NULL);
        FZ_RC(crew_future_add_done_callback(NULL, done_cb, NULL), CREW_EINVAL);
        break;
    case 2: {
        task_rec *t = pick_held(in);
        if (!t)
            break;
        FZ_RC(crew_future_wait_timed(t->f, -1), CREW_EINVAL);
        FZ_RC(crew_future_result_timed(t->f, NULL, NULL, -1), CREW_EINVAL);
        FZ_RC(crew_future_add_done_callback(t->f, NULL, NULL), CREW_EINVAL);
        crew_future *fs[2] = {t->f, NULL};
        FZ_RC(crew_wait(fs, 2, CREW_ALL_COMPLETED, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_wait(fs, 1, (crew_wait_mode)0, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_wait(fs, 1, (crew_wait_mode)4, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_wait_timed(fs, 1, CREW_ALL_COMPLETED, NULL, NULL, -1), CREW_EINVAL);
        crew_as_completed *it = NULL;
        FZ_RC(crew_as_completed_create(&it, fs, 2), CREW_EINVAL);
        FZ_RC(crew_as_completed_create(NULL, fs, 1), CREW_EINVAL);
        break;
    }
    case 3:
        FZ_RC(crew_wait(NULL, 1, CREW_ALL_COMPLETED, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_wait(NULL, 0, CREW_ALL_COMPLETED, NULL, NULL), 0);
        FZ_RC(crew_as_completed_next(NULL, &f), CREW_EINVAL);
        crew_as_completed_destroy(NULL);
        break;
    case 4: {
        crew_group g;
        FZ_RC(crew_group_init(NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_group_init(&g, NULL), CREW_EINVAL);
        FZ_RC(crew_group_spawn(NULL, noop_job, NULL), CREW_EINVAL);
        FZ_RC(crew_group_wait(NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_group_cancel(NULL), CREW_EINVAL);
        break;
    }
    case 5:
        ensure_pool(in);
        FZ_RC(crew_pool_submit(W.pool, NULL, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_parallel_for(W.pool, 5, 4, 1, pfor_body, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_parallel_for(W.pool, 0, 4, 1, NULL, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_parallel_for(NULL, 0, 4, 1, pfor_body, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_parallel_for(W.pool, 3, 3, 1, pfor_body, NULL, NULL), 0); /* empty */
        break;
    case 6: {
        ensure_pool(in);
        crew_map *m = NULL;
        FZ_RC(crew_map_create(&m, W.pool, NULL, NULL, 0, NULL), CREW_EINVAL);
        FZ_RC(crew_map_create(&m, W.pool, map_fn, NULL, 3, NULL), CREW_EINVAL);
        FZ_RC(crew_map_create(NULL, W.pool, map_fn, NULL, 0, NULL), CREW_EINVAL);
        FZ_RC(crew_map_create(&m, NULL, map_fn, NULL, 0, NULL), CREW_EINVAL);
        FZ_RC(crew_map_next(NULL, NULL, NULL, NULL), CREW_EINVAL);
        FZ_RC(crew_map_destroy(NULL), CREW_EINVAL);
        break;
    }
    default: {
        /* An empty map: no task, EEMPTY at once. */
        ensure_pool(in);
        crew_map *m = NULL;
        int rc = crew_map_create(&m, W.pool, map_fn, NULL, 0, NULL);
        FZ_RC(rc, 0); /* nothing to submit, so not even a shut-down pool refuses */
        if (rc == 0) {
            FZ_RC(crew_map_next(m, NULL, NULL, NULL), CREW_EEMPTY);
            FZ_RC(crew_map_next_timed(m, NULL, NULL, NULL, -1), CREW_EINVAL);
            FZ_RC(crew_map_destroy(m), 0);
        }
        break;
    }
    }
}

/* ---- the program ------------------------------------------------------- */

enum {
    OP_SUBMIT,
    OP_SUBMIT2,
    OP_SUBMIT3,
    OP_CANCEL,
    OP_WAIT,
    OP_RESULT,
    OP_RESULT2,
    OP_RELEASE,
    OP_CALLBACK,
    OP_CREW_WAIT,
    OP_AS_COMPLETED,
    OP_OPEN_GATE,
    OP_GROUP,
    OP_GROUP2,
    OP_PFOR,
    OP_MAP,
    OP_SHUTDOWN,
    OP_DESTROY,
    OP_STATS,
    OP_SIDE_CANCEL,
    OP_BAD,
    OP_WAIT_RUNNING,
    NOPS
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_trace_init();
    fz_in in = {data, size, 0};
    /* W keeps no pointer into the last input: all its futures were
     * released and its pool destroyed. */
    memset(&W, 0, sizeof W);
    W.poll_budget_ns = 20000000;
    fz_opno = 0;
    /* A bound on the program's length keeps every input quick. */
    for (long op = 1; fz_more(&in) && op <= 200; op++) {
        fz_opno = op;
        switch (fz_pick(&in, NOPS)) {
        case OP_SUBMIT:
        case OP_SUBMIT2:
        case OP_SUBMIT3:
            op_submit(&in);
            break;
        case OP_CANCEL:
            op_cancel(&in);
            break;
        case OP_WAIT:
            op_wait(&in);
            break;
        case OP_RESULT:
        case OP_RESULT2:
            op_result(&in);
            break;
        case OP_RELEASE:
            op_release(&in);
            break;
        case OP_CALLBACK:
            op_callback(&in);
            break;
        case OP_CREW_WAIT:
            op_crew_wait(&in);
            break;
        case OP_AS_COMPLETED:
            op_as_completed(&in);
            break;
        case OP_OPEN_GATE: {
            int g = (int)fz_pick(&in, NGATES);
            fz_trace("open gate %d", g);
            open_gate(g);
            break;
        }
        case OP_GROUP:
        case OP_GROUP2:
            op_group(&in);
            break;
        case OP_PFOR:
            op_pfor(&in);
            break;
        case OP_MAP:
            op_map(&in);
            break;
        case OP_SHUTDOWN:
            op_shutdown(&in);
            break;
        case OP_DESTROY:
            if (W.pool)
                end_generation(&in);
            break;
        case OP_STATS:
            op_stats();
            break;
        case OP_SIDE_CANCEL:
            op_side_cancel(&in);
            break;
        case OP_WAIT_RUNNING:
            op_wait_running(&in);
            break;
        default:
            op_bad(&in);
            break;
        }
    }
    fz_opno = -1; /* the end of the program */
    if (W.pool)
        end_generation(&in);
    join_side_threads();
    check_map_snapshot();
    check_states();
    for (int i = 0; i < W.ntasks; i++) {
        if (W.tasks[i].f) {
            crew_future_release(W.tasks[i].f);
            W.tasks[i].f = NULL;
        }
    }
    /* Every reference is gone: the hook ran exactly for the failed tasks
     * whose error nobody read, and every callback ran once. */
    for (int i = 0; i < W.ntasks; i++) {
        task_rec *t = &W.tasks[i];
        bool unobserved = t->kind == K_FAIL && atomic_load(&t->ran) && !atomic_load(&t->observed);
        FZ_EQ(atomic_load(&t->hooked), unobserved);
    }
    for (int i = 0; i < W.ncbs; i++)
        FZ_EQ(atomic_load(&W.cbs[i].ran), 1);
    return 0;
}
