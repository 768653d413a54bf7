/* test_remote_basic.c - crew-remote against a real redis-server: URLs and
 * options; results and errors round-trip (binary payloads, empty results,
 * task statuses with messages, unknown tasks, size limits on both sides);
 * fire-and-forget; submit_many with a bad job among good ones; retries with
 * backoff; done callbacks; local and remote futures mixed in crew_wait and
 * crew_as_completed; destroy with futures in flight; trimming.
 */
#include "check.h"
#include "support.h"
#include "remote_support.h"
#include "remote/remote_impl.h"

static atomic_int g_count;
static atomic_int g_flaky_runs;

/* Fails with status 7 until it has run 3 times in all. */
static int rt_flaky(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)in, (void)n, (void)ctx;
    int run = atomic_fetch_add(&g_flaky_runs, 1) + 1;
    if (run < 3) {
        crew_remote_out_printf(out, "run %d failed", run);
        return 7;
    }
    crew_remote_out_printf(out, "ok on run %d", run);
    return 0;
}

/* Writes as many bytes as its payload says. */
static int rt_big(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)ctx;
    size_t want = (size_t)atol((const char *)in);
    (void)n;
    static const char chunk[4096];
    while (want) {
        size_t k = want < sizeof chunk ? want : sizeof chunk;
        int rc = crew_remote_out_write(out, chunk, k);
        if (rc)
            return 5;
        want -= k;
    }
    return 0;
}

static void reg(crew_remote_worker *w, void *ctx)
{
    (void)ctx;
    CHECK_OK(crew_remote_worker_register(w, "echo", rt_echo, NULL));
    CHECK_OK(crew_remote_worker_register(w, "fail", rt_fail, NULL));
    CHECK_OK(crew_remote_worker_register(w, "count", rt_count, &g_count));
    CHECK_OK(crew_remote_worker_register(w, "flaky", rt_flaky, NULL));
    CHECK_OK(crew_remote_worker_register(w, "big", rt_big, NULL));
    CHECK_RC(crew_remote_worker_register(w, "echo", rt_echo, NULL), CREW_EINVAL); /* twice */
    CHECK_RC(crew_remote_worker_register(w, "bad name", rt_echo, NULL), CREW_EINVAL);
}

static void test_urls(void)
{
    crew__url u;
    CHECK_OK(crew__url_parse("redis://alice:p%40ss%3Aword@example.com:6380/3", &u));
    CHECK(u.host && !strcmp(u.host, "example.com") && u.port == 6380 && u.db == 3);
    CHECK(u.user && !strcmp(u.user, "alice") && u.password && !strcmp(u.password, "p@ss:word"));
    crew__url_free(&u);
    CHECK_OK(crew__url_parse("redis://:secret@127.0.0.1", &u));
    CHECK(!u.user && !strcmp(u.password, "secret") && u.port == 6379 && u.db == 0);
    crew__url_free(&u);
    CHECK_OK(crew__url_parse("redis://[::1]:7000/1", &u));
    CHECK(!strcmp(u.host, "::1") && u.port == 7000 && u.db == 1);
    crew__url_free(&u);
    CHECK_OK(crew__url_parse("unix:///tmp/r.sock?db=2", &u));
    CHECK(!strcmp(u.path, "/tmp/r.sock") && u.db == 2 && !u.host);
    crew__url_free(&u);
    CHECK_OK(crew__url_parse("/tmp/r.sock", &u));
    crew__url_free(&u);
    const char *bad[] = {"",      "rediss://h",     "redis://",        "redis://h:0",
                         "redis://h:99999", "redis://h/x", "redis://u:%zz@h", "redis://h:12a",
                         "http://h", "unix://relative", "redis://a b", "unix:///x?db=q"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = crew__url_parse(bad[i], &u);
        if (rc != CREW_EINVAL)
            fprintf(stderr, "url '%s' accepted\n", bad[i]);
        CHECK_RC(rc, CREW_EINVAL);
    }
    crew_remote_client *c;
    CHECK_RC(crew_remote_client_create(&c, "rediss://localhost", NULL), CREW_EINVAL);
    CHECK_RC(crew_remote_client_create(NULL, "redis://localhost", NULL), CREW_EINVAL);
    crew_remote_options o = rt_opts("bad queue name");
    CHECK_RC(crew_remote_client_create(&c, "redis://localhost", &o), CREW_EINVAL);
    o = rt_opts("q");
    o.lease_ns = 1; /* under 10 ms */
    crew_remote_worker *w;
    CHECK_RC(crew_remote_worker_create(&w, "redis://localhost", &o), CREW_EINVAL);
    o = rt_opts("q");
    o.prefetch = 10, o.batch = 20;
    CHECK_RC(crew_remote_worker_create(&w, "redis://localhost", &o), CREW_EINVAL);
}

