/* test_cancel_lifetime.c - crew_future_cancel against the lifetimes of the
 * pool and of the future (issue 11, bugs 1 and 2).
 *
 * A future may outlive its pool, and a done callback may release the
 * caller's reference.  Once a cancel has won the PENDING -> CANCELLED
 * transition, a worker that reaches the entry drops the pool's reference on
 * the future, and crew_pool_destroy may free the pool: nothing the cancel
 * does after its transition may touch either unless it keeps them alive.
 * Both tests make the fatal interleaving certain with gates, so the ASan
 * stage reports the use-after-free deterministically if it comes back. */
#include <pthread.h>

#include "check.h"
#include "support.h"

/* ---- bug 1: the pool is freed while the cancel's cleanup runs ----------- */

typedef struct slow_cleanup {
    gate entered; /* the cleanup started */
    gate leave;   /* the cleanup may return */
    atomic_int calls;
} slow_cleanup;

static void cleanup_slow(void *arg)
{
    slow_cleanup *s = arg;
    atomic_fetch_add(&s->calls, 1);
    gate_open(&s->entered);
    gate_pass(&s->leave);
}

typedef struct canceller {
    crew_future *f;
    bool won; /* what crew_future_cancel returned; read after join */
} canceller;

static void *cancel_thread(void *arg)
{
    canceller *c = arg;
    c->won = crew_future_cancel(c->f);
    return NULL;
}

static void test_pool_destroyed_during_cancel(void)
{
    crew_pool *p = make_pool(1);
    static blocker busy = BLOCKER_INIT;
    static slow_cleanup sc = {GATE_INIT, GATE_INIT, 0};
    crew_future *fb, *f;
    CHECK_OK(crew_pool_submit(p, task_block, &busy, &fb));
    gate_pass(&busy.started); /* the only worker is taken */
    CHECK_OK(crew_pool_submit_ex(p, task_noop, &sc, cleanup_slow, &f));

    canceller c = {f, false};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, cancel_thread, &c), 0);
    gate_pass(&sc.entered); /* the cancel won and is inside the cleanup */

    /* The worker reaches the cancelled entry and drops the pool's
     * reference; destroy then frees the pool while the cleanup still
     * runs. */
    gate_open(&busy.release);
    CHECK_OK(crew_future_wait(fb));
    crew_future_release(fb);
    CHECK_OK(crew_pool_destroy(p));

    gate_open(&sc.leave); /* the cancel goes on with its bookkeeping */
    pthread_join(th, NULL);
    CHECK(c.won);
    CHECK_EQ(atomic_load(&sc.calls), 1);
    CHECK(crew_future_cancelled(f));
    CHECK_RC(crew_future_result(f, NULL, NULL), CREW_ECANCELLED);
    crew_future_release(f);
}

/* ---- bug 2: a callback releases the caller's reference ------------------ */

typedef struct two_callbacks {
    crew_pool *pool;
    blocker *busy;       /* holds the only worker until the first callback */
    crew_future *f;      /* the caller's reference, released by the first */
    atomic_int first, second;
    atomic_int second_saw_done;
} two_callbacks;

/* Lets the worker go on and drop the pool's reference (shutdown waits
 * until the queues are empty and every worker has exited), then releases
 * the caller's reference: the second callback must still get a live
 * future. */
static void cb_release(crew_future *f, void *ctx)
{
    two_callbacks *t = ctx;
    CHECK(f == t->f);
    atomic_fetch_add(&t->first, 1);
    gate_open(&t->busy->release);
    CHECK_OK(crew_pool_shutdown(t->pool, true, false));
    crew_future_release(t->f);
}

static void cb_look(crew_future *f, void *ctx)
{
    two_callbacks *t = ctx;
    atomic_fetch_add(&t->second, 1);
    atomic_store(&t->second_saw_done, crew_future_done(f) && crew_future_cancelled(f));
}

static void test_callback_releases_caller_reference(void)
{
    crew_pool *p = make_pool(1);
    static blocker busy = BLOCKER_INIT;
    crew_future *fb, *f;
    CHECK_OK(crew_pool_submit(p, task_block, &busy, &fb));
    gate_pass(&busy.started);
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &f));
    static two_callbacks t;
    t.pool = p;
    t.busy = &busy;
    t.f = f;
    CHECK_OK(crew_future_add_done_callback(f, cb_release, &t));
    CHECK_OK(crew_future_add_done_callback(f, cb_look, &t));
    CHECK(crew_future_cancel(f)); /* its callbacks run here, in order */
    CHECK_EQ(atomic_load(&t.first), 1);
    CHECK_EQ(atomic_load(&t.second), 1);
    CHECK_EQ(atomic_load(&t.second_saw_done), 1);
    CHECK_OK(crew_future_wait(fb));
    crew_future_release(fb);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- the statistics still count a cancel exactly once ------------------- */

static void test_cancel_counted_once(void)
{
    enum { N = 200 };
    crew_pool *p = make_pool(1);
    static blocker busy = BLOCKER_INIT;
    static slot slots[N];
    crew_future *fb, *fs[N];
    CHECK_OK(crew_pool_submit(p, task_block, &busy, &fb));
    gate_pass(&busy.started);
    for (int i = 0; i < N; i++)
        CHECK_OK(crew_pool_submit_ex(p, task_slot, &slots[i], cleanup_slot, &fs[i]));
    int won = 0;
    for (int i = 0; i < N; i += 2)
        won += crew_future_cancel(fs[i]);
    CHECK_EQ(won, N / 2);
    /* Cancelled twice: still one cancel (and true, as Python's). */
    CHECK(crew_future_cancel(fs[0]));
    gate_open(&busy.release);
    CHECK_OK(crew_pool_shutdown(p, true, false));
    crew_pool_stats s = stats_of(p);
    CHECK_EQ(s.cancelled, N / 2);
    CHECK_EQ(s.completed, N / 2 + 1);
    CHECK_EQ(s.queued, 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(atomic_load(&slots[i].ran) + atomic_load(&slots[i].cleaned), 1);
        CHECK_EQ(atomic_load(&slots[i].cleaned), i % 2 == 0);
    }
    release_all(fs, N);
    crew_future_release(fb);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    test_pool_destroyed_during_cancel();
    test_callback_releases_caller_reference();
    test_cancel_counted_once();
    return check_exit("test_cancel_lifetime");
}
