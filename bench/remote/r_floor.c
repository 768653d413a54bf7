/* r_floor.c - the floors of R1 and R2: what hiredis and Redis Streams cost
 * with no library around them (bench/remote/README.md).
 *
 *   r_floor R1   HOST PORT N  pipelined XADD (1000 per round trip) from one
 *                             thread; 2 consumer threads, each XREADGROUP
 *                             COUNT 100 and one XACK per batch; jobs/s from
 *                             the first XADD to the last XACK
 *   r_floor R1RT HOST PORT N  the same with one round trip per message:
 *                             XADD one at a time, XREADGROUP COUNT 1, XACK
 *                             each
 *   r_floor R2   HOST PORT N  one job at a time on an idle system: XADD,
 *                             a consumer thread's XREADGROUP BLOCK, its
 *                             result XADD + XACK, the submitter's XREAD
 *                             BLOCK on the results stream; median and p99
 *
 * No result travels back in R1 (the floor is the queue alone); R2 carries
 * a result, as a remote round trip must.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_host;
static int g_port;
static long g_n;
static atomic_long g_acked;
static int g_one_rt;
static atomic_int g_failed;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static redisContext *conn(void)
{
    redisContext *c = redisConnect(g_host, g_port);
    if (!c || c->err) {
        fprintf(stderr, "r_floor: cannot connect to %s:%d\n", g_host, g_port);
        exit(1);
    }
    return c;
}

static void must(redisReply *r, const char *what)
{
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "r_floor: %s: %s\n", what, r ? r->str : "no reply");
        atomic_store(&g_failed, 1);
    }
}

static void reset(redisContext *c, const char *stream)
{
    freeReplyObject(redisCommand(c, "DEL %s", stream));
    redisReply *r = redisCommand(c, "XGROUP CREATE %s g $ MKSTREAM", stream);
    must(r, "XGROUP CREATE");
    freeReplyObject(r);
}

static void *consumer(void *arg)
{
    redisContext *c = conn();
    char name[16];
    snprintf(name, sizeof name, "c%ld", (long)(intptr_t)arg);
    const char *argv[64];
    size_t lens[64];
    while (atomic_load(&g_acked) < g_n && !atomic_load(&g_failed)) {
        redisReply *r = redisCommand(c, "XREADGROUP GROUP g %s COUNT %d BLOCK 100 STREAMS fl >",
                                     name, g_one_rt ? 1 : 100);
        must(r, "XREADGROUP");
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            continue;
        }
        redisReply *ents = r->element[0]->element[1];
        for (size_t i = 0; i < ents->elements;) {
            /* One XACK per batch (per message in the one-round-trip variant). */
            int n = 0;
            argv[n] = "XACK", lens[n++] = 4;
            argv[n] = "fl", lens[n++] = 2;
            argv[n] = "g", lens[n++] = 1;
            size_t k = 0;
            for (; i < ents->elements && n < 64 && !(g_one_rt && k == 1); i++, k++) {
                argv[n] = ents->element[i]->element[0]->str;
                lens[n++] = ents->element[i]->element[0]->len;
            }
            redisReply *a = redisCommandArgv(c, n, argv, lens);
            must(a, "XACK");
            if (a && a->type == REDIS_REPLY_INTEGER)
                atomic_fetch_add(&g_acked, a->integer);
            freeReplyObject(a);
        }
        freeReplyObject(r);
    }
    redisFree(c);
    return NULL;
}