/* The client's tables: random puts and deletes against a plain array,
 * the validator after each step (no server needed). */
static void test_idmap(void)
{
    enum { KEYS = 2000, STEPS = 50000 };
    static bool in[KEYS + 1];
    crew__idmap m;
    crew__idmap_init(&m);
    uint64_t x = 88172645463325252ULL;
    size_t count = 0;
    bool valid = true;
    for (int step = 0; step < STEPS; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t k = 1 + x % KEYS;
        crew__rec got;
        if (in[k]) {
            valid &= crew__idmap_del(&m, k, &got) && got.key == k && got.a == k * 3;
            in[k] = false, count--;
        } else {
            crew__rec r = {.key = k, .a = k * 3};
            valid &= crew__idmap_put(&m, &r) == 0;
            in[k] = true, count++;
        }
        valid &= m.count == count && (step % 97 || crew__idmap_valid(&m));
    }
    for (uint64_t k = 1; k <= KEYS; k++)
        valid &= (crew__idmap_get(&m, k) != NULL) == in[k];
    CHECK(valid && crew__idmap_valid(&m));
    crew__idmap_free(&m);
}

/* Refused connection: a port nothing listens on. */
static void test_refused(void)
{
    crew_remote_options o = rt_opts("q");
    o.connect_timeout_ns = 500 * MS;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", rh_free_port());
    crew_remote_client *c;
    CHECK_RC(crew_remote_client_create(&c, url, &o), CREW_ECONN);
}

static void test_roundtrip(crew_remote_client *c, redisContext *raw)
{
    /* Binary payload with NULs comes back byte for byte. */
    unsigned char bin[300];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7);
    crew_future *f;
    CHECK_OK(crew_remote_submit(c, "echo", bin, sizeof bin, &f));
    void *r = NULL;
    int st = -1;
    CHECK_OK(crew_future_result_timed(f, &r, &st, 20000 * MS));
    CHECK(r && rt_size(r) == sizeof bin && !memcmp(((crew_remote_bytes *)r)->data, bin, sizeof bin));
    crew_future_release(f);

    /* Empty result: NULL. */
    CHECK_OK(crew_remote_submit(c, "echo", NULL, 0, &f));
    r = (void *)1;
    CHECK_OK(crew_future_result_timed(f, &r, NULL, 20000 * MS));
    CHECK(r == NULL);
    crew_future_release(f);

    /* A task's status and message. */
    char text[256];
    CHECK_OK(crew_remote_submit(c, "fail", "42:it broke", 11, &f));
    CHECK_RC(rt_result(f, &st, text, sizeof text), CREW_ETASK);
    CHECK_EQ(st, 42);
    CHECK(!strcmp(text, "it broke"));
    crew_future_release(f);

    /* Unknown task: CREW_ENOTASK, and a dead letter saying so. */
    long long dead0 = rh_int(raw, "XLEN crew:{basic}:dead");
    CHECK_OK(crew_remote_submit(c, "no-such-task", "x", 1, &f));
    CHECK_RC(rt_result(f, &st, text, sizeof text), CREW_ETASK);
    CHECK_EQ(st, CREW_ENOTASK);
    CHECK(strstr(text, "no-such-task") != NULL);
    crew_future_release(f);
    CHECK_EQ(rh_int(raw, "XLEN crew:{basic}:dead"), dead0 + 1);
    redisReply *d = redisCommand(raw, "XREVRANGE crew:{basic}:dead + - COUNT 1");
    bool found = false;
    for (size_t i = 0; d && d->elements == 1 && i + 1 < d->element[0]->element[1]->elements; i += 2) {
        redisReply *k = d->element[0]->element[1]->element[i];
        redisReply *v = d->element[0]->element[1]->element[i + 1];
        if (!strcmp(k->str, "code"))
            found = !strcmp(v->str, "CREW_ENOTASK");
    }
    CHECK(found);
    if (d)
        freeReplyObject(d);

    /* Size limits: the client refuses a payload over its limit; a worker
     * dead-letters one over its own; a result over max_result fails. */
    static char big[1 << 16];
    crew_remote_job j = {.task = "echo", .payload = big, .size = sizeof big};
    crew_remote_options lim = rt_opts("basic");
    lim.max_payload = 1000;
    crew_remote_client *small;
    CHECK_OK(crew_remote_client_create(&small, getenv("RT_URL"), &lim));
    CHECK_RC(crew_remote_submit_job(small, &j, &f), CREW_ETOOBIG);
    CHECK(f == NULL);
    crew_remote_client_destroy(small);
    j.size = 5000; /* the worker's limit is 4096 (see main) */
    CHECK_OK(crew_remote_submit_job(c, &j, &f));
    CHECK_RC(rt_result(f, &st, text, sizeof text), CREW_ETASK);
    CHECK_EQ(st, CREW_ETOOBIG);
    crew_future_release(f);
    CHECK_OK(crew_remote_submit(c, "big", "9000", 4, &f)); /* max_result 8192 */
    CHECK_RC(rt_result(f, &st, text, sizeof text), CREW_ETASK);
    CHECK_EQ(st, CREW_ETOOBIG);
    crew_future_release(f);
    CHECK_OK(crew_remote_submit(c, "big", "8000", 4, &f));
    r = NULL;
    CHECK_OK(crew_future_result_timed(f, &r, NULL, 20000 * MS));
    CHECK_EQ(rt_size(r), 8000);
    crew_future_release(f);

    /* Bad arguments. */
    CHECK_RC(crew_remote_submit(c, "has space", "x", 1, &f), CREW_EINVAL);
    CHECK_RC(crew_remote_submit(c, NULL, "x", 1, &f), CREW_EINVAL);
    CHECK_RC(crew_remote_submit(c, "echo", NULL, 3, &f), CREW_EINVAL);
    CHECK_RC(crew_remote_submit(NULL, "echo", "x", 1, &f), CREW_EINVAL);
    crew_remote_job many = {.task = "echo", .retries = 1001};
    CHECK_RC(crew_remote_submit_job(c, &many, &f), CREW_EINVAL);
}

