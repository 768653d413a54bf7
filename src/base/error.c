/* error.c - crew_strerror, crew_err_name, the monotonic clock, and the
 * report of a failed CREW__ASSERT (base/assert.h). */
#include "crew/error.h"

#include <stdio.h>
#include <stdlib.h>

#include <time.h>

struct error_text {
    int code;
    const char *name;
    const char *text;
};

/* Generated from CREW_ERRNO_MAP; entry i is code -i (checked below). */
static const struct error_text errors[] = {
#define CREW__ERR_ROW(name, value, text) {(value), "CREW_" #name, (text)},
    CREW_ERRNO_MAP(CREW__ERR_ROW)
#undef CREW__ERR_ROW
};
_Static_assert(sizeof errors / sizeof errors[0] == CREW_ERROR_COUNT_,
               "CREW_ERROR_COUNT_ counts every code of CREW_ERRNO_MAP");

/* The row of code, or NULL if it is not one of ours. */
static const struct error_text *error_row(int code)
{
    if (code > 0 || code <= -CREW_ERROR_COUNT_)
        return NULL;
    const struct error_text *e = &errors[-code];
    return e->code == code ? e : NULL; /* the values are dense: always true */
}

const char *crew_strerror(int code)
{
    const struct error_text *e = error_row(code);
    return e ? e->text : "unknown crew error";
}

const char *crew_err_name(int code)
{
    const struct error_text *e = error_row(code);
    return e ? e->name : "CREW_E?";
}

int64_t crew_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#if defined(CREW_CHECKED)
#include "base/assert.h"

void crew__assert_fail(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "crew: invariant broken at %s:%d (%s): %s\n", file, line, func, cond);
    fflush(stderr);
    abort();
}
#endif
