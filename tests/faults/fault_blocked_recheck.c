/* fault_blocked_recheck.c - when and only when no thread can be started, a
 * worker blocked in a helping wait finds new work by looking again on its
 * own (issue 11, bug 12; pool.c, CREW__RECHECK_NS).
 *
 * 1. The case the look covers: pool A's only worker runs T, which waits for
 *    a task of pool B, which waits for X; X is submitted to A after T has
 *    blocked, and every pthread_create fails from then on, so A cannot
 *    start a replacement.  Only T's worker can run X, and only by looking
 *    for work while it waits.
 * 2. The cases that must not depend on that look (the look is lengthened to
 *    an hour, so a case that needed it would hang): a blocked worker gets a
 *    replacement for work queued behind it; work that an isolated wait
 *    moves to the injection queue; group jobs put back by shutdown's
 *    cancel (also test_shutdown_strand). */
#include <unistd.h>

#include "check.h"
#include "base/fault.h"
#include "support.h"

static latch x_ran;
static latch b_running;

static int task_x(void *arg, void **result)
{
    (void)arg;
    (void)result;
    latch_open(&x_ran);
    return 0;
}

/* B's task: waits (outside crew) until X ran. */
static int task_b(void *arg, void **result)
{
    (void)arg;
    (void)result;
    latch_open(&b_running);
    latch_pass(&x_ran);
    return atomic_load(&x_ran.open) ? 0 : 1; /* 1: latch_pass gave up */
}

typedef struct t_ctx {
    crew_future *fb;
    atomic_int blocked;
} t_ctx;

static int task_t(void *arg, void **result)
{
    (void)result;
    t_ctx *c = arg;
    atomic_store(&c->blocked, 1);
    return crew_future_result(c->fb, NULL, NULL);
}

static void test_recheck_covers_no_thread(void)
{
    crew_pool *a = make_pool(1), *b = make_pool(1);
    t_ctx c = {NULL, 0};
    CHECK_OK(crew_pool_submit(b, task_b, NULL, &c.fb));
    latch_pass(&b_running); /* T's wait is then woken by nothing but X */
    crew_future *ft;
    CHECK_OK(crew_pool_submit(a, task_t, &c, &ft));
    POLL(atomic_load(&c.blocked));
    nap_ms(20); /* T is in its wait (its helping look found nothing) */
    crew__fault_arm_from(CREW__FAULT_THREAD, 1);
    CHECK_OK(crew_pool_submit(a, task_x, NULL, NULL)); /* a worker exists */
    POLL(atomic_load(&x_ran.open));
    CHECK(atomic_load(&x_ran.open)); /* X ran, in T's wait */
    CHECK(crew__fault_fired());      /* A tried to start a thread for X */
    crew__fault_arm(0, 0);
    CHECK_OK(crew_future_result(ft, NULL, NULL));
    crew_future_release(ft);
    crew_future_release(c.fb);
    CHECK_OK(crew_pool_destroy(a));
    CHECK_OK(crew_pool_destroy(b));
}

/* ---- 2. no reliance on the look ----------------------------------------- */

static int task_wait_future(void *arg, void **result)
{
    (void)result;
    return crew_future_wait((crew_future *)arg);
}

static void test_replacement(void)
{
    /* One worker blocks waiting for a gated task of another pool; a task
     * queued behind it needs a replacement worker. */
    crew_pool *a = make_pool(1), *b = make_pool(1);
    static blocker gatekeeper = BLOCKER_INIT;
    crew_future *fg, *ft, *fx;
    CHECK_OK(crew_pool_submit(b, task_block, &gatekeeper, &fg));
    CHECK_OK(crew_pool_submit(a, task_wait_future, fg, &ft));
    nap_ms(20);
    atomic_int n = 0;
    CHECK_OK(crew_pool_submit(a, task_count, &n, &fx));
    POLL(crew_future_done(fx));
    CHECK(crew_future_done(fx));
    gate_open(&gatekeeper.release);
    CHECK_OK(crew_future_result(ft, NULL, NULL));
    CHECK_EQ(atomic_load(&n), 1);
    crew_future_release(fg);
    crew_future_release(ft);
    crew_future_release(fx);
    CHECK_OK(crew_pool_destroy(a));
    CHECK_OK(crew_pool_destroy(b));
}

/* An isolated group wait moves an unrelated future off its deque to the
 * injection queue; the future's waiter (the job itself) blocks. */
typedef struct moved {
    crew_pool *pool;
    crew_future *u;
    atomic_int count;
} moved;

static int job_wait_u(void *arg)
{
    moved *m = arg;
    return crew_future_wait(m->u);
}

static int task_isolated_mover(void *arg, void **result)
{
    (void)result;
    moved *m = arg;
    crew_group g;
    CHECK_OK(crew_group_init(&g, m->pool));
    CHECK_OK(crew_group_spawn(&g, job_wait_u, m));
    /* On top of the job: a future that is not the group's. */
    CHECK_OK(crew_pool_submit(m->pool, task_count, &m->count, &m->u));
    return crew_group_wait_isolated(&g, NULL);
}

static void test_isolated_move(void)
{
    crew_pool *p = make_pool(1);
    moved m = {p, NULL, 0};
    crew_future *f;
    CHECK_OK(crew_pool_submit(p, task_isolated_mover, &m, &f));
    POLL(crew_future_done(f));
    CHECK_OK(crew_future_result(f, NULL, NULL));
    CHECK_EQ(atomic_load(&m.count), 1);
    crew_future_release(f);
    crew_future_release(m.u);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    test_recheck_covers_no_thread();
    crew__blocked_recheck_ns = 3600LL * 1000000000LL;
    test_replacement();
    test_isolated_move();
    return check_exit("fault_blocked_recheck");
}
