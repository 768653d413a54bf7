/* test_pool.c - the executor's basics (crew/pool.h): options and bad
 * arguments, the default worker count, submit and results, task errors,
 * detached tasks, who calls cleanup, the stats counters and the
 * unobserved-error hook.
 *
 * Orders are forced with gates (mutex + condvar), never with sleeps; where
 * something becomes true eventually (a counter updated by a worker after the
 * future completed) the test polls with a generous deadline. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "support.h"
#include "sched/sched.h" /* crew__pool_max_workers */

/* ---- tasks -------------------------------------------------------------- */

static int task_double(void *arg, void **result)
{
    *result = (void *)((intptr_t)arg * 2);
    return 0;
}

static int failure_marker; /* a task error's result points here */

/* Fails with status arg, storing &failure_marker as its result. */
static int task_fail(void *arg, void **result)
{
    *result = &failure_marker;
    return (int)(intptr_t)arg;
}

/* ---- tests -------------------------------------------------------------- */

static void test_options_and_bad_args(void)
{
    crew_pool_options o;
    memset(&o, 0x5a, sizeof o);
    crew_pool_options_init(&o);
    CHECK_EQ(o.workers, 0);
    CHECK(o.name != NULL && strcmp(o.name, "crew") == 0);
    CHECK(o.init == NULL);
    CHECK(o.idle_timeout_ns == 0 || o.idle_timeout_ns == 10000000000LL);
    CHECK(o.unobserved == NULL);

    crew_pool *p = NULL;
    CHECK_RC(crew_pool_create(NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_pool_create(NULL, &o), CREW_EINVAL);
    o.workers = 4097;
    CHECK_RC(crew_pool_create(&p, &o), CREW_EINVAL);
    o.workers = 4096; /* the largest allowed; threads start lazily */
    CHECK_OK(crew_pool_create(&p, &o));
    CHECK_OK(crew_pool_destroy(p));

    CHECK_OK(crew_pool_create(&p, NULL));
    crew_future *f = NULL;
    CHECK_RC(crew_pool_submit(NULL, task_noop, NULL, &f), CREW_EINVAL);
    CHECK_RC(crew_pool_submit(p, NULL, NULL, &f), CREW_EINVAL);
    CHECK_RC(crew_pool_submit(p, NULL, NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_pool_submit_ex(NULL, task_noop, NULL, NULL, &f), CREW_EINVAL);
    CHECK_RC(crew_pool_submit_ex(p, NULL, NULL, NULL, &f), CREW_EINVAL);
    CHECK(f == NULL);
    crew_pool_stats s;
    CHECK_RC(crew_pool_get_stats(NULL, &s), CREW_EINVAL);
    CHECK_RC(crew_pool_get_stats(p, NULL), CREW_EINVAL);
    CHECK_RC(crew_pool_shutdown(NULL, true, false), CREW_EINVAL);
    CHECK_RC(crew_pool_destroy(NULL), CREW_EINVAL);
    CHECK(crew_pool_current() == NULL);
    /* Nothing has been submitted successfully: no thread, no counts. */
    s = stats_of(p);
    CHECK_EQ(s.workers_alive, 0);
    CHECK_EQ(s.queued + s.running + s.completed + s.failed + s.cancelled, 0);
    CHECK_OK(crew_pool_destroy(p));
}

/* With NULL options the pool runs up to one worker per online CPU: that many
 * tasks that wait for each other all run at once, and one more waits. */
typedef struct rendezvous {
    atomic_int arrived;
    gate release;
} rendezvous;

static int task_rendezvous(void *arg, void **result)
{
    rendezvous *r = arg;
    (void)result;
    atomic_fetch_add(&r->arrived, 1);
    gate_pass(&r->release);
    return 0;
}

static void test_default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(cpus >= 1);
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, NULL));
    CHECK_EQ(crew__pool_max_workers(p), cpus);

    rendezvous r = {0, GATE_INIT};
    crew_future *fs[64];
    int n = cpus < 63 ? (int)cpus : 63;
    for (int i = 0; i <= n; i++) /* n + 1 tasks: the last must wait */
        CHECK_OK(crew_pool_submit(p, task_rendezvous, &r, &fs[i]));
    POLL(atomic_load(&r.arrived) >= n);
    crew_pool_stats s = stats_of(p);
    if (n == cpus) {
        CHECK_EQ(atomic_load(&r.arrived), n);
        CHECK_EQ(s.workers_alive, cpus);
        CHECK_EQ(s.running, cpus);
        CHECK_EQ(s.queued, 1);
        nap_ms(20); /* a worker too many would start the last task now */
        CHECK_EQ(atomic_load(&r.arrived), n);
    }
    gate_open(&r.release);
    for (int i = 0; i <= n; i++) {
        CHECK_OK(crew_future_result(fs[i], NULL, NULL));
        crew_future_release(fs[i]);
    }
    CHECK_EQ(atomic_load(&r.arrived), n + 1);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_results_and_errors(void)
{
    crew_pool *p = make_pool(2);
    enum { N = 200 };
    crew_future *fs[N];
    for (intptr_t i = 0; i < N; i++)
        CHECK_OK(crew_pool_submit(p, task_double, (void *)i, &fs[i]));
    for (intptr_t i = 0; i < N; i++) {
        void *r = (void *)-1;
        int err = -77;
        CHECK_OK(crew_future_result(fs[i], &r, &err));
        CHECK(r == (void *)(i * 2));
        CHECK(crew_future_done(fs[i]));
        CHECK_EQ(crew_future_get_state(fs[i]), CREW_FUTURE_DONE);
        crew_future_release(fs[i]);
    }

    /* A task's non-zero status is its error; its stored result is kept. */
    crew_future *f = NULL;
    CHECK_OK(crew_pool_submit(p, task_fail, (void *)(intptr_t)7, &f));
    void *r = NULL;
    int err = 0;
    CHECK_RC(crew_future_result(f, &r, &err), CREW_ETASK);
    CHECK_EQ(err, 7);
    CHECK(r == &failure_marker);
    CHECK_RC(crew_future_result(f, NULL, NULL), CREW_ETASK); /* NULL outs are fine */
    CHECK_RC(crew_future_try_result(f, NULL, &err), CREW_ETASK);
    CHECK_EQ(err, 7);
    CHECK(!crew_future_cancelled(f));
    crew_future_release(f);

    /* A negative status works too. */
    CHECK_OK(crew_pool_submit(p, task_fail, (void *)(intptr_t)-3, &f));
    CHECK_RC(crew_future_result(f, NULL, &err), CREW_ETASK);
    CHECK_EQ(err, -3);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

/* Cleanup runs exactly once for a task that never runs, never for one that
 * runs, and never when submit fails. */
static void test_cleanup_ownership(void)
{
    crew_pool *p = make_pool(1);
    enum { N = 20 };
    static slot slots[N];
    blocker b = BLOCKER_INIT;
    crew_future *fb, *fs[N];
    CHECK_OK(crew_pool_submit(p, task_block, &b, &fb));
    gate_pass(&b.started); /* the only worker is busy now */
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_pool_submit_ex(p, task_slot, &slots[i], cleanup_slot, &fs[i]));
    for (int i = 1; i < N; i += 2) {
        CHECK(crew_future_cancel(fs[i]));
        CHECK(crew_future_cancel(fs[i])); /* again: still true, no second cleanup */
    }
    gate_open(&b.release);
    for (int i = 0; i < N; i++)
        CHECK_RC(crew_future_result(fs[i], NULL, NULL), i % 2 ? CREW_ECANCELLED : CREW_OK);
    CHECK_OK(crew_pool_shutdown(p, true, false));

    /* A failed submit calls nothing: arg is still ours. */
    slot late = {0};
    crew_future *fl = NULL;
    CHECK_RC(crew_pool_submit_ex(p, task_slot, &late, cleanup_slot, &fl), CREW_ESHUTDOWN);
    CHECK_RC(crew_pool_submit_ex(p, task_slot, &late, cleanup_slot, NULL), CREW_ESHUTDOWN);
    CHECK(fl == NULL);
    CHECK_OK(crew_pool_destroy(p));
    for (int i = 0; i < N; i++) {
        CHECK_EQ(atomic_load(&slots[i].ran), i % 2 ? 0 : 1);
        CHECK_EQ(atomic_load(&slots[i].cleaned), i % 2 ? 1 : 0);
        crew_future_release(fs[i]);
    }
    crew_future_release(fb);
    CHECK_EQ(atomic_load(&late.ran) + atomic_load(&late.cleaned), 0);
}

