/* tls.h - internal: thread-local variables on hot paths.
 *
 * The initial-exec model reaches a thread-local variable with one
 * instruction instead of a call per access (the default for -fPIC code).  It
 * is safe for a library linked at program start; a libcrew.so loaded with
 * dlopen() uses glibc's reserve of static TLS, which these few words fit. */
#ifndef CREW_SRC_TLS_H
#define CREW_SRC_TLS_H

#if defined(__GNUC__)
#define CREW__TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define CREW__TLS _Thread_local
#endif

#endif
