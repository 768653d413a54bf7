/* test_pool_lifecycle.c - a pool's life (crew/pool.h): lazy start and
 * reuse of idle workers, idle retirement, thread names, the initializer
 * (once per worker; a failing one breaks the pool), shutdown in its forms,
 * shutdown and destroy from inside a task, destroy with futures held, and
 * shutdown racing with tasks, waiters and callbacks. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "support.h"

/* ---- helpers ------------------------------------------------------------ */

static void run_one(crew_pool *p)
{
    crew_future *f = NULL;
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &f));
    CHECK_OK(crew_future_result(f, NULL, NULL));
    crew_future_release(f);
}

static void callback_slot(crew_future *f, void *ctx)
{
    slot *s = ctx;
    CHECK(crew_future_done(f));
    s->callback_thread = pthread_self();
    atomic_fetch_add(&s->called_back, 1);
}

/* ---- lazy start, reuse, retirement -------------------------------------- */

static void test_lazy_start(void)
{
    /* Workers only: run_one's wait would otherwise run the task in this
     * thread, and the worker would meet only its spent queue entry, which
     * counts as queued work for a moment (and may start a second thread). */
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 4;
    o.idle_timeout_ns = -1;
    o.workers_only = true;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));
    crew_pool_stats s = stats_of(p);
    CHECK_EQ(s.workers_alive, 0); /* no thread before the first submit */
    for (int i = 0; i < 5; i++) {
        run_one(p);
        /* Wait until the worker is back to idle, then the next task must
         * reuse it rather than start a second thread. */
        POLL(stats_of(p).workers_idle == 1);
        s = stats_of(p);
        CHECK_EQ(s.workers_alive, 1);
        CHECK_EQ(s.workers_idle, 1);
    }
    CHECK_OK(crew_pool_destroy(p));
}

