/* r_crew.c - crew-remote's side of R1, R2 and the recovery figure
 * (bench/remote/README.md).  The worker side is the crew-worker program,
 * started by run.sh (R1, R2) or here (REC).
 *
 *   r_crew R1  URL N                  N no-op jobs submitted as futures from
 *                                     one thread (submit_many, 1000 per
 *                                     call), then every result waited for;
 *                                     jobs/s end to end
 *   r_crew R2  URL N                  one job at a time: submit, wait for its
 *                                     result; median and p99
 *   r_crew REC URL WORKER LEASE_MS    a worker holding 1,000 jobs is killed
 *                                     (kill -9); the time until all 1,000
 *                                     completed on the surviving worker
 */
#include <crew/remote.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static crew_remote_client *client(const char *url, const char *queue)
{
    crew_remote_options o;
    crew_remote_options_init(&o);
    o.queue = queue;
    crew_remote_client *c;
    int rc = crew_remote_client_create(&c, url, &o);
    if (rc) {
        fprintf(stderr, "r_crew: %s: %s\n", url, crew_strerror(rc));
        exit(1);
    }
    return c;
}

/* One job, waited for: warms the connection and proves a worker serves. */
static int warm(crew_remote_client *c)
{
    crew_future *f;
    int rc = crew_remote_submit(c, "noop", NULL, 0, &f);
    if (!rc)
        rc = crew_future_result_timed(f, NULL, NULL, 30000 * MS);
    crew_future_release(f);
    return rc;
}

static int r1(const char *url, long n)
{
    crew_remote_client *c = client(url, "bench");
    if (warm(c))
        return 1;
    crew_future **fs = calloc((size_t)n, sizeof *fs);
    enum { CHUNK = 1000 };
    crew_remote_job jobs[CHUNK];
    for (int i = 0; i < CHUNK; i++)
        jobs[i] = (crew_remote_job){.task = "noop"};
    long bad = 0;
    int64_t t0 = crew_now_ns();
    for (long i = 0; i < n; i += CHUNK) {
        size_t k = n - i < CHUNK ? (size_t)(n - i) : CHUNK;
        if (crew_remote_submit_many(c, jobs, k, fs + i))
            bad++;
    }
    /* Wait for all of them (one sleep, not one per future), then look at
     * each outcome. */
    if (!bad && crew_wait(fs, (size_t)n, CREW_ALL_COMPLETED, NULL, NULL))
        bad++;
    for (long i = 0; i < n; i++)
        if (!fs[i] || crew_future_try_result(fs[i], NULL, NULL))
            bad++;
    double secs = (double)(crew_now_ns() - t0) / 1e9;
    printf("RESULT workload=R1 peer=crew metric=jobs_per_s value=%.0f check=%s n=%ld\n",
           (double)n / secs, bad ? "failed" : "ok", n);
    for (long i = 0; i < n; i++)
        crew_future_release(fs[i]);
    free(fs);
    crew_remote_client_destroy(c);
    return bad != 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int r2(const char *url, long n)
{
    crew_remote_client *c = client(url, "bench");
    int64_t *rt = calloc((size_t)n, sizeof *rt);
    long bad = 0;
    for (long i = -50; i < n; i++) { /* 50 warm-up round trips */
        int64_t t0 = crew_now_ns();
        crew_future *f;
        if (crew_remote_submit(c, "noop", NULL, 0, &f) || crew_future_result(f, NULL, NULL))
            bad++;
        crew_future_release(f);
        if (i >= 0)
            rt[i] = crew_now_ns() - t0;
    }
    qsort(rt, (size_t)n, sizeof *rt, cmp_i64);
    const char *ok = bad ? "failed" : "ok";
    printf("RESULT workload=R2 peer=crew metric=p50_us value=%.1f check=%s\n",
           (double)rt[n / 2] / 1e3, ok);
    printf("RESULT workload=R2 peer=crew metric=p99_us value=%.1f check=%s\n",
           (double)rt[n * 99 / 100] / 1e3, ok);
    free(rt);
    crew_remote_client_destroy(c);
    return bad != 0;
}

/* ---- recovery -------------------------------------------------------------------- */

static pid_t spawn_worker(const char *path, const char *url, const char *name, const char *threads,
                          const char *lease)
{
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        execl(path, path, "-u", url, "-q", "recovery", "-n", threads, "-b", "100", "-p", "1001",
              "-l", lease, "-c", name, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Pending entries of consumer name in the recovery queue. */
static long long pending_of(redisContext *raw, const char *name)
{
    redisReply *r = redisCommand(raw, "XPENDING crew:{recovery}:jobs crew - + 2000 %s", name);
    long long n = r && r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
    freeReplyObject(r);
    return n;
}

static int rec(const char *url, const char *worker, long lease_ms)
{
    crew_remote_client *c = client(url, "recovery");
    /* A raw connection to watch the pending lists (URL redis://host:port). */
    char host[128];
    int port = 6379;
    if (sscanf(url, "redis://%127[^:]:%d", host, &port) < 1)
        return 1;
    redisContext *raw = redisConnect(host, port);
    if (!raw || raw->err)
        return 1;
    char lease[24], hold[24];
    snprintf(lease, sizeof lease, "%ld", lease_ms);
    snprintf(hold, sizeof hold, "%ld", 3 * lease_ms);
    pid_t a = spawn_worker(worker, url, "rec-a", "1", lease);
    /* One long job occupies A's only thread; 1,000 no-ops wait behind it. */
    crew_future *blocker, *fs[1000];
    crew_remote_submit(c, "sleep-ms", hold, strlen(hold), &blocker);
    while (pending_of(raw, "rec-a") < 1)
        usleep(1000);
    crew_remote_job jobs[1000];
    for (int i = 0; i < 1000; i++)
        jobs[i] = (crew_remote_job){.task = "noop"};
    if (crew_remote_submit_many(c, jobs, 1000, fs))
        return 1;
    int64_t give_up = crew_now_ns() + 30000 * MS;
    while (pending_of(raw, "rec-a") < 1001 && crew_now_ns() < give_up)
        usleep(1000);
    pid_t b = spawn_worker(worker, url, "rec-b", "2", lease);
    usleep(200000); /* B is up and reclaiming; A renews, so B takes nothing */
    int64_t t0 = crew_now_ns();
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    long bad = 0;
    for (int i = 0; i < 1000; i++)
        if (crew_future_result_timed(fs[i], NULL, NULL, 60000 * MS))
            bad++;
    double ms = (double)(crew_now_ns() - t0) / 1e6;
    printf("RESULT workload=R3 peer=crew metric=recovery_ms value=%.0f check=%s lease_ms=%ld\n",
           ms, bad ? "failed" : ms <= (double)lease_ms + 1000 ? "ok" : "slow", lease_ms);
    kill(b, SIGKILL);
    waitpid(b, NULL, 0);
    for (int i = 0; i < 1000; i++)
        crew_future_release(fs[i]);
    crew_future_release(blocker);
    crew_remote_client_destroy(c);
    freeReplyObject(redisCommand(raw, "DEL crew:{recovery}:jobs"));
    redisFree(raw);
    return bad != 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 && !strcmp(argv[1], "R1"))
        return r1(argv[2], atol(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "R2"))
        return r2(argv[2], atol(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "REC"))
        return rec(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: r_crew R1|R2 URL N | r_crew REC URL WORKER LEASE_MS\n");
    return 2;
}
