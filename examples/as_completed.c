/*
 * as_completed.c - print results in the order they finish.
 *
 * Counts the primes in several ranges of very different sizes, one task per
 * range, and prints each count as soon as its task is done: the big ranges
 * come back long after smaller ones submitted after them.  This is Python's
 *
 *     with ThreadPoolExecutor() as ex:
 *         futs = {ex.submit(count_primes, lo, hi): (lo, hi) for lo, hi in ranges}
 *         for f in as_completed(futs):
 *             print(futs[f], f.result())
 *
 * Usage: as_completed [scale]   (scale multiplies the range sizes; default 1)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "crew.h"

/* One job: count the primes in [lo, hi). */
typedef struct range {
    uint64_t lo, hi;
    uint64_t count; /* written by the task, read after it is done */
} range;

static int is_prime(uint64_t n)
{
    if (n < 2)
        return 0;
    for (uint64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

/* The task: its argument is its range; the result pointer is the range too,
 * so the loop below can tell which one finished. */
static int count_primes(void *arg, void **result)
{
    range *r = arg;
    for (uint64_t n = r->lo; n < r->hi; n++)
        r->count += (uint64_t)is_prime(n);
    *result = r;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t scale = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    if (scale == 0)
        scale = 1;
    /* Sizes mixed, so that completion order differs from submission order. */
    uint64_t sizes[] = {400000, 1000, 200000, 5000, 100000, 20000, 50000};
    enum { N = sizeof sizes / sizeof sizes[0] };
    range ranges[N];
    uint64_t lo = 0;
    for (int i = 0; i < N; i++) {
        ranges[i] = (range){lo, lo + sizes[i] * scale, 0};
        lo = ranges[i].hi;
    }

    crew_pool *pool;
    int rc = crew_pool_create(&pool, NULL); /* one worker per CPU */
    if (rc != 0) {
        fprintf(stderr, "pool: %s\n", crew_strerror(rc));
        return 1;
    }

    /* Submit every range; keep the futures (one reference each). */
    crew_future *futs[N];
    int submitted = 0;
    for (; submitted < N; submitted++) {
        rc = crew_pool_submit(pool, count_primes, &ranges[submitted], &futs[submitted]);
        if (rc != 0) {
            fprintf(stderr, "submit: %s\n", crew_strerror(rc));
            break;
        }
    }

    /* The iterator hands back each future once, as it finishes. */
    crew_as_completed *it;
    rc = crew_as_completed_create(&it, futs, (size_t)submitted);
    if (rc != 0) {
        fprintf(stderr, "as_completed: %s\n", crew_strerror(rc));
        return 1;
    }
    uint64_t total = 0;
    int64_t start = crew_now_ns();
    crew_future *f;
    int order = 0;
    while (crew_as_completed_next(it, &f) == 0) {
        void *res;
        if (crew_future_result(f, &res, NULL) != 0)
            continue; /* cannot happen here: count_primes always returns 0 */
        range *r = res;
        total += r->count;
        printf("%d. [%9llu, %9llu): %6llu primes  (after %.1f ms)\n", ++order,
               (unsigned long long)r->lo, (unsigned long long)r->hi,
               (unsigned long long)r->count, (double)(crew_now_ns() - start) / 1e6);
    }
    crew_as_completed_destroy(it);

    /* Summary.  Every future is ours to release; the pool waits for its
     * workers to exit. */
    printf("%d ranges, [0, %llu): %llu primes in all\n", submitted,
           (unsigned long long)lo, (unsigned long long)total);
    for (int i = 0; i < submitted; i++)
        crew_future_release(futs[i]);
    crew_pool_destroy(pool);
    return 0;
}
