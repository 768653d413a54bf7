/* test_parallel_for.c - crew_parallel_for (crew/group.h): the pieces cover
 * [begin, end) exactly once, each at most grain long, for many ranges and
 * grains (empty, grain 0, grain larger than the range, huge grain, ranges at
 * the top of size_t); a body error stops pieces not yet started and is
 * reported; nested use from tasks and bodies; bad arguments. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "support.h"

enum { SPAN = 20000 };

/* Counts, for every index of [base, base + SPAN), how often a piece covered
 * it, and checks each piece against the call's range and grain. */
typedef struct cover {
    size_t base, begin, end, grain;
    atomic_int hits[SPAN];
    atomic_int pieces;
    atomic_int bad_pieces;
} cover;

static int body_cover(size_t lo, size_t hi, void *ctx)
{
    cover *c = ctx;
    atomic_fetch_add(&c->pieces, 1);
    if (!(lo < hi && lo >= c->begin && hi <= c->end && (c->grain == 0 || hi - lo <= c->grain))) {
        atomic_fetch_add(&c->bad_pieces, 1);
        return 0;
    }
    for (size_t i = lo; i < hi; i++)
        atomic_fetch_add(&c->hits[i - c->base], 1);
    return 0;
}

static cover cov;

static void check_cover(crew_pool *p, size_t base, size_t begin_off, size_t end_off, size_t grain)
{
    memset(&cov, 0, sizeof cov);
    cov.base = base;
    cov.begin = base + begin_off;
    cov.end = base + end_off;
    cov.grain = grain;
    int err = -1;
    int rc = crew_parallel_for(p, cov.begin, cov.end, grain, body_cover, &cov, &err);
    CHECK_OK(rc);
    CHECK_EQ(atomic_load(&cov.bad_pieces), 0);
    int wrong = 0;
    for (size_t i = 0; i < SPAN; i++) {
        int want = i >= begin_off && i < end_off;
        wrong += atomic_load(&cov.hits[i]) != want;
    }
    CHECK_EQ(wrong, 0);
    size_t n = end_off - begin_off;
    if (n == 0)
        CHECK_EQ(atomic_load(&cov.pieces), 0);
    else if (grain != 0)
        CHECK(atomic_load(&cov.pieces) >= (int)((n + grain - 1) / grain));
    if (rc != 0 || wrong || atomic_load(&cov.bad_pieces))
        fprintf(stderr, "  range [%zu+%zu, %zu+%zu) grain %zu\n", base, begin_off, base,
                end_off, grain);
}

static void test_coverage(void)
{
    static const size_t ranges[][2] = {
        {0, 0}, {5, 5}, {0, 1}, {3, 4}, {0, 2}, {0, 7}, {0, 1000}, {17, 9999}, {0, SPAN},
    };
    static const size_t grains[] = {0, 1, 2, 3, 7, 64, 999, 1000, 5000, SIZE_MAX / 2, SIZE_MAX};
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        crew_pool *p = make_pool(workers);
        for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
            for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
                if (grains[g] == 1 && ranges[r][1] - ranges[r][0] > 1000 && workers != 2)
                    continue; /* keep the run short */
                check_cover(p, 0, ranges[r][0], ranges[r][1], grains[g]);
            }
        /* Ranges at the top of size_t: splitting must not overflow. */
        size_t top = SIZE_MAX - SPAN;
        check_cover(p, top, 0, SPAN, 0);
        check_cover(p, top, 0, SPAN, 7);
        check_cover(p, top, 100, SPAN, SIZE_MAX);
        check_cover(p, top, SPAN - 1, SPAN, 1);
        CHECK_OK(crew_pool_destroy(p));
    }
}

/* end < begin is an empty range or a bad argument; either way no call. */
static void test_reversed_range(void)
{
    crew_pool *p = make_pool(2);
    memset(&cov, 0, sizeof cov);
    cov.begin = 0;
    cov.end = 100;
    int rc = crew_parallel_for(p, 10, 3, 1, body_cover, &cov, NULL);
    CHECK(rc == 0 || rc == CREW_EINVAL);
    CHECK_EQ(atomic_load(&cov.pieces), 0);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- errors ------------------------------------------------------------- */

typedef struct failing {
    atomic_int calls;
    atomic_int failed;
} failing;

/* The first piece to run fails with 9; every other piece succeeds. */
static int body_first_fails(size_t lo, size_t hi, void *ctx)
{
    failing *f = ctx;
    (void)lo;
    (void)hi;
    atomic_fetch_add(&f->calls, 1);
    int expected = 0;
    if (atomic_compare_exchange_strong(&f->failed, &expected, 1))
        return 9;
    return 0;
}

static int body_fail_at(size_t lo, size_t hi, void *ctx)
{
    (void)ctx;
    return lo <= 777 && 777 < hi ? 5 : 0;
}

static void test_errors(void)
{
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = make_pool(workers);
        const size_t n = 100000;
        failing f = {0, 0};
        int err = 0;
        CHECK_RC(crew_parallel_for(p, 0, n, 1, body_first_fails, &f, &err), CREW_ETASK);
        CHECK_EQ(err, 9);
        CHECK(atomic_load(&f.calls) < (int)n); /* the rest were skipped */
        err = 0;
        CHECK_RC(crew_parallel_for(p, 0, 5000, 10, body_fail_at, NULL, &err), CREW_ETASK);
        CHECK_EQ(err, 5);
        CHECK_RC(crew_parallel_for(p, 0, 5000, 0, body_fail_at, NULL, NULL), CREW_ETASK);
        /* An empty range never calls the body, so it cannot fail. */
        CHECK_OK(crew_parallel_for(p, 777, 777, 1, body_fail_at, NULL, &err));
        CHECK_OK(crew_pool_destroy(p));
    }
}

