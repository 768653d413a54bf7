/* fault_sweep.c - every public call, with each of crew's own allocations,
 * mappings and thread creations made to fail in turn (src/fault.h).
 *
 * For each scenario below and each N = 1, 2, 3, ... the N-th system call of
 * crew (of the chosen kinds) fails, until a run in which the failure never
 * fires (the scenario made fewer calls than N).  Every run checks:
 *   - each call returned 0 or one of the codes its header documents for
 *     that failure (never another code, never a crash);
 *   - a call that failed did nothing: a refused submit's task neither runs
 *     nor is cleaned up, a refused put queued nothing, a failed create left
 *     no object;
 *   - every accepted task ran or had its cleanup called, exactly once; every
 *     accepted item came back exactly once (got, or dropped);
 *   - nothing leaked (the faults stage runs under ASan's leak checker) and
 *     nothing hung (every wait is on work that was accepted).
 *
 *   fault_sweep [kinds [stride [fail_us [thread_us]]]]
 *       kinds: a|m|t|f letters (alloc, map, thread, fence) or "all"
 *       (default: all but fence); stride: test every stride-th N (default
 *       1); fail_us: the failing call sleeps that long first; thread_us:
 *       whoever starts a thread sleeps that long after (default 0, 0)
 *
 * The test command runs it with the defaults; `make faults` runs each kind
 * alone and together, with a delay in the failing call (the work queued
 * before it gets time to run) and after every thread start. */
#include <string.h>

#include "check.h"
#include "base/fault.h"
#include "support.h"

/* rc is 0 or one of the listed codes. */
static bool rc_in(int rc, const int *allowed, size_t n)
{
    if (rc == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (rc == allowed[i])
            return true;
    return false;
}

#define ALLOWED(rc, ...)                                                                 \
    do {                                                                                 \
        static const int allowed_[] = {__VA_ARGS__};                                     \
        int rc_ = (rc);                                                                  \
        if (!rc_in(rc_, allowed_, sizeof allowed_ / sizeof allowed_[0])) {               \
            fprintf(stderr, "%s:%d: %s returned %s (N=%llu)\n", __FILE__, __LINE__, #rc, \
                    crew_err_name(rc_), (unsigned long long)sweep_n);                     \
            atomic_fetch_add(&check_failures_, 1);                                       \
        }                                                                                \
    } while (0)

static uint64_t sweep_n;

/* ---- accounting of task arguments -------------------------------------- */

enum { MAXT = 64 };
typedef struct acct {
    slot s[MAXT];
    bool accepted[MAXT];
    bool no_cleanup[MAXT]; /* submitted without one: a cancel leaves no trace */
} acct;

static void acct_reset(acct *a)
{
    memset(a, 0, sizeof *a);
}

/* Every accepted task ran or was cleaned up exactly once (or, without a
 * cleanup, ran at most once); every refused one did neither. */
static void acct_check(acct *a, int n)
{
    for (int i = 0; i < n; i++) {
        int r = atomic_load(&a->s[i].ran), c = atomic_load(&a->s[i].cleaned);
        bool ok = !a->accepted[i]    ? r + c == 0
                  : a->no_cleanup[i] ? c == 0 && r <= 1
                                     : r + c == 1;
        if (!ok) {
            fprintf(stderr, "N=%llu: task %d accepted=%d ran=%d cleaned=%d\n",
                    (unsigned long long)sweep_n, i, a->accepted[i], r, c);
            atomic_fetch_add(&check_failures_, 1);
        }
    }
}

static crew_pool *pool_or_null(unsigned workers)
{
    crew_pool_options o;
    crew_pool_options_init(&o);
    o.workers = workers;
    o.idle_timeout_ns = -1;
    crew_pool *p = NULL;
    int rc = crew_pool_create(&p, &o);
    ALLOWED(rc, CREW_ENOMEM);
    return rc ? NULL : p;
}

/* ---- scenarios ------------------------------------------------------------ */

/* Submit with and without futures and cleanups from outside, wait, shut
 * down with cancel. */
static void sc_submit(void)
{
    static acct a;
    acct_reset(&a);
    crew_pool *p = pool_or_null(2);
    if (!p)
        return;
    crew_future *fs[MAXT] = {0};
    int n = 24;
    for (int i = 0; i < n; i++) {
        int rc;
        switch (i % 4) {
        case 0:
            rc = crew_pool_submit_ex(p, task_slot, &a.s[i], cleanup_slot, &fs[i]);
            break;
        case 1:
            rc = crew_pool_submit_ex(p, task_slot, &a.s[i], cleanup_slot, NULL);
            break;
        case 2:
            rc = crew_pool_submit(p, task_slot, &a.s[i], &fs[i]);
            break;
        default:
            rc = crew_pool_submit(p, task_slot, &a.s[i], NULL);
            break;
        }
        ALLOWED(rc, CREW_ENOMEM, CREW_ETHREAD);
        a.accepted[i] = rc == 0;
        a.no_cleanup[i] = i % 4 >= 2;
        if (rc)
            fs[i] = NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!fs[i])
            continue;
        ALLOWED(crew_future_result(fs[i], NULL, NULL), CREW_ECANCELLED);
        crew_future_release(fs[i]);
    }
    CHECK_OK(crew_pool_shutdown(p, true, true));
    /* The pool's counts agree: every accepted task ran or was cancelled. */
    crew_pool_stats st = stats_of(p);
    int accepted = 0, ran = 0;
    for (int i = 0; i < n; i++) {
        accepted += a.accepted[i];
        ran += atomic_load(&a.s[i].ran);
    }
    CHECK_EQ(st.completed, ran);
    CHECK_EQ(st.completed + st.cancelled, accepted);
    CHECK_EQ(st.queued, 0);
    CHECK_OK(crew_pool_destroy(p));
    acct_check(&a, n);
}

