/* fence.c - asymmetric fences (see fence.h). */
#include "base/fence.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/sys.h"

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

_Atomic bool crew__fence_asym;
#if defined(CREW_TSAN)
_Atomic unsigned crew__fence_word;
#endif

static pthread_once_t crew__fence_once = PTHREAD_ONCE_INIT;

static void crew__fence_setup(void)
{
#if defined(__linux__) && defined(SYS_membarrier)
    /* For tests of the fallback (scripts/check.sh runs one build so). */
    const char *off = getenv("CREW_NO_MEMBARRIER");
    if (off && *off && *off != '0')
        return;
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
        !(cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
        return;
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
        return;
    /* Check once that the command works (a seccomp filter may allow the
     * query and registration but not the command itself). */
    if (crew__membarrier_expedited() != 0)
        return;
    atomic_store_explicit(&crew__fence_asym, true, memory_order_seq_cst);
#endif
}

void crew__fence_init(void)
{
    pthread_once(&crew__fence_once, crew__fence_setup);
}

#if defined(__linux__) && defined(SYS_membarrier)

/* A barrier on every CPU that runs a thread of this process, without
 * membarrier: taking a permission away from a page that this process has
 * touched makes the kernel invalidate the page's TLB entries on every CPU
 * that may hold them, with an interrupt on each (x86), and an interrupt
 * serialises the CPU it lands on.  Threads not running meanwhile pass a
 * context switch, a barrier too.  Returns false where it cannot be relied
 * on (other processors flush TLBs without interrupting) or a call failed. */
static bool crew__fence_by_mprotect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    static char *page; /* under crew__degrade_lock */
    long size = sysconf(_SC_PAGESIZE);
    if (size <= 0)
        return false;
    if (!page && !(page = crew__map_region((size_t)size)))
        return false;
    if (mprotect(page, (size_t)size, PROT_READ | PROT_WRITE) != 0)
        return false;
    *(volatile char *)page = 1; /* the page is in this CPU's TLB, and the others' it ran on */
    return mprotect(page, (size_t)size, PROT_READ) == 0;
#else
    return false;
#endif
}

static pthread_mutex_t crew__degrade_lock = PTHREAD_MUTEX_INITIALIZER;

/* membarrier failed after it had worked: other threads rely on their light
 * fence, and this heavy one did not happen.  Go back to the symmetric
 * Dekker pattern for good (every light fence becomes a full fence), then
 * make up for the heavy fence that failed once more: the barrier on every
 * running thread drains what they stored before, and after it they see the
 * switch.  Where no such barrier is to be had, the switch alone is the best
 * left: crew never aborts the process. */
static void crew__fence_degrade(void)
{
    pthread_mutex_lock(&crew__degrade_lock);
    if (atomic_load_explicit(&crew__fence_asym, memory_order_relaxed)) {
        atomic_store_explicit(&crew__fence_asym, false, memory_order_seq_cst);
        (void)crew__fence_by_mprotect();
    }
    pthread_mutex_unlock(&crew__degrade_lock);
}

#endif

void crew__fence_heavy(void)
{
#if defined(__linux__) && defined(SYS_membarrier)
    if (atomic_load_explicit(&crew__fence_asym, memory_order_relaxed) &&
        crew__membarrier_expedited() != 0)
        crew__fence_degrade();
#endif
    crew__fence_full();
}
