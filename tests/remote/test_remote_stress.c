/* test_remote_stress.c - many jobs from 4 client threads (two clients,
 * two threads each) to 3 worker processes: each future completed exactly
 * once (a done callback per future counts), every job's effect (its echoed
 * payload) seen, none lost, the clients' and workers' counts agree.
 *
 *   test_remote_stress [jobs]   (default 100,000; 25,000 under TSan, which
 *                                slows the clients and workers about tenfold)
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"

#ifdef CREW_TSAN
#define DEFAULT_N 25000
#else
#define DEFAULT_N 100000
#endif
#define THREADS 4
#define CHUNK 250

static long g_n;
static crew_remote_client *g_clients[2];
static crew_future **g_fs;
static char (*g_pl)[16];
static atomic_int *g_done;

static void on_done(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add(&g_done[(intptr_t)ctx], 1);
}

static void *submitter(void *arg)
{
    long t = (long)(intptr_t)arg;
    crew_remote_client *c = g_clients[t / 2];
    long from = g_n * t / THREADS, to = g_n * (t + 1) / THREADS;
    crew_remote_job jobs[CHUNK];
    for (long i = from; i < to; i += CHUNK) {
        size_t k = to - i < CHUNK ? (size_t)(to - i) : CHUNK;
        for (size_t j = 0; j < k; j++)
            jobs[j] = (crew_remote_job){.task = "echo", .payload = g_pl[i + (long)j],
                                        .size = strlen(g_pl[i + (long)j])};
        CHECK_OK(crew_remote_submit_many(c, jobs, k, g_fs + i));
        for (size_t j = 0; j < k; j++)
            if (g_fs[i + (long)j])
                CHECK_OK(crew_future_add_done_callback(g_fs[i + (long)j], on_done,
                                                       (void *)(intptr_t)(i + (long)j)));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    rh_require();
    g_n = arg_long(argc, argv, 1, DEFAULT_N);
    rh_server s;
    if (rh_start(&s, NULL))
        return 1;
    pid_t w[3];
    for (int i = 0; i < 3; i++)
        w[i] = rh_worker(s.url, NULL, "-q", "stress", "-n", "2", (char *)NULL);
    crew_remote_options o = rt_opts("stress");
    for (int i = 0; i < 2; i++)
        CHECK_OK(crew_remote_client_create(&g_clients[i], s.url, &o));
    g_fs = calloc((size_t)g_n, sizeof *g_fs);
    g_pl = calloc((size_t)g_n, sizeof *g_pl);
    g_done = calloc((size_t)g_n, sizeof *g_done);
    for (long i = 0; i < g_n; i++)
        snprintf(g_pl[i], sizeof g_pl[i], "%ld", i % 100000000);
    int64_t t0 = crew_now_ns();
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, submitter, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    long bad = 0, missing = 0;
    for (long i = 0; i < g_n; i++) {
        if (!g_fs[i]) {
            missing++;
            continue;
        }
        void *r = NULL;
        int rc = crew_future_result_timed(g_fs[i], &r, NULL, 60000 * MS);
        if (rc || strcmp(rt_text(r), g_pl[i]))
            bad++;
    }
    double secs = (double)(crew_now_ns() - t0) / 1e9;
    CHECK_EQ(missing, 0);
    CHECK_EQ(bad, 0);
    POLL(rt_all_once(g_done, g_n)); /* callbacks run after DONE */
    CHECK(rt_all_once(g_done, g_n));
    uint64_t completed = 0, submitted = 0;
    for (int i = 0; i < 2; i++) {
        crew_remote_client_stats cs;
        CHECK_OK(crew_remote_client_get_stats(g_clients[i], &cs));
        completed += cs.completed;
        submitted += cs.submitted;
        CHECK_EQ(cs.in_flight, 0);
    }
    CHECK_EQ(submitted, (uint64_t)g_n);
    CHECK_EQ(completed, (uint64_t)g_n);
    printf("%ld jobs, 4 client threads, 3 worker processes: %.2f s (%.0f jobs/s; not a "
           "benchmark)\n", g_n, secs, (double)g_n / secs);
    for (int i = 0; i < 3; i++) {
        kill(w[i], SIGTERM);
        int st = rh_wait_pid(w[i], 30000);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    release_all(g_fs, (size_t)g_n);
    for (int i = 0; i < 2; i++)
        CHECK_OK(crew_remote_client_destroy(g_clients[i]));
    free(g_fs), free(g_pl), free(g_done);
    rh_destroy(&s);
    return check_exit("test_remote_stress");
}
