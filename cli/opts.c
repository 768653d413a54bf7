/*
 * opts.c - parses the crew command line (see opts.h and crew.1).
 *
 * Options use GNU parallel's names, short bundling ("-kj4") and both
 * "--opt value" and "--opt=value".  Parallel's options that crew does not
 * implement are refused by name, so nobody gets a silently different
 * behaviour; anything else unknown is an error too.
 */
#include "opts.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "optvals.h"
#include "util.h"

#define CREW_CLI_VERSION "0.1.0"

enum optid {
    O_NULL, O_ARGFILE, O_COLSEP, O_DELIM, O_REPL, O_JOBS, O_KEEP, O_MAXARGS, O_QUOTE,
    O_NORUN, O_VERB_T, O_UNGROUP, O_GROUP, O_LB, O_TAG, O_TAGSTR, O_RESULTS, O_VERB_V,
    O_JOBLOG, O_RESUME, O_RESUME_FAILED, O_RETRIES, O_TIMEOUT, O_HALT, O_TERMSEQ,
    O_DRYRUN, O_BAR, O_ETA, O_DELAY, O_LOAD, O_WILLCITE, O_VERSION, O_HELP, O_ARGSEP,
    O_ARGFILESEP, O_SHELL, O_MEMBUF, O_TMPDIR
};

struct optdef {
    const char *name; /* long name, or NULL */
    char shortc;      /* short letter, or 0 */
    bool arg;
    enum optid id;
};

static const struct optdef optdefs[] = {
    {"null", '0', false, O_NULL},
    {"arg-file", 'a', true, O_ARGFILE},
    {"colsep", 'C', true, O_COLSEP},
    {"delimiter", 'd', true, O_DELIM},
    {NULL, 'I', true, O_REPL},
    {"jobs", 'j', true, O_JOBS},
    {"max-procs", 'P', true, O_JOBS},
    {"keep-order", 'k', false, O_KEEP},
    {"max-args", 'n', true, O_MAXARGS},
    {"max-replace-args", 'N', true, O_MAXARGS},
    {"quote", 'q', false, O_QUOTE},
    {"no-run-if-empty", 'r', false, O_NORUN},
    {"verbose", 't', false, O_VERB_T},
    {"ungroup", 'u', false, O_UNGROUP},
    {"group", 0, false, O_GROUP},
    {"line-buffer", 0, false, O_LB},
    {"lb", 0, false, O_LB},
    {"tag", 0, false, O_TAG},
    {"tagstring", 0, true, O_TAGSTR},
    {"results", 0, true, O_RESULTS},
    {"res", 0, true, O_RESULTS},
    {NULL, 'v', false, O_VERB_V},
    {"joblog", 0, true, O_JOBLOG},
    {"jl", 0, true, O_JOBLOG},
    {"resume", 0, false, O_RESUME},
    {"resume-failed", 0, false, O_RESUME_FAILED},
    {"retries", 0, true, O_RETRIES},
    {"timeout", 0, true, O_TIMEOUT},
    {"halt", 0, true, O_HALT},
    {"halt-on-error", 0, true, O_HALT},
    {"term-seq", 0, true, O_TERMSEQ},
    {"termseq", 0, true, O_TERMSEQ},
    {"dry-run", 0, false, O_DRYRUN},
    {"dryrun", 0, false, O_DRYRUN},
    {"bar", 0, false, O_BAR},
    {"eta", 0, false, O_ETA},
    {"delay", 0, true, O_DELAY},
    {"load", 0, true, O_LOAD},
    {"will-cite", 0, false, O_WILLCITE},
    {"version", 'V', false, O_VERSION},
    {"help", 'h', false, O_HELP},
    {"arg-sep", 0, true, O_ARGSEP},
    {"arg-file-sep", 0, true, O_ARGFILESEP},
    {"shell", 0, false, O_SHELL},
    {"mem-buffer", 0, true, O_MEMBUF},
    {"tmpdir", 0, true, O_TMPDIR},
};

