/* worker_commit.c - the committer thread: results stored together with
 * their acks, lease renewals, retries due, housekeeping turns.
 *
 * Ops (finished jobs) accumulate in the commit queue while the previous
 * COMMIT script is on its way, so the batch size follows the load: one job
 * per call on an idle system (latency), up to CREW__SCRIPT_IDS under load
 * (throughput).  One COMMIT call writes, in this order: one entry per
 * client on its results stream holding every record for it (a record per
 * job), the dead letters, the retries, and then the XACK of every job of
 * the batch.  Redis runs the script atomically and stops at the first
 * failing write, so an acknowledged job always has its result stored
 * (README.md, "Atomic steps").  A batch that fails (connection lost) stays
 * queued and is committed again after reconnecting: committing twice is
 * harmless (a second XACK does nothing; the client drops the second
 * record).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define RELAXED memory_order_relaxed
#define MS 1000000LL
#define KEEP_EVERY (1000 * MS)   /* housekeeping turn (one worker per turn) */
#define PROMOTE_EVERY (500 * MS) /* looking for retries due when none is known */

typedef struct group {
    const char *client;
    crew__buf blob;
    char key[CREW__QUEUE_MAX + 16 + CREW__CLIENT_MAX + 1];
} group;

/* The retry copy of j: a msgpack array (README.md, "Retries"). */
static void retry_member(crew_remote_worker *w, crew__wjob *j, crew__buf *m)
{
    char reply[CREW__CLIENT_MAX + 24], opt[48], err[4200];
    int nr = snprintf(reply, sizeof reply, "%s/%" PRIu64, j->client, j->seq);
    int no = snprintf(opt, sizeof opt, "%u:%" PRIu32 ":%u", j->retries - 1, j->backoff_ms,
                      j->attempt + 1);
    int ne = snprintf(err, sizeof err, "status %" PRId32 ": %.*s", j->status,
                      (int)(j->out.len > 4000 ? 4000 : j->out.len), (const char *)j->out.p);
    (void)w;
    crew__mp_array(m, j->client[0] ? 11 : 9);
    crew__mp_str(m, j->id, strlen(j->id));
    crew__mp_str(m, "t", 1);
    crew__mp_str(m, j->task->name, j->task->len);
    if (j->client[0]) {
        crew__mp_str(m, "c", 1);
        crew__mp_str(m, reply, (size_t)nr);
    }
    crew__mp_str(m, "p", 1);
    crew__mp_str(m, j->payload, j->payload_len);
    crew__mp_str(m, "o", 1);
    crew__mp_str(m, opt, (size_t)no);
    crew__mp_str(m, "e", 1);
    crew__mp_str(m, err, (size_t)(ne < (int)sizeof err ? ne : (int)sizeof err - 1));
}

static uint64_t retry_delay_ms(const crew__wjob *j)
{
    uint64_t d = j->backoff_ms;
    for (unsigned i = 0; i < j->attempt && d < 86400000u; i++)
        d *= 2;
    return d > 86400000u ? 86400000u : d;
}

/* One COMMIT call for ops[0..n) (none a GIVEBACK).  0 or a code. */
static int commit_ops(crew_remote_worker *w, crew__args *a, crew__wjob **ops, size_t n)
{
    group *g = calloc(n, sizeof *g);
    if (!g)
        return CREW_ENOMEM;
    size_t ng = 0, nd = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        crew__wjob *j = ops[i];
        nd += j->kind == CREW__OP_DEAD;
        if (j->kind == CREW__OP_RETRY) {
            nr++;
            j->raw.len = 0;
            retry_member(w, j, &j->raw);
            continue;
        }
        if (!j->client[0])
            continue;
        size_t k = 0;
        while (k < ng && strcmp(g[k].client, j->client))
            k++;
        if (k == ng) {
            g[ng].client = j->client;
            snprintf(g[ng].key, sizeof g[ng].key, "%s%s", w->keys.res_prefix, j->client);
            ng++;
        }
        unsigned char head[CREW__REC_HEAD];
        crew__rec_put(head, j->seq, j->status, NULL, (uint32_t)j->out.len);
        crew__buf_put(&g[k].blob, head, sizeof head);
        crew__buf_put(&g[k].blob, j->out.p, j->out.len);
    }
    crew__script_begin(&w->commit, a, CREW__S_COMMIT, (unsigned)(3 + ng));
    crew__args_str(a, w->keys.jobs);
    crew__args_str(a, w->keys.dead);
    crew__args_str(a, w->keys.delayed);
    for (size_t k = 0; k < ng; k++)
        crew__args_str(a, g[k].key);
    crew__args_str(a, CREW__GROUP);
    crew__args_i64(a, w->o.result_ttl_ns / MS);
    crew__args_u64(a, w->o.dead_max);
    bool oom = false;
    for (size_t k = 0; k < ng; k++) {
        oom |= g[k].blob.oom;
        crew__args_add(a, g[k].blob.p, g[k].blob.len);
    }
    crew__args_u64(a, nd);
    for (size_t i = 0; i < n; i++) {
        crew__wjob *j = ops[i];
        if (j->kind != CREW__OP_DEAD)
            continue;
        size_t nraw = 0;
        for (size_t off = 0; off + 4 <= j->raw.len; nraw++) {
            uint32_t len;
            memcpy(&len, j->raw.p + off, 4);
            off += 4 + len;
        }
        crew__args_u64(a, 8 + nraw);
        crew__args_str(a, "id");
        crew__args_str(a, j->id);
        crew__args_str(a, "reason");
        crew__args_add(a, j->out.p, j->out.len);
        crew__args_str(a, "code");
        crew__args_str(a, j->code_name);
        crew__args_str(a, "consumer");
        crew__args_str(a, w->consumer);
        for (size_t off = 0; off + 4 <= j->raw.len;) {
            uint32_t len;
            memcpy(&len, j->raw.p + off, 4);
            crew__args_add(a, j->raw.p + off + 4, len);
            off += 4 + len;
        }
    }
    crew__args_u64(a, nr);
    for (size_t i = 0; i < n; i++) {
        crew__wjob *j = ops[i];
        if (j->kind != CREW__OP_RETRY)
            continue;
        oom |= j->raw.oom;
        crew__args_u64(a, retry_delay_ms(j));
        crew__args_add(a, j->raw.p, j->raw.len);
    }
    for (size_t i = 0; i < n; i++)
        crew__args_str(a, ops[i]->id);
    redisReply *r = NULL;
    int rc = oom ? CREW_ENOMEM : crew__script_call(&w->commit, a, &r);
    freeReplyObject(r);
    for (size_t k = 0; k < ng; k++)
        crew__buf_free(&g[k].blob);
    free(g);
    if (!rc) {
        atomic_fetch_add_explicit(&w->acked, n, RELAXED);
        atomic_fetch_add_explicit(&w->dead_lettered, nd, RELAXED);
        atomic_fetch_add_explicit(&w->retried, nr, RELAXED);
    }
    return rc;
}

