/*
 * bench/workloads.h - the algorithms of W8-W11, shared by every program.
 *
 * Each workload is split into the part every runtime runs literally the same
 * (here: the nqueens board check, the UTS hash and child-count rule, the
 * matmul kernel and split, the integrand and its tolerance test) and the
 * part that differs (spawn and wait, in each program).  The sequential
 * floors in floors.c run the same pieces with plain recursion.  Each
 * workload's split point is the same everywhere:
 *
 *   W8 nqueens(n), cutoff c: a node at row r < c spawns one task per safe
 *      placement in row r and waits; a node at row >= c counts its subtree
 *      sequentially (bench_nq_seq).
 *   W9 UTS: every node spawns one task per child and waits; the answer is
 *      the number of nodes.
 *   W10 matmul n x n: a block larger than BENCH_MM_LEAF splits 8 ways in
 *      two phases of 4 independent products (the 4 of a phase write 4
 *      different quarters of C); each phase spawns its 4 products and waits.
 *      Blocks of BENCH_MM_LEAF run bench_mm_kernel.
 *   W11 integrate: an interval whose two halves do not agree with it within
 *      BENCH_INT_EPS spawns its left half, integrates its right half itself
 *      and waits.
 *
 * Every answer is deterministic: integer counts (W8, W9), and for W10/W11
 * floating-point sums whose order of additions the recursion fixes, so a
 * parallel run reproduces the sequential result bit for bit.  Each program
 * prints its answer on its RESULT lines (answer=...) and report.py checks
 * it against the sequential floor's; each program also checks it on its own
 * (bench_nq_expect, bench_uts_expect, bench_mm_check, bench_int_check).
 */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- W8 nqueens ----------------------------------------------------------- */

#define BENCH_NQ_MAX 16   /* largest board */
#define BENCH_NQ_CUTOFF 7 /* default cutoff row for nqueens(12) (run.sh passes it) */

typedef struct bench_nq {
    signed char board[BENCH_NQ_MAX]; /* board[i]: the column of the queen in row i < row */
    int n, row, cutoff;
    long count; /* solutions below this node (the answer of its task) */
} bench_nq;

/* Whether a queen fits at (row, col) below the queens of rows 0..row-1:
 * the array check of the BOTS nqueens, one loop over the rows above. */
static inline int bench_nq_ok(const signed char *board, int row, int col)
{
    for (int i = 0; i < row; i++) {
        int d = board[i] - col;
        if (d == 0 || d == row - i || d == i - row)
            return 0;
    }
    return 1;
}

/* Solutions below a node, sequentially (board[0..row-1] set). */
static inline long bench_nq_seq(int n, int row, signed char *board)
{
    if (row == n)
        return 1;
    long s = 0;
    for (int c = 0; c < n; c++) {
        if (bench_nq_ok(board, row, c)) {
            board[row] = (signed char)c;
            s += bench_nq_seq(n, row + 1, board);
        }
    }
    return s;
}

static inline bench_nq bench_nq_root(int n, int cutoff)
{
    bench_nq r;
    memset(&r, 0, sizeof r);
    r.n = n;
    r.cutoff = cutoff;
    return r;
}

/* A node below the cutoff: its count, sequentially, and 1.  Otherwise 0. */
static inline int bench_nq_leaf(bench_nq *t)
{
    if (t->row < t->cutoff && t->row < t->n)
        return 0;
    t->count = bench_nq_seq(t->n, t->row, t->board);
    return 1;
}

/* Fills kids[] (BENCH_NQ_MAX of them) with one node per safe placement in
 * row t->row; returns how many. */
static inline int bench_nq_children(const bench_nq *t, bench_nq *kids)
{
    int k = 0;
    for (int c = 0; c < t->n; c++) {
        if (bench_nq_ok(t->board, t->row, c)) {
            kids[k] = *t;
            kids[k].board[t->row] = (signed char)c;
            kids[k].row = t->row + 1;
            kids[k].count = 0;
            k++;
        }
    }
    return k;
}

/* The number of solutions (OEIS A000170), or -1 past the table. */
static inline long bench_nq_expect(int n)
{
    static const long sol[] = {1,  1,   0,   0,    2,     10,    4,      40,     92,
                               352, 724, 2680, 14200, 73712, 365596, 2279184, 14772512};
    return n >= 0 && n <= BENCH_NQ_MAX ? sol[n] : -1;
}