static void test_detached(void)
{
    crew_pool *p = make_pool(2);
    enum { N = 100 };
    static slot slots[N];
    atomic_int count = 0;
    for (int i = 0; i < N; i++) {
        CHECK_OK(crew_pool_submit(p, task_count, &count, NULL));
        CHECK_OK(crew_pool_submit_ex(p, task_slot, &slots[i], cleanup_slot, NULL));
    }
    POLL(atomic_load(&count) == N);
    CHECK_EQ(atomic_load(&count), N);
    CHECK_OK(crew_pool_destroy(p)); /* waits for the detached tasks too */
    for (int i = 0; i < N; i++) {
        CHECK_EQ(atomic_load(&slots[i].ran), 1);
        CHECK_EQ(atomic_load(&slots[i].cleaned), 0);
    }
}

static void test_stats_scenario(void)
{
    crew_pool *p = make_pool(1);
    crew_pool_stats s = stats_of(p);
    CHECK_EQ(s.workers_alive, 0);
    CHECK_EQ(s.workers_idle, 0);
    CHECK_EQ(s.queued, 0);
    CHECK_EQ(s.running, 0);

    blocker b = BLOCKER_INIT;
    crew_future *fa, *fb, *fc, *fd, *fe;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &fa));
    gate_pass(&b.started);
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &fb));
    CHECK_OK(crew_pool_submit(p, task_fail, (void *)(intptr_t)3, &fc));
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &fd));
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &fe));
    s = stats_of(p);
    CHECK_EQ(s.workers_alive, 1);
    CHECK_EQ(s.workers_idle, 0);
    CHECK_EQ(s.running, 1);
    CHECK_EQ(s.queued, 4);
    CHECK_EQ(s.completed, 0);
    CHECK_EQ(s.failed, 0);
    CHECK_EQ(s.cancelled, 0);

    CHECK(crew_future_cancel(fe));
    s = stats_of(p);
    CHECK_EQ(s.queued, 3);
    CHECK_EQ(s.cancelled, 1);
    CHECK_EQ(s.running, 1);

    gate_open(&b.release);
    CHECK_OK(crew_future_result(fa, NULL, NULL));
    CHECK_OK(crew_future_result(fb, NULL, NULL));
    CHECK_RC(crew_future_result(fc, NULL, NULL), CREW_ETASK); /* observed */
    CHECK_OK(crew_future_wait(fd));
    CHECK_RC(crew_future_result(fe, NULL, NULL), CREW_ECANCELLED);

    /* Counters are updated by the worker around completion: poll. */
    POLL((s = stats_of(p)).completed == 3 && s.failed == 1 && s.running == 0);
    CHECK_EQ(s.queued, 0);
    CHECK_EQ(s.running, 0);
    CHECK_EQ(s.completed, 3);
    CHECK_EQ(s.failed, 1);
    CHECK_EQ(s.cancelled, 1);
    CHECK_EQ(s.unobserved, 0);
    CHECK_EQ(s.workers_alive, 1); /* idle timeout < 0: it stays */

    CHECK_OK(crew_pool_shutdown(p, true, false));
    s = stats_of(p);
    CHECK_EQ(s.workers_alive, 0);
    CHECK_EQ(s.completed, 3);
    CHECK_EQ(s.failed, 1);
    CHECK_EQ(s.cancelled, 1);
    CHECK_EQ(s.queued, 0);
    crew_future_release(fa);
    crew_future_release(fb);
    crew_future_release(fc);
    crew_future_release(fd);
    crew_future_release(fe);
    s = stats_of(p);
    CHECK_EQ(s.unobserved, 0);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- unobserved errors -------------------------------------------------- */