/* GNU parallel options crew knows of and does not implement. */
static const char *const unsupported_long[] = {
    "pipe", "spreadstdin", "pipepart", "pipe-part", "xargs", "sshlogin", "sshloginfile",
    "slf", "onall", "nonall", "link", "xapply", "header", "csv", "sqlmaster",
    "sqlworker", "sqlandworker", "semaphore", "fifo", "cat", "compress", "files",
    "memfree", "memsuspend", "tty", "interactive", "env", "plus", "ctag", "ctagstring",
    "shuf", "max-lines", "max-chars", "limit", "total-jobs", "total", "progress",
    "transfer", "transferfile", "tf", "return", "cleanup", "trc", "workdir", "wd",
    "basefile", "bf", "block", "block-size", "recstart", "recend", "regexp",
    "round-robin", "round", "nice", "retry-failed", "fg", "bg", "controlmaster",
    "joblog-format", "outputasfiles", "keep-order-line-buffer", "filter", "template",
    "exit", "use-cores-instead-of-threads", "use-cpus-instead-of-cores", "group-by",
    "extensionreplace", "basenamereplace", "dirnamereplace", "basenameextensionreplace",
    "seqreplace", "slotreplace", "trim", "ssh", "sshdelay", "timeout-kill",
    "number-of-cpus", "number-of-cores", "number-of-threads", "number-of-sockets",
    "show-limits", "citation", "bibtex", "record-env", "session", "shebang",
    "shebang-wrap", "hostgroups", "tagstring-color", "color", "colour", "null-file",
    NULL,
};
static const char unsupported_short[] = "XmLlsSEeiExwcfMUTYFgMHop";

static int bad(const char *fmt, const char *what)
{
    cli_warn(fmt, what);
    return CLI_EXIT_ERROR;
}

static void add_source(struct opts *o, enum src_kind kind, char **items, size_t n,
                       const char *path)
{
    o->src = xrealloc(o->src, (o->nsrc + 1) * sizeof *o->src);
    o->src[o->nsrc++] = (struct source_spec){kind, items, n, path};
}

static void usage(FILE *f)
{
    fputs("Usage: crew [options] [command [arguments]] (::: values | :::: files)...\n"
          "       crew [options] [command [arguments]] < inputs\n"
          "Runs the command once per input, up to -j at a time (GNU parallel's options).\n"
          "\n"
          "  -j N, N%, +N, -N, 0   job slots (default: one per CPU)\n"
          "  -k                    print output in input order\n"
          "  {} {.} {/} {//} {/.} {#} {%} {1} {2.} ...   replacement strings\n"
          "  -N n / -n n           n inputs per job     -0 / -d C   record separator\n"
          "  --colsep REGEX        split inputs into columns {1} {2} ...\n"
          "  -q                    never use a shell    --shell  always use /bin/sh -c\n"
          "  --tag, --tagstring S  prefix output lines  --line-buffer, -u  output modes\n"
          "  --results DIR         store each job's stdout, stderr and exit status\n"
          "  --joblog FILE, --resume, --resume-failed, --retries N, --timeout S|N%\n"
          "  --halt now|soon,fail|success|done=N|N%, --term-seq SEQ, --delay S, --load N\n"
          "  --dry-run, -v, -t, --bar, --eta, --mem-buffer SIZE, --tmpdir DIR\n"
          "\n"
          "Exit status: 0 if every job succeeded, else the number of failed jobs\n"
          "(at most 101), 255 for crew's own errors.  See crew(1).\n",
          f);
}

static const struct optdef *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof optdefs / sizeof optdefs[0]; i++)
        if (optdefs[i].name && strlen(optdefs[i].name) == len &&
            strncmp(optdefs[i].name, name, len) == 0)
            return &optdefs[i];
    return NULL;
}

static const struct optdef *find_short(char c)
{
    for (size_t i = 0; i < sizeof optdefs / sizeof optdefs[0]; i++)
        if (optdefs[i].shortc == c)
            return &optdefs[i];
    return NULL;
}

static bool is_unsupported_long(const char *name, size_t len)
{
    for (size_t i = 0; unsupported_long[i]; i++)
        if (strlen(unsupported_long[i]) == len && strncmp(unsupported_long[i], name, len) == 0)
            return true;
    return false;
}

