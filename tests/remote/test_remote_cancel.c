/* test_remote_cancel.c - cancelling remote futures (crew/remote.h,
 * "Cancellation"): the strict crew_remote_cancel removes a job no worker
 * has taken (it never runs) and refuses one already taken (it runs, its
 * future completes normally); crew_future_cancel always cancels the future
 * at once, removes the job when it can, and drops the result of a job that
 * had started.
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"

enum { SLOTS = 16 };
static atomic_int g_runs[SLOTS];  /* runs per payload number */
static gate g_started = GATE_INIT;
static gate g_release = GATE_INIT;

/* Counts a run of job <payload>. */
static int t_mark(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)n, (void)out, (void)ctx;
    int i = atoi(in);
    if (i >= 0 && i < SLOTS)
        atomic_fetch_add(&g_runs[i], 1);
    return 0;
}

/* Counts its run, says it started, waits for the test's release. */
static int t_hold(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    t_mark(in, n, out, ctx);
    gate_open(&g_started);
    gate_pass(&g_release);
    return crew_remote_out_write(out, "held", 4);
}

static void reg(crew_remote_worker *w, void *ctx)
{
    (void)ctx;
    CHECK_OK(crew_remote_worker_register(w, "mark", t_mark, NULL));
    CHECK_OK(crew_remote_worker_register(w, "hold", t_hold, NULL));
}

static crew_future *submit(crew_remote_client *c, const char *task, int i)
{
    char p[8];
    snprintf(p, sizeof p, "%d", i);
    crew_future *f = NULL;
    CHECK_OK(crew_remote_submit(c, task, p, strlen(p), &f));
    return f;
}

int main(void)
{
    rh_require();
    rh_server s;
    if (rh_start(&s, NULL))
        return 1;
    redisContext *raw = rh_connect(&s);
    crew_remote_options o = rt_opts("cancel");
    crew_remote_client *c;
    CHECK_OK(crew_remote_client_create(&c, s.url, &o));

    /* 1. No worker yet: both cancels remove their job from the stream. */
    crew_future *a = submit(c, "mark", 0), *b = submit(c, "mark", 1), *k = submit(c, "mark", 2);
    CHECK_EQ(rh_int(raw, "XLEN crew:{cancel}:jobs"), 3);
    CHECK_OK(crew_remote_cancel(c, b));
    CHECK(crew_future_cancelled(b));
    CHECK_RC(crew_remote_cancel(c, b), CREW_ESTATE); /* already cancelled */
    CHECK(crew_future_cancel(a));                     /* local at once ... */
    CHECK(crew_future_cancelled(a));
    crew_remote_client_stats cs;
    /* ... and removed from Redis by the next holder of the submit lock
     * (here: at once, the lock is free). */
    CHECK_OK(crew_remote_client_get_stats(c, &cs));
    CHECK_EQ(cs.cancels_removed, 2);
    CHECK_EQ(cs.in_flight, 1);
    CHECK_EQ(rh_int(raw, "XLEN crew:{cancel}:jobs"), 1);
    CHECK_RC(crew_future_result(a, NULL, NULL), CREW_ECANCELLED);

    /* A worker comes: only k runs. */
    o.threads = 1;
    inproc w;
    CHECK_OK(inproc_start(&w, s.url, &o, reg, NULL));
    CHECK_OK(rt_result(k, NULL, NULL, 0));
    crew_future *last = submit(c, "mark", 3);
    CHECK_OK(rt_result(last, NULL, NULL, 0));
    CHECK_EQ(atomic_load(&g_runs[0]), 0);
    CHECK_EQ(atomic_load(&g_runs[1]), 0);
    CHECK_EQ(atomic_load(&g_runs[2]), 1);
    CHECK_RC(crew_remote_cancel(c, k), CREW_ESTATE); /* finished */
    CHECK(!crew_future_cancel(k));
    crew_future_release(a), crew_future_release(b), crew_future_release(k);
    crew_future_release(last);

    /* 2. A running job: the strict cancel refuses; the job that was taken
     * behind it (one worker thread) is refused too. */
    crew_future *h = submit(c, "hold", 4);
    gate_pass(&g_started);
    crew_future *behind = submit(c, "mark", 5);
    crew_remote_worker_stats ws;
    POLL((crew_remote_worker_get_stats(w.w, &ws), ws.taken >= 4));
    CHECK_RC(crew_remote_cancel(c, h), CREW_ESTATE);
    CHECK_RC(crew_remote_cancel(c, behind), CREW_ESTATE);
    CHECK(!crew_future_cancelled(h) && !crew_future_done(h));
    /* crew_future_cancel still cancels the futures; the jobs run anyway and
     * their results are dropped. */
    CHECK(crew_future_cancel(h));
    CHECK(crew_future_cancel(behind));
    gate_open(&g_release);
    POLL_NS((crew_remote_client_get_stats(c, &cs), cs.duplicates == 2), 20000 * MS);
    CHECK_EQ(cs.duplicates, 2);
    CHECK_EQ(atomic_load(&g_runs[4]), 1);
    CHECK_EQ(atomic_load(&g_runs[5]), 1);
    CHECK(crew_future_cancelled(h) && crew_future_cancelled(behind));
    CHECK_OK(crew_remote_client_get_stats(c, &cs));
    CHECK_EQ(cs.cancels_too_late, 4); /* two strict, two from crew_future_cancel */
    CHECK_EQ(cs.in_flight, 0);
    crew_future_release(h), crew_future_release(behind);

    /* 3. Bad arguments. */
    crew_pool *p = make_pool(1);
    crew_future *local;
    CHECK_OK(crew_pool_submit(p, task_noop, NULL, &local));
    CHECK_OK(crew_future_wait(local));
    CHECK_RC(crew_remote_cancel(c, local), CREW_ESTATE); /* done, not ours: too late anyway */
    CHECK_RC(crew_remote_cancel(c, NULL), CREW_EINVAL);
    CHECK_RC(crew_remote_cancel(NULL, local), CREW_EINVAL);
    crew_future *mine;
    CHECK_OK(crew_future_create(&mine, NULL));
    CHECK_RC(crew_remote_cancel(c, mine), CREW_EINVAL); /* pending, not of this client */
    crew_future_set_result(mine, NULL);
    crew_future_release(mine);
    crew_future_release(local);
    CHECK_OK(crew_pool_destroy(p));

    CHECK_OK(crew_remote_client_destroy(c));
    CHECK_OK(inproc_stop(&w));
    redisFree(raw);
    rh_destroy(&s);
    return check_exit("test_remote_cancel");
}
