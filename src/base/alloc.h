/* alloc.h - internal: fixed-size blocks for task records.
 *
 * Every future and group job is one CREW__BLOCK_SIZE block.  Blocks come from
 * a per-thread cache (no atomic operation on the fast path).  Blocks a
 * thread frees go to its own spill list, which it reuses when its cache is
 * empty and gives to a shared depot as one batch once 256 long; a thread
 * with nothing left takes one batch from the depot, or carves blocks from a
 * bump range: the one an exited thread left, or a fresh region.  So a block
 * freed on another thread than the one that allocated it (the usual case: a
 * submitter allocates, a worker frees) travels back in batches, and the
 * depot's lock is taken once per batch.
 *
 * Free blocks are kept in groups of six: a header block holds pointers to
 * five others.  A thread reusing blocks freed elsewhere (each one a likely
 * cache miss) then reads one header per six blocks instead of a link in
 * every block, and asks for the next group's lines ahead of use (prefetch
 * for writing), so that filling in a task does not wait for them.
 *
 * Footprint: the peak number of live tasks, plus at most two batches and
 * one partly used region per live thread.  A thread that exits gives back
 * everything it holds (its cache, its spill, the rest of its region), so
 * the footprint does not grow with the number of threads that ever
 * submitted.  Memory is never returned to the system.
 *
 * ASan builds (CREW_BLOCKS_MALLOC) use malloc and free directly so ASan sees
 * every use-after-free and leak; the TSan build runs this allocator.
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
