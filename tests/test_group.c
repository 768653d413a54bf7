/* test_group.c - fork-join task groups (crew/group.h): every job runs once,
 * jobs spawning into their own group, nested groups (recursive fib), the
 * first error skipping jobs not yet started, spawn after failure, cancel,
 * the isolated wait, groups used from threads outside the pool, a spawn
 * waking a parked worker or replacing a blocked one, and bad arguments. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "support.h"

/* ---- helpers ------------------------------------------------------------ */

/* Passes the gate or gives up after 5 s; returns whether it passed. */
static bool gate_pass_5s(gate *g)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_mutex_lock(&g->mu);
    while (!g->open && pthread_cond_timedwait(&g->cv, &g->mu, &ts) == 0) {
    }
    bool open = g->open;
    pthread_mutex_unlock(&g->mu);
    return open;
}

static int job_noop(void *arg)
{
    (void)arg;
    return 0;
}

/* ---- every job once ----------------------------------------------------- */

static void test_spawn_wait(void)
{
    enum { N = 2000 };
    static atomic_int counts[N];
    crew_pool *p = make_pool(2);
    crew_group g;
    CHECK_OK(crew_group_init(&g, p));
    CHECK_OK(crew_group_wait(&g, NULL)); /* empty group */
    for (int round = 0; round < 3; round++) {
        memset(counts, 0, sizeof counts);
        CHECK_OK(crew_group_init(&g, p)); /* reusable after init again */
        for (int i = 0; i < N; i++)
            CHECK_OK(crew_group_spawn(&g, job_count, &counts[i]));
        int err = -1;
        CHECK_OK(round == 1 ? crew_group_wait_isolated(&g, &err) : crew_group_wait(&g, &err));
        for (int i = 0; i < N; i++)
            CHECK_EQ(atomic_load(&counts[i]), 1);
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* Jobs that spawn their children into their own group. */
typedef struct tree {
    crew_group *g;
    atomic_int ran;
    atomic_int next;
    int depth[4096];
} tree;

static int job_tree(void *arg);

static int spawn_node(tree *t, int depth)
{
    int id = atomic_fetch_add(&t->next, 1);
    if (id >= 4096)
        return 1;
    t->depth[id] = depth;
    return crew_group_spawn(t->g, job_tree, &t->depth[id]);
}

static tree the_tree;

static int job_tree(void *arg)
{
    int depth = *(int *)arg;
    atomic_fetch_add(&the_tree.ran, 1);
    if (depth > 0) {
        if (spawn_node(&the_tree, depth - 1) != 0 || spawn_node(&the_tree, depth - 1) != 0)
            return 1;
    }
    return 0;
}

static void test_self_spawning(void)
{
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        crew_pool *p = make_pool(workers);
        crew_group g;
        CHECK_OK(crew_group_init(&g, p));
        the_tree.g = &g;
        atomic_store(&the_tree.ran, 0);
        atomic_store(&the_tree.next, 0);
        CHECK_OK(spawn_node(&the_tree, 10));
        CHECK_OK(crew_group_wait(&g, NULL));
        CHECK_EQ(atomic_load(&the_tree.ran), 2047);
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* ---- nested groups: fib ------------------------------------------------- */

static long fib_seq(int n)
{
    return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

typedef struct fib_job {
    crew_pool *p;
    int n;
    bool isolated;
    long result;
} fib_job;

static long fib_par(crew_pool *p, int n, bool isolated);

static int job_fib(void *arg)
{
    fib_job *j = arg;
    j->result = fib_par(j->p, j->n, j->isolated);
    return 0;
}

static long fib_par(crew_pool *p, int n, bool isolated)
{
    if (n < 2)
        return n;
    crew_group g;
    CHECK_OK(crew_group_init(&g, p));
    fib_job child = {p, n - 1, isolated, 0};
    CHECK_OK(crew_group_spawn(&g, job_fib, &child));
    long b = fib_par(p, n - 2, isolated);
    int err = -1;
    CHECK_OK(isolated ? crew_group_wait_isolated(&g, &err) : crew_group_wait(&g, &err));
    return child.result + b;
}

static int task_fib(void *arg, void **result)
{
    fib_job *j = arg;
    (void)result;
    j->result = fib_par(crew_pool_current(), j->n, j->isolated);
    return 0;
}

static void test_fib(void)
{
    const int n = 18;
    long want = fib_seq(n);
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        crew_pool *p = make_pool(workers);
        for (int iso = 0; iso <= 1; iso++) {
            /* from the main thread, outside the pool */
            CHECK_EQ(fib_par(p, n, iso), want);
            /* from inside a task */
            fib_job j = {p, n, iso, 0};
            crew_future *f;
            CHECK_OK(crew_pool_submit(p, task_fib, &j, &f));
            CHECK_OK(crew_future_result(f, NULL, NULL));
            CHECK_EQ(j.result, want);
            crew_future_release(f);
        }
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* ---- the first error ---------------------------------------------------- */

typedef struct failer {
    gate started;
    gate release;
    int status;
} failer;

static int job_fail_after_gate(void *arg)
{
    failer *f = arg;
    gate_open(&f->started);
    gate_pass(&f->release);
    return f->status;
}

typedef struct gated_count {
    gate *g;
    atomic_int ran;
} gated_count;

static int job_gated_count(void *arg)
{
    gated_count *c = arg;
    gate_pass(c->g);
    atomic_fetch_add(&c->ran, 1);
    return 0;
}

static void test_first_error(void)
{
    /* One worker, busy in the failing job while the others are spawned:
     * none of them may run. */
    crew_pool *p = make_pool(1);
    crew_group g;
    CHECK_OK(crew_group_init(&g, p));
    failer fl = {GATE_INIT, GATE_INIT, 7};
    CHECK_OK(crew_group_spawn(&g, job_fail_after_gate, &fl));
    gate_pass(&fl.started);
    atomic_int ran = 0;
    for (int i = 0; i < 100; i++)
        CHECK_OK(crew_group_spawn(&g, job_count, &ran));
    gate_open(&fl.release);
    /* Once the failure is recorded, spawn refuses (poll: it happens when
     * the failing job returns, in the worker). */
    atomic_int late = 0;
    int rc = 0;
    int64_t end = crew_now_ns() + 5000000000LL;
    while ((rc = crew_group_spawn(&g, job_count, &late)) == 0 && crew_now_ns() < end)
        nap_ms(1);
    CHECK_RC(rc, CREW_ECANCELLED);
    int err = 0;
    CHECK_RC(crew_group_wait(&g, &err), CREW_ETASK);
    CHECK_EQ(err, 7);
    CHECK_EQ(atomic_load(&ran), 0);
    CHECK_OK(crew_pool_destroy(p));

    /* Two workers: the second one is held in a job of the group; the rest
     * are spawned behind it and mostly skipped. */
    p = make_pool(2);
    CHECK_OK(crew_group_init(&g, p));
    failer f2 = {GATE_INIT, GATE_INIT, 9};
    gate hold = GATE_INIT;
    gated_count gc = {&hold, 0};
    CHECK_OK(crew_group_spawn(&g, job_fail_after_gate, &f2));
    gate_pass(&f2.started);
    for (int i = 0; i < 200; i++)
        CHECK_OK(crew_group_spawn(&g, job_gated_count, &gc));
    gate_open(&f2.release);
    nap_ms(10); /* not needed for correctness: lets the failure land first */
    gate_open(&hold);
    err = 0;
    CHECK_RC(crew_group_wait(&g, &err), CREW_ETASK);
    CHECK_EQ(err, 9);
    CHECK(atomic_load(&gc.ran) < 200);
    CHECK_OK(crew_pool_destroy(p));

    /* NULL task_error is fine; a failure inside a task's group. */
    p = make_pool(2);
    CHECK_OK(crew_group_init(&g, p));
    failer f3 = {GATE_INIT, GATE_INIT, -4};
    gate_open(&f3.release);
    CHECK_OK(crew_group_spawn(&g, job_fail_after_gate, &f3));
    CHECK_RC(crew_group_wait(&g, NULL), CREW_ETASK);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_cancel(void)
{
    crew_pool *p = make_pool(1);
    crew_group g;
    CHECK_OK(crew_group_init(&g, p));
    failer fl = {GATE_INIT, GATE_INIT, 0};
    CHECK_OK(crew_group_spawn(&g, job_fail_after_gate, &fl));
    gate_pass(&fl.started);
    atomic_int ran = 0;
    for (int i = 0; i < 50; i++)
        CHECK_OK(crew_group_spawn(&g, job_count, &ran));
    CHECK_OK(crew_group_cancel(&g));
    CHECK_RC(crew_group_spawn(&g, job_count, &ran), CREW_ECANCELLED);
    gate_open(&fl.release);
    int err = 123;
    CHECK_RC(crew_group_wait(&g, &err), CREW_ECANCELLED);
    CHECK_EQ(atomic_load(&ran), 0);

    /* Cancel of an empty group. */
    CHECK_OK(crew_group_init(&g, p));
    CHECK_OK(crew_group_cancel(&g));
    CHECK_RC(crew_group_wait(&g, NULL), CREW_ECANCELLED);

    /* A failure before the cancel: wait reports the failure. */
    CHECK_OK(crew_group_init(&g, p));
    failer f2 = {GATE_INIT, GATE_INIT, 3};
    gate_open(&f2.release);
    CHECK_OK(crew_group_spawn(&g, job_fail_after_gate, &f2));
    int64_t end = crew_now_ns() + 5000000000LL;
    while (crew_group_spawn(&g, job_noop, NULL) == 0 && crew_now_ns() < end)
        nap_ms(1);
    CHECK_OK(crew_group_cancel(&g));
    err = 0;
    CHECK_RC(crew_group_wait(&g, &err), CREW_ETASK);
    CHECK_EQ(err, 3);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- the isolated wait -------------------------------------------------- */

/* Scenario (2 workers A and B, both idle): task T on A spawns job J into a
 * group and blocks (plain condvar) until J has started, so B stole J.  J then
 * blocks until the main thread releases it.  T submits an unrelated task U
 * and waits for the group.  U records whether it ran on A while T was inside
 * the wait.  With crew_group_wait_isolated it must not; with crew_group_wait
 * it may (and usually does). */
typedef struct iso {
    crew_pool *p;
    bool isolated;
    pthread_t a_thread;        /* T's thread; written before U is submitted */
    atomic_int in_wait;        /* T is inside the group wait */
    atomic_int u_on_a_in_wait; /* U ran on A while T was waiting */
    atomic_int u_ran;
    atomic_int j_stolen;
    gate j_started;
    gate j_release;
    gate t_waiting;
    crew_future *fu; /* U's future: written by T before t_waiting opens */
    int wait_rc;
} iso;

static int job_j(void *arg)
{
    iso *s = arg;
    gate_open(&s->j_started);
    gate_pass(&s->j_release);
    return 0;
}

static int task_u(void *arg, void **result)
{
    iso *s = arg;
    (void)result;
    if (pthread_equal(pthread_self(), s->a_thread) && atomic_load(&s->in_wait))
        atomic_store(&s->u_on_a_in_wait, 1);
    atomic_store(&s->u_ran, 1);
    return 0;
}

static int task_t(void *arg, void **result)
{
    iso *s = arg;
    (void)result;
    s->a_thread = pthread_self();
    crew_group g;
    if (crew_group_init(&g, s->p) != 0 || crew_group_spawn(&g, job_j, s) != 0) {
        gate_open(&s->t_waiting);
        return 1;
    }
    /* Blocks this worker outside crew: only B can run J. */
    atomic_store(&s->j_stolen, gate_pass_5s(&s->j_started));
    if (crew_pool_submit(s->p, task_u, s, &s->fu) != 0)
        s->fu = NULL;
    atomic_store(&s->in_wait, 1);
    gate_open(&s->t_waiting);
    s->wait_rc = s->isolated ? crew_group_wait_isolated(&g, NULL) : crew_group_wait(&g, NULL);
    atomic_store(&s->in_wait, 0);
    return 0;
}

/* Waits (up to 5 s) until the meet's `want` tasks run at once. */
static int task_meet(void *arg, void **result)
{
    (void)result;
    (void)meet_arrive(arg);
    return 0;
}

static void run_isolation(bool isolated)
{
    crew_pool *p = make_pool(2);
    /* Start both workers. */
    meet m = {0, 2};
    crew_future *w1, *w2;
    CHECK_OK(crew_pool_submit(p, task_meet, &m, &w1));
    CHECK_OK(crew_pool_submit(p, task_meet, &m, &w2));
    CHECK_OK(crew_future_result(w1, NULL, NULL));
    CHECK_OK(crew_future_result(w2, NULL, NULL));
    crew_future_release(w1);
    crew_future_release(w2);

    static iso s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.isolated = isolated;
    s.j_started = (gate)GATE_INIT;
    s.j_release = (gate)GATE_INIT;
    s.t_waiting = (gate)GATE_INIT;
    s.wait_rc = 99;
    crew_future *ft;
    CHECK_OK(crew_pool_submit(p, task_t, &s, &ft));
    gate_pass(&s.t_waiting);
    nap_ms(100); /* gives a wrong implementation time to run U on A */
    gate_open(&s.j_release);
    CHECK_OK(crew_future_result(ft, NULL, NULL));
    CHECK(s.fu != NULL);
    if (s.fu) {
        CHECK_OK(crew_future_result(s.fu, NULL, NULL));
        crew_future_release(s.fu);
    }
    crew_future_release(ft);
    CHECK(atomic_load(&s.j_stolen)); /* an idle worker steals a spawned job */
    CHECK_OK(s.wait_rc);
    CHECK_EQ(atomic_load(&s.u_ran), 1);
    if (isolated)
        CHECK_EQ(atomic_load(&s.u_on_a_in_wait), 0);
    else
        printf("note: plain crew_group_wait ran the unrelated task meanwhile: %s\n",
               atomic_load(&s.u_on_a_in_wait) ? "yes" : "no");
    CHECK_OK(crew_pool_destroy(p));
}

static void test_isolated(void)
{
    run_isolation(true);
    run_isolation(false);
}

/* ---- groups used from threads outside the pool -------------------------- */

typedef struct outside {
    crew_group *g;
    atomic_int *counts;
    int from, to;
} outside;

static void *spawner_main(void *arg)
{
    outside *o = arg;
    for (int i = o->from; i < o->to; i++)
        CHECK_OK(crew_group_spawn(o->g, job_count, &o->counts[i]));
    return NULL;
}

typedef struct own_group {
    crew_pool *p;
    long fib;
} own_group;

static void *own_group_main(void *arg)
{
    own_group *o = arg;
    o->fib = fib_par(o->p, 15, false);
    return NULL;
}

static void test_outside_threads(void)
{
    enum { N = 1000 };
    static atomic_int counts[N];
    crew_pool *p = make_pool(2);
    crew_group g;
    CHECK_OK(crew_group_init(&g, p));
    outside o[2] = {{&g, counts, 0, N / 2}, {&g, counts, N / 2, N}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, spawner_main, &o[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_OK(crew_group_wait(&g, NULL));
    for (int i = 0; i < N; i++)
        CHECK_EQ(atomic_load(&counts[i]), 1);

    /* Two outside threads, each with its own groups, at once. */
    own_group og[2] = {{p, 0}, {p, 0}};
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, own_group_main, &og[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(og[i].fib, fib_seq(15));
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- bad arguments and shutdown ----------------------------------------- */

/* ---- a spawned job reaches an idle worker (no lost wake-up) ------------- */

/* The spawn's wake rule (src/sched/README.md, "Parking and waking"): a job
 * pushed on a worker's deque while another worker is parked, or blocked,
 * must get that worker woken or a replacement started.  The spawning task
 * then waits for its jobs outside crew (a poll that runs nothing), so only
 * another worker can run them: a lost wake-up leaves them on the deque and
 * the poll gives up (10 s) instead of passing. */
typedef struct wake_case {
    crew_pool *p;
    int jobs;           /* jobs to spawn, 1..3 */
    latch ran[3];       /* opened by job i */
    latch spawned;      /* opened once the jobs are queued */
} wake_case;

static int job_open(void *arg)
{
    latch_open(arg);
    return 0;
}

static int task_spawn_and_poll(void *arg, void **result)
{
    wake_case *c = arg;
    (void)result;
    crew_group g;
    CHECK_OK(crew_group_init(&g, c->p));
    for (int i = 0; i < c->jobs; i++)
        CHECK_OK(crew_group_spawn(&g, job_open, &c->ran[i]));
    latch_open(&c->spawned);
    for (int i = 0; i < c->jobs; i++) {
        latch_pass(&c->ran[i]); /* runs nothing meanwhile */
        CHECK(atomic_load(&c->ran[i].open));
    }
    CHECK_OK(crew_group_wait(&g, NULL));
    return 0;
}

/* Waits for t without running it here: a thread outside the pool that
 * waits for a task that has not started runs it itself, and a job spawned
 * from outside takes the submission path, not the worker's deque. */
static void wait_on_worker(crew_future *t)
{
    POLL_NS(crew_future_done(t), 30 * 1000 * MS);
    CHECK(crew_future_done(t));
    CHECK_OK(crew_future_wait(t));
}

/* Both workers started, then left to park; a task spawns jobs that only
 * the parked worker can run. */
static void test_spawn_wakes_parked(void)
{
    for (int jobs = 1; jobs <= 3; jobs++) {
        crew_pool *p = make_pool(2);
        meet m = {0, 2};
        crew_future *f[2];
        for (int i = 0; i < 2; i++)
            CHECK_OK(crew_pool_submit(p, task_meet, &m, &f[i]));
        for (int i = 0; i < 2; i++)
            CHECK_OK(crew_future_wait(f[i]));
        release_all(f, 2);
        /* Idle, then parked: a spinning worker parks within microseconds
         * (if one still spins when the jobs come, it takes them). */
        POLL(stats_of(p).workers_idle == 2);
        nap_ms(20);
        wake_case c = {.p = p, .jobs = jobs};
        crew_future *t;
        CHECK_OK(crew_pool_submit(p, task_spawn_and_poll, &c, &t));
        wait_on_worker(t);
        crew_future_release(t);
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* A task that waits with a deadline, which blocks the worker at once
 * (counted blocked: the pool may start a replacement). */
typedef struct blocked_waiter {
    crew_future *promise;
    latch waiting;
} blocked_waiter;

static int task_wait_blocked(void *arg, void **result)
{
    blocked_waiter *b = arg;
    (void)result;
    latch_open(&b->waiting);
    CHECK_OK(crew_future_wait_timed(b->promise, 30 * 1000 * MS));
    return 0;
}

/* One worker blocked in a wait, the other spawns: the job needs a
 * replacement worker, started by the spawn's wake rule. */
static void test_spawn_replaces_blocked(void)
{
    crew_pool *p = make_pool(2);
    blocked_waiter b = {0};
    CHECK_OK(crew_future_create(&b.promise, NULL));
    crew_future *u, *t;
    CHECK_OK(crew_pool_submit(p, task_wait_blocked, &b, &u));
    latch_pass(&b.waiting);
    nap_ms(20); /* into its futex wait */
    wake_case c = {.p = p, .jobs = 2};
    CHECK_OK(crew_pool_submit(p, task_spawn_and_poll, &c, &t));
    wait_on_worker(t);
    CHECK_OK(crew_future_set_result(b.promise, NULL));
    CHECK_OK(crew_future_wait(u));
    crew_future_release(t);
    crew_future_release(u);
    crew_future_release(b.promise);
    CHECK_OK(crew_pool_destroy(p));
}

static void test_bad_args(void)
{
    crew_pool *p = make_pool(1);
    crew_group g;
    CHECK_RC(crew_group_init(NULL, p), CREW_EINVAL);
    CHECK_RC(crew_group_init(&g, NULL), CREW_EINVAL);
    CHECK_OK(crew_group_init(&g, p));
    CHECK_RC(crew_group_spawn(&g, NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_group_spawn(NULL, job_noop, NULL), CREW_EINVAL);
    CHECK_RC(crew_group_wait(NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_group_wait_isolated(NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_group_cancel(NULL), CREW_EINVAL);
    CHECK_OK(crew_group_wait(&g, NULL));

    /* A group prepared before shutdown refuses spawns after it. */
    crew_group g2;
    CHECK_OK(crew_group_init(&g2, p));
    CHECK_OK(crew_pool_shutdown(p, true, false));
    CHECK_RC(crew_group_spawn(&g2, job_noop, NULL), CREW_ESHUTDOWN);
    CHECK_OK(crew_group_wait(&g2, NULL));
    CHECK_RC(crew_group_init(&g, p), CREW_ESHUTDOWN);
    CHECK_OK(crew_pool_destroy(p));
}

/* A pool whose initializer fails: a group from outside is refused once the
 * pool is broken, and jobs queued before it broke are reported as such. */
static int init_fail(void *ctx)
{
    (void)ctx;
    return 1;
}

static void test_broken_pool(void)
{
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = 1;
    o.init = init_fail;
    crew_pool *p;
    CHECK_OK(crew_pool_create(&p, &o));
    atomic_int ran = 0;
    crew_group g;
    CHECK_OK(crew_group_init(&g, p)); /* not broken yet: no worker ran init */
    int rc = crew_group_spawn(&g, job_count, &ran);
    CHECK(rc == 0 || rc == CREW_EBROKEN); /* the first worker breaks it */
    CHECK_RC(crew_group_wait(&g, NULL), rc == 0 ? CREW_EBROKEN : 0);
    CHECK_EQ(atomic_load(&ran), 0);
    CHECK_RC(crew_group_init(&g, p), CREW_EBROKEN);
    CHECK_RC(crew_parallel_for(p, 0, 10, 1, NULL, NULL, NULL), CREW_EINVAL);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    test_broken_pool();
    test_spawn_wait();
    test_self_spawning();
    test_fib();
    test_first_error();
    test_cancel();
    test_isolated();
    test_outside_threads();
    test_spawn_wakes_parked();
    test_spawn_replaces_blocked();
    test_bad_args();
    return check_exit("test_group");
}
