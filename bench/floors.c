/*
 * bench/floors.c - what no pool can beat on this machine, measured in the
 * same run as the pools.
 *
 *   floors F1 rounds ms  two threads pinned to two cores bounce one cache
 *                        line: ns per round trip
 *   floors F2 rounds ms  two threads wake each other through a futex (each
 *                        sleeps in the kernel every time): us per round trip
 *                        (both: at most `rounds` round trips, and no more
 *                        than about `ms` milliseconds; default 2000)
 *   floors SEQ n         plain sequential fib(n): the W2 zero-overhead floor
 *   floors W8 n cutoff   the sequential floors of W8-W11: the same
 *   floors W9 depth      algorithms (bench/workloads.h) by plain recursion,
 *   floors W10 n         with their answers, which report.py compares
 *   floors W11 x         with every runtime's (W8's cutoff is ignored)
 *   floors CAL us        prints the bench_spin iteration count that takes
 *                        `us` microseconds here (the W5 task size)
 */
#define _GNU_SOURCE
#include "common.h"
#include "workloads.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static long rounds;       /* at most this many round trips ... */
static int64_t budget_ns; /* ... and stop after about this long */
static long done_a, done_b; /* round trips each side completed */
static int pinned = 1;    /* __atomic: cleared if pinning failed */
static uint32_t word __attribute__((aligned(64))); /* F1's cache line, F2's futex word */

#define STOP UINT32_MAX /* A's last store: "no more rounds" */

static void pin_or_note(int cpu)
{
    if (pin(cpu))
        __atomic_store_n(&pinned, 0, __ATOMIC_RELAXED);
}

/* A stores 2i+1, B answers 2i+2; A ends with STOP.  A checks the clock every
 * 256 rounds, so a machine busy with other work cannot stretch the run:
 * the figure is the mean over the rounds that fit in the budget. */
static int64_t a_side(void (*set)(uint32_t), void (*wait)(uint32_t))
{
    int64_t t0 = bench_now_ns(), t1 = t0;
    long i = 0;
    for (; i < rounds; i++) {
        if ((i & 255) == 0 && (t1 = bench_now_ns()) - t0 > budget_ns)
            break;
        set((uint32_t)(2 * i + 1));
        wait((uint32_t)(2 * i + 1)); /* until B stored 2i+2 */
    }
    t1 = bench_now_ns();
    done_a = i;
    set(STOP);
    return t1 - t0;
}

static void b_side(void (*set)(uint32_t), void (*wait)(uint32_t))
{
    long i = 0;
    for (;;) {
        wait((uint32_t)(2 * i)); /* until A stored 2i+1 or STOP */
        /* acquire: pairs with A's release store in set. */
        if (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == STOP)
            break;
        set((uint32_t)(2 * i + 2));
        i++;
    }
    done_b = i;
}

/* F1: both sides spin on the line: a round trip is two cache-line
 * transfers. */
static void spin_wait(uint32_t expected)
{
    /* acquire: pairs with the other side's release store in spin_set. */
    while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == expected)
        ;
}

static void spin_set(uint32_t v)
{
    __atomic_store_n(&word, v, __ATOMIC_RELEASE);
}

/* F2: each side sleeps in FUTEX_WAIT until the other has moved the word on,
 * so a round trip is two wake-ups. */
