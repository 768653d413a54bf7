/* backoff.h - internal: the one way crew waits a short while for another
 * thread without sleeping on a word.
 *
 * Used where a thread waits for another one to finish a step that runs no
 * user code and takes nanoseconds (a producer between its claim and its
 * link, a canceller counting itself, a submit inside its announcement): the
 * first rounds only ask the CPU to relax, later rounds give the CPU away
 * (sched_yield), since the other thread may have been preempted in the
 * middle of its step and needs a CPU to finish it.  Never a sleep: the
 * wait is as short as the other thread is fast.
 *
 *     for (unsigned i = 0; !done(); i++)
 *         crew__backoff(i);
 */
#ifndef CREW_SRC_BACKOFF_H
#define CREW_SRC_BACKOFF_H

#include <sched.h>

/* A hint to the CPU inside spin loops. */
static inline void crew__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Round i (from 0) of a short wait: the first `spins` rounds relax the
 * CPU `burst` times each, later rounds yield it.  Callers with a reason
 * for other phase lengths (a wait whose other side is known to be slower,
 * a spin that looks for work between rounds) say so where they call it. */
static inline void crew__backoff_spins(unsigned i, unsigned spins, unsigned burst)
{
    if (i < spins) {
        for (unsigned k = 0; k < burst; k++)
            crew__cpu_relax();
    } else {
        (void)sched_yield();
    }
}

/* Rounds of crew__backoff that only relax before it starts yielding. */
#define CREW__BACKOFF_SPINS 64u

/* The usual phases: 64 single relaxes, then yields. */
static inline void crew__backoff(unsigned i)
{
    crew__backoff_spins(i, CREW__BACKOFF_SPINS, 1);
}

#endif
