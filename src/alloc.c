/* alloc.c - fixed-size blocks for task records (see alloc.h). */
#include "alloc.h"

#include "tls.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

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

#define CREW__SLAB_BLOCKS 256   /* blocks carved per slab (16 KiB) */
#define CREW__CACHE_MAX 512     /* cache size that triggers a return */
#define CREW__RETURN_BATCH 256  /* blocks returned at once */

/* Global free stack: one chain of blocks, grown a batch at a time.  Pushed with CAS (release: the batch's links
 * are written before), taken whole with exchange (acquire: pairs with the
 * pushing CAS).  Taking everything at once means there is no ABA problem. */
static _Atomic(struct crew__free_block *) crew__free_stack;

/* Every slab ever carved, so the memory stays reachable (no leak reports
 * from tools that scan for unreachable memory).  Protected by
 * crew__slab_lock. */
static void **crew__slabs;
static pthread_mutex_t crew__slab_lock = PTHREAD_MUTEX_INITIALIZER;

/* The calling thread's cache: only that thread touches it. */
static CREW__TLS struct crew__free_block *crew__cache;
static CREW__TLS unsigned crew__cache_len;
static pthread_key_t crew__cache_key;
static pthread_once_t crew__cache_once = PTHREAD_ONCE_INIT;

static void crew__cache_exit(void *unused)
{
    (void)unused;
    crew__block_flush();
}

static void crew__cache_key_init(void)
{
    (void)pthread_key_create(&crew__cache_key, crew__cache_exit);
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
    char *slab = NULL;
    if (posix_memalign((void **)&slab, CREW__BLOCK_SIZE,
                       (size_t)CREW__SLAB_BLOCKS * CREW__BLOCK_SIZE) != 0)
        return -1;
    /* The slab list's first word links slabs; keep it in the slab's first
     * block, which is therefore never handed out. */
    pthread_mutex_lock(&crew__slab_lock);
    *(void **)slab = crew__slabs;
    crew__slabs = (void **)slab;
    pthread_mutex_unlock(&crew__slab_lock);
    struct crew__free_block *head = crew__cache;
    for (unsigned i = CREW__SLAB_BLOCKS - 1; i >= 1; i--) {
        struct crew__free_block *b = (struct crew__free_block *)(slab + (size_t)i * CREW__BLOCK_SIZE);
        b->next = head;
        head = b;
    }
    crew__cache = head;
    crew__cache_len += CREW__SLAB_BLOCKS - 1;
    return 0;
}

void *crew__block_alloc(void)
{
    if (!crew__cache) {
        pthread_once(&crew__cache_once, crew__cache_key_init);
        /* Register the exit hook for this thread (cheap, only on refill). */
        (void)pthread_setspecific(crew__cache_key, (void *)1);
        if (crew__refill() != 0)
            return NULL;
    }
    struct crew__free_block *b = crew__cache;
    crew__cache = b->next;
    crew__cache_len--;
    return b;
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
