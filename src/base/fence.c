/* fence.c - asymmetric fences (see fence.h). */
#include "base/fence.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/platform.h"
#include "base/sys.h"

struct crew__fence_line crew__fence_line;
#if defined(CREW_TSAN)
_Atomic unsigned crew__fence_word;
#endif

static pthread_once_t fence_once = PTHREAD_ONCE_INIT;

static void fence_setup(void)
{
    /* For tests of the fallback (scripts/check.sh runs one build so). */
    const char *off = getenv("CREW_NO_MEMBARRIER");
    if (off && *off && *off != '0')
        return;
    if (crew__platform_membarrier_init())
        atomic_store_explicit(&crew__fence_asym, true, memory_order_seq_cst);
}

void crew__fence_init(void)
{
    pthread_once(&fence_once, fence_setup);
}

static pthread_mutex_t degrade_lock = PTHREAD_MUTEX_INITIALIZER;

/* A barrier on every CPU that runs a thread of this process, without
 * membarrier: taking a permission away from a page that this process has
 * touched makes the kernel invalidate the page's TLB entries on every CPU
 * that may hold them, with an interrupt on each (x86), and an interrupt
 * serialises the CPU it lands on.  Threads not running meanwhile pass a
 * context switch, a barrier too.  Returns false where it cannot be relied
 * on (other processors flush TLBs without interrupting) or a call failed. */
static bool fence_by_mprotect(void)
{
#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
    static char *page; /* under degrade_lock */
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


/* membarrier failed after it had worked: other threads rely on their light
 * fence, and this heavy one did not happen.  Go back to the symmetric
 * Dekker pattern for good (every light fence becomes a full fence), then
 * make up for the heavy fence that failed once more: the barrier on every
 * running thread drains what they stored before, and after it they see the
 * switch.  Where no such barrier is to be had, the switch alone is the best
 * left: crew never aborts the process. */
static void fence_degrade(void)
{
    pthread_mutex_lock(&degrade_lock);
    if (atomic_load_explicit(&crew__fence_asym, memory_order_relaxed)) {
        atomic_store_explicit(&crew__fence_asym, false, memory_order_seq_cst);
        (void)fence_by_mprotect();
    }
    pthread_mutex_unlock(&degrade_lock);
}

void crew__fence_heavy(void)
{
    if (atomic_load_explicit(&crew__fence_asym, memory_order_relaxed) &&
        crew__membarrier_expedited() != 0)
        fence_degrade();
    crew__fence_full();
}