/* Tasks that submit to their own pool (deque pushes) and wait. */
static int task_fanout(void *arg, void **result)
{
    (void)result;
    acct *a = arg;
    crew_pool *p = crew_pool_current();
    crew_future *fs[8] = {0};
    for (int i = 0; i < 8; i++) {
        int rc = crew_pool_submit_ex(p, task_slot, &a->s[i], cleanup_slot, &fs[i]);
        ALLOWED(rc, CREW_ENOMEM);
        a->accepted[i] = rc == 0;
    }
    for (int i = 0; i < 8; i++) {
        if (!a->accepted[i])
            continue;
        ALLOWED(crew_future_result(fs[i], NULL, NULL), CREW_ECANCELLED);
        crew_future_release(fs[i]);
    }
    return 0;
}

static void sc_inside(void)
{
    static acct a;
    acct_reset(&a);
    crew_pool *p = pool_or_null(2);
    if (!p)
        return;
    crew_future *f;
    int rc = crew_pool_submit(p, task_fanout, &a, &f);
    ALLOWED(rc, CREW_ENOMEM, CREW_ETHREAD);
    if (rc == 0) {
        CHECK_OK(crew_future_result(f, NULL, NULL));
        crew_future_release(f);
    }
    CHECK_OK(crew_pool_destroy(p));
    acct_check(&a, rc == 0 ? 8 : 0);
}

