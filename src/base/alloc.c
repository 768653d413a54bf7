/* alloc.c - fixed-size blocks for task records (see alloc.h). */
#include "base/alloc.h"

#include "base/compiler.h"
#include "base/tls.h"
#include "base/sys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(CREW_BLOCKS_MALLOC)

void *crew__block_alloc(void)
{
    _Static_assert(CREW__BLOCK_SIZE == CREW__CACHE_LINE, "a block is a cache line");
    return crew__alloc_lines(CREW__BLOCK_SIZE);
}

void crew__block_free(void *b)
{
    crew__free(b);
}

void crew__block_flush(void)
{
}

#else

/* Free blocks travel in groups: a header block that holds up to
 * CREW__GROUP_PTRS pointers to other free blocks, so that a thread reusing
 * blocks freed by another reads one header per 1 + CREW__GROUP_PTRS blocks
 * instead of following a link through every block (each read may be a
 * cache miss), and can start fetching the blocks it is about to hand out.
 * A batch is a chain of groups (through next); the depot chains batches
 * through their first header's batch_next. */
#define CREW__GROUP_PTRS 5
struct crew__free_block {
    struct crew__free_block *next;        /* the next group's header in the batch */
    struct crew__free_block *batch_next;  /* in the depot: the next batch */
    unsigned n;                           /* blocks in ptr[] */
    void *ptr[CREW__GROUP_PTRS];
};
_Static_assert(sizeof(struct crew__free_block) <= CREW__BLOCK_SIZE, "group header fits a block");

/* An unused range [start, end) of a region, left by a thread that exited;
 * its record lives in the range's first block. */
struct crew__remainder {
    struct crew__remainder *next;
    char *end;
};
_Static_assert(sizeof(struct crew__remainder) <= CREW__BLOCK_SIZE, "record fits a block");

#define CREW__REGION_BYTES ((size_t)1 << 20) /* address space mapped at a time */
#define CREW__RETURN_BATCH 256  /* freed blocks a thread keeps before returning them */

/* The depot, shared by all threads and protected by crew__depot_lock
 * (taken once per CREW__RETURN_BATCH blocks at most, and when a thread
 * exits):
 *   crew__batches     batches of free blocks (at most CREW__RETURN_BATCH
 *                     each), handed out one per refill, so concurrent
 *                     threads share what is there instead of one taking
 *                     it all
 *   crew__leftovers   bump ranges of exited threads, reused before a new
 *                     region is mapped
 *   crew__regions     every region mapped (linked through its first
 *                     block), so the memory stays reachable for tools that
 *                     scan for leaks
 * The footprint is thus the peak of live tasks, plus at most two batches
 * and one bump range per live thread: it does not grow with the number of
 * threads that ever allocated.  Memory is never returned to the system. */
static pthread_mutex_t crew__depot_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct crew__free_block *) crew__batches; /* relaxed: the lock orders it */
static struct crew__remainder *crew__leftovers;
static void *crew__regions;

/* Regions are mapped with mmap and carved one block at a time (a bump
 * pointer), so a page counts in the process's memory only once a block on
 * it is used: a pending task costs CREW__BLOCK_SIZE bytes and nothing more.
 *
 * The calling thread's blocks: only that thread touches them.
 *   cache   groups to allocate from (the rest of one batch)
 *   spill   groups of blocks this thread freed (spill_len blocks, spill_last
 *           the chain's last header); reused when the cache runs dry,
 *           returned to the depot as one batch once CREW__RETURN_BATCH long
 * Blocks in [crew__bump, crew__bump_end) have never been used. */
static CREW__TLS struct crew__free_block *crew__cache;
static CREW__TLS struct crew__free_block *crew__spill;
static CREW__TLS struct crew__free_block *crew__spill_last;
static CREW__TLS unsigned crew__spill_len;
static CREW__TLS char *crew__bump;
static CREW__TLS char *crew__bump_end;
static CREW__TLS bool crew__registered;
static pthread_key_t crew__cache_key;
static pthread_once_t crew__cache_once = PTHREAD_ONCE_INIT;

static void crew__cache_exit(void *unused)
{
    (void)unused;
    crew__registered = false;
    crew__block_flush();
}

/* fork(): the child must not inherit crew__depot_lock held by a thread
 * that does not exist there. */
static void crew__fork_prepare(void)
{
    pthread_mutex_lock(&crew__depot_lock);
}

static void crew__fork_after(void)
{
    pthread_mutex_unlock(&crew__depot_lock);
}

static void crew__cache_key_init(void)
{
    (void)pthread_key_create(&crew__cache_key, crew__cache_exit);
    (void)pthread_atfork(crew__fork_prepare, crew__fork_after, crew__fork_after);
}

/* Registers the thread-exit hook for this thread (only on slow paths), so
 * that what it holds goes back to the depot when it exits. */
static void crew__cache_register(void)
{
    if (crew__registered)
        return;
    pthread_once(&crew__cache_once, crew__cache_key_init);
    crew__registered = pthread_setspecific(crew__cache_key, (void *)1) == 0;
}

