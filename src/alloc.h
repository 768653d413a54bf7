/* alloc.h - internal: fixed-size blocks for task records.
 *
 * Every future and group job is one CREW__BLOCK_SIZE block.  Blocks come from
 * a per-thread cache (no atomic operation on the fast path); a thread whose
 * cache is empty takes the whole global free stack with one atomic exchange,
 * or carves blocks from a fresh region; a thread whose cache grows past a limit returns a
 * batch to the global stack with one CAS.  A block freed on another thread
 * than the one that allocated it (the usual case: a submitter allocates, a
 * worker frees) simply joins the freeing thread's cache.
 *
 * Memory is never returned to the system: the footprint is the peak number of
 * live tasks.  Sanitizer builds (CREW_SANITIZER_BUILD) use malloc and free
 * directly so ASan sees every use-after-free and leak.
 *
 * All functions may be called from any thread; none is async-signal-safe.
 */
#ifndef CREW_SRC_ALLOC_H
#define CREW_SRC_ALLOC_H

#define CREW__BLOCK_SIZE 64

/* A CREW__BLOCK_SIZE block aligned to 64, or NULL when out of memory. */
void *crew__block_alloc(void);

/* Returns a block from crew__block_alloc.  NULL is ignored. */
void crew__block_free(void *b);

/* Hands the calling thread's cache back to the global stack (a worker does
 * this before it exits). */
void crew__block_flush(void);

#endif