static void futex_wait(uint32_t expected)
{
    /* acquire: pairs with the other side's release store in futex_set. */
    while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == expected)
        syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_set(uint32_t v)
{
    __atomic_store_n(&word, v, __ATOMIC_RELEASE);
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *f1_b(void *arg)
{
    (void)arg;
    pin_or_note(1);
    b_side(spin_set, spin_wait);
    return NULL;
}

static void *f2_b(void *arg)
{
    (void)arg;
    pin_or_note(1);
    b_side(futex_set, futex_wait);
    return NULL;
}

static void floor_run(const char *name, int futex)
{
    pthread_t b;
    pin_or_note(0);
    pthread_create(&b, NULL, futex ? f2_b : f1_b, NULL);
    int64_t ns = futex ? a_side(futex_set, futex_wait) : a_side(spin_set, spin_wait);
    pthread_join(b, NULL);
    if (!__atomic_load_n(&pinned, __ATOMIC_RELAXED))
        bench_note("floor", "F1/F2: could not pin the two threads to CPUs 0 and 1");
    int ok = done_a > 0 && done_a == done_b;
    double per = done_a > 0 ? (double)ns / (double)done_a : 0;
    if (futex)
        bench_result(name, "floor", "us_per_rt", per / 1e3, ok);
    else
        bench_result(name, "floor", "ns_per_rt", per, ok);
}

static void seq(int n)
{
    int64_t t0 = bench_now_ns();
    long v = bench_fib_seq(n);
    int64_t t1 = bench_now_ns();
    int ok = v == bench_fib_expect(n);
    bench_result("W2", "sequential", "ms", (double)(t1 - t0) / 1e6, ok);
    bench_result("W2", "sequential", "ns_per_task", (double)(t1 - t0) / (double)bench_fib_tasks(n),
                 ok);
}

static void seq_w8(int n)
{
    if (n < 1 || n > BENCH_NQ_MAX) {
        fprintf(stderr, "floors: W8: n must be 1..%d\n", BENCH_NQ_MAX);
        exit(2);
    }
    signed char board[BENCH_NQ_MAX] = {0};
    int64_t t0 = bench_now_ns();
    long v = bench_nq_seq(n, 0, board);
    int64_t t1 = bench_now_ns();
    char ans[32];
    snprintf(ans, sizeof ans, "%ld", v);
    bench_result_ans("W8", "sequential", "ms", (double)(t1 - t0) / 1e6, v == bench_nq_expect(n),
                     ans);
}

static void seq_w9(int depth)
{
    bench_uts root = bench_uts_root(depth);
    int64_t t0 = bench_now_ns();
    long v = bench_uts_seq(&root);
    int64_t t1 = bench_now_ns();
    long want = bench_uts_expect(depth);
    int ok = want < 0 || v == want;
    char ans[32];
    snprintf(ans, sizeof ans, "%ld", v);
    bench_result_ans("W9", "sequential", "ms", (double)(t1 - t0) / 1e6, ok, ans);
    bench_result_ans("W9", "sequential", "ns_per_node", (double)(t1 - t0) / (double)v, ok, ans);
}

static void seq_w10(int n)
{
    bench_mm top;
    if (bench_mm_setup(n, &top) != 0) {
        fprintf(stderr, "floors: W10: n must be a power of two >= %d (or out of memory)\n",
                BENCH_MM_LEAF);
        exit(2);
    }
    int64_t t0 = bench_now_ns();
    bench_mm_seq(&top);
    int64_t t1 = bench_now_ns();
    double sum;
    int ok = bench_mm_check(&top, &sum);
    char ans[40];
    snprintf(ans, sizeof ans, "%.17g", sum);
    bench_result_ans("W10", "sequential", "gflops", 2.0 * n * n * (double)n / (double)(t1 - t0),
                     ok, ans);
    bench_result_ans("W10", "sequential", "ms", (double)(t1 - t0) / 1e6, ok, ans);
    bench_mm_free(&top);
}

static void seq_w11(double x)
{
    bench_int top = bench_int_root(x);
    int64_t t0 = bench_now_ns();
    double v = bench_int_seq(&top);
    int64_t t1 = bench_now_ns();
    char ans[40];
    snprintf(ans, sizeof ans, "%.17g", v);
    bench_result_ans("W11", "sequential", "ms", (double)(t1 - t0) / 1e6, bench_int_check(x, v),
                     ans);
}

static void cal(long us)
{
    const uint64_t probe = 1000000;
    int64_t best = INT64_MAX;
    volatile uint64_t sink = 0;
    for (int r = 0; r < 7; r++) {
        int64_t t0 = bench_now_ns();
        sink += bench_spin(probe, (uint64_t)r);
        int64_t dt = bench_now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    (void)sink;
    printf("CALIBRATE iters=%llu\n", (unsigned long long)((double)probe * (double)us * 1e3 /
                                                         (double)best));
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "F1") || !strcmp(w, "F2")) {
        rounds = bench_arg(argc, argv, 2, w[1] == '1' ? 1000000 : 100000);
        budget_ns = bench_arg(argc, argv, 3, 2000) * 1000000;
        floor_run(w, w[1] == '2');
    } else if (!strcmp(w, "SEQ")) {
        seq((int)bench_arg(argc, argv, 2, 30));
    } else if (!strcmp(w, "W8")) {
        seq_w8((int)bench_arg(argc, argv, 2, 12));
    } else if (!strcmp(w, "W9")) {
        seq_w9((int)bench_arg(argc, argv, 2, BENCH_UTS_DEPTH));
    } else if (!strcmp(w, "W10")) {
        seq_w10((int)bench_arg(argc, argv, 2, 1024));
    } else if (!strcmp(w, "W11")) {
        seq_w11((double)bench_arg(argc, argv, 2, BENCH_INT_X));
    } else if (!strcmp(w, "CAL")) {
        cal(bench_arg(argc, argv, 2, 200));
    } else {
        fprintf(stderr, "usage: %s F1|F2|SEQ|W8|W9|W10|W11|CAL [args]\n", argv[0]);
        return 2;
    }
    return 0;
}
