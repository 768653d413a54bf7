/* client_read.c - the client's result thread.
 *
 * One thread per client reads the client's results stream
 * (crew:{Q}:res:<client>) with XREAD BLOCK from the last entry it saw, on a
 * connection of its own: no polling per job, one read per batch of results.
 * Each entry holds a batch of result records (README.md, "Messages"); each
 * record names a job by its sequence number.  The first record for a
 * sequence number takes the job out of the tables and completes its future;
 * a later one (the job ran twice) finds nothing and is counted as a
 * duplicate.  That is the exactly-once completion of the futures.
 *
 * The position (last_id) survives reconnections, so nothing written while
 * the connection was down is missed, Redis restarts included (given
 * persistence).  Entries read are trimmed away on the next round trip
 * (XTRIM MINID, pipelined before the XREAD).
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define RELAXED memory_order_relaxed
#define BLOCK_MS 2000 /* a blocking read's length: a dead connection shows within it */
#define READ_COUNT 256 /* entries per read (each holds a batch of results) */

typedef struct done_item {
    uint64_t seq;
    crew_future *f; /* set once the seq is found in the tables */
    int32_t status;
    const unsigned char *bytes;
    uint32_t len;
} done_item;

/* Completes one future with a record; drops the tables' reference. */
static void complete(crew_remote_client *c, const done_item *d)
{
    crew_remote_bytes *b = NULL;
    if (d->len || d->status) {
        b = malloc(sizeof *b + d->len + 1);
        if (b) {
            b->size = d->len;
            memcpy(b->data, d->bytes, d->len);
            b->data[d->len] = '\0';
        }
    }
    int rc;
    if (d->status == 0 && (b || !d->len))
        rc = crew_future_set_result(d->f, b);
    else /* a failure, or no memory for the result: report that */
        rc = crew_future_set_error(d->f, d->status ? d->status : CREW_ENOMEM, b);
    if (rc) { /* cancelled meanwhile: the result is ours to drop */
        free(b);
        atomic_fetch_add_explicit(&c->duplicates, 1, RELAXED);
    } else {
        atomic_fetch_add_explicit(&c->completed, 1, RELAXED);
    }
    crew_future_release(d->f);
}

/* Handles the records of one XREAD reply's entries. */
static void handle_entries(crew_remote_client *c, const redisReply *entries)
{
    size_t cap = 0, n = 0;
    done_item *items = NULL;
    for (size_t e = 0; e < entries->elements; e++) {
        const redisReply *ent = entries->element[e];
        if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
            ent->element[0]->type != REDIS_REPLY_STRING || ent->element[0]->len >= CREW__ID_MAX)
            continue;
        memcpy(c->last_id, ent->element[0]->str, ent->element[0]->len + 1);
        c->trim_due = true;
        const redisReply *fv = ent->element[1];
        for (size_t k = 0; fv->type == REDIS_REPLY_ARRAY && k + 1 < fv->elements; k += 2) {
            const redisReply *name = fv->element[k], *val = fv->element[k + 1];
            if (name->type != REDIS_REPLY_STRING || name->len != 1 || name->str[0] != 'r' ||
                val->type != REDIS_REPLY_STRING)
                continue;
            const unsigned char *p = (const unsigned char *)val->str, *end = p + val->len;
            while (p < end) {
                done_item d = {0};
                if (crew__rec_get(&p, end, &d.seq, &d.status, &d.bytes, &d.len))
                    break; /* a damaged blob: its remaining records are lost */
                if (n == cap) {
                    size_t ncap = cap ? 2 * cap : 256;
                    done_item *q = realloc(items, ncap * sizeof *q);
                    if (!q)
                        break;
                    items = q, cap = ncap;
                }
                items[n++] = d;
            }
        }
    }
    /* Take the jobs out of the tables in one go; complete them unlocked. */
    size_t found = 0;
    pthread_mutex_lock(&c->map_mu);
    for (size_t i = 0; i < n; i++) {
        crew__rec r;
        if (items[i].seq && crew__idmap_del(&c->by_seq, items[i].seq, &r)) {
            bool both = crew__idmap_del(&c->by_fut, (uint64_t)(uintptr_t)r.f, NULL);
            CREW__CHECK(both);
            (void)both;
            items[found] = items[i];
            items[found++].f = r.f;
        }
    }
    pthread_mutex_unlock(&c->map_mu);
    atomic_fetch_add_explicit(&c->duplicates, n - found, RELAXED);
    for (size_t i = 0; i < found; i++)
        complete(c, &items[i]);
    free(items);
}

void *crew__client_reader(void *arg)
{
    crew_remote_client *c = arg;
    crew__args a;
    crew__args_init(&a);
    /* acquire: pairs with destroy's release store. */
    while (!atomic_load_explicit(&c->closing, memory_order_acquire)) {
        int rc = crew__conn_ensure(&c->rd, INT64_MAX, &c->closing);
        if (rc == CREW_ESHUTDOWN)
            break;
        if (rc) { /* a refused password: keep trying, slowly */
            crew__nap(1000000000LL, &c->closing);
            continue;
        }
        bool trimmed = c->trim_due;
        if (trimmed) {
            crew__args_reset(&a);
            crew__args_str(&a, "XTRIM");
            crew__args_str(&a, c->res_key);
            crew__args_str(&a, "MINID");
            crew__args_str(&a, c->last_id);
            if (crew__conn_append(&c->rd, &a))
                continue;
        }
        crew__args_reset(&a);
        crew__args_str(&a, "XREAD");
        crew__args_str(&a, "COUNT");
        crew__args_u64(&a, READ_COUNT);
        crew__args_str(&a, "BLOCK");
        crew__args_u64(&a, BLOCK_MS);
        crew__args_str(&a, "STREAMS");
        crew__args_str(&a, c->res_key);
        crew__args_str(&a, c->last_id);
        if (crew__conn_append(&c->rd, &a))
            continue;
        int64_t deadline = crew_now_ns() + BLOCK_MS * 1000000LL + c->o.io_timeout_ns;
        redisReply *r;
        if (trimmed) {
            if (crew__conn_reply(&c->rd, &r, deadline, c->wakefd))
                continue;
            freeReplyObject(r);
            c->trim_due = false;
        }
        if (crew__conn_reply(&c->rd, &r, deadline, c->wakefd))
            continue;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
            r->element[0]->element[1]->type == REDIS_REPLY_ARRAY)
            handle_entries(c, r->element[0]->element[1]);
        else if (r->type == REDIS_REPLY_ERROR) { /* LOADING, or the key is not a stream */
            crew__log(&c->o, CREW_REMOTE_LOG_WARN, "client results: XREAD failed: %.200s", r->str);
            crew__conn_drop(&c->rd);
            crew__nap(200000000LL, &c->closing);
        }
        freeReplyObject(r);
    }
    crew__args_free(&a);
    crew__conn_drop(&c->rd);
    return NULL;
}
