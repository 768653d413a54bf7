/* platform.h - internal: the few operating-system calls crew's scheduler
 * needs beyond POSIX threads, behind one small interface.
 *
 * Two implementations, chosen when crew is configured (CMake's
 * CREW_PLATFORM): platform_linux.c (futex, membarrier, CPU affinity) and
 * platform_posix.c (a table of mutexes and condition variables, no
 * membarrier, no placement) for macOS, the BSDs and any POSIX system.  The
 * test command runs the whole suite once more on the POSIX one.
 *
 * Waiting on a word: crew__futex_wait(addr, expected, deadline) sleeps only
 * while *addr still equals expected (checked atomically with the sleep), so
 * a wake that happens between the caller's last check and the sleep is
 * never lost: the waker changes *addr before calling crew__futex_wake.  The
 * deadline is absolute on CLOCK_MONOTONIC (crew_now_ns); CREW__FOREVER waits
 * without limit.  Returns 0 when woken (or on a spurious return or value
 * mismatch) and CREW_ETIMEDOUT when the deadline passed.  Callers always
 * re-check their condition in a loop.  On Linux both calls are plain system
 * calls (async-signal-safe); the POSIX ones take a mutex and are not.  The
 * word must not be shared between processes.
 */
#ifndef CREW_SRC_BASE_PLATFORM_H
#define CREW_SRC_BASE_PLATFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/backoff.h" /* crew__cpu_relax, for the callers' spin loops */

int crew__futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t deadline_ns);
void crew__futex_wake(_Atomic uint32_t *addr, int count);
void crew__futex_wake_all(_Atomic uint32_t *addr);

/* True if crew__wait/wake are async-signal-safe here (crew_squeue's
 * put_node promises it only then). */
extern const bool crew__futex_signal_safe;

/* membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), registered once: true if it
 * works here (base/fence.h uses it for its heavy fence), and one command:
 * 0 or -1.  The POSIX implementation has neither (false, -1). */
bool crew__platform_membarrier_init(void);
int crew__platform_membarrier(void);

/* Starts the calling thread (worker number index) on a CPU of its own: the
 * index-th of the CPUs it may run on, then gives it back all of them (a
 * starting point, not pinning).  Nothing where placement is not offered. */
void crew__thread_place(unsigned index);

/* Names the calling thread (up to 15 characters kept), where supported. */
void crew__thread_name(const char *name);

#endif
