/* test_remote_restart.c - Redis killed (kill -9) and restarted mid-run,
 * with appendonly yes and appendfsync always: every job whose submit
 * returned 0 completes, exactly once, with its own result; the client and
 * the worker processes reconnect by themselves (submits made while Redis
 * is down wait for it, within retry_timeout).
 *
 *   test_remote_restart [jobs]   (default 4000; 1000 in sanitizer builds)
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"

static long g_n;
static crew_remote_client *g_client;
static crew_future **g_fs;
static char (*g_pl)[24];
static atomic_int *g_done;
static atomic_long g_submitted;
static atomic_int g_failed_submits;

static void on_done(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add(&g_done[(intptr_t)ctx], 1);
}

static void *submitter(void *arg)
{
    (void)arg;
    for (long i = 0; i < g_n; i += 50) {
        crew_remote_job jobs[50];
        size_t k = g_n - i < 50 ? (size_t)(g_n - i) : 50;
        for (size_t j = 0; j < k; j++)
            jobs[j] = (crew_remote_job){.task = "sleep-ms", .payload = g_pl[i + (long)j],
                                        .size = strlen(g_pl[i + (long)j])};
        int rc = crew_remote_submit_many(g_client, jobs, k, g_fs + i);
        if (rc) {
            fprintf(stderr, "submit at %ld: %s\n", i, crew_err_name(rc));
            atomic_fetch_add(&g_failed_submits, 1);
        }
        for (size_t j = 0; j < k; j++)
            if (g_fs[i + (long)j])
                crew_future_add_done_callback(g_fs[i + (long)j], on_done, (void *)(intptr_t)(i + (long)j));
        atomic_store(&g_submitted, i + (long)k);
        nap_ms(10);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    rh_require();
    g_n = arg_long(argc, argv, 1, RT_SANITIZED ? 1000 : 4000);
    rh_server s;
    rh_opts ro = {.fsync_always = true};
    if (rh_start(&s, &ro))
        return 1;
    pid_t w[2];
    for (int i = 0; i < 2; i++)
        w[i] = rh_worker(s.url, NULL, "-q", "restart", "-n", "2", "-l", "3000", (char *)NULL);
    crew_remote_options o = rt_opts("restart");
    o.retry_timeout_ns = 60000 * MS;
    CHECK_OK(crew_remote_client_create(&g_client, s.url, &o));
    g_fs = calloc((size_t)g_n, sizeof *g_fs);
    g_pl = calloc((size_t)g_n, sizeof *g_pl);
    g_done = calloc((size_t)g_n, sizeof *g_done);
    for (long i = 0; i < g_n; i++)
        snprintf(g_pl[i], sizeof g_pl[i], "1:%ld", i);
    pthread_t t;
    pthread_create(&t, NULL, submitter, NULL);
    crew_remote_client_stats cs;
    POLL_NS((crew_remote_client_get_stats(g_client, &cs), cs.completed >= (uint64_t)g_n / 4),
            30000 * MS);
    long before = atomic_load(&g_submitted);
    rh_kill(&s, SIGKILL);
    nap_ms(300);
    CHECK_EQ(rh_spawn(&s), 0);
    pthread_join(t, NULL);
    printf("Redis killed after %ld submits, %llu results; restarted\n", before,
           (unsigned long long)cs.completed);
    CHECK_EQ(atomic_load(&g_failed_submits), 0);
    long bad = 0;
    for (long i = 0; i < g_n; i++) {
        if (!g_fs[i])
            continue;
        char text[32];
        int rc = rt_result(g_fs[i], NULL, text, sizeof text);
        if (rc || strcmp(text, g_pl[i]))
            bad++;
    }
    CHECK_EQ(bad, 0);
    /* A future is DONE before its done callbacks have run (in the
     * client's result thread): let them finish, then count. */
    POLL(rt_all_once(g_done, g_n));
    CHECK(rt_all_once(g_done, g_n));
    CHECK_OK(crew_remote_client_get_stats(g_client, &cs));
    CHECK_EQ(cs.completed, (uint64_t)g_n);
    CHECK(cs.reconnects >= 1);
    for (int i = 0; i < 2; i++) {
        kill(w[i], SIGTERM);
        int st = rh_wait_pid(w[i], 30000);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    release_all(g_fs, (size_t)g_n);
    CHECK_OK(crew_remote_client_destroy(g_client));
    free(g_fs), free(g_pl), free(g_done);
    rh_destroy(&s);
    return check_exit("test_remote_restart");
}
