/* stress_group.c - fork-join trees of random shape.
 *
 * Every node of a tree derives its value and its number of children (0-4)
 * from a seed (a PRNG step of its parent's seed), spawns all children but
 * the first into a crew_group, computes the first itself, waits (plain or
 * isolated, chosen by the seed) and combines the children's checksums in
 * order.  The same tree computed by plain recursion gives the expected
 * checksum.
 *
 * Phase 1: trees run from tasks (all at once) and from the main thread.
 * Phase 2: the pool is shut down (cancel_pending) while trees are running and
 * stealing; every submitted future must end DONE (the task ran to the end
 * and its checksum is right) or CANCELLED (it never started and its cleanup
 * ran).  A tree whose spawns are refused after shutdown computes those
 * children itself, so a refused spawn never loses work.
 *
 * Phase 1 also counts the nodes run against the sequential count, so a job
 * run twice (which would not change a checksum) is caught, and counts the
 * jobs run by another thread than the one that spawned them: the checked
 * hand-offs that scripts/soak.sh adds up.
 *
 *   stress_group [workers [trees [depth]]]   defaults: 2 workers, 24 trees, 10
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "support.h"

static uint64_t mix(uint64_t x)
{
    /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static int nchildren(uint64_t seed, int depth)
{
    return depth > 0 ? (int)(mix(seed ^ 0x55) % 5) : 0;
}

static long count_seq(uint64_t seed, int depth)
{
    long n = 1;
    int k = nchildren(seed, depth);
    for (int i = 0; i < k; i++)
        n += count_seq(mix(seed + (uint64_t)i + 1), depth - 1);
    return n;
}

static uint64_t checksum_seq(uint64_t seed, int depth)
{
    uint64_t sum = mix(seed);
    int k = nchildren(seed, depth);
    for (int i = 0; i < k; i++)
        sum += rotl(checksum_seq(mix(seed + (uint64_t)i + 1), depth - 1), i + 1);
    return sum;
}

typedef struct node {
    uint64_t seed;
    int depth;
    uint64_t result;
    pthread_t spawner; /* the thread that spawned the job */
} node;

static atomic_long nodes_run;
static atomic_long stolen; /* jobs run by another thread than their spawner */
static atomic_long refused; /* spawns or inits refused (after shutdown) */

static uint64_t checksum_par(crew_pool *p, uint64_t seed, int depth);

static int job_node(void *arg)
{
    node *n = arg;
    if (!pthread_equal(pthread_self(), n->spawner))
        atomic_fetch_add_explicit(&stolen, 1, memory_order_relaxed);
    n->result = checksum_par(crew_pool_current(), n->seed, n->depth);
    return 0;
}

static uint64_t checksum_par(crew_pool *p, uint64_t seed, int depth)
{
    atomic_fetch_add_explicit(&nodes_run, 1, memory_order_relaxed);
    uint64_t sum = mix(seed);
    int k = nchildren(seed, depth);
    if (k == 0)
        return sum;
    node kids[5];
    bool spawned[5] = {false};
    crew_group g;
    bool have_group = crew_group_init(&g, p) == 0;
    if (!have_group)
        atomic_fetch_add(&refused, 1);
    for (int i = 0; i < k; i++) {
        kids[i].seed = mix(seed + (uint64_t)i + 1);
        kids[i].depth = depth - 1;
        kids[i].result = 0;
        kids[i].spawner = pthread_self();
    }
    for (int i = 1; i < k && have_group; i++) {
        int rc = crew_group_spawn(&g, job_node, &kids[i]);
        spawned[i] = rc == 0;
        if (rc != 0) {
            CHECK(rc == CREW_ESHUTDOWN || rc == CREW_ECANCELLED);
            atomic_fetch_add(&refused, 1);
        }
    }
    kids[0].result = checksum_par(p, kids[0].seed, kids[0].depth);
    for (int i = 1; i < k; i++) /* refused spawns: compute here */
        if (!spawned[i])
            kids[i].result = checksum_par(p, kids[i].seed, kids[i].depth);
    if (have_group) {
        int rc = (seed & 0x100) ? crew_group_wait_isolated(&g, NULL) : crew_group_wait(&g, NULL);
        CHECK_OK(rc);
    }
    for (int i = 0; i < k; i++)
        sum += rotl(kids[i].result, i + 1);
    return sum;
}

/* A task computing one tree; it marks its record when it starts and ends. */
typedef struct tree_task {
    uint64_t seed;
    int depth;
    uint64_t result;
    atomic_int started;
    atomic_int finished;
    atomic_int cleaned;
} tree_task;

static int task_tree(void *arg, void **result)
{
    tree_task *t = arg;
    (void)result;
    atomic_fetch_add(&t->started, 1);
    t->result = checksum_par(crew_pool_current(), t->seed, t->depth);
    atomic_fetch_add(&t->finished, 1);
    return 0;
}