/* ---- W9 unbalanced tree search ------------------------------------------- */
/*
 * A geometric tree as in the UTS benchmark, with a 64-bit mix instead of
 * SHA-1: a node is its 64-bit id; child i of node x has id
 * bench_mix64(x + (i + 1) * golden); the number of children of a node above
 * the depth cap is geometric with mean 4 (the number of successes before the
 * first failure of trials with success probability 4/5, each trial a fresh
 * draw from a hash of the node id), at most BENCH_UTS_MAXKIDS; nodes at the
 * depth cap are leaves.  The root's id is bench_mix64(BENCH_UTS_SEED).
 * With depth cap 11 the tree has 4,038,775 nodes (bench_uts_expect); a
 * depth cap of d gives the top d + 1 levels of the same tree.
 */

#define BENCH_UTS_SEED 40 /* chosen so that depth cap 11 gives about 4 million nodes */
#define BENCH_UTS_DEPTH 11 /* default depth cap */
#define BENCH_UTS_MAXKIDS 64
#define BENCH_UTS_Q 0xCCCCCCCCu /* 4/5 of 2^32: success probability of a trial */

typedef struct bench_uts {
    uint64_t id;
    int depth, maxdepth;
    long count; /* nodes in this subtree (the answer of its task) */
} bench_uts;

/* splitmix64's finalizer: a bijective 64-bit mix. */
static inline uint64_t bench_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The number of children of t. */
static inline int bench_uts_nkids(const bench_uts *t)
{
    if (t->depth >= t->maxdepth)
        return 0;
    uint64_t h = t->id;
    int k = 0;
    for (;;) {
        h = bench_mix64(h + 0xD1B54A32D192ED03ull);
        if ((uint32_t)(h >> 32) >= BENCH_UTS_Q || k == BENCH_UTS_MAXKIDS)
            return k;
        k++;
    }
}

static inline bench_uts bench_uts_root(int maxdepth)
{
    bench_uts r = {bench_mix64(BENCH_UTS_SEED), 0, maxdepth, 0};
    return r;
}

/* Fills kids[0..k-1] with the k = bench_uts_nkids(t) children of t.  The
 * programs put them on the stack with alloca, exactly as many as there are:
 * a fixed array of BENCH_UTS_MAXKIDS would add 2 KiB of stack per level to
 * W9's peak memory, the same for every runtime, and hide their
 * differences. */
static inline void bench_uts_fill(const bench_uts *t, bench_uts *kids, int k)
{
    for (int i = 0; i < k; i++) {
        kids[i].id = bench_mix64(t->id + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull);
        kids[i].depth = t->depth + 1;
        kids[i].maxdepth = t->maxdepth;
        kids[i].count = 0;
    }
}

#define BENCH_UTS_ALLOCA(k) ((bench_uts *)alloca(sizeof(bench_uts) * (size_t)((k) > 0 ? (k) : 1)))

/* Nodes below t, t included, sequentially. */
static inline long bench_uts_seq(const bench_uts *t)
{
    int k = bench_uts_nkids(t);
    bench_uts *kids = BENCH_UTS_ALLOCA(k);
    bench_uts_fill(t, kids, k);
    long s = 1;
    for (int i = 0; i < k; i++)
        s += bench_uts_seq(&kids[i]);
    return s;
}

/* The tree's size for depth caps 0..13 (as bench_uts_seq counts them), or
 * -1 past the table. */
static inline long bench_uts_expect(int maxdepth)
{
    static const long size[] = {1,     3,      19,      64,      236,      928,      3732,
                                15495, 62951, 251613, 1008884, 4038775, 16154912, 64634947};
    return maxdepth >= 0 && maxdepth < (int)(sizeof size / sizeof size[0]) ? size[maxdepth] : -1;
}

/* ---- W10 matrix multiply --------------------------------------------------- */
/*
 * C += A B for n x n matrices of doubles (n a power of two, at least
 * BENCH_MM_LEAF), by recursive 8-way divide and conquer.  Rows are stored
 * BENCH_MM_PAD doubles apart beyond n: with a row stride of exactly 1024
 * doubles (8 KiB) every row of a block falls into the same L1 sets, and
 * the kernel's speed then depends on where the operating system placed the
 * pages more than on anything a runtime does.  A and B hold small integers, so every
 * partial sum is exact and the check can compare exactly, whatever the
 * order of additions.
 */

