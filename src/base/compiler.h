/* compiler.h - internal: hints for the compiler on hot paths. */
#ifndef CREW_SRC_COMPILER_H
#define CREW_SRC_COMPILER_H

#if defined(__GNUC__)
#define CREW__LIKELY(x) __builtin_expect(!!(x), 1)
#define CREW__UNLIKELY(x) __builtin_expect(!!(x), 0)
/* A slow path kept out of its caller: the caller's fast path then needs no
 * stack frame or saved registers for it. */
#define CREW__COLD __attribute__((noinline, cold))
/* A helper inlined into each of its few callers whatever the compiler's
 * estimate (a hot path split into functions for reading, not for calls). */
#define CREW__ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define CREW__LIKELY(x) (x)
#define CREW__UNLIKELY(x) (x)
#define CREW__COLD
#define CREW__ALWAYS_INLINE inline
#endif

#endif
