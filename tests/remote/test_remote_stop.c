/* test_remote_stop.c - SIGTERM: a worker stops taking jobs, finishes the
 * running one, hands back the ones it took but never started, and exits
 * 0; with a short grace it hands back the running job too.  Handed-back
 * jobs are taken at once by the next worker: the lease here is a minute,
 * longer than the test waits, so only the hand-back can make them run.
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"

static void run_case(rh_server *s, crew_remote_client *c, redisContext *raw, const char *grace,
                     bool finishes)
{
    enum { N = 20 };
    pid_t w1 = rh_worker(s->url, NULL, "-q", "stop", "-n", "1", "-l", "60000", "-g", grace,
                         "-c", finishes ? "first-a" : "first-b", (char *)NULL);
    crew_future *slow, *fs[N];
    CHECK_OK(crew_remote_submit(c, "sleep-ms", "800:slow", 8, &slow));
    for (int i = 0; i < N; i++) {
        char p[16];
        snprintf(p, sizeof p, "0:%d", i);
        CHECK_OK(crew_remote_submit(c, "sleep-ms", p, strlen(p), &fs[i]));
    }
    /* w1 holds everything (prefetch 400), runs the slow one first. */
    POLL_NS(rh_pending(raw, "crew:{stop}:jobs") == N + 1, 20000 * MS);
    nap_ms(100);
    kill(w1, SIGTERM);
    int st = rh_wait_pid(w1, 20000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (finishes) /* the running job was finished and acknowledged */
        CHECK(crew_future_done(slow) && crew_future_result(slow, NULL, NULL) == 0);
    /* A second worker takes what was handed back. */
    pid_t w2 = rh_worker(s->url, NULL, "-q", "stop", "-n", "2", "-l", "60000", (char *)NULL);
    char text[32];
    CHECK_OK(rt_result(slow, NULL, text, sizeof text));
    CHECK(!strcmp(text, "800:slow"));
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof want, "0:%d", i);
        CHECK_OK(rt_result(fs[i], NULL, text, sizeof text));
        CHECK(!strcmp(text, want));
        crew_future_release(fs[i]);
    }
    crew_future_release(slow);
    kill(w2, SIGTERM);
    st = rh_wait_pid(w2, 20000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    rh_require();
    rh_server s;
    if (rh_start(&s, NULL))
        return 1;
    redisContext *raw = rh_connect(&s);
    crew_remote_options o = rt_opts("stop");
    crew_remote_client *c;
    CHECK_OK(crew_remote_client_create(&c, s.url, &o));
    run_case(&s, c, raw, "30000", true); /* grace enough: the slow job ends on w1 */
    run_case(&s, c, raw, "100", false);  /* grace too short: handed back, runs on w2 */
    crew_remote_client_stats cs;
    CHECK_OK(crew_remote_client_get_stats(c, &cs));
    CHECK_EQ(cs.in_flight, 0);
    CHECK_OK(crew_remote_client_destroy(c));
    redisFree(raw);
    rh_destroy(&s);
    return check_exit("test_remote_stop");
}
