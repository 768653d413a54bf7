/* test_outside_run.c - a thread outside the pool that waits (no deadline)
 * for a task no worker has started runs it itself (issue 13; crew/pool.h,
 * "Which thread runs a task").
 *
 * Checked: the task runs on the waiting thread, once, with
 * crew_pool_current() == its pool and shutdown(wait) from it refused; the
 * worker that later meets its queue entry only drops it; the statistics
 * count it; timed waits never take a task over; workers_only (and a pool
 * with an initializer) keeps tasks on the workers; a race of the waiter
 * with the workers and with cancel runs every task exactly once;
 * shutdown(wait) waits for a task a waiting thread is running.
 *
 * The submitting thread's own task, still the only entry on its
 * submission ring, is taken back off the ring (no worker meets it), and
 * the run is announced on that ring instead of counted in the pool:
 * shutdown(wait) waits for such runs too, nested ones included; a task
 * run that way may submit to, and wait on, another pool.  A worker that
 * skips such a ring for a while still runs what is left on it. */
#include <pthread.h>

#include "check.h"
#include "sched/pool.h" /* white box: the submission rings */
#include "support.h"

/* White box: entries on the calling thread's ring of p (the only ring:
 * the tests submit to p from one thread), or -1 if p has no ring (no
 * membarrier: submits go to the injection queue). */
static long ring_entries(crew_pool *p)
{
    if (atomic_load(&p->nrings) == 0)
        return -1;
    crew__subring *r = p->rings[0];
    return (long)(atomic_load(&r->tail) - atomic_load(&r->head));
}

typedef struct seen {
    pthread_t thread;
    crew_pool *current;
    int shutdown_rc;
    atomic_int runs;
} seen;

static int task_seen(void *arg, void **result)
{
    seen *s = arg;
    s->thread = pthread_self();
    s->current = crew_pool_current();
    if (s->current)
        s->shutdown_rc = crew_pool_shutdown(s->current, true, false);
    atomic_fetch_add(&s->runs, 1);
    *result = (void *)(intptr_t)77;
    return 0;
}

static crew_pool *pool_with(unsigned workers, bool workers_only, crew_init_fn init)
{
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = workers;
    o.idle_timeout_ns = -1;
    o.workers_only = workers_only;
    o.init = init;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));
    return p;
}

/* The only worker is busy: the waiter runs the task itself.  Its entry is
 * taken back off the ring when nothing is queued before it (retract), else
 * left to the worker, which only drops it. */
static void test_runs_here(bool retract)
{
    crew_pool *p = pool_with(1, false, NULL);
    blocker b = BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(p, task_block, &b, NULL));
    gate_pass(&b.started);
    seen before = {0};
    if (!retract)
        CHECK_OK(crew_pool_submit(p, task_seen, &before, NULL));
    seen s = {0};
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_seen, &s, &f));
    CHECK_EQ(crew_future_get_state(f), CREW_FUTURE_PENDING);
    crew_pool_stats st = stats_of(p);
    CHECK_EQ(st.queued, retract ? 1 : 2);
    long entries = ring_entries(p);
    /* A timed wait never takes it over. */
    CHECK_RC(crew_future_wait_timed(f, 20 * MS), CREW_ETIMEDOUT);
    CHECK_EQ(atomic_load(&s.runs), 0);
    void *r = NULL;
    CHECK_OK(crew_future_result(f, &r, NULL));
    CHECK_EQ((intptr_t)r, 77);
    CHECK_EQ(atomic_load(&s.runs), 1);
    CHECK(pthread_equal(s.thread, pthread_self()));
    CHECK(s.current == p);
    CHECK_RC(s.shutdown_rc, CREW_EDEADLK);
    CHECK(crew_pool_current() == NULL); /* only while it ran */
    if (entries >= 0) /* taken back, or left in place behind the other */
        CHECK_EQ(ring_entries(p), retract ? 0 : 2);
    st = stats_of(p);
    CHECK_EQ(st.completed, 1);
    CHECK_EQ(st.queued, retract ? 0 : 1);
    CHECK_EQ(st.running, 1); /* the blocker */
    gate_open(&b.release);
    /* The worker runs the task before ours and meets the entry of the task
     * we ran: it only drops it. */
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_EQ(atomic_load(&s.runs), 1);
    CHECK_EQ(atomic_load(&before.runs), retract ? 0 : 1);
    st = stats_of(p);
    CHECK_EQ(st.completed, retract ? 2 : 3);
    CHECK_EQ(st.cancelled, 0);
    CHECK_EQ(st.running, 0);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