static void test_fire_and_forget(crew_remote_client *c)
{
    int before = atomic_load(&g_count);
    for (int i = 0; i < 20; i++)
        CHECK_OK(crew_remote_submit(c, "count", NULL, 0, NULL));
    POLL_NS(atomic_load(&g_count) == before + 20, 20000 * MS);
    CHECK_EQ(atomic_load(&g_count), before + 20);
}

static void test_submit_many(crew_remote_client *c)
{
    enum { N = 1000 };
    static crew_remote_job jobs[N];
    static char payload[N][16];
    static crew_future *fs[N];
    for (int i = 0; i < N; i++) {
        snprintf(payload[i], sizeof payload[i], "job-%d", i);
        jobs[i] = (crew_remote_job){.task = "echo", .payload = payload[i], .size = strlen(payload[i])};
    }
    jobs[500].task = "bad name"; /* fails alone */
    CHECK_RC(crew_remote_submit_many(c, jobs, N, fs), CREW_EINVAL);
    CHECK(fs[500] == NULL);
    for (int i = 0; i < N; i++) {
        if (i == 500)
            continue;
        char text[32];
        CHECK_OK(rt_result(fs[i], NULL, text, sizeof text));
        CHECK(!strcmp(text, payload[i]));
        crew_future_release(fs[i]);
    }
    CHECK_OK(crew_remote_submit_many(c, NULL, 0, NULL));
    CHECK_RC(crew_remote_submit_many(c, NULL, 1, NULL), CREW_EINVAL);
}

static void test_retries(crew_remote_client *c)
{
    /* Fails twice, then works: three runs with 3 retries allowed. */
    atomic_store(&g_flaky_runs, 0);
    crew_remote_job j = {.task = "flaky", .retries = 3, .backoff_ms = 20};
    crew_future *f;
    char text[64];
    CHECK_OK(crew_remote_submit_job(c, &j, &f));
    int st;
    CHECK_OK(rt_result(f, &st, text, sizeof text));
    CHECK(!strcmp(text, "ok on run 3"));
    CHECK_EQ(atomic_load(&g_flaky_runs), 3);
    crew_future_release(f);
    /* One retry only: two runs, the future has the last failure. */
    atomic_store(&g_flaky_runs, 0);
    j.retries = 1;
    CHECK_OK(crew_remote_submit_job(c, &j, &f));
    CHECK_RC(rt_result(f, &st, text, sizeof text), CREW_ETASK);
    CHECK_EQ(st, 7);
    CHECK(!strcmp(text, "run 2 failed"));
    CHECK_EQ(atomic_load(&g_flaky_runs), 2);
    crew_future_release(f);
}

