/*
 * optvals.c - the values of crew's options that need more than a number:
 * job slots (-j, --load), --halt, --term-seq, -d, signal names, and the
 * limits -j 0 works out.
 */
#include "optvals.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util.h"

unsigned online_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* How many of `wanted` job slots the descriptor limit allows, raising the
 * soft limit only as far as those slots need (jobs inherit it, and some
 * programs walk every possible descriptor). */
unsigned slots_fd_limit(unsigned wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return wanted < 64 ? wanted : 64;
    rlim_t need = (rlim_t)wanted * FDS_PER_JOB + 32;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t want = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
        struct rlimit nl = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            rl.rlim_cur = want;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return wanted;
    long n = ((long)rl.rlim_cur - 32) / FDS_PER_JOB;
    return n < 1 ? 1 : (unsigned)n;
}

/* -j: N, N%, +N, -N, 0. */
int parse_jobs(const char *s, unsigned *slots)
{
    unsigned cpus = online_cpus();
    uint64_t v;
    size_t len = strlen(s);
    long n;
    if (len > 1 && s[len - 1] == '%') {
        char *num = xstrndup(s, len - 1);
        char *end;
        errno = 0;
        double pct = strtod(num, &end);
        int ok = end != num && *end == '\0' && errno == 0 && pct >= 0 && pct <= 1e6;
        free(num);
        if (!ok)
            return -1;
        n = (long)(cpus * pct / 100.0);
        if (n < 1)
            n = 1;
    } else if (s[0] == '+' && parse_uint(s + 1, &v) == 0 && v < 100000) {
        n = (long)cpus + (long)v;
    } else if (s[0] == '-' && parse_uint(s + 1, &v) == 0 && v < 100000) {
        n = (long)cpus - (long)v;
        if (n < 1)
            n = 1;
    } else if (parse_uint(s, &v) == 0 && v < 100000) {
        n = v == 0 ? SLOTS_MAX : (long)v;
    } else {
        return -1;
    }
    *slots = (unsigned)n;
    return 0;
}

int signal_from_name(const char *s)
{
    static const struct { const char *name; int sig; } names[] = {
        {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"ALRM", SIGALRM},
        {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"ABRT", SIGABRT},
    };
    uint64_t v;
    if (parse_uint(s, &v) == 0)
        return v > 0 && v < 65 ? (int)v : -1;
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].sig;
    return -1;
}

/* --term-seq TERM,200,TERM,100,KILL,25 */
int parse_termseq(struct opts *o, const char *s)
{
    char *copy = xstrdup(s), *save = NULL;
    size_t n = 0;
    struct term_step *steps = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int sig = signal_from_name(tok);
        if (sig < 0) {
            rc = -1;
            break;
        }
        int ms = 0;
        char *wait = strtok_r(NULL, ",", &save);
        uint64_t v;
        if (wait) {
            if (parse_uint(wait, &v) != 0 || v > 3600000) {
                rc = -1;
                break;
            }
            ms = (int)v;
        }
        steps = xrealloc(steps, (n + 1) * sizeof *steps);
        steps[n].sig = sig;
        steps[n].ms = ms;
        n++;
        if (!wait)
            break;
    }
    free(copy);
    if (rc != 0 || n == 0) {
        free(steps);
        return -1;
    }
    free(o->term);
    o->term = steps;
    o->nterm = n;
    return 0;
}

/* --halt: never, 0/1/2/-1/-2, now|soon,fail|success|done=X|Y% */
int parse_halt(struct opts *o, const char *s)
{
    static const struct { const char *s; enum halt_when w; enum halt_why y; } legacy[] = {
        {"0", HALT_NEVER, HALT_FAIL}, {"never", HALT_NEVER, HALT_FAIL},
        {"1", HALT_SOON, HALT_FAIL}, {"2", HALT_NOW, HALT_FAIL},
        {"-1", HALT_SOON, HALT_SUCCESS}, {"-2", HALT_NOW, HALT_SUCCESS},
    };
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++) {
        if (strcmp(s, legacy[i].s) == 0) {
            o->halt_when = legacy[i].w;
            o->halt_why = legacy[i].y;
            o->halt_count = 1;
            o->halt_pct = 0;
            return 0;
        }
    }
    const char *why;
    if (strncmp(s, "now,", 4) == 0) {
        o->halt_when = HALT_NOW;
        why = s + 4;
    } else if (strncmp(s, "soon,", 5) == 0) {
        o->halt_when = HALT_SOON;
        why = s + 5;
    } else {
        return -1;
    }
    const char *num;
    if (strncmp(why, "fail=", 5) == 0) {
        o->halt_why = HALT_FAIL;
        num = why + 5;
    } else if (strncmp(why, "success=", 8) == 0) {
        o->halt_why = HALT_SUCCESS;
        num = why + 8;
    } else if (strncmp(why, "done=", 5) == 0) {
        o->halt_why = HALT_DONE;
        num = why + 5;
    } else {
        return -1;
    }
    size_t len = strlen(num);
    uint64_t v;
    if (len > 1 && num[len - 1] == '%') {
        char *end;
        errno = 0;
        double pct = strtod(num, &end);
        if (end != num + len - 1 || errno || !(pct > 0 && pct <= 100))
            return -1;
        o->halt_pct = pct;
        o->halt_count = 0;
    } else if (parse_uint(num, &v) == 0 && v > 0) {
        o->halt_count = v;
        o->halt_pct = 0;
    } else {
        return -1;
    }
    return 0;
}

/* -d: one character, with \n \t \0 \\ escapes. */
int parse_delim(const char *s, int *out)
{
    if (s[0] == '\\' && s[1] && !s[2]) {
        switch (s[1]) {
        case 'n': *out = '\n'; return 0;
        case 't': *out = '\t'; return 0;
        case '0': *out = '\0'; return 0;
        case '\\': *out = '\\'; return 0;
        case 'r': *out = '\r'; return 0;
        default: return -1;
        }
    }
    if (s[0] && !s[1]) {
        *out = (unsigned char)s[0];
        return 0;
    }
    return -1;
}