static void test_bad_args(void)
{
    crew_pool *p = make_pool(1);
    int err = 0;
    CHECK_RC(crew_parallel_for(p, 0, 10, 1, NULL, NULL, &err), CREW_EINVAL);
    CHECK_RC(crew_parallel_for(NULL, 0, 10, 1, body_cover, &cov, &err), CREW_EINVAL);
    CHECK_OK(crew_pool_destroy(p));
}

/* ---- nested ------------------------------------------------------------- */

typedef struct matrix {
    crew_pool *p;
    atomic_int cells[64][64];
} matrix;

typedef struct row_ctx {
    matrix *m;
    size_t row;
} row_ctx;

static int body_cell(size_t lo, size_t hi, void *ctx)
{
    row_ctx *r = ctx;
    for (size_t j = lo; j < hi; j++)
        atomic_fetch_add(&r->m->cells[r->row][j], 1);
    return 0;
}

static int body_rows(size_t lo, size_t hi, void *ctx)
{
    matrix *m = ctx;
    for (size_t i = lo; i < hi; i++) {
        row_ctx r = {m, i};
        int rc = crew_parallel_for(m->p, 0, 64, 5, body_cell, &r, NULL);
        if (rc != 0)
            return 1;
    }
    return 0;
}

static int task_rows(void *arg, void **result)
{
    (void)result;
    return crew_parallel_for(((matrix *)arg)->p, 0, 64, 3, body_rows, arg, NULL);
}

static void test_nested(void)
{
    static matrix m;
    for (unsigned workers = 1; workers <= 2; workers++) {
        memset(&m, 0, sizeof m);
        m.p = make_pool(workers);
        crew_future *f;
        CHECK_OK(crew_pool_submit(m.p, task_rows, &m, &f));
        CHECK_OK(crew_future_result(f, NULL, NULL));
        crew_future_release(f);
        CHECK_OK(crew_parallel_for(m.p, 0, 64, 0, body_rows, &m, NULL)); /* from outside */
        int wrong = 0;
        for (int i = 0; i < 64; i++)
            for (int j = 0; j < 64; j++)
                wrong += atomic_load(&m.cells[i][j]) != 2;
        CHECK_EQ(wrong, 0);
        CHECK_OK(crew_pool_destroy(m.p));
    }
}

/* grain 0 over a range whose length is near SIZE_MAX (issue 11, bug 7):
 * about 8 pieces per worker, not one call per index.  The body counts its
 * calls and fails from the 10,000th on, so a regression ends instead of
 * running 2^64 times. */
static atomic_long huge_calls;
static atomic_ulong huge_covered;

static int body_huge(size_t lo, size_t hi, void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&huge_covered, (unsigned long)(hi - lo));
    return atomic_fetch_add(&huge_calls, 1) >= 10000 ? 1 : 0;
}

static void test_huge_range(void)
{
    crew_pool *p = make_pool(2);
    static const size_t begins[] = {0, 1, 16};
    for (size_t k = 0; k < sizeof begins / sizeof begins[0]; k++) {
        atomic_store(&huge_calls, 0);
        atomic_store(&huge_covered, 0);
        CHECK_OK(crew_parallel_for(p, begins[k], SIZE_MAX, 0, body_huge, NULL, NULL));
        CHECK(atomic_load(&huge_calls) <= 2 * 8 * 2);
        CHECK(atomic_load(&huge_covered) == SIZE_MAX - begins[k]); /* every index once */
    }
    CHECK_OK(crew_pool_destroy(p));
}

int main(void)
{
    test_huge_range();
    test_coverage();
    test_reversed_range();
    test_errors();
    test_bad_args();
    test_nested();
    return check_exit("test_parallel_for");
}
