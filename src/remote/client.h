/* client.h - the client's structure, shared by client.c and client_read.c.
 *
 * Protection legend:
 *   I  immutable after create
 *   S  submit_mu (the submit connection and what goes with it)
 *   M  map_mu (the tables of jobs waiting for results, the cancel queue)
 *   R  the result thread only
 *   A  atomic
 * Lock order: submit_mu before map_mu.  No lock is held while a future is
 * completed (its done callbacks may submit or cancel).
 */
#ifndef CREW_REMOTE_CLIENT_H
#define CREW_REMOTE_CLIENT_H

#include "remote_impl.h"

/* A stream id whose cancel is to be sent. */
typedef struct crew__cancel_item {
    uint64_t ms, seq;
} crew__cancel_item;

struct crew_remote_client {
    crew_remote_options o;          /* I */
    crew__url url;                  /* I */
    crew__keys keys;                /* I */
    char id[CREW__CLIENT_MAX + 1];  /* I: 32 random hex digits */
    char res_key[CREW__QUEUE_MAX + 16 + CREW__CLIENT_MAX + 1]; /* I: our results stream */

    pthread_mutex_t submit_mu;
    crew__conn sub;                 /* S */
    crew__args args;                /* S */

    pthread_mutex_t map_mu;
    pthread_cond_t map_cv;          /* M: destroy waits on it for by_seq empty, busy 0 */
    crew__idmap by_seq;             /* M: seq -> future (holds a reference), stream id */
    crew__idmap by_fut;             /* M: future address -> seq */
    uint64_t next_seq;              /* M */
    crew__cancel_item *cancels;     /* M: cancels not sent yet */
    size_t ncancels, cancels_cap;   /* M */
    unsigned busy;                  /* M: cancel callbacks still using the client */

    atomic_int closing;             /* A: destroy has begun */
    int wakefd;                     /* I: eventfd that interrupts the result thread */
    pthread_t reader;               /* I */
    crew__conn rd;                  /* R */
    char last_id[CREW__ID_MAX];     /* R: the last result entry read ("0-0" at first) */
    bool trim_due;                  /* R: entries up to last_id consumed, not trimmed */

    /* A: statistics, relaxed (counters only, read as snapshots). */
    atomic_uint_fast64_t submitted, completed, duplicates, cancels_removed, cancels_too_late;
};

/* client_read.c: the result thread's body. */
void *crew__client_reader(void *arg);

/* client_cancel.c */
/* Sends the queued cancels if the submit lock is free (or held by the
 * caller: locked == true). */
void crew__client_flush_cancels(crew_remote_client *c, bool locked);
/* Every remote future's done callback (ctx: the client): acts on a cancel. */
void crew__client_on_done(crew_future *f, void *ctx);
/* Takes the job of f out of both tables [map_mu held].  true (and *out,
 * the by-seq record) if it was there: the caller now owns the tables'
 * reference on f. */
bool crew__client_take(crew_remote_client *c, crew_future *f, crew__rec *out);

#endif
