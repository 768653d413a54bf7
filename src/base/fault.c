/* fault.c - counting and failing crew's system calls (see fault.h, sys.h).
 * Compiled only with CREW_FAULTS. */
#if defined(CREW_FAULTS)

#include "base/fault.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "base/sys.h"

/* Process-wide settings (relaxed: armed while no crew call runs; the
 * counter is one atomic so concurrent calls each get their own number). */
static _Atomic unsigned fault_kinds;
static _Atomic uint64_t fault_at;
static _Atomic bool fault_sticky; /* every call from fault_at on fails */
static _Atomic uint64_t fault_count;
static _Atomic bool fault_hit;
static _Atomic unsigned fault_delay_us;
static _Atomic unsigned fault_fail_us;
static _Atomic unsigned fault_pause_us[CREW__PAUSE_POINTS];

static void fault_set(unsigned kinds, uint64_t at, bool sticky)
{
    atomic_store(&fault_kinds, 0);
    atomic_store(&fault_at, at);
    atomic_store(&fault_sticky, sticky);
    atomic_store(&fault_count, 0);
    atomic_store(&fault_hit, false);
    atomic_store(&fault_kinds, kinds);
}

void crew__fault_arm(unsigned kinds, uint64_t fail_at)
{
    fault_set(kinds, fail_at, false);
}

void crew__fault_arm_from(unsigned kinds, uint64_t first)
{
    fault_set(kinds, first, true);
}

uint64_t crew__fault_calls(void)
{
    return atomic_load(&fault_count);
}

bool crew__fault_fired(void)
{
    return atomic_load(&fault_hit);
}

void crew__fault_thread_delay(unsigned us)
{
    atomic_store(&fault_delay_us, us);
}

void crew__fault_fail_delay(unsigned us)
{
    atomic_store(&fault_fail_us, us);
}

static void fault_sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

void crew__fault_pause_set(unsigned point, unsigned us)
{
    if (point < CREW__PAUSE_POINTS)
        atomic_store(&fault_pause_us[point], us);
}

void crew__fault_pause(unsigned point)
{
    unsigned us = atomic_load_explicit(&fault_pause_us[point], memory_order_relaxed);
    if (us)
        fault_sleep_us(us);
}

/* Counts a call of kind; true if this one must fail. */
static bool fault_now(unsigned kind)
{
    if (!(atomic_load_explicit(&fault_kinds, memory_order_relaxed) & kind))
        return false;
    uint64_t n = atomic_fetch_add_explicit(&fault_count, 1, memory_order_relaxed) + 1;
    uint64_t at = atomic_load_explicit(&fault_at, memory_order_relaxed);
    if (at == 0 || n < at || (n > at && !atomic_load_explicit(&fault_sticky, memory_order_relaxed)))
        return false;
    atomic_store(&fault_hit, true);
    unsigned us = atomic_load_explicit(&fault_fail_us, memory_order_relaxed);
    if (us)
        fault_sleep_us(us);
    return true;
}

void *crew__malloc(size_t bytes)
{
    return fault_now(CREW__FAULT_ALLOC) ? NULL : malloc(bytes);
}

void *crew__calloc(size_t n, size_t size)
{
    return fault_now(CREW__FAULT_ALLOC) ? NULL : calloc(n, size);
}

void *crew__alloc_lines(size_t bytes)
{
    if (fault_now(CREW__FAULT_ALLOC))
        return NULL;
    return aligned_alloc(CREW__CACHE_LINE, crew__round_lines(bytes ? bytes : 1));
}

void *crew__map_region(size_t bytes)
{
    if (fault_now(CREW__FAULT_MAP))
        return NULL;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int crew__membarrier_expedited(void)
{
    if (fault_now(CREW__FAULT_FENCE))
        return -1;
    return crew__platform_membarrier();
}

int crew__thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (fault_now(CREW__FAULT_THREAD))
        return EAGAIN;
    int rc = pthread_create(t, NULL, fn, arg);
    unsigned us = atomic_load_explicit(&fault_delay_us, memory_order_relaxed);
    if (rc == 0 && us)
        fault_sleep_us(us);
    return rc;
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int crew__fault_unused;
#endif