static void test_idle_retirement(void)
{
    crew_pool *p = make_pool_idle(2, 50 * 1000000LL);
    run_one(p);
    POLL(stats_of(p).workers_alive == 0);
    CHECK_EQ(stats_of(p).workers_alive, 0);
    run_one(p); /* a retired pool starts a new worker */
    POLL(stats_of(p).workers_alive == 0);
    CHECK_EQ(stats_of(p).workers_alive, 0);
    CHECK_OK(crew_pool_destroy(p));

    /* idle_timeout_ns < 0: the worker never retires. */
    p = make_pool(2);
    run_one(p);
    for (int i = 0; i < 30; i++) {
        nap_ms(10);
        CHECK_EQ(stats_of(p).workers_alive, 1);
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- thread names ------------------------------------------------------- */

static int task_name(void *arg, void **result)
{
    (void)result;
    CHECK_OK(pthread_getname_np(pthread_self(), arg, 16));
    return 0;
}

/* Checks that name is "<prefix>-<digits>". */
static void check_name(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    CHECK(strncmp(name, prefix, n) == 0 && name[n] == '-');
    if (strncmp(name, prefix, n) != 0 || name[n] != '-') {
        fprintf(stderr, "  thread name '%s', expected '%s-<index>'\n", name, prefix);
        return;
    }
    CHECK(name[n + 1] != '\0');
    for (const char *c = name + n + 1; *c; c++)
        CHECK(*c >= '0' && *c <= '9');
}

static void name_case(const char *opt_name, const char *want_prefix)
{
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 2;
    o.workers_only = true; /* the task must run on a worker, not on us */
    if (opt_name)
        o.name = opt_name;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));
    char name[16] = "";
    crew_future *f = NULL;
    CHECK_OK(crew_pool_submit(p, task_name, name, &f));
    CHECK_OK(crew_future_result(f, NULL, NULL));
    crew_future_release(f);
    check_name(name, want_prefix);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_thread_names(void)
{
    name_case("tpool", "tpool");
    name_case(NULL, "crew");
    name_case("abcdefghijklmnop", "abcdefghij"); /* up to 10 chars kept */
}

/* ---- initializer -------------------------------------------------------- */

typedef struct init_ctx {
    atomic_int calls;
    atomic_int twice; /* init ran twice in one thread */
    int rc;
    int use_gate;
    gate entered;
    gate release;
} init_ctx;

static _Thread_local int tl_init_ran;

static int init_fn(void *ctx)
{
    init_ctx *c = ctx;
    if (tl_init_ran)
        atomic_fetch_add(&c->twice, 1);
    tl_init_ran = 1;
    atomic_fetch_add(&c->calls, 1);
    if (c->use_gate) {
        gate_open(&c->entered);
        gate_pass(&c->release);
    }
    return c->rc;
}

/* Records whether init ran in this thread before the task. */
static int task_check_init(void *arg, void **result)
{
    (void)result;
    if (!tl_init_ran)
        atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

/* Waits (up to 5 s) until `want` tasks are running at once; fails if not. */
static int task_meet(void *arg, void **result)
{
    (void)result;
    return meet_arrive(arg) ? 0 : 1;
}

static void test_init_ok(void)
{
    init_ctx c = {0, 0, 0, 0, GATE_INIT, GATE_INIT};
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 2;
    o.idle_timeout_ns = -1;
    o.init = init_fn;
    o.init_ctx = &c;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));
    CHECK_EQ(atomic_load(&c.calls), 0);
    meet m = {0, 2};
    crew_future *f1, *f2;
    CHECK_OK(crew_pool_submit(p, task_meet, &m, &f1));
    CHECK_OK(crew_pool_submit(p, task_meet, &m, &f2));
    CHECK_OK(crew_future_result(f1, NULL, NULL));
    CHECK_OK(crew_future_result(f2, NULL, NULL));
    crew_future_release(f1);
    crew_future_release(f2);
    atomic_int missing = 0;
    crew_future *fs[50];
    for (int i = 0; i < 50; i++)
        CHECK_OK(crew_pool_submit(p, task_check_init, &missing, &fs[i]));
    for (int i = 0; i < 50; i++) {
        CHECK_OK(crew_future_result(fs[i], NULL, NULL));
        crew_future_release(fs[i]);
    }
    CHECK_EQ(atomic_load(&missing), 0);
    CHECK_EQ(atomic_load(&c.calls), 2);
    CHECK_EQ(stats_of(p).workers_alive, 2);
    CHECK_EQ(atomic_load(&c.twice), 0);
    CHECK_OK(crew_pool_destroy(p));

    /* A worker started after another retired runs init again (new thread). */
    init_ctx c2 = {0, 0, 0, 0, GATE_INIT, GATE_INIT};
    o.workers = 1;
    o.idle_timeout_ns = 20 * 1000000LL;
    o.init_ctx = &c2;
    CHECK_OK(crew_pool_create(&p, &o));
    missing = 0;
    for (int round = 0; round < 2; round++) {
        crew_future *f;
        CHECK_OK(crew_pool_submit(p, task_check_init, &missing, &f));
        CHECK_OK(crew_future_result(f, NULL, NULL));
        crew_future_release(f);
        POLL(stats_of(p).workers_alive == 0);
    }
    CHECK_EQ(atomic_load(&c2.calls), 2);
    CHECK_EQ(atomic_load(&c2.twice), 0);
    CHECK_EQ(atomic_load(&missing), 0);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_init_breaks_pool(void)
{
    init_ctx c = {0, 0, 5, 1, GATE_INIT, GATE_INIT};
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 1;
    o.init = init_fn;
    o.init_ctx = &c;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));
    enum { N = 4 };
    static slot slots[N];
    crew_future *fs[N];
    CHECK_OK(crew_pool_submit_ex(p, task_slot, &slots[0], cleanup_slot, &fs[0]));
    gate_pass(&c.entered); /* the worker is in init: the rest queue up */
    for (int i = 1; i < N; i++)
        CHECK_OK(crew_pool_submit_ex(p, task_slot, &slots[i], cleanup_slot, &fs[i]));
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_future_add_done_callback(fs[i], callback_slot, &slots[i]));
    gate_open(&c.release); /* init returns 5: the pool breaks */
    for (int i = 0; i < N; i++) {
        void *r = (void *)1;
        CHECK_RC(crew_future_result(fs[i], &r, NULL), CREW_EBROKEN);
        CHECK_EQ(crew_future_get_state(fs[i]), CREW_FUTURE_DONE);
        CHECK(!crew_future_cancelled(fs[i]));
        CHECK_RC(crew_future_try_result(fs[i], NULL, NULL), CREW_EBROKEN);
    }
    for (int i = 0; i < N; i++) {
        POLL(atomic_load(&slots[i].cleaned) == 1 && atomic_load(&slots[i].called_back) == 1);
        CHECK_EQ(atomic_load(&slots[i].cleaned), 1);
        CHECK_EQ(atomic_load(&slots[i].called_back), 1);
        CHECK_EQ(atomic_load(&slots[i].ran), 0);
    }
    static slot late;
    crew_future *fl = NULL;
    CHECK_RC(crew_pool_submit(p, task_noop, NULL, &fl), CREW_EBROKEN);
    CHECK_RC(crew_pool_submit_ex(p, task_slot, &late, cleanup_slot, &fl), CREW_EBROKEN);
    CHECK_RC(crew_pool_submit(p, task_noop, NULL, NULL), CREW_EBROKEN);
    CHECK(fl == NULL);
    POLL(stats_of(p).failed == N);
    crew_pool_stats s = stats_of(p);
    CHECK_EQ(s.failed, N);
    CHECK_EQ(s.completed, 0);
    CHECK_EQ(s.queued, 0);
    CHECK_OK(crew_pool_destroy(p));
    CHECK_EQ(atomic_load(&late.cleaned) + atomic_load(&late.ran), 0);
    CHECK_EQ(atomic_load(&c.twice), 0);
    for (int i = 0; i < N; i++)
        crew_future_release(fs[i]);
}