/* Runs script id (EXTEND or GIVEBACK) over the ids, in chunks; *done sums
 * its integer replies. */
static int ids_script(crew_remote_worker *w, crew__args *a, enum crew__script_id id,
                      char (*ids)[CREW__ID_MAX], size_t n, uint64_t *done)
{
    *done = 0;
    for (size_t from = 0; from < n; from += CREW__SCRIPT_IDS) {
        size_t to = n - from > CREW__SCRIPT_IDS ? from + CREW__SCRIPT_IDS : n;
        crew__script_begin(&w->commit, a, id, 1);
        crew__args_str(a, w->keys.jobs);
        crew__args_str(a, CREW__GROUP);
        crew__args_str(a, w->consumer);
        for (size_t i = from; i < to; i++)
            crew__args_str(a, ids[i]);
        redisReply *r;
        int rc = crew__script_call(&w->commit, a, &r);
        if (rc)
            return rc;
        if (r->type == REDIS_REPLY_INTEGER)
            *done += (uint64_t)r->integer;
        freeReplyObject(r);
    }
    return 0;
}

/* The ids of the held jobs, *n of them.  NULL without memory. */
static char (*held_ids(crew_remote_worker *w, size_t *n))[CREW__ID_MAX]
{
    pthread_mutex_lock(&w->mu);
    char(*ids)[CREW__ID_MAX] = malloc((w->nheld + 1) * sizeof *ids);
    size_t k = 0;
    for (crew__wjob *j = w->held.next; ids && j != &w->held; j = j->next)
        memcpy(ids[k++], j->id, CREW__ID_MAX);
    pthread_mutex_unlock(&w->mu);
    *n = k;
    return ids;
}

/* Forgets committed (or given back) jobs and frees them. */
static void release_ops(crew_remote_worker *w, crew__wjob **ops, size_t n)
{
    pthread_mutex_lock(&w->mu);
    CREW__CHECK(w->nheld >= n);
    for (size_t i = 0; i < n; i++) {
        ops[i]->prev->next = ops[i]->next;
        ops[i]->next->prev = ops[i]->prev;
    }
    w->nheld -= n;
    pthread_cond_broadcast(&w->room_cv);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++)
        crew__wjob_free(ops[i]);
}

/* Commits a batch: GIVEBACK ops through their script, the rest through
 * COMMIT.  On failure the batch goes back to the front of the queue. */
static int commit_batch(crew_remote_worker *w, crew__args *a, crew__wjob **ops, size_t n)
{
    size_t ng = 0;
    char(*gids)[CREW__ID_MAX] = malloc((n + 1) * sizeof *gids);
    crew__wjob **rest = malloc((n + 1) * sizeof *rest);
    int rc = gids && rest ? 0 : CREW_ENOMEM;
    size_t nrest = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (ops[i]->kind == CREW__OP_GIVEBACK)
            memcpy(gids[ng++], ops[i]->id, CREW__ID_MAX);
        else
            rest[nrest++] = ops[i];
    }
    uint64_t given = 0;
    if (!rc && nrest)
        rc = commit_ops(w, a, rest, nrest);
    if (!rc && ng)
        rc = ids_script(w, a, CREW__S_GIVEBACK, gids, ng, &given);
    free(gids);
    free(rest);
    if (rc) {
        pthread_mutex_lock(&w->mu);
        ops[n - 1]->qnext = w->qhead;
        for (size_t i = 0; i + 1 < n; i++)
            ops[i]->qnext = ops[i + 1];
        w->qhead = ops[0];
        if (w->qtail == &w->qhead)
            w->qtail = &ops[n - 1]->qnext;
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    release_ops(w, ops, n);
    return 0;
}

