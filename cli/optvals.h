/*
 * optvals.h - parsers for the option values of opts.c that are more than a
 * number (see optvals.c).
 */
#ifndef CREW_CLI_OPTVALS_H
#define CREW_CLI_OPTVALS_H

#include "opts.h"

/* -j 0 means "as many as possible"; this is the cap (then the fd limit). */
#define SLOTS_MAX 1024
/* Descriptors one running job may hold: its pidfd, two pipe ends, and
 * during the spawn the two write ends; two spill files. */
#define FDS_PER_JOB 7

/* CPUs this process may run on. */
unsigned online_cpus(void);

/* How many of `wanted` job slots the descriptor limit allows (raising the
 * soft limit as far as needed and allowed). */
unsigned slots_fd_limit(unsigned wanted);

/* -j and --load: N, N%, +N, -N, 0 (0: SLOTS_MAX).  0 or -1. */
int parse_jobs(const char *s, unsigned *slots);

/* --term-seq TERM,200,TERM,100,KILL,25 into o->term.  0 or -1. */
int parse_termseq(struct opts *o, const char *s);

/* --halt: never, 0/1/2/-1/-2, now|soon,fail|success|done=X|Y%.  0 or -1. */
int parse_halt(struct opts *o, const char *s);

/* -d: one character, or \n \t \0 \\ \r.  0 or -1. */
int parse_delim(const char *s, int *out);

#endif /* CREW_CLI_OPTVALS_H */
