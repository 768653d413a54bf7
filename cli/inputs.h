/*
 * inputs.h - the input reader: turns the input sources (::: values, ::::
 * files, -a files, standard input) into one record of values per job and
 * hands the records to the event loop through a bounded crew_queue.
 *
 * The reader runs as a task on the command's crew pool.  Because the queue
 * is bounded, a million lines on standard input are read only as fast as
 * job slots free up: memory does not depend on the number of inputs.  With
 * several sources the jobs are their cartesian product, the first source
 * varying slowest (as parallel); every source but the first is read whole
 * first (a product needs them again and again), the first is streamed.
 *
 * Records: one per job, numbered from 1 in input order ({#}, the joblog's
 * Seq); --resume skips the numbers the joblog lists, so they keep their
 * numbers across runs.  Values: with --colsep each value is split into
 * columns; with -N n the values of n consecutive tuples make one job.
 *
 * Ownership: a record is one allocation (struct args), owned by the queue
 * until the loop takes it, then by the job that runs it.  The reader stops
 * early when the loop shuts the queue down or writes the stop eventfd.
 */
#ifndef CREW_CLI_INPUTS_H
#define CREW_CLI_INPUTS_H

#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <crew.h>

#include "opts.h"
#include "waker.h"

/* One job's values; v[i] comes from input source src[i] (1-based, for
 * --results).  Strings are NUL-terminated and live in the same block. */
struct args {
    uint64_t seq;
    unsigned n;
    uint16_t *src;
    char *v[];
};

struct args *args_new(uint64_t seq, unsigned n, const char *const *v, const size_t *len,
                      const uint16_t *src);
void args_free(struct args *a);

/* The sequence numbers --resume must skip (a bitmap). */
struct seqset {
    uint8_t *bits;
    uint64_t cap; /* bits */
};
void seqset_add(struct seqset *s, uint64_t seq);
bool seqset_has(const struct seqset *s, uint64_t seq);
void seqset_free(struct seqset *s);

/* A buffered reader of delimiter-separated records from a descriptor; it
 * waits with poll on the stop descriptor too, so a reader blocked on a
 * terminal or a pipe can be told to stop. */
struct rdbuf {
    int fd;
    bool eof;
    char *buf;
    size_t start, end, cap;
};

struct rsrc {
    const struct source_spec *spec;
    struct rdbuf rd;  /* the first source when it is a file: streamed */
    char **vals;      /* loaded values (other sources, or ::: values) */
    size_t n;
    bool owned;       /* vals and their strings were read from a file */
};

struct reader {
    const struct opts *o;
    struct rsrc *src;
    size_t nsrc;
    regex_t colsep;
    bool has_colsep;
    crew_queue *q;            /* records to the event loop (bounded FIFO) */
    const struct seqset *skip;
    struct waker *wk;         /* the loop's: kicked after each put */
    struct waker room;        /* the reader's: the loop kicks it when the full
                                 queue has drained to half (so a reader
                                 ahead of the jobs wakes once per half queue,
                                 not once per job) */
    int stop_fd;              /* eventfd: the loop wants the reader to stop */
    atomic_uint_fast64_t total; /* A: records queued in all, UINT64_MAX until known */
    atomic_bool failed;       /* A: a read error ended the input (message printed) */
};

/* Opens every source (a missing file is reported here, before any job
 * runs), reads the sources after the first, compiles --colsep and creates
 * the queue.  Returns 0 or CLI_EXIT_ERROR after printing why. */
int reader_open(struct reader *r, const struct opts *o, const struct seqset *skip,
                struct waker *wk);

/* The crew task: reads everything, queues the records, then shuts the
 * queue down (not immediately) so the loop sees the end after the last
 * record.  arg is the struct reader. */
int reader_task(void *arg, void **result);

/* The loop took a record: wakes the reader if it waits for room and the
 * queue is down to half. */
void reader_took(struct reader *r);

/* Asks a running reader to stop (from the loop's thread). */
void reader_stop(struct reader *r);

/* Frees everything (the reader task must have finished or never started). */
void reader_close(struct reader *r);

#endif /* CREW_CLI_INPUTS_H */
