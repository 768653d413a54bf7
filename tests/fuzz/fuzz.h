/* fuzz.h - what the fuzz targets share: the libFuzzer entry point, the input
 * reader, the failure macros and the trace switch.
 *
 * A target is one function, LLVMFuzzerTestOneInput, compiled two ways from
 * the same source: with libFuzzer's main (CMake option CREW_FUZZ, clang,
 * -fsanitize=fuzzer) to search for failing inputs, and with replay.c's main
 * (every build, gcc or clang, plain or sanitized) to run the committed seed
 * and regression inputs under ctest.
 *
 * An input is a program: a stream of bytes read by the target one at a time,
 * with zeros once the input is used up (so every byte string is a valid
 * program).  A check that fails prints what it expected, the operation
 * number and the file:line, and aborts: libFuzzer keeps the input as a crash
 * and the replay main reports it.  FUZZ_TRACE=1 in the environment prints
 * each operation as it is executed, which turns a failing input into a
 * readable program (see tests/fuzz/README.md).  FUZZ_SKIP=name,name leaves
 * out the operations a target names so (see fz_skip), to look past a known
 * bug while it is being fixed; the test command never sets it.
 */
#ifndef CREW_TESTS_FUZZ_H
#define CREW_TESTS_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crew.h"

/* The entry point both mains call: 0 when the program ran and every check
 * held (a failed check aborts). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- reading the program ---------------------------------------------- */

typedef struct fz_in {
    const uint8_t *p;
    size_t n, i;
} fz_in;

/* The next byte, or 0 past the end. */
static inline unsigned fz_byte(fz_in *in)
{
    return in->i < in->n ? in->p[in->i++] : 0;
}

/* A number in [0, n) from the next byte (n <= 256). */
static inline unsigned fz_pick(fz_in *in, unsigned n)
{
    return fz_byte(in) % n;
}

static inline bool fz_more(const fz_in *in)
{
    return in->i < in->n;
}

/* ---- tracing and failing ---------------------------------------------- */

/* Set once per process from FUZZ_TRACE and FUZZ_SKIP (read in the entry
 * points). */
static bool fz_tracing;
static const char *fz_skip_list;
/* The operation being executed, for failure messages (set by the targets;
 * atomic because checks also run in pool workers and callbacks). */
static _Atomic long fz_opno;

static inline void fz_trace_init(void)
{
    static bool done;
    if (!done) {
        const char *t = getenv("FUZZ_TRACE");
        fz_tracing = t && *t && *t != '0';
        fz_skip_list = getenv("FUZZ_SKIP");
        done = true;
    }
}

/* Whether FUZZ_SKIP names `name` (a comma-separated list). */
static inline bool fz_skip(const char *name)
{
    size_t len = strlen(name);
    for (const char *p = fz_skip_list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, len) == 0)
            return true;
        p = end ? end + 1 : p + n;
    }
    return false;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static inline void fz_trace(const char *fmt, ...)
{
    if (!fz_tracing)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  [%ld] ", (long)fz_opno);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static inline void fz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: FUZZ CHECK FAILED at operation %ld: %s\n", file, line,
            (long)fz_opno, what);
    fflush(stderr);
    abort();
}

#define FZ_CHECK(cond)                                                               \
    do {                                                                             \
        if (!(cond))                                                                 \
            fz_fail(__FILE__, __LINE__, #cond);                                      \
    } while (0)

/* A crew call's code against the expected one, both named on failure. */
#define FZ_RC(rc, want)                                                              \
    do {                                                                             \
        int fz_rc_ = (rc), fz_want_ = (want);                                        \
        if (fz_rc_ != fz_want_) {                                                    \
            char fz_msg_[160];                                                       \
            snprintf(fz_msg_, sizeof fz_msg_, "%s returned %s, expected %s", #rc,    \
                     crew_err_name(fz_rc_), crew_err_name(fz_want_));                \
            fz_fail(__FILE__, __LINE__, fz_msg_);                                    \
        }                                                                            \
    } while (0)

/* Two integers that must be equal, both printed on failure. */
#define FZ_EQ(a, b)                                                                  \
    do {                                                                             \
        long long fz_a_ = (long long)(a), fz_b_ = (long long)(b);                    \
        if (fz_a_ != fz_b_) {                                                        \
            char fz_msg_[200];                                                       \
            snprintf(fz_msg_, sizeof fz_msg_, "%s == %s (%lld != %lld)", #a, #b,     \
                     fz_a_, fz_b_);                                                  \
            fz_fail(__FILE__, __LINE__, fz_msg_);                                    \
        }                                                                            \
    } while (0)

/* Growth for the targets' own arrays; running out of memory in the harness
 * is not a finding, so it stops the process with a distinct message. */
static inline void *fz_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "fuzz harness: out of memory\n");
        abort();
    }
    return p;
}

#endif
