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
struct free_block {
    struct free_block *next;        /* the next group's header in the batch */
    struct free_block *batch_next;  /* in the depot: the next batch */
    unsigned n;                           /* blocks in ptr[] */
    void *ptr[CREW__GROUP_PTRS];
};
_Static_assert(sizeof(struct free_block) <= CREW__BLOCK_SIZE, "group header fits a block");

/* An unused range [start, end) of a region, left by a thread that exited;
 * its record lives in the range's first block. */
struct remainder {
    struct remainder *next;
    char *end;
};
_Static_assert(sizeof(struct remainder) <= CREW__BLOCK_SIZE, "record fits a block");

#define CREW__REGION_BYTES ((size_t)1 << 20) /* address space mapped at a time */
#define CREW__RETURN_BATCH 256  /* freed blocks a thread keeps before returning them */

/* The depot, shared by all threads and protected by depot_lock
 * (taken once per CREW__RETURN_BATCH blocks at most, and when a thread
 * exits):
 *   batches     batches of free blocks (at most CREW__RETURN_BATCH
 *                     each), handed out one per refill, so concurrent
 *                     threads share what is there instead of one taking
 *                     it all
 *   leftovers   bump ranges of exited threads, reused before a new
 *                     region is mapped
 *   regions     every region mapped (linked through its first
 *                     block), so the memory stays reachable for tools that
 *                     scan for leaks
 * The footprint is thus the peak of live tasks, plus at most two batches
 * and one bump range per live thread: it does not grow with the number of
 * threads that ever allocated.  Memory is never returned to the system. */
static pthread_mutex_t depot_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct free_block *) batches; /* relaxed: the lock orders it */
static struct remainder *leftovers;
static void *regions;

/* Regions are mapped with mmap and carved one block at a time (a bump
 * pointer), so a page counts in the process's memory only once a block on
 * it is used: a pending task costs CREW__BLOCK_SIZE bytes and nothing more.
 *
 * The calling thread's blocks: only that thread touches them.
 *   cache   groups to allocate from (the rest of one batch)
 *   spill   groups of blocks this thread freed (spill_len blocks, spill_last
 *           the chain's last header); allocated from, last freed first,
 *           when the cache runs dry; returned to the depot as one batch
 *           once CREW__RETURN_BATCH long
 * Blocks in [bump, bump_end) have never been used. */
static CREW__TLS struct free_block *cache;
static CREW__TLS struct free_block *spill;
static CREW__TLS struct free_block *spill_last;
static CREW__TLS unsigned spill_len;
static CREW__TLS char *bump;
static CREW__TLS char *bump_end;
static CREW__TLS bool registered;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_exit(void *unused)
{
    (void)unused;
    registered = false;
    crew__block_flush();
}

/* fork(): the child must not inherit depot_lock held by a thread
 * that does not exist there. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&depot_lock);
}

static void fork_after(void)
{
    pthread_mutex_unlock(&depot_lock);
}

static void cache_key_init(void)
{
    (void)pthread_key_create(&cache_key, cache_exit);
    (void)pthread_atfork(fork_prepare, fork_after, fork_after);
}

/* Registers the thread-exit hook for this thread (only on slow paths), so
 * that what it holds goes back to the depot when it exits. */
static void cache_register(void)
{
    if (registered)
        return;
    pthread_once(&cache_once, cache_key_init);
    registered = pthread_setspecific(cache_key, (void *)1) == 0;
}

/* Gives the batch of groups first..last to the depot. */
static void depot_put(struct free_block *first, struct free_block *last)
{
    last->next = NULL;
    pthread_mutex_lock(&depot_lock);
    first->batch_next = atomic_load_explicit(&batches, memory_order_relaxed);
    atomic_store_explicit(&batches, first, memory_order_relaxed);
    pthread_mutex_unlock(&depot_lock);
}

/* Asks for line p in a state that allows writing (x86: prefetchw, a no-op
 * on processors without it), so that a later store finds it here. */
