/*
 * bench/crew_queue.c - crew_queue on W3: a FIFO bounded at 1024, plain
 * crew_queue_put / crew_queue_get (one item per call, as every peer does).
 *
 *   crew_queue W3 N producers consumers
 */
#define _GNU_SOURCE
#include "common.h"

#include "crew/queue.h"

#define PEER "crew"

static int failures; /* __atomic, relaxed: crew calls that returned an error */

typedef struct w3_arg {
    crew_queue *q;
    long n, np, nc, k;
    uint64_t got, sum;
} w3_arg;

static void *w3_producer(void *arg)
{
    w3_arg *a = arg;
    for (long i = a->k + 1; i <= a->n; i += a->np) {
        if (crew_queue_put(a->q, (void *)(uintptr_t)i) != 0) {
            __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    return NULL;
}

static void *w3_consumer(void *arg)
{
    w3_arg *a = arg;
    long take = a->n / a->nc + (a->k < a->n % a->nc);
    for (long i = 0; i < take; i++) {
        void *item;
        if (crew_queue_get(a->q, &item) != 0) {
            __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
            break;
        }
        a->sum += (uintptr_t)item;
        a->got++;
    }
    return NULL;
}

static int w3(long n, long np, long nc)
{
    crew_queue_options o;
    crew_queue *q = NULL;
    pthread_t th[64];
    w3_arg args[64];
    crew_queue_options_init(&o);
    o.kind = CREW_QUEUE_FIFO;
    o.maxsize = 1024;
    int rc = crew_queue_create(&q, &o);
    if (rc != 0) {
        fprintf(stderr, "crew_queue_create: %s\n", crew_strerror(rc));
        return 1;
    }
    int64_t t0 = bench_now_ns();
    for (long k = 0; k < np + nc; k++) {
        args[k] = (w3_arg){.q = q, .n = n, .np = np, .nc = nc, .k = k < np ? k : k - np};
        pthread_create(&th[k], NULL, k < np ? w3_producer : w3_consumer, &args[k]);
    }
    uint64_t got = 0, sum = 0;
    for (long k = 0; k < np + nc; k++) {
        pthread_join(th[k], NULL);
        got += args[k].got;
        sum += args[k].sum;
    }
    int64_t t1 = bench_now_ns();
    crew_queue_destroy(q);
    int ok = __atomic_load_n(&failures, __ATOMIC_RELAXED) == 0 && got == (uint64_t)n &&
             sum == bench_w3_sum((uint64_t)n);
    const char *w = bench_w3_name(np, nc);
    bench_result(w, PEER, "ns_per_item", (double)(t1 - t0) / (double)n, ok);
    bench_result(w, PEER, "mitems_per_s", (double)n * 1e3 / (double)(t1 - t0), ok);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "W3"))
        return w3(bench_arg(argc, argv, 2, 10000000), bench_arg(argc, argv, 3, 1),
                  bench_arg(argc, argv, 4, 1));
    fprintf(stderr, "usage: %s W3 N producers consumers\n", argv[0]);
    return 2;
}
