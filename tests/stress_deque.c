/* stress_deque.c - the work-stealing deque under concurrent thieves.
 *
 *   stress_deque [thieves=3] [items=200000] [log2_capacity=2] [rounds=100]
 *
 * The items 1..items are split over `rounds` rounds.  Each round starts a
 * fresh deque (with a small initial ring, so it grows while thieves steal)
 * and `thieves` threads that call steal in a loop.  The owner then:
 *   phase 1 (first half of the round's items): pushes bursts of 1..64 items
 *     (now and then 256..1023, to force more growth) and pops a random part
 *     of each burst itself;
 *   phase 2 (second half): the classic race -- pushes 1..3 items and pops
 *     down to the last one and past it, while the thieves hammer steal, so
 *     pop and steal keep fighting over the last item.
 * Finally the owner pops until empty and stops the thieves.  Every taken
 * item is counted in a per-item counter: each must be taken exactly once
 * (no duplicate, no loss, no value that was never pushed) and the sum of the
 * taken values must be items*(items+1)/2.  A summary line is printed, and
 * the number of checked hand-offs for scripts/soak.sh: the items thieves
 * stole (passed from the owner's thread to another; the owner's own pops
 * are checked too but stay in one thread).
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "sched/deque.h"

#define ITEM(i) ((void *)(uintptr_t)(i))

typedef struct stress {
    crew__deque dq;                 /* the deque under test (64-aligned) */
    _Atomic unsigned char *seen;    /* [lo, hi]: times each item was taken */
    int64_t lo, hi;                 /* this round's items; set before threads start */
    atomic_int stop;                /* set by the owner when the deque is empty for good */
    atomic_int running;             /* thieves that have started stealing this round */
    atomic_llong duplicates;        /* items taken more than once */
    atomic_llong bogus;             /* values outside [lo, hi] (or NULL on success) */
} stress;

typedef struct thief {
    pthread_t tid;
    stress *s;
    long long sum, steals, lost, empty;
} thief;

/* Records one taken item (any thread).  fetch_add is relaxed: the counters
 * are read only after pthread_join, which orders everything. */
static void take(stress *s, void *p, long long *sum)
{
    int64_t v = (int64_t)(uintptr_t)p;
    if (v < s->lo || v > s->hi) {
        atomic_fetch_add_explicit(&s->bogus, 1, memory_order_relaxed);
        return;
    }
    if (atomic_fetch_add_explicit(&s->seen[v], 1, memory_order_relaxed) != 0)
        atomic_fetch_add_explicit(&s->duplicates, 1, memory_order_relaxed);
    *sum += v;
}

static void *thief_main(void *arg)
{
    thief *th = arg;
    stress *s = th->s;
    unsigned misses = 0;
    /* Pairs with the owner's acquire load in run_round's start gate. */
    atomic_fetch_add_explicit(&s->running, 1, memory_order_release);
    /* stop: relaxed is enough, the owner sets it after the deque is empty
     * for good and join orders the results. */
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        int lost = -1;
        void *p = crew__deque_steal(&s->dq, &lost);
        if (p != NULL) {
            if (lost != 0)
                atomic_fetch_add_explicit(&s->bogus, 1, memory_order_relaxed);
            take(s, p, &th->sum);
            th->steals++;
            misses = 0;
        } else {
            if (lost == 1)
                th->lost++;
            else if (lost == 0)
                th->empty++;
            else
                atomic_fetch_add_explicit(&s->bogus, 1, memory_order_relaxed);
            /* Bounded spin, then give the core away: this machine may have
             * fewer cores than threads, and the owner must get to run. */
            if (++misses % 64 == 0)
                sched_yield();
        }
    }
    return NULL;
}

static uint64_t rng(uint64_t *st)
{
    uint64_t x = *st;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *st = x;
}

/* Owner-side "work" of up to n steps between deque calls, so that the
 * thieves get windows to steal in (and the owner is not always first). */