/* ---- shutdown ----------------------------------------------------------- */

static int task_nap_count(void *arg, void **result)
{
    (void)result;
    nap_ms(1);
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

static void test_shutdown_waits(void)
{
    crew_pool *p = make_pool(1);
    atomic_int count = 0;
    enum { N = 20 };
    crew_future *fs[N];
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_pool_submit(p, task_nap_count, &count, &fs[i]));
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_EQ(atomic_load(&count), N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(crew_future_get_state(fs[i]), CREW_FUTURE_DONE);
        crew_future_release(fs[i]);
    }
    CHECK_EQ(stats_of(p).workers_alive, 0);
    CHECK_RC(crew_pool_submit(p, task_noop, NULL, NULL), CREW_ESHUTDOWN);
    CHECK_OK(crew_pool_shutdown(p, true, false)); /* idempotent */
    CHECK_OK(crew_pool_destroy(p));

    /* shutdown without wait: queued tasks still run; a later wait waits. */
    p = make_pool(1);
    count = 0;
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_pool_submit(p, task_nap_count, &count, NULL));
    CHECK_OK(crew_pool_shutdown(p, false, false));
    CHECK_RC(crew_pool_submit(p, task_noop, NULL, NULL), CREW_ESHUTDOWN);
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_EQ(atomic_load(&count), N);
    CHECK_OK(crew_pool_destroy(p));

    /* destroy with tasks queued: waits for them, futures stay usable. */
    p = make_pool(1);
    count = 0;
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_pool_submit(p, task_nap_count, &count, &fs[i]));
    CHECK_OK(crew_pool_destroy(p));
    CHECK_EQ(atomic_load(&count), N);
    for (int i = 0; i < N; i++) {
        CHECK_OK(crew_future_result(fs[i], NULL, NULL));
        crew_future_release(fs[i]);
    }
}

typedef struct waiter {
    crew_future *f;
    int rc;
} waiter;

static void *waiter_main(void *arg)
{
    waiter *w = arg;
    w->rc = crew_future_wait(w->f);
    return NULL;
}

