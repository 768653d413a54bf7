/* test_remote_lease.c - lease renewal: a job running three times as long
 * as the lease stays with its worker (it renews the lease every lease/3)
 * while another worker of the same queue reclaims expired jobs all along;
 * the job runs exactly once.  Then the other side: a job whose worker
 * stops renewing (its serving thread is gone, the job still "held" in
 * Redis) is taken over after the lease and runs again.
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"

static atomic_int g_runs;

static int t_long(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)in, (void)n, (void)ctx;
    atomic_fetch_add(&g_runs, 1);
    nap_ms(atoi(in));
    return crew_remote_out_write(out, "done", 4);
}

static void reg(crew_remote_worker *w, void *ctx)
{
    (void)ctx;
    CHECK_OK(crew_remote_worker_register(w, "long", t_long, NULL));
}

int main(void)
{
    rh_require();
    rh_server s;
    if (rh_start(&s, NULL))
        return 1;
    redisContext *raw = rh_connect(&s);
    enum { LEASE_MS = 300 };
    crew_remote_options o = rt_opts("lease");
    o.lease_ns = LEASE_MS * MS;
    o.threads = 1;
    inproc a, b;
    o.consumer = "worker-a";
    CHECK_OK(inproc_start(&a, s.url, &o, reg, NULL));
    crew_remote_client *c;
    CHECK_OK(crew_remote_client_create(&c, s.url, &o));
    crew_future *f;
    char ms[16];
    snprintf(ms, sizeof ms, "%d", 3 * LEASE_MS + 100);
    CHECK_OK(crew_remote_submit(c, "long", ms, strlen(ms), &f));
    /* worker-a has it (it is the only worker); then worker-b joins. */
    POLL(atomic_load(&g_runs) == 1);
    o.consumer = "worker-b";
    CHECK_OK(inproc_start(&b, s.url, &o, reg, NULL));
    char text[16];
    CHECK_OK(rt_result(f, NULL, text, sizeof text));
    CHECK(!strcmp(text, "done"));
    crew_future_release(f);
    /* Give worker-b time to make a wrong reclaim, if it were to. */
    nap_ms(2 * LEASE_MS);
    CHECK_EQ(atomic_load(&g_runs), 1);
    crew_remote_worker_stats sa, sb;
    CHECK_OK(crew_remote_worker_get_stats(a.w, &sa));
    CHECK_OK(crew_remote_worker_get_stats(b.w, &sb));
    CHECK_EQ(sa.reclaimed + sb.reclaimed, 0);
    CHECK(sa.lease_renewals >= 2);
    CHECK_EQ(sa.leases_lost, 0);
    CHECK_EQ(sa.acked, 1);
    CHECK_OK(inproc_stop(&b));

    /* The other side: a delivery nobody renews is taken over.  A raw
     * XREADGROUP by a consumer that will never run it stands for a worker
     * that died holding the job. */
    atomic_store(&g_runs, 0);
    snprintf(ms, sizeof ms, "1");
    CHECK_OK(inproc_stop(&a));
    CHECK_OK(crew_remote_submit(c, "long", ms, strlen(ms), &f));
    redisReply *r = redisCommand(raw, "XREADGROUP GROUP crew ghost COUNT 10 STREAMS crew:{lease}:jobs >");
    CHECK(r && r->type == REDIS_REPLY_ARRAY);
    if (r)
        freeReplyObject(r);
    o.consumer = "worker-c";
    CHECK_OK(inproc_start(&a, s.url, &o, reg, NULL));
    CHECK_OK(rt_result(f, NULL, text, sizeof text));
    CHECK_EQ(atomic_load(&g_runs), 1);
    CHECK_OK(crew_remote_worker_get_stats(a.w, &sa));
    CHECK_EQ(sa.reclaimed, 1);
    crew_future_release(f);
    CHECK_OK(inproc_stop(&a));
    CHECK_OK(crew_remote_client_destroy(c));
    redisFree(raw);
    rh_destroy(&s);
    return check_exit("test_remote_lease");
}
