/* test_remote_deadletter.c - a job that crashes its worker every time: it
 * is delivered max_deliveries (5) times, each time to a fresh worker
 * process that dies running it, then the next worker moves it to the
 * dead-letter stream (its fields, the reason, the delivery count) and its
 * future completes with CREW_EDEADLETTER; that worker is healthy and runs
 * the next job.
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"

int main(void)
{
    rh_require();
    rh_server s;
    if (rh_start(&s, NULL))
        return 1;
    redisContext *raw = rh_connect(&s);
    crew_remote_options o = rt_opts("poison");
    crew_remote_client *c;
    CHECK_OK(crew_remote_client_create(&c, s.url, &o));
    crew_future *f;
    CHECK_OK(crew_remote_submit(c, "crash", "boom", 4, &f));
    int crashes = 0;
    pid_t pid = -1;
    int64_t give_up = crew_now_ns() + 60000 * MS;
    while (!crew_future_done(f) && crew_now_ns() < give_up) {
        pid = rh_worker(s.url, NULL, "-q", "poison", "-n", "1", "-l", "300", (char *)NULL);
        int st = -1;
        while (st == -1 && !crew_future_done(f))
            st = rh_wait_pid(pid, 50);
        if (st != -1) {
            CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
            crashes++;
            pid = -1;
        }
    }
    int status = 0;
    char text[256];
    CHECK_RC(rt_result(f, &status, text, sizeof text), CREW_ETASK);
    CHECK_EQ(status, CREW_EDEADLETTER);
    CHECK(strstr(text, "delivered 5 times") != NULL);
    CHECK_EQ(crashes, 5);
    crew_future_release(f);
    /* The dead letter: reason, code, count, and the job's own fields. */
    redisReply *r = redisCommand(raw, "XRANGE crew:{poison}:dead - +");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    if (r && r->elements == 1) {
        redisReply *fv = r->element[0]->element[1];
        const char *want[][2] = {{"code", "CREW_EDEADLETTER"}, {"deliveries", "5"},
                                 {"t", "crash"}, {"p", "boom"}};
        for (size_t w = 0; w < 4; w++) {
            bool found = false;
            for (size_t i = 0; i + 1 < fv->elements; i += 2)
                found |= !strcmp(fv->element[i]->str, want[w][0]) &&
                         !strcmp(fv->element[i + 1]->str, want[w][1]);
            if (!found)
                fprintf(stderr, "dead letter lacks %s=%s\n", want[w][0], want[w][1]);
            CHECK(found);
        }
    }
    if (r)
        freeReplyObject(r);
    /* Nothing pending; the surviving worker serves the next job. */
    CHECK_EQ(pid != -1, 1);
    CHECK_OK(crew_remote_submit(c, "echo", "next", 4, &f));
    CHECK_OK(rt_result(f, NULL, text, sizeof text));
    CHECK(!strcmp(text, "next"));
    crew_future_release(f);
    CHECK_EQ(rh_pending(raw, "crew:{poison}:jobs"), 0);
    if (pid != -1) {
        kill(pid, SIGTERM);
        int st = rh_wait_pid(pid, 20000);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK_OK(crew_remote_client_destroy(c));
    redisFree(raw);
    rh_destroy(&s);
    return check_exit("test_remote_deadletter");
}
