/* futex.c - Linux futex system calls behind crew__futex_*. */
#include "base/futex.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"

int crew__futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t deadline_ns)
{
    struct timespec ts, *tsp = NULL;
    if (deadline_ns != CREW__FOREVER) {
        if (deadline_ns <= crew_now_ns())
            return CREW_ETIMEDOUT;
        ts.tv_sec = (time_t)(deadline_ns / 1000000000);
        ts.tv_nsec = (long)(deadline_ns % 1000000000);
        tsp = &ts;
    }
    /* FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC. */
    int saved = errno;
    long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                     expected, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    int timed_out = r == -1 && errno == ETIMEDOUT;
    errno = saved;
    return timed_out ? CREW_ETIMEDOUT : 0;
}

void crew__futex_wake(_Atomic uint32_t *addr, int count)
{
    int saved = errno; /* async-signal-safe callers must not see errno change */
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
    errno = saved;
}

void crew__futex_wake_all(_Atomic uint32_t *addr)
{
    crew__futex_wake(addr, INT_MAX);
}