/* Done callbacks, crew_wait, as_completed. */
static void cb_count(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

static void sc_futures(void)
{
    crew_pool *p = pool_or_null(2);
    if (!p)
        return;
    enum { N = 6 };
    crew_future *fs[N];
    int got = 0;
    for (int i = 0; i < N; i++) {
        int rc = crew_pool_submit(p, task_value, P(i + 1), &fs[got]);
        ALLOWED(rc, CREW_ENOMEM, CREW_ETHREAD);
        got += rc == 0;
    }
    atomic_int called = 0;
    int added = 0;
    for (int i = 0; i < got; i++) {
        int rc = crew_future_add_done_callback(fs[i], cb_count, &called);
        ALLOWED(rc, CREW_ENOMEM);
        added += rc == 0;
    }
    bool done[N];
    size_t nd = 0;
    int rc = crew_wait(fs, (size_t)got, CREW_ALL_COMPLETED, done, &nd);
    ALLOWED(rc, CREW_ENOMEM);
    if (rc == 0)
        CHECK_EQ(nd, (size_t)got);
    crew_as_completed *it;
    rc = crew_as_completed_create(&it, fs, (size_t)got);
    ALLOWED(rc, CREW_ENOMEM);
    if (rc == 0) {
        crew_future *f;
        int seen = 0;
        while ((rc = crew_as_completed_next(it, &f)) == 0)
            seen++;
        CHECK_RC(rc, CREW_EEMPTY);
        CHECK_EQ(seen, got);
        crew_as_completed_destroy(it);
    }
    for (int i = 0; i < got; i++) {
        void *r;
        CHECK_OK(crew_future_result(fs[i], &r, NULL));
        crew_future_release(fs[i]);
    }
    CHECK_OK(crew_pool_destroy(p));
    CHECK_EQ(atomic_load(&called), added); /* each added callback ran once */
}

/* Groups and parallel_for, from outside and inside. */
static int body_sum(size_t lo, size_t hi, void *ctx)
{
    atomic_fetch_add((atomic_long *)ctx, (long)(hi - lo));
    return 0;
}

static int job_nested(void *arg)
{
    atomic_long *sum = arg;
    return crew_parallel_for(crew_pool_current(), 0, 100, 7, body_sum, sum, NULL);
}

static void sc_groups(void)
{
    crew_pool *p = pool_or_null(2);
    if (!p)
        return;
    atomic_int count = 0;
    crew_group g;
    int rc = crew_group_init(&g, p);
    CHECK_OK(rc);
    int spawned = 0;
    for (int i = 0; i < 10; i++) {
        rc = crew_group_spawn(&g, job_count, &count);
        ALLOWED(rc, CREW_ENOMEM, CREW_ETHREAD);
        spawned += rc == 0;
    }
    CHECK_OK(crew_group_wait(&g, NULL));
    CHECK_EQ(atomic_load(&count), spawned);
    atomic_long sum = 0;
    rc = crew_parallel_for(p, 0, 1000, 3, body_sum, &sum, NULL);
    ALLOWED(rc, CREW_ENOMEM, CREW_ETHREAD);
    if (rc == 0)
        CHECK_EQ(atomic_load(&sum), 1000); /* a piece that cannot be spawned runs inline */
    else
        CHECK_EQ(atomic_load(&sum), 0); /* nothing ran */
    atomic_store(&sum, 0);
    CHECK_OK(crew_group_init(&g, p));
    rc = crew_group_spawn(&g, job_nested, &sum);
    ALLOWED(rc, CREW_ENOMEM, CREW_ETHREAD);
    int wrc = crew_group_wait(&g, NULL);
    if (rc == 0) {
        CHECK_OK(wrc);
        CHECK_EQ(atomic_load(&sum), 100);
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* Map: all or nothing at create, per-item errors later. */
static atomic_int map_calls;
static int task_map(void *arg, void **result)
{
    atomic_fetch_add(&map_calls, 1);
    *result = arg;
    return 0;
}

static void sc_map(void)
{
    crew_pool *p = pool_or_null(2);
    if (!p)
        return;
    static void *in[20];
    for (int i = 0; i < 20; i++)
        in[i] = P(i + 1);
    atomic_store(&map_calls, 0);
    crew_map_options o = {2, 3};
    crew_map *m;
    int rc = crew_map_create(&m, p, task_map, in, 20, &o);
    ALLOWED(rc, CREW_ENOMEM, CREW_ETHREAD);
    if (rc) {
        CHECK_EQ(atomic_load(&map_calls), 0);
    } else {
        int ok = 0;
        for (int i = 0; i < 20; i++) {
            size_t idx;
            void *r;
            int irc = crew_map_next(m, &idx, &r, NULL);
            ALLOWED(irc, CREW_ENOMEM, CREW_ETHREAD);
            CHECK_EQ(idx, (size_t)i);
            if (irc == 0) {
                CHECK(r == in[i]);
                ok++;
            }
        }
        CHECK_RC(crew_map_next(m, NULL, NULL, NULL), CREW_EEMPTY);
        CHECK_OK(crew_map_destroy(m));
        CHECK_EQ(atomic_load(&map_calls), ok);
    }
    CHECK_OK(crew_pool_destroy(p));
}

/* Queues of every kind: puts, gets, batch forms, immediate shutdown. */
static void drop_count(void *item, void *ctx)
{
    (void)item;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

static void sc_queues(void)
{
    static const struct {
        crew_queue_kind kind;
        size_t maxsize;
    } kinds[] = {{CREW_QUEUE_FIFO, 0}, {CREW_QUEUE_FIFO, 8}, {CREW_QUEUE_FIFO, 1},
                 {CREW_QUEUE_LIFO, 0}, {CREW_QUEUE_PRIORITY, 0}, {CREW_QUEUE_PRIORITY, 4}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        crew_queue_options o;
        crew_queue_options_init(&o);
        o.kind = kinds[k].kind;
        o.maxsize = kinds[k].maxsize;
        o.compare = by_value;
        atomic_int dropped = 0;
        o.drop = drop_count;
        o.drop_ctx = &dropped;
        crew_queue *q;
        int rc = crew_queue_create(&q, &o);
        ALLOWED(rc, CREW_ENOMEM);
        if (rc)
            continue;
        int put = 0, got = 0;
        for (int i = 0; i < 40; i++) {
            rc = crew_queue_try_put(q, P(i + 1));
            ALLOWED(rc, CREW_ENOMEM, CREW_EFULL);
            put += rc == 0;
            if (i % 3 == 0) {
                void *x;
                rc = crew_queue_try_get(q, &x);
                ALLOWED(rc, CREW_EEMPTY);
                got += rc == 0;
            }
        }
        void *batch[5] = {P(100), P(101), P(102), P(103), P(104)};
        size_t c = 0;
        rc = crew_queue_try_put_many(q, batch, 5, &c);
        ALLOWED(rc, CREW_ENOMEM, CREW_EFULL);
        put += (int)c;
        void *out[3];
        rc = crew_queue_try_get_many(q, out, 3, &c);
        ALLOWED(rc, CREW_EEMPTY);
        got += (int)c;
        CHECK_EQ(crew_queue_size(q), (size_t)(put - got));
        CHECK_OK(crew_queue_shutdown(q, true));
        CHECK_EQ(atomic_load(&dropped), put - got); /* every item back once */
        CHECK_OK(crew_queue_destroy(q));
    }
    crew_squeue *sq;
    int rc = crew_squeue_create(&sq);
    ALLOWED(rc, CREW_ENOMEM);
    if (rc == 0) {
        int put = 0, got = 0;
        for (int i = 0; i < 20; i++) {
            rc = crew_squeue_put(sq, P(i + 1));
            ALLOWED(rc, CREW_ENOMEM);
            put += rc == 0;
        }
        void *x;
        while (crew_squeue_try_get(sq, &x) == 0)
            got++;
        CHECK_EQ(got, put);
        CHECK_OK(crew_squeue_destroy(sq, NULL, NULL));
    }
}

/* A queue feeding a pool (the FAQ's pattern) with a shutdown racing it. */
static int task_consume(void *arg, void **result)
{
    (void)result;
    crew_queue *q = arg;
    void *x;
    int n = 0;
    while (crew_queue_get(q, &x) == 0) {
        n++;
        crew_queue_task_done(q);
    }
    *result = P(n);
    return 0;
}

static void sc_queue_pool(void)
{
    crew_pool *p = pool_or_null(2);
    if (!p)
        return;
    crew_queue_options o;
    crew_queue_options_init(&o);
    o.maxsize = 4;
    crew_queue *q;
    int rc = crew_queue_create(&q, &o);
    ALLOWED(rc, CREW_ENOMEM);
    if (rc) {
        CHECK_OK(crew_pool_destroy(p));
        return;
    }
    crew_future *fs[2];
    int consumers = 0;
    for (int i = 0; i < 2; i++) {
        rc = crew_pool_submit(p, task_consume, q, &fs[consumers]);
        ALLOWED(rc, CREW_ENOMEM, CREW_ETHREAD);
        consumers += rc == 0;
    }
    int put = 0;
    if (consumers)
        for (int i = 0; i < 30; i++) {
            rc = crew_queue_put(q, P(i + 1));
            ALLOWED(rc, CREW_ENOMEM);
            put += rc == 0;
        }
    CHECK_OK(crew_queue_join(q));
    CHECK_OK(crew_queue_shutdown(q, false));
    long total = 0;
    for (int i = 0; i < consumers; i++) {
        void *r;
        CHECK_OK(crew_future_result(fs[i], &r, NULL));
        total += I(r);
        crew_future_release(fs[i]);
    }
    CHECK_EQ(total, put);
    CHECK_OK(crew_queue_destroy(q));
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- the sweep ------------------------------------------------------------- */

typedef struct scenario {
    const char *name;
    void (*run)(void);
} scenario;

static const scenario scenarios[] = {
    {"submit", sc_submit},   {"inside", sc_inside}, {"futures", sc_futures},
    {"groups", sc_groups},   {"map", sc_map},       {"queues", sc_queues},
    {"queue+pool", sc_queue_pool},
};

static unsigned parse_kinds(const char *s)
{
    if (!s || !strcmp(s, "all"))
        return CREW__FAULT_ALL;
    unsigned k = 0;
    for (; *s; s++)
        k |= *s == 'a' ? CREW__FAULT_ALLOC
           : *s == 'm' ? CREW__FAULT_MAP
           : *s == 't' ? CREW__FAULT_THREAD
           : *s == 'f' ? CREW__FAULT_FENCE
                       : 0;
    return k ? k : CREW__FAULT_ALL;
}

int main(int argc, char **argv)
{
    unsigned kinds = parse_kinds(argc > 1 ? argv[1] : NULL);
    uint64_t stride = (uint64_t)arg_long(argc, argv, 2, 1);
    if (stride == 0)
        stride = 1;
    crew__fault_fail_delay((unsigned)arg_long(argc, argv, 3, 0));
    crew__fault_thread_delay((unsigned)arg_long(argc, argv, 4, 0));
    uint64_t runs = 0, failures = 0;
    for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
        uint64_t n, fired = 0;
        for (n = 1;; n += stride) {
            sweep_n = n;
            crew__fault_arm(kinds, n);
            scenarios[s].run();
            bool hit = crew__fault_fired();
            crew__fault_arm(0, 0);
            runs++;
            fired += hit;
            if (!hit)
                break;
        }
        failures += fired;
        printf("fault_sweep: %-10s N = 1..%llu, %llu failures injected\n", scenarios[s].name,
               (unsigned long long)n, (unsigned long long)fired);
    }
    printf("fault_sweep: kinds %#x, %llu runs, %llu failures injected\n", kinds,
           (unsigned long long)runs, (unsigned long long)failures);
    return check_exit("fault_sweep");
}
