/* futex.h - internal: sleeping and waking on a 32-bit atomic word.
 *
 * crew__futex_wait(addr, expected, deadline) sleeps only while *addr still
 * equals expected (checked atomically by the kernel), so a wake that happens
 * between the caller's last check and the sleep is never lost: the waker
 * changes *addr before calling crew__futex_wake.  The deadline is absolute on
 * CLOCK_MONOTONIC (crew_now_ns); CREW__FOREVER waits without limit.
 * Returns 0 when woken (or on a spurious return / value mismatch) and
 * CREW_ETIMEDOUT when the deadline passed.  Callers always re-check their
 * condition in a loop.
 *
 * Both calls are async-signal-safe (plain system calls).  Private futexes:
 * the word must not be shared between processes. */
#ifndef CREW_SRC_FUTEX_H
#define CREW_SRC_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

int crew__futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t deadline_ns);
void crew__futex_wake(_Atomic uint32_t *addr, int count);
void crew__futex_wake_all(_Atomic uint32_t *addr);

#include "base/backoff.h" /* crew__cpu_relax */

#endif
