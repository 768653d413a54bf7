/* worker_keep.c - the queue's upkeep that every worker takes part in:
 * taking over jobs whose lease expired (and dead-lettering the ones
 * delivered too often), moving retries that are due back into the stream,
 * trimming acknowledged jobs and removing dead consumers.
 *
 * Reclaim runs in the fetcher (it produces jobs to run), every
 * min(lease / 4, 500 ms) whether the worker is busy or idle, and at once
 * again while it finds a full batch, so a dead worker's jobs are running
 * elsewhere within a lease and a reclaim period of its death.  Promotion
 * and housekeeping run in the committer.  Housekeeping is a turn taken by
 * one worker per period (a key set with NX and an expiry), not a leader:
 * any worker may take the next turn, and a worker that dies holding the
 * turn loses it when the key expires.
 */
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define RELAXED memory_order_relaxed
#define MS 1000000LL

int crew__reclaim(crew_remote_worker *w, unsigned count, unsigned *got)
{
    *got = 0;
    crew__args a;
    crew__args_init(&a);
    crew__script_begin(&w->fetch, &a, CREW__S_RECLAIM, 2);
    crew__args_str(&a, w->keys.jobs);
    crew__args_str(&a, w->keys.dead);
    crew__args_str(&a, CREW__GROUP);
    crew__args_str(&a, w->consumer);
    crew__args_i64(&a, w->o.lease_ns / MS);
    crew__args_u64(&a, w->o.max_deliveries);
    crew__args_u64(&a, count);
    crew__args_i64(&a, w->o.result_ttl_ns / MS);
    crew__args_u64(&a, w->o.dead_max);
    crew__args_str(&a, w->keys.res_prefix);
    redisReply *r;
    int rc = crew__script_call(&w->fetch, &a, &r);
    crew__args_free(&a);
    if (rc)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[1]->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return CREW_EPROTO;
    }
    long long dead = r->element[1]->integer;
    if (dead > 0) {
        atomic_fetch_add_explicit(&w->dead_lettered, (uint64_t)dead, RELAXED);
        crew__log(&w->o, CREW_REMOTE_LOG_WARN,
                  "worker %s: %lld job(s) delivered %u times moved to the dead-letter stream",
                  w->consumer, dead, w->o.max_deliveries);
    }
    const redisReply *ents = r->element[0];
    crew__wjob **jobs = malloc((ents->elements + 1) * sizeof *jobs);
    for (size_t i = 0; jobs && i < ents->elements; i++) {
        const redisReply *e = ents->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= CREW__ID_MAX)
            continue; /* a deleted entry (nil): XCLAIM dropped it from the pending list */
        crew__wjob *j = crew__wjob_from_entry(w, e->element[0], e->element[1]);
        if (j) /* else no memory: it expires again and is taken over later */
            jobs[(*got)++] = j;
    }
    atomic_fetch_add_explicit(&w->reclaimed, *got, RELAXED);
    crew__worker_start(w, jobs, *got);
    free(jobs);
    freeReplyObject(r);
    return 0;
}

int crew__promote(crew_remote_worker *w, crew__conn *c, int64_t *next_ms)
{
    crew__args a;
    crew__args_init(&a);
    crew__script_begin(c, &a, CREW__S_PROMOTE, 3);
    crew__args_str(&a, w->keys.jobs);
    crew__args_str(&a, w->keys.delayed);
    crew__args_str(&a, w->keys.dead);
    crew__args_u64(&a, 1000);
    redisReply *r;
    int rc = crew__script_call(c, &a, &r);
    crew__args_free(&a);
    if (rc)
        return rc;
    *next_ms = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_INTEGER)
        *next_ms = r->element[1]->integer;
    /* A full batch moved: look again at once. */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer >= 1000)
        *next_ms = 0;
    freeReplyObject(r);
    return 0;
}

int crew__keep(crew_remote_worker *w, crew__conn *c)
{
    crew__args a;
    crew__args_init(&a);
    crew__script_begin(c, &a, CREW__S_KEEP, 2);
    crew__args_str(&a, w->keys.jobs);
    crew__args_str(&a, w->keys.keeper);
    crew__args_str(&a, w->consumer);
    crew__args_u64(&a, 1000); /* the turn, in ms: KEEP_EVERY */
    crew__args_i64(&a, w->o.dead_consumer_idle_ns / MS);
    redisReply *r;
    int rc = crew__script_call(c, &a, &r);
    crew__args_free(&a);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer > 0)
        crew__log(&w->o, CREW_REMOTE_LOG_INFO,
                  "worker %s: removed %lld dead consumer(s) with nothing pending", w->consumer,
                  r->element[1]->integer);
    freeReplyObject(r);
    return 0;
}