static void work(uint64_t *rs, unsigned n)
{
    unsigned steps = (unsigned)(rng(rs) % (n + 1));
    for (volatile unsigned i = 0; i < steps; i++) {
    }
}

typedef struct totals {
    long long owner_pops, steals, lost, empty, bursts2, raced2, growths, sum;
    int64_t max_cap;
} totals;

/* Pushes item v, counting growths. */
static int push(stress *s, int64_t v, totals *tot)
{
    int64_t cap = crew__deque_capacity(&s->dq);
    int rc = crew__deque_push(&s->dq, ITEM(v));
    CHECK_OK(rc);
    int64_t ncap = crew__deque_capacity(&s->dq);
    if (ncap != cap) {
        tot->growths++;
        CHECK_EQ(ncap, 2 * cap);
    }
    if (ncap > tot->max_cap)
        tot->max_cap = ncap;
    return rc;
}

static int run_round(stress *s, int nthieves, unsigned log2cap, int64_t lo, int64_t hi,
                     uint64_t *rs, totals *tot)
{
    if (crew__deque_init(&s->dq, log2cap) != 0) {
        fprintf(stderr, "crew__deque_init failed\n");
        return -1;
    }
    s->lo = lo;
    s->hi = hi;
    atomic_store_explicit(&s->stop, 0, memory_order_relaxed);
    atomic_store_explicit(&s->running, 0, memory_order_relaxed);
    thief *th = calloc((size_t)nthieves + 1, sizeof(thief));
    if (th == NULL)
        return -1;
    int started = 0;
    for (int i = 0; i < nthieves; i++) {
        th[i].s = s;
        if (pthread_create(&th[i].tid, NULL, thief_main, &th[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            break;
        }
        started++;
    }

    /* Start gate: wait (yielding) until every thief is in its loop, so the
     * round is not over before they run.  Acquire pairs with the thieves'
     * release increment. */
    while (atomic_load_explicit(&s->running, memory_order_acquire) < started)
        sched_yield();

    long long sum = 0;
    int64_t next = lo, half = lo + (hi - lo + 1) / 2;
    /* Phase 1: bursts, partly popped by the owner. */
    while (next < half) {
        int64_t burst = (int64_t)(rng(rs) % 64) + 1;
        if (rng(rs) % 50 == 0)
            burst = 256 + (int64_t)(rng(rs) % 768);
        if (burst > half - next)
            burst = half - next;
        for (int64_t i = 0; i < burst; i++)
            if (push(s, next++, tot) != 0)
                goto out;
        work(rs, 2000);
        /* Now and then give the core away, so that on a machine with fewer
         * free cores than threads the thieves run while we are between
         * (or in the middle of) deque calls. */
        if (rng(rs) % 8 == 0)
            sched_yield();
        int64_t pops = (int64_t)(rng(rs) % (uint64_t)(burst + 1));
        for (int64_t i = 0; i < pops; i++) {
            void *p = crew__deque_pop(&s->dq);
            if (p == NULL)
                break;
            take(s, p, &sum);
            tot->owner_pops++;
            work(rs, 50);
        }
    }
    /* Phase 2: pop down to (and past) the last item against the thieves. */
    while (next <= hi) {
        int64_t k = (int64_t)(rng(rs) % 3) + 1;
        if (k > hi - next + 1)
            k = hi - next + 1;
        for (int64_t i = 0; i < k; i++)
            if (push(s, next++, tot) != 0)
                goto out;
        work(rs, 300);
        if (rng(rs) % 32 == 0)
            sched_yield();
        int64_t got = 0;
        void *p;
        while ((p = crew__deque_pop(&s->dq)) != NULL) {
            take(s, p, &sum);
            tot->owner_pops++;
            got++;
        }
        /* Whatever of this burst the owner did not pop, thieves stole. */
        tot->bursts2++;
        if (got < k)
            tot->raced2++;
    }
out:
    /* Drain: the owner is the only pusher, so NULL from pop means empty for
     * good.  Then the thieves may stop; join waits for any thief that won a
     * CAS and is still recording its item. */
    while (1) {
        void *p = crew__deque_pop(&s->dq);
        if (p == NULL)
            break;
        take(s, p, &sum);
        tot->owner_pops++;
    }
    CHECK_EQ(crew__deque_size_hint(&s->dq), 0);
    atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
    for (int i = 0; i < started; i++) {
        pthread_join(th[i].tid, NULL);
        sum += th[i].sum;
        tot->steals += th[i].steals;
        tot->lost += th[i].lost;
        tot->empty += th[i].empty;
    }
    free(th);
    tot->sum += sum;
    CHECK(crew__deque_valid(&s->dq)); /* quiescent: every thread joined */
    crew__deque_destroy(&s->dq);
    return next > hi ? 0 : -1;
}

static long long arg(int argc, char **argv, int i, long long def, long long min, long long max)
{
    if (argc <= i)
        return def;
    char *end;
    long long v = strtoll(argv[i], &end, 10);
    if (*end != '\0' || v < min || v > max) {
        fprintf(stderr, "argument %d (%s) must be in [%lld, %lld]\n", i, argv[i], min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int nthieves = (int)arg(argc, argv, 1, 3, 0, 256);
    int64_t items = arg(argc, argv, 2, 200000, 1, 1LL << 30);
    unsigned log2cap = (unsigned)arg(argc, argv, 3, 2, 0, 20);
    int64_t rounds = arg(argc, argv, 4, 100, 1, 1000000);
    if (rounds > items)
        rounds = items;

    /* The deque inside must be 64-byte aligned: static storage is. */
    static stress s;
    s.seen = calloc((size_t)items + 1, sizeof(*s.seen));
    if (s.seen == NULL) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    totals tot = {0};
    uint64_t rs = 0x2545f4914f6cdd1du;
    int64_t start = crew_now_ns();
    int64_t lo = 1;
    for (int64_t r = 0; r < rounds; r++) {
        int64_t hi = items * (r + 1) / rounds;
        if (run_round(&s, nthieves, log2cap, lo, hi, &rs, &tot) != 0) {
            fprintf(stderr, "round %lld could not run\n", (long long)r);
            atomic_fetch_add(&check_failures_, 1);
            break;
        }
        lo = hi + 1;
    }
    double secs = (double)(crew_now_ns() - start) / 1e9;

    long long missing = 0, dups = 0;
    for (int64_t v = 1; v <= items; v++) {
        unsigned c = atomic_load_explicit(&s.seen[v], memory_order_relaxed);
        if (c == 0)
            missing++;
        else if (c > 1)
            dups += c - 1;
    }
    long long want = (long long)items * (items + 1) / 2;
    CHECK_EQ(missing, 0);
    CHECK_EQ(dups, 0);
    CHECK_EQ(atomic_load(&s.duplicates), 0);
    CHECK_EQ(atomic_load(&s.bogus), 0);
    CHECK_EQ(tot.sum, want);
    CHECK_EQ(tot.owner_pops + tot.steals, items);
    printf("stress_deque: %d thieves, %lld items, %lld rounds, log2 cap %u: "
           "owner popped %lld, thieves stole %lld (lost races %lld, empty %lld), "
           "phase-2 bursts %lld (thieves got part of %lld), growths %lld (max cap %lld), "
           "missing %lld, duplicates %lld, sum %s, %.2f s\n",
           nthieves, (long long)items, (long long)rounds, log2cap, tot.owner_pops, tot.steals,
           tot.lost, tot.empty, tot.bursts2, tot.raced2, tot.growths, (long long)tot.max_cap, missing,
           dups, tot.sum == want ? "ok" : "WRONG", secs);
    if (atomic_load(&check_failures_) == 0)
        printf("stress_deque: %lld checked hand-offs\n", tot.steals);
    free(s.seen);
    return check_exit("stress_deque");
}