#define BENCH_MM_LEAF 64
#define BENCH_MM_PAD 8

typedef struct bench_mm {
    double *c;
    const double *a, *b;
    int n;  /* this block is n x n */
    int ld; /* row stride of the whole matrices */
} bench_mm;

/* The serial kernel: one BENCH_MM_LEAF block, C += A B, in i-k-j order so
 * the inner loop runs along rows of B and C (its constant length lets gcc
 * vectorize it at -O2).  Plain on purpose: the same few lines a C
 * programmer would write, identical in every program.  Not inlined, and
 * aligned to 64 bytes: its inner loop then sits at the same offset from a
 * cache-line boundary in every program and every build.  Left to the
 * linker, the loop moved with unrelated code (a change in libcrew shifted
 * it by 32 bytes) and the kernel's speed moved with it, by up to 40% on
 * this machine's Zen 4: W10 measured the loop's alignment, not the
 * runtime. */
__attribute__((noinline, aligned(64), unused)) static void
bench_mm_kernel(double *__restrict__ c, const double *__restrict__ a, const double *__restrict__ b,
                int ld)
{
    size_t s = (size_t)ld;
    for (size_t i = 0; i < BENCH_MM_LEAF; i++) {
        double *ci = c + i * s;
        for (size_t k = 0; k < BENCH_MM_LEAF; k++) {
            double aik = a[i * s + k];
            const double *bk = b + k * s;
            for (size_t j = 0; j < BENCH_MM_LEAF; j++)
                ci[j] += aik * bk[j];
        }
    }
}

/* A leaf block: runs the kernel and returns 1.  Otherwise 0. */
static inline int bench_mm_leaf(const bench_mm *t)
{
    if (t->n > BENCH_MM_LEAF)
        return 0;
    bench_mm_kernel(t->c, t->a, t->b, t->ld);
    return 1;
}

/* The 4 products of phase 0 or 1 of a split: C_ij += A_ik B_kj with k =
 * phase, for the 4 quarters ij of C. */
static inline void bench_mm_phase(const bench_mm *t, int phase, bench_mm *q)
{
    size_t h = (size_t)t->n / 2;
    size_t ld = (size_t)t->ld;
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 2; j++) {
            bench_mm *s = &q[2 * i + j];
            s->c = t->c + i * h * ld + j * h;
            s->a = t->a + i * h * ld + (size_t)phase * h;
            s->b = t->b + (size_t)phase * h * ld + j * h;
            s->n = (int)h;
            s->ld = t->ld;
        }
    }
}

/* Sequential recursion: the floor. */
static inline void bench_mm_seq(const bench_mm *t)
{
    if (bench_mm_leaf(t))
        return;
    for (int phase = 0; phase < 2; phase++) {
        bench_mm q[4];
        bench_mm_phase(t, phase, q);
        for (int i = 0; i < 4; i++)
            bench_mm_seq(&q[i]);
    }
}

static inline double bench_mm_a(long i, long k)
{
    return (double)((i * 7 + k * 3) % 17 - 8);
}

static inline double bench_mm_b(long k, long j)
{
    return (double)((k * 5 + j * 11) % 13 - 6);
}

/* Allocates A, B and C, fills A and B and zeroes C (writing it: calloc's
 * untouched pages would fault inside the timed part), and returns the whole
 * product as *top; returns 0, or -1 (out of memory or a bad size). */
static inline int bench_mm_setup(int n, bench_mm *top)
{
    if (n < BENCH_MM_LEAF || (n & (n - 1)) != 0 || n > 16384)
        return -1;
    long ld = n + BENCH_MM_PAD;
    size_t len = (size_t)n * (size_t)ld;
    double *a = (double *)malloc(len * sizeof(double));
    double *b = (double *)malloc(len * sizeof(double));
    double *c = (double *)malloc(len * sizeof(double));
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return -1;
    }
    for (long i = 0; i < n; i++) {
        for (long k = 0; k < ld; k++) {
            a[i * ld + k] = k < n ? bench_mm_a(i, k) : 0.0;
            b[i * ld + k] = k < n ? bench_mm_b(i, k) : 0.0;
            c[i * ld + k] = 0.0;
        }
    }
    top->c = c;
    top->a = a;
    top->b = b;
    top->n = n;
    top->ld = (int)ld;
    return 0;
}