static void cleanup_tree(void *arg)
{
    atomic_fetch_add(&((tree_task *)arg)->cleaned, 1);
}

int main(int argc, char **argv)
{
    unsigned workers = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
    int trees = argc > 2 ? atoi(argv[2]) : 24;
    int depth = argc > 3 ? atoi(argv[3]) : 10;
    if (trees < 1 || depth < 0 || depth > 20) {
        fprintf(stderr, "usage: stress_group [workers [trees [depth]]]\n");
        return 2;
    }
    tree_task *tt = calloc((size_t)trees, sizeof *tt);
    crew_future **fs = calloc((size_t)trees, sizeof *fs);
    uint64_t *want = calloc((size_t)trees, sizeof *want);
    if (!tt || !fs || !want)
        return 2;
    long want_nodes = 0;
    for (int i = 0; i < trees; i++) {
        want[i] = checksum_seq(mix((uint64_t)i * 7919), depth);
        long n = count_seq(mix((uint64_t)i * 7919), depth);
        want_nodes += i % 4 == 0 ? 2 * n : n; /* as a task, and from main */
    }

    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = workers;
    crew_pool *p = NULL;
    CHECK_OK(crew_pool_create(&p, &o));

    /* Phase 1: every tree as a task, all at once, then from the main thread. */
    int64_t t0 = crew_now_ns();
    for (int i = 0; i < trees; i++) {
        tt[i].seed = mix((uint64_t)i * 7919);
        tt[i].depth = depth;
        CHECK_OK(crew_pool_submit(p, task_tree, &tt[i], &fs[i]));
    }
    for (int i = 0; i < trees; i++) {
        CHECK_OK(crew_future_result(fs[i], NULL, NULL));
        CHECK(tt[i].result == want[i]);
        crew_future_release(fs[i]);
    }
    for (int i = 0; i < trees; i += 4)
        CHECK(checksum_par(p, mix((uint64_t)i * 7919), depth) == want[i]);
    CHECK_OK(crew_pool_destroy(p));
    int64_t t1 = crew_now_ns();
    long phase1_nodes = atomic_load(&nodes_run);
    long phase1_stolen = atomic_load(&stolen);
    CHECK_EQ(atomic_load(&refused), 0);
    CHECK_EQ(phase1_nodes, want_nodes); /* no node lost or run twice */

    /* Phase 2: shut down while trees run. */
    long done_total = 0, cancelled_total = 0;
    for (int round = 0; round < 6; round++) {
        memset(tt, 0, (size_t)trees * sizeof *tt);
        CHECK_OK(crew_pool_create(&p, &o));
        for (int i = 0; i < trees; i++) {
            tt[i].seed = mix((uint64_t)i * 7919);
            tt[i].depth = depth;
            CHECK_OK(crew_pool_submit_ex(p, task_tree, &tt[i], cleanup_tree, &fs[i]));
        }
        /* Shut down once a few trees have started (round 0: at once). */
        int64_t end = crew_now_ns() + 5000000000LL;
        while (round > 0 && crew_now_ns() < end) {
            int started = 0;
            for (int i = 0; i < trees; i++)
                started += atomic_load(&tt[i].started);
            if (started >= round || started == trees)
                break;
            nap_us(50);
        }
        CHECK_OK(crew_pool_shutdown(p, false, true));
        CHECK_OK(crew_pool_shutdown(p, true, false));
        for (int i = 0; i < trees; i++) {
            crew_future_state st = crew_future_get_state(fs[i]);
            int rc = crew_future_result(fs[i], NULL, NULL);
            int started = atomic_load(&tt[i].started), finished = atomic_load(&tt[i].finished);
            int cleaned = atomic_load(&tt[i].cleaned);
            if (st == CREW_FUTURE_DONE) {
                CHECK_OK(rc);
                CHECK(started == 1 && finished == 1 && cleaned == 0);
                CHECK(tt[i].result == want[i]);
                done_total++;
            } else {
                CHECK_EQ(st, CREW_FUTURE_CANCELLED);
                CHECK_RC(rc, CREW_ECANCELLED);
                CHECK(started == 0 && finished == 0 && cleaned == 1);
                cancelled_total++;
            }
            crew_future_release(fs[i]);
        }
        CHECK_OK(crew_pool_destroy(p));
    }
    printf("stress_group: %u workers, %d trees of depth %d: %ld nodes in %.1f ms; shutdown "
           "phase: %ld trees done, %ld cancelled, %ld spawns refused\n",
           workers, trees, depth, phase1_nodes, (double)(t1 - t0) / 1e6, done_total,
           cancelled_total, atomic_load(&refused));
    if (atomic_load(&check_failures_) == 0)
        printf("stress_group: %ld checked hand-offs\n", phase1_stolen);
    free(tt);
    free(fs);
    free(want);
    return check_exit("stress_group");
}
