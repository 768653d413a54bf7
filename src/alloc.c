/* alloc.c - fixed-size blocks for task records (see alloc.h). */
#include "alloc.h"

#include "tls.h"
#include "sys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(CREW_SANITIZER_BUILD)

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
 * The first header of a batch on the global stack also says where the
 * batch ends and where the next batch starts, so that taking the stack
 * walks only batch heads. */
#define CREW__GROUP_PTRS 4
struct crew__free_block {
    struct crew__free_block *next;        /* the next group's header */
    struct crew__free_block *batch_next;  /* batch head: the next batch */
    struct crew__free_block *batch_last;  /* batch head: this batch's last header */
    unsigned n;                           /* blocks in ptr[] */
    void *ptr[CREW__GROUP_PTRS];
};
_Static_assert(sizeof(struct crew__free_block) <= CREW__BLOCK_SIZE, "group header fits a block");

#define CREW__REGION_BYTES ((size_t)1 << 20) /* address space mapped at a time */
#define CREW__RETURN_BATCH 256  /* freed blocks a thread keeps before returning them */

/* Global free stack: a stack of batches, pushed with CAS (release: the
 * batch's links are written before), taken whole with exchange (acquire:
 * pairs with the pushing CAS).  Taking everything at once means there is no
 * ABA problem. */
static _Atomic(struct crew__free_block *) crew__free_stack;

/* Regions are mapped with mmap and carved one block at a time (a bump
 * pointer), so a page counts in the process's memory only once a block on it
 * is used: a pending task costs CREW__BLOCK_SIZE bytes and nothing more.
 * Each region's first block links it into crew__regions, so the memory stays
 * reachable for tools that scan for leaks.  Protected by crew__region_lock. */
static void *crew__regions;
static pthread_mutex_t crew__region_lock = PTHREAD_MUTEX_INITIALIZER;

/* The calling thread's blocks: only that thread touches them.
 *   cache   groups to allocate from (a chain of headers)
 *   spill   groups of blocks this thread freed (spill_len blocks, spill_last
 *           the chain's last header); reused when the cache runs dry,
 *           returned to the global stack as one batch once
 *           CREW__RETURN_BATCH long
 * Blocks in [crew__bump, crew__bump_end) have never been used. */
static CREW__TLS struct crew__free_block *crew__cache;
static CREW__TLS struct crew__free_block *crew__spill;
static CREW__TLS struct crew__free_block *crew__spill_last;
static CREW__TLS unsigned crew__spill_len;
static CREW__TLS char *crew__bump;
static CREW__TLS char *crew__bump_end;
static pthread_key_t crew__cache_key;
static pthread_once_t crew__cache_once = PTHREAD_ONCE_INIT;

static void crew__cache_exit(void *unused)
{
    (void)unused;
    crew__block_flush();
}

/* fork(): the child must not inherit crew__region_lock held by a thread
 * that does not exist there. */
static void crew__fork_prepare(void)
{
    pthread_mutex_lock(&crew__region_lock);
}

static void crew__fork_after(void)
{
    pthread_mutex_unlock(&crew__region_lock);
}

static void crew__cache_key_init(void)
{
    (void)pthread_key_create(&crew__cache_key, crew__cache_exit);
    (void)pthread_atfork(crew__fork_prepare, crew__fork_after, crew__fork_after);
}

/* Registers the thread-exit hook for this thread (only on slow paths). */
static void crew__cache_register(void)
{
    pthread_once(&crew__cache_once, crew__cache_key_init);
    (void)pthread_setspecific(crew__cache_key, (void *)1);
}

/* Pushes the chain of groups first..last onto the global stack. */
static void crew__push_batch(struct crew__free_block *first, struct crew__free_block *last)
{
    first->batch_last = last;
    last->next = NULL;
    struct crew__free_block *old = atomic_load_explicit(&crew__free_stack, memory_order_relaxed);
    do {
        first->batch_next = old;
        /* release: the links above are visible to the thread that takes
         * the stack (its acquire exchange in crew__refill). */
    } while (!atomic_compare_exchange_weak_explicit(&crew__free_stack, &old, first,
                                                    memory_order_release,
                                                    memory_order_relaxed));
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

/* Fills the empty cache: from our own freed blocks, from the global stack
 * (every batch, chained through their ends), or with a new region for the
 * bump pointer.  Returns -1 when out of memory. */
static int crew__refill(void)
{
    if (crew__spill) {
        crew__cache = crew__spill;
        crew__spill = crew__spill_last = NULL;
        crew__spill_len = 0;
        return 0;
    }
    if (atomic_load_explicit(&crew__free_stack, memory_order_relaxed)) {
        /* acquire: pairs with the release CAS in crew__push_batch. */
        struct crew__free_block *all =
            atomic_exchange_explicit(&crew__free_stack, NULL, memory_order_acquire);
        if (all) {
            crew__cache_register();
            for (struct crew__free_block *b = all; b->batch_next; b = b->batch_next)
                b->batch_last->next = b->batch_next;
            crew__cache = all;
            return 0;
        }
    }
    if (crew__bump != crew__bump_end)
        return 0;
    crew__cache_register();
    char *region = crew__map_region(CREW__REGION_BYTES);
    if (!region)
        return -1;
    pthread_mutex_lock(&crew__region_lock);
    *(void **)region = crew__regions;
    crew__regions = region;
    pthread_mutex_unlock(&crew__region_lock);
    crew__bump = region + CREW__BLOCK_SIZE; /* the first block is the link */
    crew__bump_end = region + CREW__REGION_BYTES;
    return 0;
}

void *crew__block_alloc(void)
{
    struct crew__free_block *g = crew__cache;
    if (!g) {
        if (crew__bump == crew__bump_end || crew__spill ||
            atomic_load_explicit(&crew__free_stack, memory_order_relaxed)) {
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
    /* The header itself goes last.  Moving to the next group, whose header
     * was fetched when this one started: ask for its blocks (we write them
     * all soon) and for the header after it. */
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
    if (++crew__spill_len < CREW__RETURN_BATCH)
        return;
    crew__cache_register();
    crew__push_batch(crew__spill, crew__spill_last);
    crew__spill = crew__spill_last = NULL;
    crew__spill_len = 0;
}

void crew__block_flush(void)
{
    if (crew__spill) {
        crew__push_batch(crew__spill, crew__spill_last);
        crew__spill = crew__spill_last = NULL;
        crew__spill_len = 0;
    }
    struct crew__free_block *first = crew__cache;
    if (!first)
        return;
    struct crew__free_block *last = first;
    while (last->next)
        last = last->next;
    crew__cache = NULL;
    crew__push_batch(first, last);
}

#endif