static void on_done(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

static int local_square(void *arg, void **result)
{
    *result = (void *)((intptr_t)arg * (intptr_t)arg);
    return 0;
}

/* Local pool futures and remote futures in one crew_wait and one
 * as_completed; done callbacks on remote futures run once. */
static void test_mixed(crew_remote_client *c)
{
    enum { L = 8, R = 8 };
    crew_pool *p = make_pool(2);
    crew_future *fs[L + R];
    atomic_int called = 0;
    for (int i = 0; i < L; i++)
        CHECK_OK(crew_pool_submit(p, local_square, (void *)(intptr_t)i, &fs[i]));
    for (int i = 0; i < R; i++) {
        char pl[8];
        snprintf(pl, sizeof pl, "r%d", i);
        CHECK_OK(crew_remote_submit(c, "echo", pl, strlen(pl), &fs[L + i]));
        CHECK_OK(crew_future_add_done_callback(fs[L + i], on_done, &called));
    }
    bool done[L + R];
    size_t ndone = 0;
    CHECK_OK(crew_wait_timed(fs, L + R, CREW_ALL_COMPLETED, done, &ndone, 20000 * MS));
    CHECK_EQ(ndone, L + R);
    POLL(atomic_load(&called) == R);
    CHECK_EQ(atomic_load(&called), R);
    for (int i = 0; i < R; i++) {
        void *r;
        char want[8];
        snprintf(want, sizeof want, "r%d", i);
        CHECK_OK(crew_future_result(fs[L + i], &r, NULL));
        CHECK(!strcmp(rt_text(r), want));
    }
    release_all(fs, L + R);

    /* as_completed over a fresh mix: each yielded once. */
    for (int i = 0; i < L; i++)
        CHECK_OK(crew_pool_submit(p, local_square, (void *)(intptr_t)i, &fs[i]));
    for (int i = 0; i < R; i++)
        CHECK_OK(crew_remote_submit(c, "echo", "x", 1, &fs[L + i]));
    crew_as_completed *it;
    CHECK_OK(crew_as_completed_create(&it, fs, L + R));
    int seen[L + R];
    memset(seen, 0, sizeof seen);
    crew_future *g;
    int64_t deadline = crew_now_ns() + 20000 * MS;
    while (crew_as_completed_next_until(it, &g, deadline) == 0)
        for (int i = 0; i < L + R; i++)
            seen[i] += fs[i] == g;
    for (int i = 0; i < L + R; i++)
        CHECK_EQ(seen[i], 1);
    crew_as_completed_destroy(it);
    release_all(fs, L + R);
    CHECK_OK(crew_pool_destroy(p));

    /* FIRST_COMPLETED with one remote future that never completes (no
     * worker serves its queue) and one local. */
    crew_remote_options o = rt_opts("nobody");
    crew_remote_client *c2;
    CHECK_OK(crew_remote_client_create(&c2, getenv("RT_URL"), &o));
    p = make_pool(1);
    CHECK_OK(crew_remote_submit(c2, "echo", "x", 1, &fs[0]));
    CHECK_OK(crew_pool_submit(p, local_square, (void *)3, &fs[1]));
    CHECK_OK(crew_wait_timed(fs, 2, CREW_FIRST_COMPLETED, done, &ndone, 20000 * MS));
    CHECK(!done[0] && done[1]);
    /* destroy completes the one still in flight with CREW_ESHUTDOWN */
    crew_remote_client_stats s;
    CHECK_OK(crew_remote_client_get_stats(c2, &s));
    CHECK_EQ(s.in_flight, 1);
    CHECK_OK(crew_remote_client_destroy(c2));
    int st = 0;
    CHECK_RC(crew_future_result(fs[0], NULL, &st), CREW_ETASK);
    CHECK_EQ(st, CREW_ESHUTDOWN);
    release_all(fs, 2);
    CHECK_OK(crew_pool_destroy(p));
}

/* Raw entries a client library would never write: each goes to the dead
 * letters with its reason, and the worker goes on serving. */
static void test_malformed(crew_remote_client *c, redisContext *raw)
{
    long long dead0 = rh_int(raw, "XLEN crew:{basic}:dead");
    const char *cmds[] = {
        "XADD crew:{basic}:jobs * x y",                       /* unknown field */
        "XADD crew:{basic}:jobs * t echo",                    /* no payload */
        "XADD crew:{basic}:jobs * t %s p x",                  /* bad task name */
        "XADD crew:{basic}:jobs * t echo c nope p x",         /* bad reply address */
        "XADD crew:{basic}:jobs * t echo p x o 1:2",          /* bad options */
        "XADD crew:{basic}:jobs * t echo p x p y",            /* a field twice */
        "XADD crew:{basic}:jobs * t echo c ab/99999999999999999 p x", /* seq too big */
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        redisReply *r = redisCommand(raw, cmds[i], "two words");
        CHECK(r && r->type == REDIS_REPLY_STRING);
        if (r)
            freeReplyObject(r);
    }
    long long want = dead0 + (long long)(sizeof cmds / sizeof cmds[0]);
    POLL_NS(rh_int(raw, "XLEN crew:{basic}:dead") >= want, 20000 * MS);
    CHECK_EQ(rh_int(raw, "XLEN crew:{basic}:dead"), want);
    /* Still serving. */
    crew_future *f;
    CHECK_OK(crew_remote_submit(c, "echo", "alive", 5, &f));
    char text[16];
    CHECK_OK(rt_result(f, NULL, text, sizeof text));
    CHECK(!strcmp(text, "alive"));
    crew_future_release(f);
}

/* A payload and a result of the default limit (1 MiB) go through whole;
 * a worker asked to stop before it serves returns at once. */
static void test_big(const char *url)
{
    crew_remote_options o = rt_opts("big");
    inproc w;
    CHECK_OK(inproc_start(&w, url, &o, reg, NULL));
    crew_remote_client *c;
    CHECK_OK(crew_remote_client_create(&c, url, &o));
    size_t n = 1u << 20;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 131 + 7);
    crew_future *f;
    CHECK_OK(crew_remote_submit(c, "echo", big, n, &f));
    void *r = NULL;
    CHECK_OK(crew_future_result_timed(f, &r, NULL, 20000 * MS));
    CHECK(rt_size(r) == n && !memcmp(((crew_remote_bytes *)r)->data, big, n));
    crew_future_release(f);
    CHECK_RC(crew_remote_submit(c, "echo", big, n + 1, &f), CREW_ETOOBIG);
    free(big);
    CHECK_OK(crew_remote_client_destroy(c));
    CHECK_OK(inproc_stop(&w));
    crew_remote_worker *idle;
    CHECK_OK(crew_remote_worker_create(&idle, url, &o));
    CHECK_OK(crew_remote_worker_register(idle, "echo", rt_echo, NULL));
    crew_remote_worker_stop(idle);
    CHECK_OK(crew_remote_worker_serve(idle));
    CHECK_OK(crew_remote_worker_destroy(idle));
}

