/* alloc.h - internal: fixed-size blocks for task records.
 *
 * Every future and group job is one CREW__BLOCK_SIZE block.  Blocks come from
 * a per-thread cache (no atomic operation on the fast path).  Blocks a
 * thread frees go to its own spill list, which it reuses when its cache is
 * empty and returns to a global free stack as one batch (one CAS) once 256
 * long; a thread with nothing left takes the whole global stack with one
 * atomic exchange, or carves blocks from a fresh region.  So a block freed
 * on another thread than the one that allocated it (the usual case: a
 * submitter allocates, a worker frees) travels back in batches.
 *
 * Free blocks are kept in groups of five: a header block holds pointers to
 * four others.  A thread reusing blocks freed elsewhere (each one a likely
 * cache miss) then reads one header per five blocks instead of a link in
 * every block, and asks for the next group's lines ahead of use (prefetch
 * for writing), so that filling in a task does not wait for them.
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