typedef struct hook_log {
    atomic_int calls;
    atomic_int statuses[8]; /* statuses[k]: how many calls reported status k */
} hook_log;

static hook_log hooklog; /* static: the hook may run after destroy */

static void hook(int task_error, void *ctx)
{
    hook_log *h = ctx;
    CHECK(h == &hooklog);
    if (task_error >= 0 && task_error < 8)
        atomic_fetch_add(&h->statuses[task_error], 1);
    atomic_fetch_add(&h->calls, 1);
}

static void test_unobserved(void)
{
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 2;
    o.unobserved = hook;
    o.unobserved_ctx = &hooklog;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));

    /* 1. Failed, waited (not looked at), released: counted and hooked. */
    crew_future *f = NULL;
    CHECK_OK(crew_pool_submit(p, task_fail, (void *)(intptr_t)5, &f));
    CHECK_OK(crew_future_wait(f));
    crew_future_release(f);
    POLL(atomic_load(&hooklog.calls) == 1);
    CHECK_EQ(atomic_load(&hooklog.calls), 1);
    CHECK_EQ(atomic_load(&hooklog.statuses[5]), 1);
    POLL(stats_of(p).unobserved == 1);
    CHECK_EQ(stats_of(p).unobserved, 1);

    /* 2. Failed and looked at with crew_future_result: not counted. */
    CHECK_OK(crew_pool_submit(p, task_fail, (void *)(intptr_t)6, &f));
    CHECK_RC(crew_future_result(f, NULL, NULL), CREW_ETASK);
    crew_future_release(f);

    /* 3. Succeeded, released unread; cancelled, released: not counted. */
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &f));
    crew_future_release(f);

    /* 4. Detached and failed: counted and hooked (in the worker). */
    CHECK_OK(crew_pool_submit(p, task_fail, (void *)(intptr_t)4, NULL));
    POLL(atomic_load(&hooklog.calls) == 2);
    CHECK_EQ(atomic_load(&hooklog.statuses[4]), 1);
    POLL(stats_of(p).unobserved == 2);

    /* 5. Released before it even ran: counted once it fails. */
    blocker b = BLOCKER_INIT;
    crew_future *fb, *fb2;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &fb));
    CHECK_OK(crew_pool_submit(p, task_block, &b, &fb2)); /* both workers busy */
    gate_pass(&b.started);
    CHECK_OK(crew_pool_submit(p, task_fail, (void *)(intptr_t)3, &f));
    crew_future_release(f);
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &f));
    CHECK(crew_future_cancel(f));
    crew_future_release(f);
    gate_open(&b.release);
    crew_future_release(fb);
    crew_future_release(fb2);
    POLL(atomic_load(&hooklog.calls) == 3);
    CHECK_EQ(atomic_load(&hooklog.statuses[3]), 1);

    /* 6. A failed future that outlives its pool: the hook runs at release,
     * after destroy returned. */
    CHECK_OK(crew_pool_submit(p, task_fail, (void *)(intptr_t)2, &f));
    CHECK_OK(crew_future_wait(f));
    POLL(stats_of(p).unobserved == 3);
    crew_pool_stats s = stats_of(p);
    CHECK_EQ(s.unobserved, 3);
    CHECK_EQ(s.failed, 5);
    CHECK_OK(crew_pool_destroy(p));
    CHECK_EQ(atomic_load(&hooklog.statuses[2]), 0);
    crew_future_release(f);
    CHECK_EQ(atomic_load(&hooklog.statuses[2]), 1);
    CHECK_EQ(atomic_load(&hooklog.calls), 4);
    CHECK_EQ(atomic_load(&hooklog.statuses[6]), 0);
}

int main(void)
{
    test_options_and_bad_args();
    test_default_workers();
    test_results_and_errors();
    test_detached();
    test_cleanup_ownership();
    test_stats_scenario();
    test_unobserved();
    return check_exit("test_pool");
}
