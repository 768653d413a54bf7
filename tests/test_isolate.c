/* test_isolate.c - isolation regions (crew_isolate) for every kind of wait,
 * and no isolation leaking from one task into another (issue 11, bugs 9
 * and 10).
 *
 * The hazard isolation removes: a task that holds a lock and waits may run
 * an unrelated queued task on the same thread, and that task may want the
 * lock.  In each case below a one-worker pool runs `holder`, which takes a
 * lock, lets the test queue an unrelated task, then waits inside
 * crew_isolate for something that only becomes ready once the unrelated task
 * has run somewhere.  The unrelated task records its thread: it must not be
 * the holder's (the holder's wait blocks instead, and a replacement worker
 * runs it).  Without isolation the holder's own thread runs it.
 *
 * Then: tasks spawned inside the region are run by the region's waits (a
 * fork-join inside crew_isolate on one worker completes), regions nest,
 * crew_isolate outside a pool just calls fn, and a group created by a
 * future that a helping wait runs inside a job has no parent (bug 10). */
#include <pthread.h>

#include "check.h"
#include "exec/group_impl.h"
#include "support.h"

enum { FUTURE, WAIT_ALL, AS_COMPLETED, QUEUE_GET, GROUP, KINDS };

typedef struct scene {
    int kind;
    crew_pool *pool;
    pthread_mutex_t lock;
    gate holding;          /* the holder has the lock */
    gate queued;           /* the unrelated task is queued */
    pthread_t holder_thread;
    pthread_t other_thread;
    atomic_int other_ran;
    crew_queue *q;         /* QUEUE_GET: the unrelated task puts here */
    crew_future *signal;   /* not QUEUE_GET: finishes once the unrelated task ran */
    latch other_done;
} scene;

static int task_other(void *arg, void **result)
{
    (void)result;
    scene *s = arg;
    s->other_thread = pthread_self();
    atomic_store(&s->other_ran, 1);
    if (s->kind == QUEUE_GET)
        CHECK_OK(crew_queue_put(s->q, P(7)));
    latch_open(&s->other_done);
    return 0;
}

/* A task of another pool that finishes once the unrelated task ran. */
static int task_after_other(void *arg, void **result)
{
    (void)result;
    latch_pass(&((scene *)arg)->other_done);
    return 0;
}

/* A job of the region: it runs on the holder's thread (region work) and
 * waits, the crew way, for the other pool's task. */
static int job_after_other(void *arg)
{
    return crew_future_wait(((scene *)arg)->signal);
}

static int isolated_wait(void *arg)
{
    scene *s = arg;
    switch (s->kind) {
    case FUTURE:
        return crew_future_wait(s->signal);
    case WAIT_ALL:
        return crew_wait(&s->signal, 1, CREW_ALL_COMPLETED, NULL, NULL);
    case AS_COMPLETED: {
        crew_as_completed *it;
        int rc = crew_as_completed_create(&it, &s->signal, 1);
        if (rc)
            return rc;
        crew_future *f;
        rc = crew_as_completed_next(it, &f);
        crew_as_completed_destroy(it);
        return rc;
    }
    case QUEUE_GET: {
        void *x;
        return crew_queue_get(s->q, &x);
    }
    default: {
        /* A group whose job can only finish after the unrelated task: the
         * job runs here (it is the region's), and its own wait blocks. */
        crew_group g;
        int rc = crew_group_init(&g, s->pool);
        if (!rc)
            rc = crew_group_spawn(&g, job_after_other, s);
        return rc ? rc : crew_group_wait(&g, NULL);
    }
    }
}

