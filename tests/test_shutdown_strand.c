/* test_shutdown_strand.c - crew_pool_shutdown(cancel_pending) must not
 * strand a group job spawned from outside the pool (issue 11, bug 4).
 *
 * Shutdown's cancel takes everything off the injection queue, cancels the
 * futures (their cleanups run in the calling thread) and puts the group jobs
 * back.  While it holds them, the pool must not look empty to its workers:
 * a worker that found no work then would exit, and the job, once back, would
 * have nobody to run it (crew_group_wait hangs, destroy leaks the job).
 *
 * Futures and jobs from a thread without a submission ring go through the
 * injection queue; CREW_NO_MEMBARRIER=1 makes every thread so (src/fence.h).
 * A slow cleanup holds the cancel in its window while the only worker looks
 * for work. */
#include <pthread.h>
#include <unistd.h>

#include "check.h"
#include "support.h"

typedef struct held_cleanup {
    gate entered;
    gate leave;
    atomic_int calls;
} held_cleanup;

static void cleanup_held(void *arg)
{
    held_cleanup *h = arg;
    atomic_fetch_add(&h->calls, 1);
    gate_open(&h->entered);
    gate_pass(&h->leave);
}

typedef struct shutter {
    crew_pool *p;
    int rc;
} shutter;

static void *shutdown_cancel_thread(void *arg)
{
    shutter *s = arg;
    s->rc = crew_pool_shutdown(s->p, false, true);
    return NULL;
}

typedef struct group_waiter {
    crew_group *g;
    int rc;
    atomic_int done;
} group_waiter;

static void *group_wait_thread(void *arg)
{
    group_waiter *w = arg;
    w->rc = crew_group_wait(w->g, NULL);
    atomic_store(&w->done, 1);
    return NULL;
}

static void test_job_survives_cancel(int job_first)
{
    crew_pool *p = make_pool(1);
    static blocker busy;
    static held_cleanup hc;
    busy = (blocker)BLOCKER_INIT;
    hc = (held_cleanup){GATE_INIT, GATE_INIT, 0};
    crew_future *fb, *f = NULL;
    CHECK_OK(crew_pool_submit(p, task_block, &busy, &fb));
    gate_pass(&busy.started); /* the only worker is taken */

    atomic_int ran = 0;
    crew_group g;
    CHECK_OK(crew_group_init(&g, p));
    if (job_first)
        CHECK_OK(crew_group_spawn(&g, job_count, &ran));
    CHECK_OK(crew_pool_submit_ex(p, task_noop, &hc, cleanup_held, &f));
    if (!job_first)
        CHECK_OK(crew_group_spawn(&g, job_count, &ran));

    shutter s = {p, 99};
    pthread_t ts;
    CHECK_EQ(pthread_create(&ts, NULL, shutdown_cancel_thread, &s), 0);
    gate_pass(&hc.entered); /* the cancel holds what it took */

    /* The worker finishes its task and looks for work while the cancel is
     * in its cleanup: it must not take the pool for empty and exit. */
    gate_open(&busy.release);
    CHECK_OK(crew_future_wait(fb));
    nap_ms(30);
    gate_open(&hc.leave);
    pthread_join(ts, NULL);
    CHECK_OK(s.rc);

    /* The job runs (it was spawned before the shutdown and is not a
     * future: shutdown does not cancel it). */
    group_waiter gw = {&g, 99, 0};
    pthread_t tw;
    CHECK_EQ(pthread_create(&tw, NULL, group_wait_thread, &gw), 0);
    POLL(atomic_load(&gw.done));
    if (!atomic_load(&gw.done)) {
        fprintf(stderr, "test_shutdown_strand: the group job was stranded\n");
        _exit(1); /* the waiter would hang forever */
    }
    pthread_join(tw, NULL);
    CHECK_OK(gw.rc);
    CHECK_EQ(atomic_load(&ran), 1);
    CHECK_EQ(atomic_load(&hc.calls), 1);
    CHECK(crew_future_cancelled(f));
    CHECK_OK(crew_pool_shutdown(p, true, false));
    crew_pool_stats st = stats_of(p);
    CHECK_EQ(st.cancelled, 1);
    CHECK_EQ(st.queued, 0);
    CHECK_EQ(st.workers_alive, 0);
    crew_future_release(f);
    crew_future_release(fb);
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    /* Before the first pool: the fence setup reads it once. */
    setenv("CREW_NO_MEMBARRIER", "1", 1);
    test_job_survives_cancel(1);
    test_job_survives_cancel(0);
    return check_exit("test_shutdown_strand");
}
