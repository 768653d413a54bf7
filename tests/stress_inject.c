/* stress_inject.c - the injection queue (src/sched/inject.h) on its own:
 * producers push records, consumers take them in batches under the
 * queue's try-lock, and every record must come out exactly once, in each
 * producer's order; between rounds the queue is checked with
 * crew__inject_valid at a quiescent point, and a round ends with a close
 * that every later push must see (CREW_ESHUTDOWN, nothing queued).
 *
 *   stress_inject [producers [records_per_producer [consumers [rounds]]]]
 *   defaults: 3 producers, 20000 records each, 2 consumers, 5 rounds
 *
 * Prints the number of checked hand-offs (records that crossed from a
 * producer to a consumer, each checked for loss and duplication). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sched/inject.h"
#include "support.h"

typedef struct rec {
    crew__task hdr;
    int producer;
    long seq;
} rec;

typedef struct round_state {
    crew__inject q;
    rec *recs;          /* producers x per */
    atomic_int *seen;   /* per record: times taken */
    int producers;
    long per;
    atomic_int producers_done;
    atomic_long taken;
    atomic_int order_errors;
} round_state;

typedef struct prod_arg {
    round_state *rs;
    int id;
} prod_arg;

static void *producer(void *arg)
{
    prod_arg *a = arg;
    round_state *rs = a->rs;
    for (long i = 0; i < rs->per; i++) {
        rec *r = &rs->recs[(long)a->id * rs->per + i];
        CHECK_OK(crew__inject_push(&rs->q, &r->hdr));
    }
    atomic_fetch_add(&rs->producers_done, 1);
    return NULL;
}

static void *consumer(void *arg)
{
    round_state *rs = arg;
    long total = (long)rs->producers * rs->per;
    crew__task *batch[8];
    /* The try-lock orders the pops, so one consumer's records of each
     * producer come in that producer's order. */
    long *last_seq = malloc((size_t)rs->producers * sizeof *last_seq);
    for (int p = 0; p < rs->producers; p++)
        last_seq[p] = -1;
    for (;;) {
        size_t n = crew__inject_try_pop_batch(&rs->q, batch, 8);
        if (n == 0) {
            if (atomic_load(&rs->taken) >= total)
                break;
            sched_yield();
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            rec *r = (rec *)batch[k];
            long idx = (long)r->producer * rs->per + r->seq;
            atomic_fetch_add(&rs->seen[idx], 1);
            if (r->seq <= last_seq[r->producer])
                atomic_fetch_add(&rs->order_errors, 1);
            last_seq[r->producer] = r->seq;
        }
        atomic_fetch_add(&rs->taken, (long)n);
    }
    free(last_seq);
    return NULL;
}

int main(int argc, char **argv)
{
    int producers = (int)arg_long(argc, argv, 1, 3);
    if (producers < 1 || producers > 64)
        producers = 3;
    long per = arg_long(argc, argv, 2, 20000);
    int consumers = (int)arg_long(argc, argv, 3, 2);
    if (consumers < 1 || consumers > 64)
        consumers = 2;
    int rounds = (int)arg_long(argc, argv, 4, 5);
    long long handoffs = 0;
    for (int round = 0; round < rounds; round++) {
        static round_state rs;
        memset(&rs, 0, sizeof rs);
        crew__inject_init(&rs.q);
        rs.producers = producers;
        rs.per = per;
        rs.recs = calloc((size_t)producers * (size_t)per, sizeof *rs.recs);
        rs.seen = calloc((size_t)producers * (size_t)per, sizeof *rs.seen);
        for (int p = 0; p < producers; p++) {
            for (long i = 0; i < per; i++) {
                rs.recs[(long)p * per + i].producer = p;
                rs.recs[(long)p * per + i].seq = i;
            }
        }
        pthread_t pt[64], ct[64];
        prod_arg pa[64];
        for (int c = 0; c < consumers; c++)
            CHECK_EQ(pthread_create(&ct[c], NULL, consumer, &rs), 0);
        for (int p = 0; p < producers; p++) {
            pa[p] = (prod_arg){&rs, p};
            CHECK_EQ(pthread_create(&pt[p], NULL, producer, &pa[p]), 0);
        }
        for (int p = 0; p < producers; p++)
            pthread_join(pt[p], NULL);
        for (int c = 0; c < consumers; c++)
            pthread_join(ct[c], NULL);
        /* Quiescent: empty and well formed. */
        size_t left = 99;
        CHECK(crew__inject_valid(&rs.q, 1000, &left));
        CHECK_EQ(left, 0);
        CHECK(!crew__inject_maybe_nonempty(&rs.q));
        long bad = 0;
        for (long i = 0; i < (long)producers * per; i++)
            bad += atomic_load(&rs.seen[i]) != 1;
        CHECK_EQ(bad, 0);
        CHECK_EQ(atomic_load(&rs.order_errors), 0);
        handoffs += (long long)producers * per;
        /* Close: a push after it is refused and queues nothing. */
        rec extra;
        memset(&extra, 0, sizeof extra);
        crew__inject_close(&rs.q);
        CHECK_RC(crew__inject_push(&rs.q, &extra.hdr), CREW_ESHUTDOWN);
        CHECK(crew__inject_valid(&rs.q, 1000, &left));
        CHECK_EQ(left, 0);
        free(rs.recs);
        free(rs.seen);
    }
    printf("stress_inject: %lld checked hand-offs\n", handoffs);
    return check_exit("stress_inject");
}