/* Acknowledged jobs are trimmed away; pending ones never are.  The
 * client's results stream expires result_ttl after its last result. */
static void test_trim(redisContext *raw)
{
    POLL_NS(rh_int(raw, "XLEN crew:{basic}:jobs") < 150, 10000 * MS);
    CHECK(rh_int(raw, "XLEN crew:{basic}:jobs") < 150);
    redisReply *k = redisCommand(raw, "KEYS crew:{basic}:res:*");
    CHECK(k && k->type == REDIS_REPLY_ARRAY && k->elements >= 1);
    for (size_t i = 0; k && i < k->elements; i++) {
        long long ttl = rh_int(raw, "PTTL %s", k->element[i]->str);
        CHECK(ttl > 0 && ttl <= 60000);
    }
    if (k)
        freeReplyObject(k);
}

int main(void)
{
    rh_require();
    test_urls();
    test_idmap();
    test_refused();
    rh_server s;
    if (rh_start(&s, NULL)) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    setenv("RT_URL", s.url, 1);
    redisContext *raw = rh_connect(&s);
    crew_remote_options o = rt_opts("basic");
    o.threads = 2;
    o.max_payload = 4096;
    o.max_result = 8192;
    o.result_ttl_ns = 60000 * MS;
    inproc w;
    CHECK_OK(inproc_start(&w, s.url, &o, reg, NULL));
    crew_remote_options co = rt_opts("basic");
    crew_remote_client *c;
    CHECK_OK(crew_remote_client_create(&c, s.url, &co));
    test_roundtrip(c, raw);
    test_fire_and_forget(c);
    test_submit_many(c);
    test_retries(c);
    test_mixed(c);
    test_malformed(c, raw);
    test_trim(raw);
    test_big(s.url);
    crew_remote_client_stats cs;
    CHECK_OK(crew_remote_client_get_stats(c, &cs));
    CHECK_EQ(cs.in_flight, 0);
    CHECK_EQ(cs.duplicates, 0);
    CHECK(cs.completed > 1000);
    CHECK_OK(crew_remote_client_destroy(c));
    CHECK_OK(inproc_stop(&w));
    redisFree(raw);
    rh_destroy(&s);
    return check_exit("test_remote_basic");
}
