/* sys.h - internal: crew's calls to the allocator, mmap and pthread_create.
 *
 * Every allocation, mapping, thread creation and membarrier call in crew
 * goes through these
 * wrappers, so that a test build can make the N-th of them fail (or delay a
 * new thread) and check that every public call then returns its documented
 * error with nothing changed (tests/faults/, scripts/check.sh's `faults`
 * stage).  In a normal build they are the plain calls, inlined.  Built with
 * CREW_FAULTS (cmake -DCREW_FAULTS=ON) they count and fail as armed through
 * fault.h.  free is wrapped for symmetry only: it never fails.
 */
#ifndef CREW_SRC_SYS_H
#define CREW_SRC_SYS_H

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "base/platform.h"

/* The cache-line size crew lays its shared fields out for. */
#define CREW__CACHE_LINE 64

/* bytes rounded up to a whole number of cache lines. */
static inline size_t crew__round_lines(size_t bytes)
{
    return (bytes + CREW__CACHE_LINE - 1) & ~(size_t)(CREW__CACHE_LINE - 1);
}

#if defined(CREW_FAULTS)

void *crew__malloc(size_t bytes);
void *crew__calloc(size_t n, size_t size);
/* Cache-line aligned memory of at least bytes (uninitialised), or NULL. */
void *crew__alloc_lines(size_t bytes);
/* Fresh zeroed private anonymous memory (mmap), or NULL. */
void *crew__map_region(size_t bytes);
/* pthread_create with default attributes: 0 or its error number. */
int crew__thread_create(pthread_t *t, void *(*fn)(void *), void *arg);
/* crew__platform_membarrier (platform.h): 0 or -1. */
int crew__membarrier_expedited(void);

#else

#include <sys/mman.h>

static inline void *crew__malloc(size_t bytes)
{
    return malloc(bytes);
}

static inline void *crew__calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

static inline void *crew__alloc_lines(size_t bytes)
{
    return aligned_alloc(CREW__CACHE_LINE, crew__round_lines(bytes ? bytes : 1));
}

static inline void *crew__map_region(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static inline int crew__thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}

static inline int crew__membarrier_expedited(void)
{
    return crew__platform_membarrier();
}

#endif

static inline void crew__free(void *p)
{
    free(p);
}

#endif
