/* fence.h - internal: asymmetric fences for the scheduler's Dekker patterns.
 *
 * The scheduler has store-then-load handshakes between a frequent side (a
 * thread publishing a task, then reading the worker counts) and a rare side
 * (a worker going to sleep: it registers, then looks for tasks).  Classic
 * Dekker needs a full fence on both sides.  Here the frequent side issues
 * only crew__fence_light() -- a compiler barrier -- and the rare side issues
 * crew__fence_heavy(), which makes every running thread of the process
 * execute a full memory barrier (Linux membarrier(2),
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED) before it returns.
 *
 * Why that suffices (store A then load B on the light side; store C, heavy
 * fence, load D on the heavy side): the heavy fence puts a full barrier X
 * into the light thread's instruction stream.  If B executes after X, it
 * sees C (C was globally visible before the heavy fence began).  Otherwise
 * A, which precedes B in program order, was issued before X and X drains it,
 * so A is visible when the heavy fence returns and D sees it.  Either the
 * light side sees C or the heavy side sees A, never neither.
 *
 * Where membarrier is missing (old kernels, seccomp filters, other systems),
 * crew__fence_init() records it and both functions become a seq_cst fence:
 * the plain symmetric Dekker pattern.  The environment variable
 * CREW_NO_MEMBARRIER=1 forces that fallback (the test command runs its
 * clang build so).  Should membarrier fail later, after it worked (the
 * kernel documents no such failure), crew__fence_heavy switches to the
 * symmetric pattern for good and makes up for the failed fence with a
 * barrier on every running thread taken another way (an mprotect that
 * shoots down TLB entries with an interrupt on each CPU, on x86); it never
 * aborts the process.
 *
 * crew__fence_init() must run before any thread relies on the light form;
 * crew_pool_create calls it (pthread_once), so it has run before any pool
 * exists.  Documented with the protocol in src/sched/README.md.
 */
#ifndef CREW_SRC_FENCE_H
#define CREW_SRC_FENCE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "base/sys.h" /* CREW__CACHE_LINE */

/* True once membarrier is registered.  Written once, inside pthread_once,
 * before crew_pool_create returns its first pool; read relaxed: a thread
 * that uses the light fence reached a pool, so the pool's creation (and the
 * write) happens before its read. */
extern struct crew__fence_line {
    /* A line of its own: read on every submit, it must not share a line
     * with anything that is written often (the process's own globals
     * included: the linker places ours among them). */
    _Alignas(CREW__CACHE_LINE) _Atomic bool asym;
} crew__fence_line;
#define crew__fence_asym (crew__fence_line.asym)

void crew__fence_init(void);

/* A full (seq_cst) fence.  TSan does not support atomic_thread_fence; its
 * builds use a locked instruction instead (a full barrier on x86, where the
 * sanitizer builds run) on a word nothing else reads, relaxed so that TSan
 * sees no synchronisation it could mistake for happens-before. */
#if defined(CREW_TSAN)
extern _Atomic unsigned crew__fence_word;
static inline void crew__fence_full(void)
{
    atomic_fetch_add_explicit(&crew__fence_word, 0, memory_order_relaxed);
}
#else
static inline void crew__fence_full(void)
{
    atomic_thread_fence(memory_order_seq_cst);
}
#endif

/* The frequent side: a compiler barrier, or a full fence without membarrier. */
static inline void crew__fence_light(void)
{
    if (atomic_load_explicit(&crew__fence_asym, memory_order_relaxed))
        atomic_signal_fence(memory_order_seq_cst);
    else
        crew__fence_full();
}

/* The rare side: every running thread of the process executes a full
 * barrier before this returns (a system call: ~0.1-1 us here). */
void crew__fence_heavy(void);

#endif