static inline void prefetch_write(const void *p)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

/* Fills the empty cache, our spill being empty too: from one batch of the
 * depot, or with a new bump range (an exited thread's, else a new
 * region).  Returns -1 when out of memory. */
static CREW__COLD int refill(void)
{
    cache_register();
    pthread_mutex_lock(&depot_lock);
    struct free_block *b = atomic_load_explicit(&batches, memory_order_relaxed);
    if (b) {
        atomic_store_explicit(&batches, b->batch_next, memory_order_relaxed);
        pthread_mutex_unlock(&depot_lock);
        cache = b;
        return 0;
    }
    if (bump != bump_end) {
        pthread_mutex_unlock(&depot_lock);
        return 0;
    }
    struct remainder *r = leftovers;
    if (r) {
        leftovers = r->next;
        pthread_mutex_unlock(&depot_lock);
        bump_end = r->end;
        bump = (char *)r; /* the record's block is free too */
        return 0;
    }
    pthread_mutex_unlock(&depot_lock);
    char *region = crew__map_region(CREW__REGION_BYTES);
    if (!region)
        return -1;
    pthread_mutex_lock(&depot_lock);
    *(void **)region = regions;
    regions = region;
    pthread_mutex_unlock(&depot_lock);
    bump = region + CREW__BLOCK_SIZE; /* the first block is the link */
    bump_end = region + CREW__REGION_BYTES;
    return 0;
}

void *crew__block_alloc(void)
{
    struct free_block *g = cache;
    if (!g && (g = spill) != NULL) {
        /* Our own freed blocks, the last freed first: a thread that frees
         * and allocates in turn (a waiter that ran the task it waited
         * for) reuses one block, still in its cache. */
        spill_len--;
        unsigned n = g->n;
        if (n) {
            g->n = n - 1;
            return g->ptr[n - 1];
        }
        spill = g->next;
        if (!spill)
            spill_last = NULL;
        return g;
    }
    if (!g) {
        /* Freed blocks before fresh ones (a peek without the lock: a stale
         * answer only costs a refill or a fresh block). */
        if (bump == bump_end || atomic_load_explicit(&batches, memory_order_relaxed)) {
            if (refill() != 0)
                return NULL;
            g = cache;
        }
        if (!g) {
            void *fresh = bump;
            bump += CREW__BLOCK_SIZE;
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
    struct free_block *next = g->next;
    cache = next;
    if (next) {
        if (next->next)
            prefetch_write(next->next);
        for (unsigned i = 0; i < next->n; i++)
            prefetch_write(next->ptr[i]);
    }
    return g;
}

/* Gives our spill, which is full, to the depot. */
static CREW__COLD void spill_return(void)
{
    cache_register();
    depot_put(spill, spill_last);
    spill = spill_last = NULL;
    spill_len = 0;
}

void crew__block_free(void *p)
{
    if (!p)
        return;
    struct free_block *b = p;
    struct free_block *g = spill;
    if (g && g->n < CREW__GROUP_PTRS) {
        g->ptr[g->n++] = b;
    } else {
        b->next = g;
        b->n = 0;
        if (!g)
            spill_last = b;
        spill = b;
    }
    if (CREW__UNLIKELY(++spill_len >= CREW__RETURN_BATCH))
        spill_return();
}

void crew__block_flush(void)
{
    if (spill) {
        depot_put(spill, spill_last);
        spill = spill_last = NULL;
        spill_len = 0;
    }
    struct free_block *first = cache;
    if (first) {
        struct free_block *last = first;
        while (last->next)
            last = last->next;
        cache = NULL;
        depot_put(first, last);
    }
    if (bump != bump_end) {
        struct remainder *r = (struct remainder *)(void *)bump;
        r->end = bump_end;
        pthread_mutex_lock(&depot_lock);
        r->next = leftovers;
        leftovers = r;
        pthread_mutex_unlock(&depot_lock);
        bump = bump_end = NULL;
    }
}

#endif
