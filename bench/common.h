/*
 * bench/common.h - helpers shared by every benchmark program (C and C++).
 *
 * Everything here is static inline so that each program is one translation
 * unit.  Atomics use the GCC __atomic builtins, which compile the same in C
 * (gcc, clang) and C++ (g++), so the C++ peers share the exact same work
 * functions and checks as the C ones.
 *
 * Output: one line per measurement, parsed by bench/report.py:
 *   RESULT workload=W1 peer=glib metric=ns_per_task value=123.4 check=ok
 *   RESULT workload=W8 peer=tbb metric=ms value=50.2 check=ok answer=14200
 *   UNSUPPORTED workload=W2 peer=glib reason="..."
 *   NOTE peer=python text="..."
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* P: the number of online CPUs (BENCH_THREADS overrides, for experiments). */
static inline unsigned bench_threads(void)
{
    const char *env = getenv("BENCH_THREADS");
    long n = env ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

/* argv[i] as a number, or def when absent. */
static inline long bench_arg(int argc, char **argv, int i, long def)
{
    return i < argc ? atol(argv[i]) : def;
}

/* The W5 unit of pure CPU work: a xorshift64 chain of `iters` steps.  Each
 * step depends on the previous one, so it neither vectorizes nor folds.  The
 * driver calibrates iters once (floors CAL) and passes the same value to every
 * C and C++ program. */
static inline uint64_t bench_spin(uint64_t iters, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (uint64_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

/* Plain recursive fib: the W2 floor and the reference value. */
static inline long bench_fib_seq(int n)
{
    return n < 2 ? n : bench_fib_seq(n - 1) + bench_fib_seq(n - 2);
}

/* fib(n) by iteration, to check results: fib(30) = 832040. */
static inline long bench_fib_expect(int n)
{
    long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        long t = a + b;
        a = b;
        b = t;
    }
    return a;
}

/* Number of tasks the W2 recursion spawns: one per call with n >= 2. */
static inline long bench_fib_tasks(int n)
{
    /* calls(n) = 2 fib(n+1) - 1; internal nodes = (calls - 1) / 2. */
    return bench_fib_expect(n + 1) - 1;
}

/* A field of /proc/self/status in kB ("VmRSS:", "VmHWM:"), or -1. */
static inline long bench_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t len = strlen(field);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, len) == 0) {
            kb = atol(line + len);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0), so that the peak read
 * later is the peak since this point.  Best effort. */
static inline void bench_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static inline void bench_result(const char *workload, const char *peer, const char *metric,
                                double value, int ok)
{
    printf("RESULT workload=%s peer=%s metric=%s value=%.6g check=%s\n", workload, peer,
           metric, value, ok ? "ok" : "FAIL");
    fflush(stdout);
}

/* A result with the workload's answer (W8-W11), which report.py compares
 * with the sequential floor's: answer=<token>, no spaces. */
static inline void bench_result_ans(const char *workload, const char *peer, const char *metric,
                                    double value, int ok, const char *answer)
{
    printf("RESULT workload=%s peer=%s metric=%s value=%.6g check=%s answer=%s\n", workload, peer,
           metric, value, ok ? "ok" : "FAIL", answer);
    fflush(stdout);
}

static inline void bench_unsupported(const char *workload, const char *peer, const char *reason)
{
    printf("UNSUPPORTED workload=%s peer=%s reason=\"%s\"\n", workload, peer, reason);
    fflush(stdout);
}

static inline void bench_note(const char *peer, const char *text)
{
    printf("NOTE peer=%s text=\"%s\"\n", peer, text);
    fflush(stdout);
}

static inline int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* W4: sorts the n round trips (ns) and prints median and p99 in us. */
static inline void bench_latency_report(const char *peer, int64_t *ns, long n, int ok)
{
    qsort(ns, (size_t)n, sizeof *ns, bench_cmp_i64);
    bench_result("W4", peer, "p50_us", (double)ns[n / 2] / 1e3, ok);
    bench_result("W4", peer, "p99_us", (double)ns[(n * 99) / 100] / 1e3, ok);
}

/* W3 workload name for a producer/consumer split. */
static inline const char *bench_w3_name(long producers, long consumers)
{
    if (producers == 1 && consumers == 1)
        return "W3-1p1c";
    if (producers == 2 && consumers == 2)
        return "W3-2p2c";
    return "W3-other";
}

/* W3: items are the numbers 1..n (never NULL, which some queues forbid);
 * producer k of np puts the numbers i with i % np == k.  Consumers add up
 * what they get; the check is count == n and sum == n (n + 1) / 2. */
static inline uint64_t bench_w3_sum(uint64_t n)
{
    return n * (n + 1) / 2;
}

/* ---- the W6 gate: tasks block here until it opens ----------------------
 * open is written under mu and read with an acquire load first (fast path
 * once open); the slow path re-checks under mu, so no wake-up is lost. */
typedef struct bench_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open; /* 0 until bench_gate_open; written under mu */
} bench_gate;

static inline void bench_gate_init(bench_gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = 0;
}