static void extend_leases(crew_remote_worker *w, crew__args *a)
{
    size_t n;
    char(*ids)[CREW__ID_MAX] = held_ids(w, &n);
    uint64_t renewed = 0;
    if (ids && n && !ids_script(w, a, CREW__S_EXTEND, ids, n, &renewed)) {
        atomic_fetch_add_explicit(&w->lease_renewals, renewed, RELAXED);
        /* The held jobs committed meanwhile are not in the pending list
         * either: an undercount of losses is possible, not an overcount
         * of renewals. */
        if (renewed < n)
            atomic_fetch_add_explicit(&w->leases_lost, n - renewed, RELAXED);
    }
    free(ids);
}

void *crew__committer(void *arg)
{
    crew_remote_worker *w = arg;
    crew__args a;
    crew__args_init(&a);
    crew__wjob **ops = malloc(CREW__SCRIPT_IDS * sizeof *ops);
    int64_t now = crew_now_ns();
    int64_t next_extend = now + w->o.lease_ns / 3, next_promote = now, next_keep = now;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        /* acquire: pairs with serve's release store at the end of the grace. */
        bool abandon = atomic_load_explicit(&w->abandon, memory_order_acquire);
        if (abandon || (w->fetch_done && w->nheld == 0) || !ops)
            break;
        now = crew_now_ns();
        int64_t due = next_extend < next_promote ? next_extend : next_promote;
        due = due < next_keep ? due : next_keep;
        if (!w->qhead && now < due) {
            int64_t until = due - now < 100 * MS ? due : now + 100 * MS; /* see abandon */
            struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
            w->committer_idle = true;
            pthread_cond_timedwait(&w->commit_cv, &w->mu, &ts);
            w->committer_idle = false;
            continue;
        }
        size_t n = 0;
        while (w->qhead && n < CREW__SCRIPT_IDS) {
            ops[n++] = w->qhead;
            w->qhead = w->qhead->qnext;
        }
        if (!w->qhead)
            w->qtail = &w->qhead;
        pthread_mutex_unlock(&w->mu);

        int rc = crew__conn_ensure(&w->commit, INT64_MAX, &w->abandon);
        if (!rc && n) {
            bool retries = false;
            for (size_t i = 0; i < n; i++)
                retries |= ops[i]->kind == CREW__OP_RETRY;
            rc = commit_batch(w, &a, ops, n);
            if (!rc && retries)
                next_promote = crew_now_ns();
            n = 0;
        }
        /* The periodic steps run whenever the connection is up, even while
         * commits fail (Redis out of memory, say): the held jobs' leases
         * must not lapse meanwhile. */
        now = crew_now_ns();
        if (w->commit.rc && now >= next_extend) {
            extend_leases(w, &a);
            next_extend = now + w->o.lease_ns / 3;
        }
        if (w->commit.rc && now >= next_promote) {
            int64_t next_ms = -1;
            int prc = crew__promote(w, &w->commit, &next_ms);
            int64_t wait = next_ms >= 0 && next_ms * MS < PROMOTE_EVERY ? next_ms * MS : PROMOTE_EVERY;
            next_promote = now + wait;
            rc = rc ? rc : prc;
        }
        if (w->commit.rc && now >= next_keep) {
            int krc = crew__keep(w, &w->commit);
            next_keep = now + KEEP_EVERY;
            rc = rc ? rc : krc;
        }
        if (n) { /* not committed (no connection): put back */
            pthread_mutex_lock(&w->mu);
            ops[n - 1]->qnext = w->qhead;
            for (size_t i = 0; i + 1 < n; i++)
                ops[i]->qnext = ops[i + 1];
            if (!w->qhead)
                w->qtail = &ops[n - 1]->qnext;
            w->qhead = ops[0];
            pthread_mutex_unlock(&w->mu);
        }
        if (rc && rc != CREW_ECONN && rc != CREW_ESHUTDOWN)
            crew__nap(1000 * MS, &w->abandon); /* EAUTH, EBROKER: do not spin */
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    /* Grace over with jobs still held: hand them all back to the queue
     * (those still running too: they may run twice, which at-least-once
     * allows) so that others take them at once instead of after a lease. */
    if (atomic_load_explicit(&w->abandon, memory_order_acquire)) {
        size_t n;
        uint64_t given;
        char(*ids)[CREW__ID_MAX] = held_ids(w, &n);
        if (ids && n && !crew__conn_ensure(&w->commit, crew_now_ns() + w->o.io_timeout_ns, NULL))
            ids_script(w, &a, CREW__S_GIVEBACK, ids, n, &given);
        free(ids);
    }
    free(ops);
    crew__args_free(&a);
    crew__conn_drop(&w->commit);
    return NULL;
}
