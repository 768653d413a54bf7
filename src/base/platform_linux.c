/* platform_linux.c - platform.h on Linux: futex, membarrier, affinity. */
#include "base/platform.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"

const bool crew__futex_signal_safe = true;

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

int crew__platform_membarrier(void)
{
#if defined(SYS_membarrier)
    return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : -1;
#else
    return -1;
#endif
}

bool crew__platform_membarrier_init(void)
{
#if defined(SYS_membarrier)
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
        !(cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
        return false;
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
        return false;
    /* Check once that the command works (a seccomp filter may allow the
     * query and registration but not the command itself). */
    return crew__platform_membarrier() == 0;
#else
    return false;
#endif
}

/* Without it, a worker woken by a submitting thread often starts on that
 * thread's CPU and waits, with another CPU idle, until the kernel's load
 * balancing moves it (README.md, "Lazy start and retirement"). */
void crew__thread_place(unsigned index)
{
#if defined(CPU_SETSIZE)
    cpu_set_t allowed, one;
    if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0)
        return;
    int n = CPU_COUNT(&allowed);
    if (n < 2)
        return;
    int k = (int)(index % (unsigned)n);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &allowed) && k-- == 0) {
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0)
                (void)pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
            return;
        }
    }
#else
    (void)index;
#endif
}

void crew__thread_name(const char *name)
{
    (void)pthread_setname_np(pthread_self(), name);
}
