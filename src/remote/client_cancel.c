/* client_cancel.c - cancelling remote futures (README.md, "Cancellation").
 *
 * Every remote future carries a done callback (crew__client_on_done) that
 * notices a crew_future_cancel: it takes the job out of the tables and
 * queues its stream id for the CANCEL script, which whoever holds the
 * submit lock next sends (crew__client_flush_cancels), so that
 * crew_future_cancel never waits on the network.  The CANCEL script removes
 * the job (XDEL) only if the consumer group has not delivered it yet, i.e.
 * no worker has taken it, atomically in Redis.  crew_remote_cancel runs the
 * script first and cancels the future only if the job was removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define RELAXED memory_order_relaxed

/* ---- tables ------------------------------------------------------------------- */

bool crew__client_take(crew_remote_client *c, crew_future *f, crew__rec *out)
{
    crew__rec byf;
    if (!crew__idmap_del(&c->by_fut, (uint64_t)(uintptr_t)f, &byf))
        return false;
    bool both = crew__idmap_del(&c->by_seq, byf.a, out);
    CREW__CHECK(both && out->f == f); /* the tables hold the same jobs */
    return both;
}

/* ---- cancels ------------------------------------------------------------------- */

/* Sends the queued cancels [S held].  Leaves them queued when the
 * connection is down: the next submit, after reconnecting, sends them. */
static void send_cancels(crew_remote_client *c)
{
    crew__cancel_item batch[64];
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&c->map_mu);
        if (c->sub.rc && c->ncancels) {
            n = c->ncancels < 64 ? c->ncancels : 64;
            c->ncancels -= n;
            memcpy(batch, c->cancels + c->ncancels, n * sizeof *batch);
        }
        pthread_mutex_unlock(&c->map_mu);
        if (n == 0)
            return;
        size_t sent = 0, answered = 0;
        for (; sent < n; sent++) {
            char id[CREW__ID_MAX];
            int len = snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)batch[sent].ms,
                               (unsigned long long)batch[sent].seq);
            crew__script_begin(&c->sub, &c->args, CREW__S_CANCEL, 1);
            crew__args_str(&c->args, c->keys.jobs);
            crew__args_str(&c->args, CREW__GROUP);
            crew__args_copy(&c->args, id, (size_t)len);
            if (crew__conn_append(&c->sub, &c->args))
                break;
        }
        int64_t deadline = crew_now_ns() + c->o.io_timeout_ns;
        for (; answered < sent; answered++) {
            redisReply *r;
            if (crew__conn_reply(&c->sub, &r, deadline, -1))
                break;
            if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
                atomic_fetch_add_explicit(&c->cancels_removed, 1, RELAXED);
            else
                atomic_fetch_add_explicit(&c->cancels_too_late, 1, RELAXED);
            freeReplyObject(r);
        }
        if (answered < n) { /* connection lost: queue the rest again */
            pthread_mutex_lock(&c->map_mu);
            for (size_t i = answered; i < n; i++) {
                if (c->ncancels < c->cancels_cap)
                    c->cancels[c->ncancels++] = batch[i];
            }
            pthread_mutex_unlock(&c->map_mu);
            return;
        }
    }
}

void crew__client_flush_cancels(crew_remote_client *c, bool locked)
{
    if (locked) {
        send_cancels(c);
        return;
    }
    /* Whoever holds the lock sends them before it unlocks; after our own
     * unlock, look again for cancels queued while we held it. */
    for (;;) {
        if (pthread_mutex_trylock(&c->submit_mu))
            return;
        send_cancels(c);
        pthread_mutex_unlock(&c->submit_mu);
        pthread_mutex_lock(&c->map_mu);
        bool more = c->ncancels > 0 && c->sub.rc;
        pthread_mutex_unlock(&c->map_mu);
        if (!more)
            return;
    }
}

/* Every remote future's done callback: acts only on a cancel. */
void crew__client_on_done(crew_future *f, void *ctx)
{
    if (!crew_future_cancelled(f))
        return;
    crew_remote_client *c = ctx;
    crew__rec r;
    pthread_mutex_lock(&c->map_mu);
    bool mine = crew__client_take(c, f, &r);
    if (mine) {
        c->busy++;
        if (r.a && c->ncancels == c->cancels_cap) {
            size_t cap = c->cancels_cap ? 2 * c->cancels_cap : 64;
            crew__cancel_item *q = realloc(c->cancels, cap * sizeof *q);
            if (q)
                c->cancels = q, c->cancels_cap = cap;
        }
        if (r.a && c->ncancels < c->cancels_cap) /* r.a == 0: no stream id known */
            c->cancels[c->ncancels++] = (crew__cancel_item){r.a, r.b};
    }
    pthread_mutex_unlock(&c->map_mu);
    if (!mine)
        return; /* completed meanwhile, or taken by crew_remote_cancel / destroy */
    crew_future_release(f); /* the tables' reference; crew_future_cancel holds its own */
    crew__client_flush_cancels(c, false);
    pthread_mutex_lock(&c->map_mu);
    if (--c->busy == 0)
        pthread_cond_broadcast(&c->map_cv);
    pthread_mutex_unlock(&c->map_mu);
}

/* ---- the strict cancel --------------------------------------------------------------- */

int crew_remote_cancel(crew_remote_client *c, crew_future *f)
{
    if (!c || !f)
        return CREW_EINVAL;
    pthread_mutex_lock(&c->map_mu);
    crew__rec *byf = crew__idmap_get(&c->by_fut, (uint64_t)(uintptr_t)f);
    crew__rec *bys = byf ? crew__idmap_get(&c->by_seq, byf->a) : NULL;
    uint64_t ms = bys ? bys->a : 0, sseq = bys ? bys->b : 0;
    pthread_mutex_unlock(&c->map_mu);
    if (!bys)
        return crew_future_done(f) ? CREW_ESTATE : CREW_EINVAL;
    char id[CREW__ID_MAX];
    int len = snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)ms, (unsigned long long)sseq);
    pthread_mutex_lock(&c->submit_mu);
    int rc = crew__conn_ensure(&c->sub, crew_now_ns() + c->o.retry_timeout_ns, &c->closing);
    redisReply *r = NULL;
    if (!rc) {
        crew__script_begin(&c->sub, &c->args, CREW__S_CANCEL, 1);
        crew__args_str(&c->args, c->keys.jobs);
        crew__args_str(&c->args, CREW__GROUP);
        crew__args_copy(&c->args, id, (size_t)len);
        rc = crew__script_call(&c->sub, &c->args, &r);
    }
    crew__client_flush_cancels(c, true);
    pthread_mutex_unlock(&c->submit_mu);
    if (rc)
        return rc;
    bool removed = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    if (!removed) {
        atomic_fetch_add_explicit(&c->cancels_too_late, 1, RELAXED);
        return CREW_ESTATE;
    }
    atomic_fetch_add_explicit(&c->cancels_removed, 1, RELAXED);
    crew__rec taken;
    pthread_mutex_lock(&c->map_mu);
    bool mine = crew__client_take(c, f, &taken);
    pthread_mutex_unlock(&c->map_mu);
    if (!mine)
        return CREW_ESTATE; /* a result (of an earlier copy) got there first */
    bool ok = crew_future_cancel(f); /* on_done finds nothing to do */
    crew_future_release(f);          /* the tables' reference */
    return ok ? 0 : CREW_ESTATE;
}

