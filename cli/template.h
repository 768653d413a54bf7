/*
 * template.h - the command template: the words after the options, with
 * GNU parallel's replacement strings, turned into one job's argv (direct
 * mode) or shell command line (shell mode).
 *
 * Replacement strings (parallel's): {} the input, {.} without extension,
 * {/} basename, {//} dirname, {/.} basename without extension, {#} the job
 * number, {%} the job slot, {n} {n.} {n/} {n//} {n/.} the n-th input value
 * (source n, or column n with --colsep, or value n with -N).  With -I STR,
 * STR stands for {}.  A template without any appends the inputs.
 *
 * Two ways to run (decided once, at parse time):
 *   direct  the command line has no shell syntax: it is split into words on
 *           blanks and each job runs with posix_spawn; an input value is
 *           always exactly part of one argv element, never re-split or
 *           interpreted.
 *   shell   the line has shell syntax (quotes, $, |, ;, globs, ...), its
 *           first word is a shell keyword or builtin, or --shell: each job
 *           runs `/bin/sh -c LINE` where every input value is single-quoted,
 *           so a value is one shell word and never interpreted.
 * As in parallel, the command words are joined with spaces first (so
 * `crew sh -c 'echo {}'` is the line `sh -c echo {}`); -q keeps each word as
 * one argv element instead.
 *
 * Several values for {} (several ::: sources, --colsep columns, -N): they
 * become separate words, the text before {} stuck to the first and the text
 * after it to the last; with -N the whole word is repeated for each value
 * instead (parallel's -X context replace), as parallel does.
 */
#ifndef CREW_CLI_TEMPLATE_H
#define CREW_CLI_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum field_kind {
    FK_ALL,        /* {}   */
    FK_NOEXT,      /* {.}  */
    FK_BASE,       /* {/}  */
    FK_DIR,        /* {//} */
    FK_BASENOEXT,  /* {/.} */
    FK_SEQ,        /* {#}  */
    FK_SLOT        /* {%}  */
};

struct seg {
    bool field;
    const char *text; /* literal text (not NUL-terminated) */
    size_t len;
    enum field_kind kind;
    unsigned pos;     /* 0: all values ({}); n >= 1: the n-th value ({n}) */
};

struct tword {
    struct seg *segs;
    size_t nsegs;
    const char *sep;  /* the blanks after this word in the command line */
    size_t seplen;
    bool multi;       /* holds a field over all values ({} {.} ...) */
};

struct template {
    struct tword *words;
    size_t nwords;
    bool shell;     /* run through /bin/sh -c */
    bool append;    /* no replacement string: the values are appended */
    bool raw;       /* no command: the values themselves are the command line */
    bool xstyle;    /* -N: a word with {} is repeated for each value */
    bool quote_lit; /* -q: literal words are shell-quoted when displayed */
    bool uses_slot; /* {%} appears (the slot must be known before rendering) */
    char *line;     /* the joined command line the segments point into */
};

/* One job's values. */
struct jobvals {
    char *const *v;
    unsigned n;
    uint64_t seq;   /* {#} */
    unsigned slot;  /* {%} */
};

/* Parses the command words.  repl: -I's string or NULL.  Returns 0, or -1
 * with a message in err. */
int template_parse(struct template *t, char **words, size_t nwords, bool quote,
                   bool force_shell, bool xstyle, const char *repl, char *err, size_t errlen);

/* Parses a --tagstring (rendered with values as they are, never quoted). */
int template_parse_text(struct template *t, const char *text, const char *repl, char *err,
                        size_t errlen);

void template_free(struct template *t);

/* Direct mode: one job's argv.  The strings live in *arena (rebuilt each
 * call); argv->v[0] is the program word as written. */
void template_argv(const struct template *t, const struct jobvals *jv, struct strbuf *arena,
                   struct strvec *argv);

/* The job's command line as a shell would read it, values single-quoted:
 * what shell mode runs, and what --dry-run, -v and the joblog show for
 * either mode. */
void template_line(const struct template *t, const struct jobvals *jv, struct strbuf *out);

/* The template rendered with the values unquoted (--tagstring). */
void template_text(const struct template *t, const struct jobvals *jv, struct strbuf *out);

/* Appends s quoted for a POSIX shell the way GNU parallel quotes it: plain
 * words as they are, anything else in single quotes ('"'"' for a quote). */
void shell_quote(struct strbuf *b, const char *s, size_t n);

/* The value of one replacement-string kind for one input value, as a slice
 * of s (or a constant): {.} {/} {//} {/.} never need new memory. */
void field_value(enum field_kind kind, const char *s, size_t n, const char **out,
                 size_t *outlen);

#endif /* CREW_CLI_TEMPLATE_H */