static void test_shutdown_cancel_pending(void)
{
    /* Workers only: the waiters must stay blocked (otherwise each runs the
     * task it waits for itself, crew/pool.h). */
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 1;
    o.idle_timeout_ns = -1;
    o.workers_only = true;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));
    blocker b = BLOCKER_INIT;
    crew_future *fa;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &fa));
    gate_pass(&b.started);
    enum { N = 6 };
    static slot slots[N];
    crew_future *fs[N];
    for (int i = 0; i < N; i++) {
        CHECK_OK(crew_pool_submit_ex(p, task_slot, &slots[i], cleanup_slot, &fs[i]));
        CHECK_OK(crew_future_add_done_callback(fs[i], callback_slot, &slots[i]));
    }
    /* Threads blocked in crew_future_wait on queued futures. */
    waiter w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        w[i].f = fs[i];
        w[i].rc = 99;
        CHECK_EQ(pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
    }
    nap_ms(20); /* let them block (if not yet, they find the future done) */
    CHECK_OK(crew_pool_shutdown(p, false, true));
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_OK(w[i].rc);
        CHECK(crew_future_cancelled(fs[i]));
        CHECK(crew_future_done(fs[i]));
        CHECK_EQ(crew_future_get_state(fs[i]), CREW_FUTURE_CANCELLED);
        CHECK_RC(crew_future_result(fs[i], NULL, NULL), CREW_ECANCELLED);
        /* the cancelling thread ran the callbacks */
        CHECK_EQ(atomic_load(&slots[i].called_back), 1);
        CHECK(pthread_equal(slots[i].callback_thread, pthread_self()));
        CHECK_EQ(atomic_load(&slots[i].cleaned), 1);
        CHECK_EQ(atomic_load(&slots[i].ran), 0);
    }
    crew_pool_stats s = stats_of(p);
    CHECK_EQ(s.cancelled, N);
    CHECK_EQ(s.queued, 0);
    CHECK_EQ(s.running, 1);
    CHECK_RC(crew_pool_submit(p, task_noop, NULL, NULL), CREW_ESHUTDOWN);
    CHECK(!crew_future_done(fa)); /* the running task is not touched */

    gate_open(&b.release);
    CHECK_OK(crew_pool_shutdown(p, true, true)); /* second call still waits */
    CHECK_EQ(crew_future_get_state(fa), CREW_FUTURE_DONE);
    CHECK_OK(crew_future_result(fa, NULL, NULL));
    CHECK_EQ(stats_of(p).workers_alive, 0);
    CHECK_OK(crew_pool_destroy(p));
    crew_future_release(fa);
    for (int i = 0; i < N; i++) {
        crew_future_release(fs[i]);
        CHECK_EQ(atomic_load(&slots[i].cleaned), 1);
    }
}

/* ---- calls from inside a task ------------------------------------------ */

typedef struct inside {
    crew_pool *p;
    crew_pool *current;
    int rc_shutdown_wait;
    int rc_shutdown_wait_cancel;
    int rc_destroy;
    int rc_submit;
} inside;

static int task_inside(void *arg, void **result)
{
    inside *in = arg;
    (void)result;
    in->current = crew_pool_current();
    in->rc_shutdown_wait = crew_pool_shutdown(in->p, true, false);
    in->rc_shutdown_wait_cancel = crew_pool_shutdown(in->p, true, true);
    in->rc_destroy = crew_pool_destroy(in->p);
    in->rc_submit = crew_pool_submit(in->p, task_noop, NULL, NULL); /* nothing was done */
    return 0;
}

static int task_shutdown_nowait(void *arg, void **result)
{
    (void)result;
    return crew_pool_shutdown((crew_pool *)arg, false, false);
}