static inline void bench_mm_free(bench_mm *top)
{
    free(top->c);
    free((void *)top->a);
    free((void *)top->b);
}

/* The check: the sum of all of C against sum_k colsum_A(k) rowsum_B(k), and
 * one entry per row (column (37 i) mod n) against its dot product, all
 * exact.  Returns 1 if right.  *answer gets a checksum of C that depends on
 * where each value is (sum of C[i][j] ((i n + j) mod 1000 + 1), exact too). */
static inline int bench_mm_check(const bench_mm *top, double *answer)
{
    long n = top->n, ld = top->ld;
    const double *c = top->c;
    double s = 0, w = 0, want = 0;
    int ok = 1;
    for (long i = 0; i < n; i++) {
        for (long j = 0; j < n; j++) {
            s += c[i * ld + j];
            w += c[i * ld + j] * (double)((i * n + j) % 1000 + 1);
        }
    }
    for (long k = 0; k < n; k++) {
        double ca = 0, rb = 0;
        for (long i = 0; i < n; i++) {
            ca += bench_mm_a(i, k);
            rb += bench_mm_b(k, i);
        }
        want += ca * rb;
    }
    for (long i = 0; i < n; i++) {
        long j = (37 * i) % n;
        double d = 0;
        for (long k = 0; k < n; k++)
            d += bench_mm_a(i, k) * bench_mm_b(k, j);
        if (c[i * ld + j] != d)
            ok = 0;
    }
    *answer = w;
    return ok && s == want;
}

/* ---- W11 integrate ---------------------------------------------------------- */
/*
 * Adaptive trapezoidal quadrature of f(x) = (x^2 + 1) x over [0, BENCH_INT_X]
 * (the integrate benchmark of Cilk and libfork): an interval is split in two
 * halves; if the halves' trapezoids add up to the whole interval's within
 * BENCH_INT_EPS, their sum is the answer, else each half recurses.
 */

#define BENCH_INT_EPS 1.0e-9
#define BENCH_INT_X 256 /* default upper bound: 1,296,417 splits */

typedef struct bench_int {
    double x1, y1, x2, y2, area;
    double result; /* the answer of its task */
} bench_int;

static inline double bench_int_f(double x)
{
    return (x * x + 1.0) * x;
}

static inline bench_int bench_int_root(double x)
{
    bench_int r = {0.0, bench_int_f(0.0), x, bench_int_f(x), 0.0, 0.0};
    r.area = (r.y1 + r.y2) * x / 2.0;
    return r;
}

/* Splits t: if its halves agree with it, stores their sum in t->result and
 * returns 1; otherwise fills *l and *r with the halves and returns 0.  The
 * caller adds the halves' results as l.result + r.result. */
static inline int bench_int_split(bench_int *t, bench_int *l, bench_int *r)
{
    double half = (t->x2 - t->x1) / 2.0;
    double x0 = t->x1 + half;
    double y0 = bench_int_f(x0);
    double al = (t->y1 + y0) / 2.0 * half;
    double ar = (y0 + t->y2) / 2.0 * half;
    double both = al + ar;
    double d = both - t->area;
    if (d < BENCH_INT_EPS && d > -BENCH_INT_EPS) {
        t->result = both;
        return 1;
    }
    *l = (bench_int){t->x1, t->y1, x0, y0, al, 0.0};
    *r = (bench_int){x0, y0, t->x2, t->y2, ar, 0.0};
    return 0;
}

static inline double bench_int_seq(bench_int *t)
{
    bench_int l, r;
    if (bench_int_split(t, &l, &r))
        return t->result;
    double a = bench_int_seq(&l);
    double b = bench_int_seq(&r);
    return t->result = a + b;
}

/* The exact integral x^4/4 + x^2/2; the check allows a relative error of
 * 1e-9 (the quadrature's error is far smaller at the sizes run.sh uses). */
static inline int bench_int_check(double x, double result)
{
    double exact = x * x * x * x / 4.0 + x * x / 2.0;
    double d = result - exact;
    return d < 1e-9 * exact && d > -1e-9 * exact;
}

#endif