/* Gives the batch of groups first..last to the depot. */
static void crew__depot_put(struct crew__free_block *first, struct crew__free_block *last)
{
    last->next = NULL;
    pthread_mutex_lock(&crew__depot_lock);
    first->batch_next = atomic_load_explicit(&crew__batches, memory_order_relaxed);
    atomic_store_explicit(&crew__batches, first, memory_order_relaxed);
    pthread_mutex_unlock(&crew__depot_lock);
}

/* Asks for line p in a state that allows writing (x86: prefetchw, a no-op
 * on processors without it), so that a later store finds it here. */
static inline void crew__prefetch_write(const void *p)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

/* Fills the empty cache: from our own freed blocks, from one batch of the
 * depot, or with a new bump range (an exited thread's, else a new
 * region).  Returns -1 when out of memory. */
static CREW__COLD int crew__refill(void)
{
    if (crew__spill) {
        crew__cache = crew__spill;
        crew__spill = crew__spill_last = NULL;
        crew__spill_len = 0;
        return 0;
    }
    crew__cache_register();
    pthread_mutex_lock(&crew__depot_lock);
    struct crew__free_block *b = atomic_load_explicit(&crew__batches, memory_order_relaxed);
    if (b) {
        atomic_store_explicit(&crew__batches, b->batch_next, memory_order_relaxed);
        pthread_mutex_unlock(&crew__depot_lock);
        crew__cache = b;
        return 0;
    }
    if (crew__bump != crew__bump_end) {
        pthread_mutex_unlock(&crew__depot_lock);
        return 0;
    }
    struct crew__remainder *r = crew__leftovers;
    if (r) {
        crew__leftovers = r->next;
        pthread_mutex_unlock(&crew__depot_lock);
        crew__bump_end = r->end;
        crew__bump = (char *)r; /* the record's block is free too */
        return 0;
    }
    pthread_mutex_unlock(&crew__depot_lock);
    char *region = crew__map_region(CREW__REGION_BYTES);
    if (!region)
        return -1;
    pthread_mutex_lock(&crew__depot_lock);
    *(void **)region = crew__regions;
    crew__regions = region;
    pthread_mutex_unlock(&crew__depot_lock);
    crew__bump = region + CREW__BLOCK_SIZE; /* the first block is the link */
    crew__bump_end = region + CREW__REGION_BYTES;
    return 0;
}

void *crew__block_alloc(void)
{
    struct crew__free_block *g = crew__cache;
    if (!g) {
        /* Freed blocks before fresh ones (a peek without the lock: a stale
         * answer only costs a refill or a fresh block). */
        if (crew__bump == crew__bump_end || crew__spill ||
            atomic_load_explicit(&crew__batches, memory_order_relaxed)) {
            if (crew__refill() != 0)
                return NULL;
            g = crew__cache;
        }
        if (!g) {
            void *fresh = crew__bump;
            crew__bump += CREW__BLOCK_SIZE;
            return fresh;
        }
    }
    unsigned n = g->n;
    if (n) {
        g->n = n - 1;
        return g->ptr[n - 1];
    }
    /* The header itself goes last.  Moving to the next group: ask for its
     * blocks (we write them all soon) and for the header after it. */
    struct crew__free_block *next = g->next;
    crew__cache = next;
    if (next) {
        if (next->next)
            crew__prefetch_write(next->next);
        for (unsigned i = 0; i < next->n; i++)
            crew__prefetch_write(next->ptr[i]);
    }
    return g;
}

/* Gives our spill, which is full, to the depot. */
static CREW__COLD void crew__spill_return(void)
{
    crew__cache_register();
    crew__depot_put(crew__spill, crew__spill_last);
    crew__spill = crew__spill_last = NULL;
    crew__spill_len = 0;
}

void crew__block_free(void *p)
{
    if (!p)
        return;
    struct crew__free_block *b = p;
    struct crew__free_block *g = crew__spill;
    if (g && g->n < CREW__GROUP_PTRS) {
        g->ptr[g->n++] = b;
    } else {
        b->next = g;
        b->n = 0;
        if (!g)
            crew__spill_last = b;
        crew__spill = b;
    }
    if (CREW__UNLIKELY(++crew__spill_len >= CREW__RETURN_BATCH))
        crew__spill_return();
}

void crew__block_flush(void)
{
    if (crew__spill) {
        crew__depot_put(crew__spill, crew__spill_last);
        crew__spill = crew__spill_last = NULL;
        crew__spill_len = 0;
    }
    struct crew__free_block *first = crew__cache;
    if (first) {
        struct crew__free_block *last = first;
        while (last->next)
            last = last->next;
        crew__cache = NULL;
        crew__depot_put(first, last);
    }
    if (crew__bump != crew__bump_end) {
        struct crew__remainder *r = (struct crew__remainder *)(void *)crew__bump;
        r->end = crew__bump_end;
        pthread_mutex_lock(&crew__depot_lock);
        r->next = crew__leftovers;
        crew__leftovers = r;
        pthread_mutex_unlock(&crew__depot_lock);
        crew__bump = crew__bump_end = NULL;
    }
}

#endif