static void test_from_inside_task(void)
{
    crew_pool *p = make_pool(2);
    inside in = {p, NULL, 99, 99, 99, 99};
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_inside, &in, &f));
    CHECK_OK(crew_future_result(f, NULL, NULL));
    crew_future_release(f);
    CHECK(in.current == p);
    CHECK(crew_pool_current() == NULL);
    CHECK_RC(in.rc_shutdown_wait, CREW_EDEADLK);
    CHECK_RC(in.rc_shutdown_wait_cancel, CREW_EDEADLK);
    CHECK_RC(in.rc_destroy, CREW_EDEADLK);
    CHECK_OK(in.rc_submit);

    /* Without wait it is allowed from inside: later submits fail. */
    CHECK_OK(crew_pool_submit(p, task_shutdown_nowait, p, &f));
    CHECK_OK(crew_future_result(f, NULL, NULL));
    crew_future_release(f);
    CHECK_RC(crew_pool_submit(p, task_noop, NULL, NULL), CREW_ESHUTDOWN);
    CHECK_OK(crew_pool_destroy(p));
}

/* A task of one pool may destroy another pool (and wait for its tasks). */
static int task_destroy_other(void *arg, void **result)
{
    (void)result;
    return crew_pool_destroy((crew_pool *)arg);
}

static void test_destroy_from_other_pool(void)
{
    crew_pool *a = make_pool(1), *b = make_pool(1);
    atomic_int count = 0;
    for (int i = 0; i < 10; i++)
        CHECK_OK(crew_pool_submit(b, task_nap_count, &count, NULL));
    crew_future *f;
    CHECK_OK(crew_pool_submit(a, task_destroy_other, b, &f));
    int err = 0;
    CHECK_OK(crew_future_result(f, NULL, &err));
    CHECK_EQ(err, 0);
    CHECK_EQ(atomic_load(&count), 10);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(a));
}

/* ---- shutdown racing with tasks, waiters and callbacks ------------------ */

typedef struct race_waiter {
    crew_future **fs;
    int n;
    atomic_int ok;
} race_waiter;

static void *race_waiter_main(void *arg)
{
    race_waiter *w = arg;
    for (int i = w->n - 1; i >= 0; i--) {
        int rc = crew_future_result(w->fs[i], NULL, NULL);
        if (rc == 0 || rc == CREW_ECANCELLED)
            atomic_fetch_add(&w->ok, 1);
    }
    return NULL;
}

static void test_shutdown_race(void)
{
    enum { ROUNDS = 30, N = 64 };
    static slot slots[N];
    for (int round = 0; round < ROUNDS; round++) {
        memset(slots, 0, sizeof slots);
        crew_pool *p = make_pool(2);
        crew_future *fs[N];
        for (int i = 0; i < N; i++) {
            CHECK_OK(crew_pool_submit_ex(p, task_slot, &slots[i], cleanup_slot, &fs[i]));
            CHECK_OK(crew_future_add_done_callback(fs[i], callback_slot, &slots[i]));
        }
        race_waiter w = {fs, N, 0};
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, race_waiter_main, &w), 0);
        CHECK_OK(crew_pool_shutdown(p, false, round % 2 == 0));
        CHECK_OK(crew_pool_shutdown(p, true, round % 3 == 0));
        pthread_join(th, NULL);
        CHECK_EQ(atomic_load(&w.ok), N);
        crew_pool_stats s = stats_of(p);
        int ran = 0, cleaned = 0;
        for (int i = 0; i < N; i++) {
            int r = atomic_load(&slots[i].ran), c = atomic_load(&slots[i].cleaned);
            CHECK_EQ(r + c, 1);
            CHECK_EQ(atomic_load(&slots[i].called_back), 1);
            CHECK_EQ(crew_future_get_state(fs[i]), r ? CREW_FUTURE_DONE : CREW_FUTURE_CANCELLED);
            ran += r;
            cleaned += c;
            crew_future_release(fs[i]);
        }
        CHECK_EQ(s.completed, ran);
        CHECK_EQ(s.cancelled, cleaned);
        CHECK_EQ(s.queued + s.running, 0);
        CHECK_OK(crew_pool_destroy(p));
    }
}

int main(void)
{
    test_lazy_start();
    test_idle_retirement();
    test_thread_names();
    test_init_ok();
    test_init_breaks_pool();
    test_shutdown_waits();
    test_shutdown_cancel_pending();
    test_from_inside_task();
    test_destroy_from_other_pool();
    test_shutdown_race();
    return check_exit("test_pool_lifecycle");
}
