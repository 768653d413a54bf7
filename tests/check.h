/* check.h - the tests' assertion macros.
 *
 * CHECK(cond) and CHECK_EQ(a, b) report file:line and the values on failure
 * and make the program exit 1 at the end of main (via check_exit()), so one
 * run shows every failed check.  CHECK_OK(call) checks a crew call returned
 * 0 and prints the error name otherwise.  Keep tests deterministic: they check
 * results, orderings and error codes, never how long something took (beyond
 * "a timed wait did not return before its timeout").
 */
#ifndef CREW_TESTS_CHECK_H
#define CREW_TESTS_CHECK_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "crew.h"

static atomic_int check_failures_;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            atomic_fetch_add(&check_failures_, 1);                                    \
        }                                                                             \
    } while (0)

#define CHECK_EQ(a, b)                                                                \
    do {                                                                              \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);               \
        if (check_a_ != check_b_) {                                                   \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n",      \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);                  \
            atomic_fetch_add(&check_failures_, 1);                                    \
        }                                                                             \
    } while (0)

/* Checks that a crew call returned the expected code, naming both on failure. */
#define CHECK_RC(call, want)                                                          \
    do {                                                                              \
        int check_rc_ = (call), check_want_ = (want);                                 \
        if (check_rc_ != check_want_) {                                               \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__,         \
                    __LINE__, #call, crew_err_name(check_rc_),                        \
                    crew_err_name(check_want_));                                      \
            atomic_fetch_add(&check_failures_, 1);                                    \
        }                                                                             \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, CREW_OK)

/* Returns main's exit status and prints a one-line summary. */
static inline int check_exit(const char *name)
{
    int n = atomic_load(&check_failures_);
    if (n)
        fprintf(stderr, "%s: %d check(s) failed\n", name, n);
    else
        printf("%s: ok\n", name);
    return n ? 1 : 0;
}

#endif
