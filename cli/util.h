/*
 * util.h - the small pieces every part of the crew command shares: growing
 * strings and string vectors, allocation that ends the program cleanly when
 * memory runs out, number/duration/size parsing, full writes, and the one
 * way the command reports an error ("crew: ..." on stderr).
 */
#ifndef CREW_CLI_UTIL_H
#define CREW_CLI_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit status for crew's own errors (GNU parallel uses 255 too). */
#define CLI_EXIT_ERROR 255

/* A growing byte string, always NUL-terminated when s != NULL. */
struct strbuf {
    char *s;
    size_t len, cap;
};

void sb_grow(struct strbuf *b, size_t extra);
void sb_add(struct strbuf *b, const char *p, size_t n);
void sb_adds(struct strbuf *b, const char *s);
void sb_addc(struct strbuf *b, char c);
void sb_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_reset(struct strbuf *b);
void sb_free(struct strbuf *b);

/* A growing array of strings (an argv under construction). */
struct strvec {
    char **v;
    size_t n, cap;
};
void sv_push(struct strvec *v, char *s);
void sv_free(struct strvec *v);

/* Allocation: on failure these print "crew: out of memory" and end the
 * program through cli_fatal (running jobs are killed first). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Messages: "crew: " + text + newline on stderr.  cli_warn goes through the
 * output writer when one runs (so it never cuts a job's output mid-line);
 * cli_fatal kills the running jobs and exits with CLI_EXIT_ERROR. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_vwarn(const char *fmt, va_list ap);
_Noreturn void cli_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hooks installed by the run: where warnings go while the writer runs, and
 * what cli_fatal must do before exiting (kill the jobs' process groups). */
extern void (*cli_warn_hook)(const char *line, size_t len);
extern void (*cli_fatal_hook)(void);

/* Writes all n bytes (retrying short writes and EINTR).  0 or an errno. */
int write_all(int fd, const void *p, size_t n);

/* Parsers: 0 on success, -1 if the text is not a valid value.
 * parse_uint: decimal, no sign.  parse_duration: seconds with an optional
 * s/m/h/d suffix (GNU parallel's TIME POSTFIXES), several parts allowed
 * ("1m30s").  parse_size: bytes with K/M/G/T (1024-based) or k/m/g/t
 * (1000-based) suffix. */
int parse_uint(const char *s, uint64_t *out);
int parse_duration(const char *s, double *seconds);
int parse_size(const char *s, uint64_t *out);

/* Time: nanoseconds on the monotonic clock (crew_now_ns) and the wall clock
 * (for the joblog's Starttime). */
int64_t mono_ns(void);
int64_t wall_ns(void);

/* Appends s to b in the form a human reads in a message: as is if it is
 * plain, else in single quotes with control characters escaped, and cut
 * after max bytes ("...").  For "job 3 (input 'a b')". */
void sb_add_display(struct strbuf *b, const char *s, size_t max);

#endif /* CREW_CLI_UTIL_H */
