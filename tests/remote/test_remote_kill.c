/* test_remote_kill.c - kill -9 of a worker process mid-batch: its jobs are
 * taken over by the other workers after the lease, every future completes
 * exactly once with its own result, and the dead consumer is removed from
 * the group once nothing is pending for it.
 *
 *   test_remote_kill [jobs]     (default 3000; 1000 in sanitizer builds)
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"

static atomic_int *g_done; /* completions per job */

static void on_done(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add(&g_done[(intptr_t)ctx], 1);
}

/* Pending entries of consumer name (XINFO CONSUMERS), -1 if absent. */
static long long pending_of(redisContext *raw, const char *name)
{
    redisReply *r = redisCommand(raw, "XINFO CONSUMERS crew:{kill}:jobs crew");
    long long n = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *c = r->element[i];
        const char *nm = NULL;
        long long p = -1;
        for (size_t k = 0; k + 1 < c->elements; k += 2) {
            if (!strcmp(c->element[k]->str, "name"))
                nm = c->element[k + 1]->str;
            if (!strcmp(c->element[k]->str, "pending"))
                p = c->element[k + 1]->integer;
        }
        if (nm && !strcmp(nm, name))
            n = p;
    }
    if (r)
        freeReplyObject(r);
    return n;
}

int main(int argc, char **argv)
{
    rh_require();
    long n = arg_long(argc, argv, 1, RT_SANITIZED ? 1000 : 3000);
    rh_server s;
    if (rh_start(&s, NULL))
        return 1;
    redisContext *raw = rh_connect(&s);
    const char *names[3] = {"w0", "w1", "w2"};
    pid_t pid[3];
    for (int i = 0; i < 3; i++)
        pid[i] = rh_worker(s.url, NULL, "-q", "kill", "-n", "2", "-l", "1000", "-b", "50", "-p",
                           "200", "-c", names[i], "--dead-idle", "1000", (char *)NULL);
    crew_remote_options o = rt_opts("kill");
    crew_remote_client *c;
    CHECK_OK(crew_remote_client_create(&c, s.url, &o));
    crew_future **fs = calloc((size_t)n, sizeof *fs);
    crew_remote_job *jobs = calloc((size_t)n, sizeof *jobs);
    char(*pl)[24] = calloc((size_t)n, sizeof *pl);
    g_done = calloc((size_t)n, sizeof *g_done);
    for (long i = 0; i < n; i++) {
        snprintf(pl[i], sizeof pl[i], "2:%ld", i); /* sleep 2 ms, echo */
        jobs[i] = (crew_remote_job){.task = "sleep-ms", .payload = pl[i], .size = strlen(pl[i])};
    }
    for (long i = 0; i < n; i += 500)
        CHECK_OK(crew_remote_submit_many(c, jobs + i, n - i < 500 ? (size_t)(n - i) : 500, fs + i));
    for (long i = 0; i < n; i++)
        CHECK_OK(crew_future_add_done_callback(fs[i], on_done, (void *)(intptr_t)i));
    /* Kill w1 once it holds jobs and some results are in. */
    crew_remote_client_stats cs;
    POLL_NS((crew_remote_client_get_stats(c, &cs), cs.completed >= (uint64_t)n / 5) &&
                pending_of(raw, "w1") > 0,
            20000 * MS);
    long long held = pending_of(raw, "w1");
    CHECK(held > 0);
    rh_kill_pid(pid[1], SIGKILL);
    for (long i = 0; i < n; i++) {
        char text[32];
        int rc = rt_result(fs[i], NULL, text, sizeof text);
        CHECK_OK(rc);
        if (!rc && strcmp(text, pl[i]))
            fprintf(stderr, "job %ld: result '%s'\n", i, text);
        CHECK(!strcmp(text, pl[i]));
    }
    POLL(rt_all_once(g_done, n)); /* callbacks run after DONE */
    CHECK(rt_all_once(g_done, n));
    CHECK_OK(crew_remote_client_get_stats(c, &cs));
    CHECK_EQ(cs.completed, (uint64_t)n);
    CHECK_EQ(cs.in_flight, 0);
    printf("w1 held %lld jobs when killed; %llu duplicate results dropped\n", held,
           (unsigned long long)cs.duplicates);
    /* Nothing pending anywhere; the dead consumer goes away. */
    POLL_NS(pending_of(raw, "w1") == -1, 20000 * MS);
    CHECK_EQ(pending_of(raw, "w1"), -1);
    CHECK_EQ(rh_pending(raw, "crew:{kill}:jobs"), 0);
    for (int i = 0; i < 3; i++)
        if (i != 1) {
            kill(pid[i], SIGTERM);
            int st = rh_wait_pid(pid[i], 20000);
            CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
    release_all(fs, (size_t)n);
    CHECK_OK(crew_remote_client_destroy(c));
    free(fs), free(jobs), free(pl), free(g_done);
    redisFree(raw);
    rh_destroy(&s);
    return check_exit("test_remote_kill");
}