static int task_holder(void *arg, void **result)
{
    (void)result;
    scene *s = arg;
    s->holder_thread = pthread_self();
    pthread_mutex_lock(&s->lock);
    gate_open(&s->holding);
    gate_pass(&s->queued);
    int rc = crew_isolate(isolated_wait, s);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void one_kind(int kind)
{
    crew_pool *p = make_pool(1);
    crew_pool *other = make_pool(1);
    static scene s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.pool = p;
    pthread_mutex_init(&s.lock, NULL);
    s.holding = (gate)GATE_INIT;
    s.queued = (gate)GATE_INIT;
    crew_queue_options qo;
    crew_queue_options_init(&qo);
    CHECK_OK(crew_queue_create(&s.q, &qo));
    if (kind != QUEUE_GET)
        CHECK_OK(crew_pool_submit(other, task_after_other, &s, &s.signal));
    crew_future *fh, *fo;
    CHECK_OK(crew_pool_submit(p, task_holder, &s, &fh));
    gate_pass(&s.holding);
    CHECK_OK(crew_pool_submit(p, task_other, &s, &fo));
    gate_open(&s.queued);
    CHECK_OK(crew_future_result(fh, NULL, NULL));
    CHECK_OK(crew_future_result(fo, NULL, NULL));
    CHECK_EQ(atomic_load(&s.other_ran), 1);
    CHECK(!pthread_equal(s.other_thread, s.holder_thread));
    crew_future_release(fh);
    crew_future_release(fo);
    if (s.signal)
        crew_future_release(s.signal);
    CHECK_OK(crew_queue_destroy(s.q));
    CHECK_OK(crew_pool_destroy(p));
    CHECK_OK(crew_pool_destroy(other));
    pthread_mutex_destroy(&s.lock);
}

/* ---- tasks of the region do run in its waits --------------------------- */

static int fib_iso(void *arg, void **result)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2) {
        *result = (void *)n;
        return 0;
    }
    crew_future *f;
    CHECK_OK(crew_pool_submit(crew_pool_current(), fib_iso, (void *)(n - 1), &f));
    void *a = NULL, *b = NULL;
    fib_iso((void *)(n - 2), &b);
    CHECK_OK(crew_future_result(f, &a, NULL));
    crew_future_release(f);
    *result = (void *)((intptr_t)a + (intptr_t)b);
    return 0;
}

typedef struct nest {
    int depth;
    intptr_t fib;
    pthread_t thread;
    bool same_thread;
} nest;

static int region_body(void *arg)
{
    nest *n = arg;
    if (n->depth-- > 0)
        return crew_isolate(region_body, n); /* nested regions */
    void *r = NULL;
    fib_iso((void *)(intptr_t)15, &r);
    n->fib = (intptr_t)r;
    n->same_thread = pthread_equal(pthread_self(), n->thread);
    return 42;
}

static int task_region(void *arg, void **result)
{
    (void)result;
    nest *n = arg;
    n->thread = pthread_self();
    return crew_isolate(region_body, n) == 42 ? 0 : 1;
}

static void test_region_runs_its_own(void)
{
    crew_pool *p = make_pool(1); /* only the region's own waits can run its tasks */
    nest n = {3, 0, pthread_self(), false};
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_region, &n, &f));
    CHECK_OK(crew_future_result(f, NULL, NULL));
    CHECK_EQ(n.fib, 610);
    CHECK(n.same_thread);
    crew_future_release(f);
    CHECK_EQ(stats_of(p).workers_alive, 1); /* no replacement was needed */
    CHECK_OK(crew_pool_destroy(p));
}

static int returns_arg(void *ctx)
{
    return (int)(intptr_t)ctx;
}

static void test_outside_and_args(void)
{
    CHECK_EQ(crew_isolate(returns_arg, (void *)(intptr_t)5), 5);
    CHECK_RC(crew_isolate(NULL, NULL), CREW_EINVAL);
}

/* ---- bug 10: a group's parent is the job around it, never inherited ---- */

typedef struct leak {
    crew_pool *pool;
    crew_future *inner;
    void *parent_seen; /* the parent of the group the future's task made */
    gate inner_queued;
} leak;

/* A future's task that creates a group: its parent must be NULL. */
static int task_make_group(void *arg, void **result)
{
    (void)result;
    leak *l = arg;
    crew_group g;
    CHECK_OK(crew_group_init(&g, l->pool));
    crew__group_impl gi;
    memcpy(&gi, &g, sizeof gi); /* the group's private layout (task.h) */
    l->parent_seen = gi.parent;
    CHECK_OK(crew_group_wait(&g, NULL));
    return 0;
}

/* A job that waits (helping) for a future whose task it then runs. */
static int job_wait_inner(void *arg)
{
    leak *l = arg;
    CHECK_OK(crew_pool_submit(l->pool, task_make_group, l, &l->inner));
    return crew_future_wait(l->inner);
}

static void test_group_context_does_not_leak(void)
{
    crew_pool *p = make_pool(1);
    leak l = {p, NULL, (void *)1, GATE_INIT};
    crew_group g;
    CHECK_OK(crew_group_init(&g, p));
    CHECK_OK(crew_group_spawn(&g, job_wait_inner, &l));
    CHECK_OK(crew_group_wait(&g, NULL));
    CHECK(l.parent_seen == NULL);
    crew_future_release(l.inner);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    for (int k = 0; k < KINDS; k++)
        one_kind(k);
    test_region_runs_its_own();
    test_outside_and_args();
    test_group_context_does_not_leak();
    return check_exit("test_isolate");
}
