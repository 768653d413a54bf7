/* alloc.c - fixed-size blocks for task records (see alloc.h). */
#include "alloc.h"

#include "tls.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(CREW_SANITIZER_BUILD)

void *crew__block_alloc(void)
{
    void *b = NULL;
    if (posix_memalign(&b, CREW__BLOCK_SIZE, CREW__BLOCK_SIZE) != 0)
        return NULL;
    return b;
}

void crew__block_free(void *b)
{
    free(b);
}

void crew__block_flush(void)
{
}

#else

struct crew__free_block {
    struct crew__free_block *next;
};

#define CREW__REGION_BYTES ((size_t)1 << 20) /* address space mapped at a time */
#define CREW__CACHE_MAX 512     /* cache size that triggers a return */
#define CREW__RETURN_BATCH 256  /* blocks returned at once */

/* Global free stack: one chain of blocks, grown a batch at a time.  Pushed
 * with CAS (release: the batch's links are written before), taken whole with
 * exchange (acquire: pairs with the pushing CAS).  Taking everything at once
 * means there is no ABA problem. */
static _Atomic(struct crew__free_block *) crew__free_stack;

/* Regions are mapped with mmap and carved one block at a time (a bump
 * pointer), so a page counts in the process's memory only once a block on it
 * is used: a pending task costs CREW__BLOCK_SIZE bytes and nothing more.
 * Each region's first block links it into crew__regions, so the memory stays
 * reachable for tools that scan for leaks.  Protected by crew__region_lock. */
static void *crew__regions;
static pthread_mutex_t crew__region_lock = PTHREAD_MUTEX_INITIALIZER;

/* The calling thread's cache and region: only that thread touches them.
 * Blocks in [crew__bump, crew__bump_end) have never been used. */
static CREW__TLS struct crew__free_block *crew__cache;
static CREW__TLS unsigned crew__cache_len;
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

/* Pushes the chain first..last onto the global stack. */
static void crew__push_batch(struct crew__free_block *first, struct crew__free_block *last)
{
    struct crew__free_block *old = atomic_load_explicit(&crew__free_stack, memory_order_relaxed);
    do {
        last->next = old;
        /* release: the links above are visible to the thread that takes
         * the stack (its acquire exchange in crew__refill). */
    } while (!atomic_compare_exchange_weak_explicit(&crew__free_stack, &old, first,
                                                    memory_order_release,
                                                    memory_order_relaxed));
}

/* Fills the cache from the global stack, or gives the thread a new region.
 * Returns -1 when out of memory. */
static int crew__refill(void)
{
    /* acquire: pairs with the release CAS in crew__push_batch. */
    struct crew__free_block *all =
        atomic_exchange_explicit(&crew__free_stack, NULL, memory_order_acquire);
    if (all) {
        unsigned n = 0;
        for (struct crew__free_block *b = all; b; b = b->next)
            n++;
        crew__cache = all;
        crew__cache_len = n;
        return 0;
    }
    if (crew__bump != crew__bump_end)
        return 0; /* someone took the stack first: use our region */
    char *region = mmap(NULL, CREW__REGION_BYTES, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
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
    struct crew__free_block *b = crew__cache;
    if (b) {
        crew__cache = b->next;
        crew__cache_len--;
        return b;
    }
    /* Blocks freed by other threads first (a relaxed peek keeps the
     * exchange off the path while the stack is empty), then fresh ones. */
    if (atomic_load_explicit(&crew__free_stack, memory_order_relaxed) ||
        crew__bump == crew__bump_end) {
        pthread_once(&crew__cache_once, crew__cache_key_init);
        /* Register the exit hook for this thread (cheap, only on refill). */
        (void)pthread_setspecific(crew__cache_key, (void *)1);
        if (crew__refill() != 0)
            return NULL;
        if (crew__cache)
            return crew__block_alloc();
    }
    void *fresh = crew__bump;
    crew__bump += CREW__BLOCK_SIZE;
    return fresh;
}

void crew__block_free(void *p)
{
    if (!p)
        return;
    struct crew__free_block *b = p;
    b->next = crew__cache;
    crew__cache = b;
    if (++crew__cache_len < CREW__CACHE_MAX)
        return;
    /* Return the first CREW__RETURN_BATCH blocks as one batch. */
    struct crew__free_block *last = b;
    for (unsigned i = 1; i < CREW__RETURN_BATCH; i++)
        last = last->next;
    crew__cache = last->next;
    crew__cache_len -= CREW__RETURN_BATCH;
    crew__push_batch(b, last);
}

void crew__block_flush(void)
{
    struct crew__free_block *first = crew__cache;
    if (!first)
        return;
    struct crew__free_block *last = first;
    while (last->next)
        last = last->next;
    crew__cache = NULL;
    crew__cache_len = 0;
    crew__push_batch(first, last);
}

#endif