/* Applies one option.  Returns 0, -1 (exit 0 now) or CLI_EXIT_ERROR. */
static int apply(struct opts *o, const struct optdef *d, const char *val, const char *spelled,
                 const char **argsep, const char **filesep)
{
    uint64_t v;
    double secs;
    switch (d->id) {
    case O_NULL: o->delim = '\0'; break;
    case O_ARGFILE: add_source(o, SRC_FILE, NULL, 0, val); break;
    case O_COLSEP: o->colsep = val; break;
    case O_DELIM:
        if (parse_delim(val, &o->delim) != 0)
            return bad("-d wants one character (or \\n, \\t, \\0), not '%s'", val);
        break;
    case O_REPL:
        if (!*val)
            return bad("-I wants a non-empty replacement string%s", "");
        o->repl = val;
        break;
    case O_JOBS:
        if (parse_jobs(val, &o->slots) != 0)
            return bad("cannot parse -j '%s' (N, N%%, +N, -N or 0)", val);
        break;
    case O_KEEP: o->keep_order = true; break;
    case O_MAXARGS:
        if (parse_uint(val, &v) != 0 || v > 100000)
            return bad("cannot parse -N/-n '%s' (a count of inputs per job)", val);
        o->max_args = (unsigned)v;
        o->max_args_set = true;
        break;
    case O_QUOTE: o->quote = true; break;
    case O_NORUN: o->skip_empty = true; break;
    case O_VERB_T: o->verbose_err = true; break;
    case O_UNGROUP: o->out = OUT_UNGROUP; break;
    case O_GROUP: o->out = OUT_GROUP; break;
    case O_LB: o->out = OUT_LINEBUF; break;
    case O_TAG: o->tag = true; break;
    case O_TAGSTR: o->tagstring = val; break;
    case O_RESULTS:
        if (!*val)
            return bad("--results wants a directory%s", "");
        o->results = val;
        break;
    case O_VERB_V: o->verbose_out = true; break;
    case O_JOBLOG:
        o->joblog_append = val[0] == '+';
        o->joblog = val + (val[0] == '+');
        if (!*o->joblog)
            return bad("--joblog wants a file name%s", "");
        break;
    case O_RESUME: o->resume = RESUME_ALL; break;
    case O_RESUME_FAILED: o->resume = RESUME_FAILED; break;
    case O_RETRIES:
        if (parse_uint(val, &v) != 0 || v > 1000000)
            return bad("cannot parse --retries '%s'", val);
        o->retries = (unsigned)v;
        break;
    case O_TIMEOUT: {
        size_t len = strlen(val);
        if (len > 1 && val[len - 1] == '%') {
            char *num = xstrndup(val, len - 1), *end;
            errno = 0;
            double pct = strtod(num, &end);
            int ok = end != num && *end == '\0' && errno == 0 && pct > 0 && pct < 1e9;
            free(num);
            if (!ok)
                return bad("cannot parse --timeout '%s'", val);
            o->timeout_pct = pct;
            o->timeout = 0;
        } else if (parse_duration(val, &secs) == 0 && secs > 0 && secs < 1e9) {
            o->timeout = secs;
            o->timeout_pct = 0;
        } else {
            return bad("cannot parse --timeout '%s' (seconds, 10m, 2h, or N%% of the median)",
                       val);
        }
        break;
    }
    case O_HALT:
        if (parse_halt(o, val) != 0)
            return bad("cannot parse --halt '%s' (now|soon,fail|success|done=N|N%%)", val);
        break;
    case O_TERMSEQ:
        if (parse_termseq(o, val) != 0)
            return bad("cannot parse --term-seq '%s' (e.g. TERM,200,TERM,100,KILL,25)", val);
        break;
    case O_DRYRUN: o->dry_run = true; break;
    case O_BAR: o->bar = true; break;
    case O_ETA: o->eta = true; break;
    case O_DELAY:
        if (parse_duration(val, &secs) != 0 || secs > 1e7)
            return bad("cannot parse --delay '%s'", val);
        o->delay = secs;
        break;
    case O_LOAD: {
        unsigned n;
        if (parse_jobs(val, &n) != 0)
            return bad("cannot parse --load '%s'", val);
        o->load_max = n;
        break;
    }
    case O_WILLCITE: break;
    case O_VERSION:
        printf("crew %s (GNU parallel's interface, built on the crew library)\n",
               CREW_CLI_VERSION);
        return -1;
    case O_HELP:
        usage(stdout);
        return -1;
    case O_ARGSEP:
        if (!*val)
            return bad("--arg-sep wants a non-empty string%s", "");
        *argsep = val;
        break;
    case O_ARGFILESEP:
        if (!*val)
            return bad("--arg-file-sep wants a non-empty string%s", "");
        *filesep = val;
        break;
    case O_SHELL: o->force_shell = true; break;
    case O_MEMBUF:
        if (parse_size(val, &v) != 0 || v < 1024 || v > ((uint64_t)1 << 40))
            return bad("cannot parse --mem-buffer '%s' (bytes, 1K at least; K/M/G suffix)",
                       val);
        o->membuf = v;
        break;
    case O_TMPDIR: o->tmpdir = val; break;
    }
    (void)spelled;
    return 0;
}

