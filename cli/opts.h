/*
 * opts.h - the crew command's options, parsed from argv with GNU parallel's
 * names and meanings (see crew.1 for the list; parallel's options crew does
 * not implement are refused with a message that says so).
 *
 *   crew [options] [command [arguments]] (::: values | :::: files)...
 *   crew [options] [command [arguments]] < inputs
 *
 * Options end at the first word that is not an option (the command) or at
 * "--", as parallel's do: `crew grep -v x ::: f` passes -v to grep.
 */
#ifndef CREW_CLI_OPTS_H
#define CREW_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum src_kind {
    SRC_ARGS, /* the values after a ::: on the command line */
    SRC_FILE  /* one value per record of a file (:::: FILE, -a FILE, stdin as "-") */
};

struct source_spec {
    enum src_kind kind;
    char **items; /* SRC_ARGS: points into argv */
    size_t n;
    const char *path; /* SRC_FILE: "-" is standard input */
};

enum out_mode {
    OUT_GROUP,   /* each job's output kept whole, printed when it ends (default) */
    OUT_UNGROUP, /* -u: jobs write straight to crew's stdout and stderr */
    OUT_LINEBUF  /* --line-buffer: whole lines, printed as they come */
};

enum halt_when { HALT_NEVER, HALT_SOON, HALT_NOW };
enum halt_why { HALT_FAIL, HALT_SUCCESS, HALT_DONE };
enum resume_mode { RESUME_NONE, RESUME_ALL, RESUME_FAILED };

struct term_step {
    int sig;
    int ms; /* wait this long after sending sig */
};

struct opts {
    /* job slots */
    unsigned slots;     /* resolved -j */
    double delay;       /* --delay: seconds between job starts */
    double load_max;    /* --load: 0 = off */

    /* inputs */
    struct source_spec *src;
    size_t nsrc;
    int delim;          /* record separator: '\n', '\0' (-0) or -d's */
    const char *colsep; /* --colsep regex (POSIX extended) or NULL */
    unsigned max_args;  /* -N/-n: values per job */
    bool max_args_set;  /* -N given (-N 0 is meaningful) */
    bool skip_empty;    /* -r: skip blank records */

    /* the command */
    char **cmd;         /* words after the options, before the first ::: */
    size_t ncmd;
    bool quote;         /* -q: the words are argv as given, never a shell line */
    bool force_shell;   /* --shell: always run through /bin/sh -c */
    const char *repl;   /* -I: the string that stands for {} */

    /* output */
    bool keep_order;    /* -k */
    enum out_mode out;
    bool tag;           /* --tag */
    const char *tagstring; /* --tagstring */
    const char *results;   /* --results DIR */
    bool verbose_out;   /* -v: the command line on stdout, with the job's output */
    bool verbose_err;   /* -t/--verbose: the command line on stderr when it starts */

    /* job control */
    const char *joblog;
    bool joblog_append; /* --joblog +FILE */
    enum resume_mode resume;
    unsigned retries;   /* --retries: attempts in all (parallel's meaning); 0/1 = once */
    double timeout;     /* seconds; 0 = none */
    double timeout_pct; /* --timeout N%: of the median runtime; 0 = none */
    enum halt_when halt_when;
    enum halt_why halt_why;
    uint64_t halt_count; /* halt after this many (fail/success/done) */
    double halt_pct;     /* or this percentage of all jobs (0 = use the count) */
    struct term_step *term;
    size_t nterm;
    bool dry_run;

    /* progress (stderr, only on a terminal) */
    bool bar, eta;

    /* resources */
    uint64_t membuf;    /* output bytes held in memory per job before spilling */
    uint64_t memtotal;  /* and for all jobs together */
    const char *tmpdir; /* where spill files go */
};

/* Parses argv into *o.  Returns 0 to run, -1 when crew should exit at once
 * with status 0 (--help, --version printed), or CLI_EXIT_ERROR after printing
 * what was wrong. */
int opts_parse(struct opts *o, int argc, char **argv);
void opts_free(struct opts *o);

/* "15", "TERM" or "SIGTERM" -> signal number, or -1. */
int signal_from_name(const char *s);

#endif /* CREW_CLI_OPTS_H */
