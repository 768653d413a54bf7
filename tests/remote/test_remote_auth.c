/* test_remote_auth.c - AUTH and the settings checked at connect, over TCP
 * on 127.0.0.1 (a free port) to a redis-server with requirepass and ACL
 * users: no password or a wrong one is CREW_EAUTH for the client, for a
 * worker in the library and for crew-worker (exit status 1); the password
 * works from the URL, from the options and from the environment (and only
 * from the variable password_env names); an ACL user works; a user who may
 * not run CONFIG connects with a warning; a maxmemory-policy that evicts
 * is CREW_ECONFIG unless allowed.
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"

static atomic_int g_warned_config;

static void log_hook(int level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == CREW_REMOTE_LOG_WARN && strstr(msg, "CONFIG GET refused"))
        atomic_store(&g_warned_config, 1);
}

static void reg(crew_remote_worker *w, void *ctx)
{
    (void)ctx;
    CHECK_OK(crew_remote_worker_register(w, "echo", rt_echo, NULL));
}

static int try_client(const char *url, const crew_remote_options *o)
{
    crew_remote_client *c = NULL;
    int rc = crew_remote_client_create(&c, url, o);
    if (!rc)
        CHECK_OK(crew_remote_client_destroy(c));
    return rc;
}

int main(void)
{
    rh_require();
    rh_server s;
    rh_opts ro = {.password = "s3cret pass", .tcp = true,
                  .acl_user = "user alice on >alice-pw ~* &* +@all\n"
                              "user bob on >bob-pw ~crew:* &* +@all -config\n"
                              /* the least a client and a worker need (docs/REMOTE.md) */
                              "user app on >app-pw ~crew:* -@all +@connection +@stream "
                              "+@scripting +zadd +zrangebyscore +zrem +zrange +set +exists "
                              "+pexpire +time +info +config|get"};
    if (rh_start(&s, &ro))
        return 1;
    unsetenv("CREW_REDIS_PASSWORD");
    crew_remote_options o = rt_opts("auth");
    char url[256];

    /* Wrong or missing credentials. */
    CHECK_RC(try_client(s.tcp_url, &o), CREW_EAUTH);
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d", s.port);
    CHECK_RC(try_client(url, &o), CREW_EAUTH);
    snprintf(url, sizeof url, "redis://alice:bob-pw@127.0.0.1:%d", s.port);
    CHECK_RC(try_client(url, &o), CREW_EAUTH);

    /* Right ones: URL (percent-encoded space), options, environment. */
    snprintf(url, sizeof url, "redis://:s3cret%%20pass@127.0.0.1:%d/1", s.port);
    CHECK_OK(try_client(url, &o));
    o.password = "s3cret pass";
    CHECK_OK(try_client(s.tcp_url, &o));
    o.password = NULL;
    setenv("CREW_REDIS_PASSWORD", "s3cret pass", 1);
    CHECK_OK(try_client(s.tcp_url, &o));
    o.password_env = "";
    CHECK_RC(try_client(s.tcp_url, &o), CREW_EAUTH);
    o.password_env = "MY_PASSWORD_VAR";
    setenv("MY_PASSWORD_VAR", "s3cret pass", 1);
    CHECK_OK(try_client(s.tcp_url, &o));
    unsetenv("CREW_REDIS_PASSWORD");
    o.password_env = "CREW_REDIS_PASSWORD";

    /* ACL users. */
    snprintf(url, sizeof url, "redis://alice:alice-pw@127.0.0.1:%d", s.port);
    CHECK_OK(try_client(url, &o));
    snprintf(url, sizeof url, "redis://bob:bob-pw@127.0.0.1:%d", s.port);
    o.log = log_hook;
    CHECK_OK(try_client(url, &o));
    CHECK_EQ(atomic_load(&g_warned_config), 1);
    o.log = rt_log;

    /* A worker with a wrong password: serve returns CREW_EAUTH, nothing
     * taken; crew-worker exits 1. */
    crew_remote_worker *w;
    snprintf(url, sizeof url, "redis://:nope@127.0.0.1:%d", s.port);
    CHECK_OK(crew_remote_worker_create(&w, url, &o));
    CHECK_OK(crew_remote_worker_register(w, "echo", rt_echo, NULL));
    CHECK_RC(crew_remote_worker_serve(w), CREW_EAUTH);
    CHECK_RC(crew_remote_worker_serve(w), CREW_EINVAL); /* once only */
    CHECK_OK(crew_remote_worker_destroy(w));
    pid_t pid = rh_worker(s.tcp_url, "wrong", "-q", "auth", (char *)NULL);
    int st = rh_wait_pid(pid, 20000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);

    /* A round trip with everything right: a crew-worker with the password
     * from its environment, a client with it in its URL. */
    pid = rh_worker(s.tcp_url, "s3cret pass", "-q", "auth", "-n", "1", (char *)NULL);
    snprintf(url, sizeof url, "redis://:s3cret%%20pass@127.0.0.1:%d", s.port);
    crew_remote_client *c;
    CHECK_OK(crew_remote_client_create(&c, url, &o));
    crew_future *f;
    CHECK_OK(crew_remote_submit(c, "echo", "over tcp", 8, &f));
    char text[16];
    CHECK_OK(rt_result(f, NULL, text, sizeof text));
    CHECK(!strcmp(text, "over tcp"));
    crew_future_release(f);
    /* and an in-process worker on the same queue, through the options */
    o.password = "s3cret pass";
    inproc ip;
    CHECK_OK(inproc_start(&ip, s.tcp_url, &o, reg, NULL));
    CHECK_OK(crew_remote_submit(c, "echo", "again", 5, &f));
    CHECK_OK(rt_result(f, NULL, text, sizeof text));
    crew_future_release(f);
    CHECK_OK(inproc_stop(&ip));
    CHECK_OK(crew_remote_client_destroy(c));

    /* The documented least-privilege ACL user runs everything: a worker
     * (commits, leases, retries, housekeeping) and a client (submit,
     * results, cancel). */
    snprintf(url, sizeof url, "redis://app:app-pw@127.0.0.1:%d", s.port);
    o.password = NULL;
    o.queue = "acl";
    o.lease_ns = 300 * MS;
    CHECK_OK(inproc_start(&ip, url, &o, reg, NULL));
    CHECK_OK(crew_remote_client_create(&c, url, &o));
    crew_remote_job rj = {.task = "no-such", .retries = 1, .backoff_ms = 1};
    CHECK_OK(crew_remote_submit_job(c, &rj, &f)); /* dead letter */
    int status = 0;
    CHECK_RC(rt_result(f, &status, NULL, 0), CREW_ETASK);
    CHECK_EQ(status, CREW_ENOTASK);
    crew_future_release(f);
    crew_future *pend;
    CHECK_OK(crew_remote_submit(c, "echo", "acl", 3, &f));
    CHECK_OK(rt_result(f, NULL, text, sizeof text));
    crew_future_release(f);
    CHECK_OK(inproc_stop(&ip)); /* nobody serves: a cancel removes the job */
    CHECK_OK(crew_remote_submit(c, "echo", "x", 1, &pend));
    CHECK_OK(crew_remote_cancel(c, pend));
    crew_future_release(pend);
    crew_remote_client_stats cst;
    CHECK_OK(crew_remote_client_get_stats(c, &cst));
    CHECK_EQ(cst.cancels_removed, 1);
    CHECK_OK(crew_remote_client_destroy(c));
    kill(pid, SIGTERM);
    st = rh_wait_pid(pid, 20000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    rh_destroy(&s);

    /* Eviction would lose jobs: refused unless allowed. */
    rh_opts ev = {.policy = "allkeys-lru"};
    if (rh_start(&s, &ev))
        return 1;
    o = rt_opts("auth");
    CHECK_RC(try_client(s.url, &o), CREW_ECONFIG);
    o.allow_eviction = true;
    CHECK_OK(try_client(s.url, &o));
    rh_destroy(&s);
    return check_exit("test_remote_auth");
}