static void r1(void)
{
    redisContext *c = conn();
    reset(c, "fl");
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, consumer, (void *)(intptr_t)i);
    int64_t t0 = now_ns();
    long batch = g_one_rt ? 1 : 1000;
    for (long i = 0; i < g_n; i += batch) {
        long k = g_n - i < batch ? g_n - i : batch;
        for (long j = 0; j < k; j++)
            redisAppendCommand(c, "XADD fl * t noop p %b", "", (size_t)0);
        for (long j = 0; j < k; j++) {
            redisReply *r;
            redisGetReply(c, (void **)&r);
            must(r, "XADD");
            freeReplyObject(r);
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    redisReply *p = redisCommand(c, "XPENDING fl g");
    int ok = !atomic_load(&g_failed) && atomic_load(&g_acked) == g_n && p &&
             p->type == REDIS_REPLY_ARRAY && p->element[0]->integer == 0;
    freeReplyObject(p);
    freeReplyObject(redisCommand(c, "DEL fl"));
    printf("RESULT workload=R1 peer=%s metric=jobs_per_s value=%.0f check=%s n=%ld\n",
           g_one_rt ? "floor-rt" : "floor", (double)g_n / secs, ok ? "ok" : "failed", g_n);
    redisFree(c);
}

/* R2's consumer: takes one job, stores a result, acknowledges. */
static void *r2_worker(void *arg)
{
    (void)arg;
    redisContext *c = conn();
    for (;;) {
        redisReply *r = redisCommand(c, "XREADGROUP GROUP g w COUNT 1 BLOCK 0 STREAMS fl >");
        must(r, "XREADGROUP");
        if (!r || r->type != REDIS_REPLY_ARRAY)
            break;
        redisReply *e = r->element[0]->element[1]->element[0];
        redisReply *f = e->element[1]; /* t noop p <x|stop> */
        int stop = f->elements == 4 && !strcmp(f->element[3]->str, "stop");
        redisAppendCommand(c, "XADD flres * r %b", "", (size_t)0);
        redisAppendCommand(c, "XACK fl g %s", e->element[0]->str);
        for (int i = 0; i < 2; i++) {
            redisReply *a;
            redisGetReply(c, (void **)&a);
            must(a, "result");
            freeReplyObject(a);
        }
        freeReplyObject(r);
        if (stop)
            break;
    }
    redisFree(c);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void r2(void)
{
    redisContext *c = conn();
    reset(c, "fl");
    freeReplyObject(redisCommand(c, "DEL flres"));
    pthread_t t;
    pthread_create(&t, NULL, r2_worker, NULL);
    int64_t *rt = calloc((size_t)g_n, sizeof *rt);
    char last[64] = "0-0";
    for (long i = -50; i < g_n; i++) { /* 50 warm-up round trips */
        int64_t t0 = now_ns();
        redisReply *a = redisCommand(c, "XADD fl * t noop p %s", i == g_n - 1 ? "stop" : "x");
        must(a, "XADD");
        freeReplyObject(a);
        redisReply *r = redisCommand(c, "XREAD COUNT 1 BLOCK 0 STREAMS flres %s", last);
        must(r, "XREAD");
        if (r && r->type == REDIS_REPLY_ARRAY)
            snprintf(last, sizeof last, "%s", r->element[0]->element[1]->element[0]->element[0]->str);
        freeReplyObject(r);
        if (i >= 0)
            rt[i] = now_ns() - t0;
    }
    pthread_join(t, NULL);
    qsort(rt, (size_t)g_n, sizeof *rt, cmp_i64);
    const char *ok = atomic_load(&g_failed) ? "failed" : "ok";
    printf("RESULT workload=R2 peer=floor metric=p50_us value=%.1f check=%s\n",
           (double)rt[g_n / 2] / 1e3, ok);
    printf("RESULT workload=R2 peer=floor metric=p99_us value=%.1f check=%s\n",
           (double)rt[g_n * 99 / 100] / 1e3, ok);
    freeReplyObject(redisCommand(c, "DEL fl flres"));
    free(rt);
    redisFree(c);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: r_floor R1|R1RT|R2 HOST PORT N\n");
        return 2;
    }
    g_host = argv[2];
    g_port = atoi(argv[3]);
    g_n = atol(argv[4]);
    if (g_n < 100)
        g_n = 100;
    if (!strcmp(argv[1], "R1")) {
        r1();
    } else if (!strcmp(argv[1], "R1RT")) {
        g_one_rt = 1;
        r1();
    } else if (!strcmp(argv[1], "R2")) {
        r2();
    } else {
        fprintf(stderr, "r_floor: unknown workload %s\n", argv[1]);
        return 2;
    }
    return atomic_load(&g_failed);
}
