/* fence.c - asymmetric fences (see fence.h). */
#include "fence.h"

#include <pthread.h>
#include <stdlib.h>

#if defined(__linux__)
#include <linux/membarrier.h>
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
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        return;
    atomic_store_explicit(&crew__fence_asym, true, memory_order_seq_cst);
#endif
}

void crew__fence_init(void)
{
    pthread_once(&crew__fence_once, crew__fence_setup);
}

void crew__fence_heavy(void)
{
#if defined(__linux__) && defined(SYS_membarrier)
    if (atomic_load_explicit(&crew__fence_asym, memory_order_relaxed)) {
        /* Registered and tried once in setup: the kernel documents no
         * failure now.  Should one happen anyway, other threads may already
         * rely on their light fence, and no fence from here can make up for
         * it: stop rather than lose a wake-up silently. */
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
            crew__fence_full();
            return;
        }
        abort();
    }
#endif
    crew__fence_full();
}