int opts_parse(struct opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->delim = '\n';
    o->membuf = 1 << 20;
    const char *argsep = ":::", *filesep = "::::";
    unsigned slots = 0;
    o->slots = 0;
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, argsep) == 0 || strcmp(a, filesep) == 0 || a[0] != '-' || !a[1])
            break;
        int rc;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const struct optdef *d = find_long(name, len);
            if (!d) {
                if (is_unsupported_long(name, len))
                    return bad("%s: GNU parallel's option, not supported by crew", a);
                return bad("unknown option %s (see crew --help)", a);
            }
            const char *val = NULL;
            if (d->arg) {
                if (eq)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return bad("option %s needs a value", a);
            } else if (eq) {
                return bad("option %s takes no value", a);
            }
            rc = apply(o, d, val, a, &argsep, &filesep);
            i++;
        } else {
            rc = 0;
            int next = i + 1;
            for (const char *p = a + 1; *p && rc == 0; p++) {
                const struct optdef *d = find_short(*p);
                if (!d) {
                    char opt[3] = {'-', *p, 0};
                    if (strchr(unsupported_short, *p))
                        return bad("%s: GNU parallel's option, not supported by crew", opt);
                    return bad("unknown option %s (see crew --help)", opt);
                }
                if (!d->arg) {
                    rc = apply(o, d, NULL, a, &argsep, &filesep);
                    continue;
                }
                const char *val;
                if (p[1])
                    val = p + 1;
                else if (next < argc)
                    val = argv[next++];
                else {
                    char opt[3] = {'-', *p, 0};
                    return bad("option %s needs a value", opt);
                }
                rc = apply(o, d, val, a, &argsep, &filesep);
                break;
            }
            i = next;
        }
        if (rc != 0)
            return rc;
    }

    /* The command: every word up to the first separator. */
    o->cmd = argv + i;
    while (i < argc && strcmp(argv[i], argsep) != 0 && strcmp(argv[i], filesep) != 0) {
        if (strcmp(argv[i], ":::+") == 0 || strcmp(argv[i], "::::+") == 0)
            return bad("%s (--link): GNU parallel's option, not supported by crew", argv[i]);
        i++;
    }
    o->ncmd = (size_t)(argv + i - o->cmd);

    /* Input sources, in order: -a files first, then ::: and :::: groups. */
    while (i < argc) {
        bool files = strcmp(argv[i], filesep) == 0;
        int start = ++i;
        while (i < argc && strcmp(argv[i], argsep) != 0 && strcmp(argv[i], filesep) != 0)
            i++;
        if (files) {
            if (i == start)
                return bad("%s needs at least one file name", filesep);
            for (int k = start; k < i; k++)
                add_source(o, SRC_FILE, NULL, 0, argv[k]);
        } else {
            add_source(o, SRC_ARGS, argv + start, (size_t)(i - start), NULL);
        }
    }
    if (o->nsrc == 0)
        add_source(o, SRC_FILE, NULL, 0, "-");

    slots = o->slots ? o->slots : online_cpus();
    if (slots > SLOTS_MAX)
        slots = SLOTS_MAX;
    unsigned limit = slots_fd_limit(slots);
    if (limit < slots) {
        if (o->slots != SLOTS_MAX)
            cli_warn("-j %u is more than the descriptor limit allows; using %u", slots, limit);
        slots = limit;
    }
    o->slots = slots;
    if (!o->term) {
        static const struct term_step dflt[] = {
            {SIGTERM, 200}, {SIGTERM, 100}, {SIGTERM, 50}, {SIGKILL, 25}};
        o->term = xmalloc(sizeof dflt);
        memcpy(o->term, dflt, sizeof dflt);
        o->nterm = sizeof dflt / sizeof dflt[0];
    }
    if (o->resume != RESUME_NONE && !o->joblog)
        return bad("--resume and --resume-failed need --joblog FILE%s", "");
    if (o->quote && o->force_shell)
        return bad("-q and --shell contradict each other%s", "");
    o->memtotal = o->membuf * 4 > ((uint64_t)64 << 20) ? o->membuf * 4 : (uint64_t)64 << 20;
    if (!o->tmpdir) {
        const char *t = getenv("TMPDIR");
        o->tmpdir = t && *t ? t : "/tmp";
    }
    return 0;
}

void opts_free(struct opts *o)
{
    free(o->src);
    free(o->term);
    o->src = NULL;
    o->term = NULL;
}