/* A failing task run here: its error is the future's, counted as failed. */
static int task_fail(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 42;
}

static void test_error_here(void)
{
    crew_pool *p = pool_with(1, false, NULL);
    blocker b = BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(p, task_block, &b, NULL));
    gate_pass(&b.started);
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_fail, NULL, &f));
    int err = 0;
    CHECK_RC(crew_future_result(f, NULL, &err), CREW_ETASK);
    CHECK_EQ(err, 42);
    CHECK_EQ(stats_of(p).failed, 1);
    gate_open(&b.release);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
    /* The future outlives its pool (and the pool's reference for the error). */
}

/* workers_only, or an initializer: the waiter keeps waiting. */
typedef struct waiter_arg {
    crew_future *f;
    int rc;
} waiter_arg;

static void *waiter_main(void *arg)
{
    waiter_arg *w = arg;
    w->rc = crew_future_wait(w->f);
    return NULL;
}

static int init_ok(void *ctx)
{
    (void)ctx;
    return 0;
}

static void test_workers_only(bool by_init)
{
    crew_pool *p = by_init ? pool_with(1, false, init_ok) : pool_with(1, true, NULL);
    blocker b = BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(p, task_block, &b, NULL));
    gate_pass(&b.started);
    seen s = {0};
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_seen, &s, &f));
    waiter_arg w = {f, 99};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, waiter_main, &w), 0);
    nap_ms(30);
    CHECK_EQ(atomic_load(&s.runs), 0); /* not taken over */
    CHECK_EQ(crew_future_get_state(f), CREW_FUTURE_PENDING);
    gate_open(&b.release);
    pthread_join(th, NULL);
    CHECK_OK(w.rc);
    CHECK_EQ(atomic_load(&s.runs), 1);
    CHECK(!pthread_equal(s.thread, th));
    CHECK(!pthread_equal(s.thread, pthread_self()));
    CHECK(s.current == p);
    CHECK_RC(s.shutdown_rc, CREW_EDEADLK);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
}

/* Races: the waiter against the workers, and against a cancel. */
static atomic_int race_runs, race_cleans;

static int task_race(void *arg, void **result)
{
    (void)arg;
    atomic_fetch_add(&race_runs, 1);
    *result = arg;
    return 0;
}

static void cleanup_race(void *arg)
{
    (void)arg;
    atomic_fetch_add(&race_cleans, 1);
}

typedef struct canceller {
    crew_future *_Atomic f;
    atomic_int stop;
} canceller;

static void *cancel_main(void *arg)
{
    canceller *c = arg;
    while (!atomic_load(&c->stop)) {
        crew_future *f = atomic_exchange(&c->f, NULL);
        if (f) {
            (void)crew_future_cancel(f);
            crew_future_release(f);
        }
    }
    return NULL;
}

static void test_races(void)
{
    enum { ROUNDS = 20000 };
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = pool_with(workers, false, NULL);
        atomic_store(&race_runs, 0);
        atomic_store(&race_cleans, 0);
        canceller c = {NULL, 0};
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, cancel_main, &c), 0);
        int ok = 0, cancelled = 0;
        for (int i = 0; i < ROUNDS; i++) {
            crew_future *f;
            CHECK_OK(crew_pool_submit_ex(p, task_race, (void *)(intptr_t)(i + 1), cleanup_race, &f));
            if (i % 3 == 0) {
                crew_future *old = atomic_exchange(&c.f, crew_future_retain(f));
                crew_future_release(old);
            }
            void *r = NULL;
            int rc = crew_future_result(f, &r, NULL);
            if (rc == 0) {
                ok++;
                CHECK_EQ((intptr_t)r, i + 1);
            } else {
                CHECK_RC(rc, CREW_ECANCELLED);
                cancelled++;
            }
            crew_future_release(f);
        }
        atomic_store(&c.stop, 1);
        pthread_join(th, NULL);
        crew_future_release(atomic_exchange(&c.f, NULL));
        CHECK_OK(crew_pool_shutdown(p, true, false));
        CHECK_EQ(atomic_load(&race_runs), ok);
        CHECK_EQ(atomic_load(&race_cleans), cancelled);
        crew_pool_stats st = stats_of(p);
        CHECK_EQ(st.completed, (uint64_t)ok);
        CHECK_EQ(st.cancelled, (uint64_t)cancelled);
        CHECK_EQ(st.queued, 0);
        CHECK_EQ(st.running, 0);
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* shutdown(wait) waits for a task that a waiting thread runs. */
static latch hold;
static atomic_int held_done, shutdown_back;
static crew_pool *sd_pool;