static inline void bench_gate_wait(bench_gate *g)
{
    /* acquire: pairs with the release store in bench_gate_open. */
    if (__atomic_load_n(&g->open, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&g->mu);
    while (!__atomic_load_n(&g->open, __ATOMIC_ACQUIRE))
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static inline void bench_gate_open(bench_gate *g)
{
    pthread_mutex_lock(&g->mu);
    /* release: pairs with the acquire loads in bench_gate_wait. */
    __atomic_store_n(&g->open, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* W6 report: baseline RSS (taken before the tasks were queued) and the peak
 * since then. */
static inline void bench_w6_report(const char *peer, long base_kb, long peak_kb, long n, int ok)
{
    double bytes = ((double)peak_kb - (double)base_kb) * 1024.0 / (double)n;
    bench_result("W6", peer, "bytes_per_task", bytes, ok);
    bench_result("W6", peer, "peak_mb", (double)peak_kb / 1024.0, ok);
}

/* ---- peak memory (W2, W9): bytes of RSS above a baseline ----------------
 * The baseline is VmRSS once the pool is set up and its threads started;
 * the kernel's peak counter is reset then (bench_reset_peak), and VmHWM read
 * after the run is the peak since.  Both happen outside the timed part. */
static inline long bench_mem_start(void)
{
    long base = bench_status_kb("VmRSS:");
    bench_reset_peak();
    return base;
}

static inline void bench_mem_report(const char *workload, const char *peer, long base_kb, int ok)
{
    long peak = bench_status_kb("VmHWM:");
    int valid = base_kb >= 0 && peak >= 0;
    bench_result(workload, peer, "peak_bytes", valid ? ((double)peak - (double)base_kb) * 1024.0 : 0,
                 ok && valid);
}

/* ---- W7: submitter threads outside the pool ---------------------------
 * bench_w7_launch starts `threads` threads that each wait at a common start
 * line, then call body(ctx, k, n) (k: the thread's index) to submit their n
 * tasks; bench_w7_go releases them and returns the start time;
 * bench_w7_join waits for them to return (their tasks may still be
 * queued: the caller then waits for its pool).  Returns 0 or -1. */
#define BENCH_W7_MAX 64

typedef void (*bench_w7_body)(void *ctx, int k, long n);

struct bench_w7;
struct bench_w7_thread {
    struct bench_w7 *w;
    int k;
    pthread_t th;
};

typedef struct bench_w7 {
    pthread_barrier_t start;
    struct bench_w7_thread t[BENCH_W7_MAX];
    int threads;
    long n;
    bench_w7_body body;
    void *ctx;
} bench_w7;

static inline void *bench_w7_main(void *arg)
{
    struct bench_w7_thread *t = (struct bench_w7_thread *)arg;
    pthread_barrier_wait(&t->w->start);
    t->w->body(t->w->ctx, t->k, t->w->n);
    return NULL;
}

static inline int bench_w7_launch(bench_w7 *w, int threads, long n, bench_w7_body body, void *ctx)
{
    if (threads < 1 || threads > BENCH_W7_MAX)
        return -1;
    w->threads = threads;
    w->n = n;
    w->body = body;
    w->ctx = ctx;
    if (pthread_barrier_init(&w->start, NULL, (unsigned)threads + 1) != 0)
        return -1;
    for (int i = 0; i < threads; i++) {
        w->t[i].w = w;
        w->t[i].k = i;
        if (pthread_create(&w->t[i].th, NULL, bench_w7_main, &w->t[i]) != 0) {
            fprintf(stderr, "W7: pthread_create failed\n");
            exit(1); /* the started threads wait at the barrier forever */
        }
    }
    return 0;
}

static inline int64_t bench_w7_go(bench_w7 *w)
{
    int64_t t0 = bench_now_ns();
    pthread_barrier_wait(&w->start);
    return t0;
}

static inline void bench_w7_join(bench_w7 *w)
{
    for (int i = 0; i < w->threads; i++)
        pthread_join(w->t[i].th, NULL);
    pthread_barrier_destroy(&w->start);
}

/* W5: the same ~200 us task everywhere.  The state every W5 program shares:
 * the chain length and one output slot per task, compared at the end with a
 * sequential run of the same tasks. */
struct bench_w5 {
    uint64_t iters;
    uint64_t *out;
};

static inline struct bench_w5 *bench_w5(void)
{
    static struct bench_w5 state;
    return &state;
}

/* Task i of W5, run by the pool under test. */
static inline void bench_w5_task(uint64_t i)
{
    bench_w5()->out[i] = bench_spin(bench_w5()->iters, i);
}

/* Runs the n tasks one after another into *ref (allocated here), prepares
 * the output slots for the pool run, and returns the sequential time. */
static inline int64_t bench_w5_sequential(long n, long iters, uint64_t **ref)
{
    uint64_t *seq = (uint64_t *)calloc((size_t)n, sizeof *seq);
    bench_w5()->out = (uint64_t *)calloc((size_t)n, sizeof *seq);
    bench_w5()->iters = (uint64_t)iters;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        seq[i] = bench_spin(bench_w5()->iters, (uint64_t)i);
    *ref = seq;
    return bench_now_ns() - t0;
}

static inline void bench_w5_report(const char *peer, int64_t seq_ns, int64_t pool_ns, int ok);

/* Checks the pool's outputs against ref, reports, and frees both. */
static inline void bench_w5_finish(const char *peer, int64_t seq_ns, int64_t pool_ns, long n,
                                   uint64_t *ref, int ok)
{
    ok = ok && memcmp(ref, bench_w5()->out, (size_t)n * sizeof *ref) == 0;
    bench_w5_report(peer, seq_ns, pool_ns, ok);
    free(ref);
    free(bench_w5()->out);
    bench_w5()->out = NULL;
}

/* W5 report. */
static inline void bench_w5_report(const char *peer, int64_t seq_ns, int64_t pool_ns, int ok)
{
    bench_result("W5", peer, "speedup", (double)seq_ns / (double)pool_ns, ok);
    bench_result("W5", peer, "seq_ms", (double)seq_ns / 1e6, ok);
    bench_result("W5", peer, "pool_ms", (double)pool_ns / 1e6, ok);
}

#endif
