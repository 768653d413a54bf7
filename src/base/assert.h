/* assert.h - internal: invariants that comments state, checked by machine.
 *
 * CREW__ASSERT(cond) is live in checked builds (CREW_CHECKED: Debug, the
 * sanitizer builds, the fault-injection build; CMakeLists.txt) and compiles
 * to nothing in release builds, where cond is not evaluated (sizeof keeps
 * the variables it names in use).  A failed check prints the condition and
 * where it is, then aborts: in a checked build a broken invariant is a bug
 * to stop at, not an error to report (release builds never abort).
 *
 * Use it where a comment states an invariant: counters that must not
 * underflow, reference counts (a double release), owner-only operations,
 * empty-batch preconditions, state transitions, locks held.  Keep cond free
 * of side effects.
 */
#ifndef CREW_SRC_BASE_ASSERT_H
#define CREW_SRC_BASE_ASSERT_H

#if defined(CREW_CHECKED)

/* Prints the failed check and aborts (checked builds only). */
_Noreturn void crew__assert_fail(const char *cond, const char *file, int line, const char *func);

#define CREW__ASSERT(cond)                                                        \
    ((cond) ? (void)0 : crew__assert_fail(#cond, __FILE__, __LINE__, __func__))
#define CREW__CHECKED 1

#else

#define CREW__ASSERT(cond) ((void)sizeof(!(cond)))
#define CREW__CHECKED 0

#endif

#endif