static int task_held(void *arg, void **result)
{
    (void)arg;
    (void)result;
    latch_pass(&hold);
    atomic_store(&held_done, 1);
    return 0;
}

static void *outside_main(void *arg)
{
    crew_future *f = arg;
    CHECK_OK(crew_future_wait(f));
    return NULL;
}

static void *shutdown_main(void *arg)
{
    (void)arg;
    CHECK_OK(crew_pool_shutdown(sd_pool, true, false));
    CHECK_EQ(atomic_load(&held_done), 1); /* not back before the task ended */
    atomic_store(&shutdown_back, 1);
    return NULL;
}

static void test_shutdown_waits(void)
{
    sd_pool = pool_with(1, false, NULL);
    atomic_store(&hold.open, 0);
    blocker b = BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(sd_pool, task_block, &b, NULL));
    gate_pass(&b.started);
    crew_future *f;
    CHECK_OK(crew_pool_submit(sd_pool, task_held, NULL, &f));
    pthread_t out, sd;
    CHECK_EQ(pthread_create(&out, NULL, outside_main, f), 0);
    POLL(crew_future_running(f));
    CHECK(crew_future_running(f)); /* taken over by the waiting thread */
    gate_open(&b.release);
    CHECK_EQ(pthread_create(&sd, NULL, shutdown_main, NULL), 0);
    nap_ms(30);
    CHECK_EQ(atomic_load(&shutdown_back), 0);
    latch_open(&hold);
    pthread_join(sd, NULL);
    pthread_join(out, NULL);
    CHECK_EQ(atomic_load(&shutdown_back), 1);
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(sd_pool));
}

/* The same with the submitting thread waiting: its run is announced on its
 * ring, not counted in the pool.  nested: the task, run there, submits
 * another and waits for it, which runs there too (two runs announced). */
typedef struct held_arg {
    crew_pool *p;
    bool nested;
    crew_future *_Atomic inner;
} held_arg;

static int task_held_outer(void *arg, void **result)
{
    held_arg *h = arg;
    (void)result;
    if (!h->nested)
        return task_held(NULL, NULL);
    crew_future *g;
    CHECK_OK(crew_pool_submit(h->p, task_held, NULL, &g));
    atomic_store(&h->inner, g);
    int rc = crew_future_wait(g);
    return rc;
}

static crew_future *_Atomic ring_outer;

static void *submitter_main(void *arg)
{
    held_arg *h = arg;
    crew_future *f;
    CHECK_OK(crew_pool_submit(h->p, task_held_outer, h, &f));
    atomic_store(&ring_outer, f);
    CHECK_OK(crew_future_wait(f));
    return NULL;
}

static void test_shutdown_waits_ring(bool nested)
{
    sd_pool = pool_with(1, false, NULL);
    atomic_store(&hold.open, 0);
    atomic_store(&held_done, 0);
    atomic_store(&shutdown_back, 0);
    atomic_store(&ring_outer, NULL);
    held_arg h = {sd_pool, nested, NULL};
    pthread_t out, sd;
    CHECK_EQ(pthread_create(&out, NULL, submitter_main, &h), 0);
    POLL(atomic_load(&ring_outer) && crew_future_running(atomic_load(&ring_outer)));
    crew_future *f = atomic_load(&ring_outer);
    CHECK(f && crew_future_running(f));
    if (nested) {
        POLL(atomic_load(&h.inner) && crew_future_running(atomic_load(&h.inner)));
        CHECK(atomic_load(&h.inner) && crew_future_running(atomic_load(&h.inner)));
    }
    CHECK_EQ(pthread_create(&sd, NULL, shutdown_main, NULL), 0);
    nap_ms(30);
    CHECK_EQ(atomic_load(&shutdown_back), 0);
    crew_pool_stats st = stats_of(sd_pool);
    CHECK_EQ(st.running, nested ? 2 : 1);
    latch_open(&hold);
    pthread_join(sd, NULL);
    pthread_join(out, NULL);
    CHECK_EQ(atomic_load(&shutdown_back), 1);
    st = stats_of(sd_pool);
    CHECK_EQ(st.completed, nested ? 2 : 1);
    CHECK_EQ(st.running, 0);
    CHECK_EQ(st.queued, 0);
    if (nested)
        crew_future_release(atomic_load(&h.inner));
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(sd_pool));
}

/* A task of pool a, run by the thread that submitted it and waits, submits
 * to pool b and waits there (b's task runs here too).  The thread keeps its
 * ring of a until that run ends (b gets the injection queue meanwhile):
 * the end of the run is announced on the ring its begin used. */
typedef struct two_pools {
    crew_pool *a, *b;
    seen inner;
} two_pools;

static int task_other_pool(void *arg, void **result)
{
    two_pools *t = arg;
    crew_future *g;
    CHECK_OK(crew_pool_submit(t->b, task_seen, &t->inner, &g));
    void *r = NULL;
    CHECK_OK(crew_future_result(g, &r, NULL));
    CHECK_EQ((intptr_t)r, 77);
    crew_future_release(g);
    *result = (void *)(intptr_t)5;
    return 0;
}

static atomic_int destroyed;

static void *destroy_main(void *arg)
{
    two_pools *t = arg;
    CHECK_OK(crew_pool_destroy(t->a));
    CHECK_OK(crew_pool_destroy(t->b));
    atomic_store(&destroyed, 1);
    return NULL;
}

static void test_other_pool_inside(void)
{
    two_pools t = {pool_with(1, false, NULL), pool_with(1, false, NULL), {0}};
    for (int i = 0; i < 3; i++) {
        crew_future *f;
        CHECK_OK(crew_pool_submit(t.a, task_other_pool, &t, &f));
        void *r = NULL;
        CHECK_OK(crew_future_result(f, &r, NULL));
        CHECK_EQ((intptr_t)r, 5);
        crew_future_release(f);
    }
    CHECK_EQ(atomic_load(&t.inner.runs), 3);
    CHECK(t.inner.current == t.b);
    CHECK_RC(t.inner.shutdown_rc, CREW_EDEADLK);
    crew_pool_stats sa = stats_of(t.a), sb = stats_of(t.b);
    CHECK_EQ(sa.completed, 3);
    CHECK_EQ(sa.running, 0);
    CHECK_EQ(sb.completed, 3);
    CHECK_EQ(sb.running, 0);
    /* Nothing left announced: both shut down at once (a hang here is the
     * bug: a run ended on the wrong ring). */
    atomic_store(&destroyed, 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, destroy_main, &t), 0);
    POLL(atomic_load(&destroyed));
    CHECK_EQ(atomic_load(&destroyed), 1);
    if (atomic_load(&destroyed))
        pthread_join(th, NULL);
    else
        pthread_detach(th);
}

/* A worker that keeps finding our ring empty because we take our entries
 * back skips it for a while (find.c, "Rings whose owner runs its own
 * tasks").  A task we then leave to the workers (a timed wait never takes
 * it over) still runs, on a worker, and every task runs exactly once. */
static void test_ring_skips(void)
{
    crew_pool *p = pool_with(2, false, NULL);
    atomic_int ran = 0;
    int rounds = 0;
    for (int k = 0; k < 40; k++) {
        for (int i = 0; i < 500; i++, rounds++) {
            crew_future *f;
            CHECK_OK(crew_pool_submit(p, task_count, &ran, &f));
            CHECK_OK(crew_future_wait(f));
            crew_future_release(f);
        }
        seen s = {0};
        crew_future *f;
        CHECK_OK(crew_pool_submit(p, task_seen, &s, &f));
        CHECK_OK(crew_future_wait_timed(f, 10000 * MS));
        CHECK_EQ(atomic_load(&s.runs), 1);
        CHECK(!pthread_equal(s.thread, pthread_self()));
        CHECK(s.current == p);
        crew_future_release(f);
    }
    CHECK_EQ(atomic_load(&ran), rounds);
    if (atomic_load(&p->nrings) > 0) {
        /* White box: the entries taken back are counted on the ring. */
        uint64_t back = atomic_load(&p->rings[0]->retracted);
        CHECK(back > 0 && back <= (uint64_t)rounds);
    }
    crew_pool_stats st = stats_of(p);
    CHECK_EQ(st.completed, rounds + 40);
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    test_runs_here(true);
    test_runs_here(false);
    test_error_here();
    test_workers_only(false);
    test_workers_only(true);
    test_races();
    test_shutdown_waits();
    test_shutdown_waits_ring(false);
    test_shutdown_waits_ring(true);
    test_other_pool_inside();
    test_ring_skips();
    return check_exit("test_outside_run");
}
