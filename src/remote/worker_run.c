/* worker_run.c - from a stream entry to an op for the committer: decoding
 * and checking the entry, running the task on the pool, the task's output.
 *
 * Nothing runs that is not a registered task: an entry is decoded and
 * checked (msg.c) and its task looked up by name before anything else;
 * an entry that fails becomes a DEAD op (dead letter + ack + a record
 * telling the client why, if the entry names one).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define RELAXED memory_order_relaxed

/* ---- a task's output ---------------------------------------------------------- */

int crew_remote_out_write(crew_remote_out *out, const void *data, size_t n)
{
    if (!out || (!data && n))
        return CREW_EINVAL;
    if (out->toobig || out->b->len + n > out->max) {
        out->toobig = true;
        return CREW_ETOOBIG;
    }
    crew__buf_put(out->b, data, n);
    return out->b->oom ? CREW_ENOMEM : 0;
}

int crew_remote_out_printf(crew_remote_out *out, const char *fmt, ...)
{
    if (!out || !fmt)
        return CREW_EINVAL;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CREW_EINVAL;
    if ((size_t)n < sizeof small)
        return crew_remote_out_write(out, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return CREW_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = crew_remote_out_write(out, big, (size_t)n);
    free(big);
    return rc;
}

/* ---- jobs ------------------------------------------------------------------------ */

void crew__wjob_free(crew__wjob *j)
{
    if (!j)
        return;
    crew__buf_free(&j->out);
    crew__buf_free(&j->raw);
    free(j);
}

static const crew__task *find_task(const crew_remote_worker *w, const char *name, size_t len)
{
    for (size_t i = 0; i < w->ntasks; i++)
        if (w->tasks[i].len == len && !memcmp(w->tasks[i].name, name, len))
            return &w->tasks[i];
    return NULL;
}

/* Looks for a well-formed reply address in a malformed entry, so that its
 * client still hears why. */
static void salvage_reply_to(crew__wjob *j, const redisReply *fields)
{
    for (size_t i = 0; fields && fields->type == REDIS_REPLY_ARRAY && i + 1 < fields->elements;
         i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || k->len != 1 || k->str[0] != 'c' ||
            v->type != REDIS_REPLY_STRING)
            continue;
        size_t clen;
        if (crew__msg_reply_to(v->str, v->len, &clen, &j->seq)) {
            memcpy(j->client, v->str, clen);
            j->client[clen] = '\0';
        }
        return;
    }
}

/* Copies an entry's fields into j->raw for the dead letter; an oversized
 * payload is replaced by its size. */
static void keep_raw(crew__wjob *j, const redisReply *fields, size_t max_payload)
{
    for (size_t i = 0; fields && fields->type == REDIS_REPLY_ARRAY && i < fields->elements; i++) {
        const redisReply *e = fields->element[i];
        const char *s = e->type == REDIS_REPLY_STRING ? e->str : "?";
        size_t n = e->type == REDIS_REPLY_STRING ? e->len : 1;
        char note[64];
        if (i % 2 && n > max_payload) {
            n = (size_t)snprintf(note, sizeof note, "(%zu bytes, dropped)", n);
            s = note;
        }
        uint32_t len = (uint32_t)n;
        crew__buf_put(&j->raw, &len, sizeof len);
        crew__buf_put(&j->raw, s, n);
    }
}

crew__wjob *crew__wjob_from_entry(crew_remote_worker *w, const redisReply *id,
                                  const redisReply *fields)
{
    crew__job_fields f;
    char why[400] = "";
    int rc = fields && fields->type == REDIS_REPLY_ARRAY
                 ? crew__msg_job_decode(fields, w->o.max_payload, &f, why, sizeof why)
                 : CREW_EPROTO;
    const crew__task *task = rc ? NULL : find_task(w, f.task, f.task_len);
    if (!rc && !task) {
        rc = CREW_ENOTASK;
        snprintf(why, sizeof why, "no task named '%.*s' is registered in worker %s",
                 (int)(f.task_len > 64 ? 64 : f.task_len), f.task, w->consumer);
    }
    if (rc && !why[0])
        snprintf(why, sizeof why, "the entry has no fields (deleted)");
    size_t plen = rc ? 0 : f.payload_len;
    crew__wjob *j = calloc(1, sizeof *j + plen + 1);
    if (!j)
        return NULL;
    j->w = w;
    j->payload = (unsigned char *)(j + 1);
    snprintf(j->id, sizeof j->id, "%.*s", (int)id->len, id->str);
    if (!rc) {
        j->task = task;
        if (f.client) {
            memcpy(j->client, f.client, f.client_len);
            j->client[f.client_len] = '\0';
        }
        j->seq = f.seq;
        j->retries = f.retries;
        j->attempt = f.attempt;
        j->backoff_ms = f.backoff_ms;
        j->payload_len = plen;
        if (plen)
            memcpy(j->payload, f.payload, plen);
        return j;
    }
    j->kind = CREW__OP_DEAD;
    j->status = rc;
    j->code_name = crew_err_name(rc);
    if (rc == CREW_ENOTASK && f.client) {
        memcpy(j->client, f.client, f.client_len);
        j->client[f.client_len] = '\0';
        j->seq = f.seq;
    } else {
        salvage_reply_to(j, fields);
    }
    crew__buf_put(&j->out, why, strlen(why));
    keep_raw(j, fields, w->o.max_payload);
    crew__log(&w->o, CREW_REMOTE_LOG_WARN, "worker %s: job %s dead-lettered: %s", w->consumer,
              j->id, why);
    return j;
}

/* Runs one job (or hands it back when the worker stops) and queues its op. */
static void run_one(crew__wjob *j)
{
    crew_remote_worker *w = j->w;
    /* acquire: pairs with serve's release store when it stops. */
    if (atomic_load_explicit(&w->giveback, memory_order_acquire)) {
        j->kind = CREW__OP_GIVEBACK;
        crew__worker_queue(w, j);
        return;
    }
    crew_remote_out out = {.b = &j->out, .max = w->o.max_result};
    int st = j->task->fn(j->payload, j->payload_len, &out, j->task->ctx);
    atomic_fetch_add_explicit(&w->ran, 1, RELAXED);
    if (out.toobig || out.b->oom) {
        int code = out.toobig ? CREW_ETOOBIG : CREW_ENOMEM;
        j->out.len = 0;
        j->out.oom = false;
        char m[128];
        int n = snprintf(m, sizeof m, "%s (limit %zu bytes)", crew_strerror(code), w->o.max_result);
        crew__buf_put(&j->out, m, (size_t)n);
        st = code;
    }
    if (st)
        atomic_fetch_add_explicit(&w->failed, 1, RELAXED);
    j->status = st;
    j->kind = st && j->retries > 0 ? CREW__OP_RETRY : CREW__OP_RESULT;
    crew__worker_queue(w, j);
}

int crew__wjob_run(void *arg, void **result)
{
    (void)result;
    run_one(arg); /* the job belongs to the committer once queued */
    return 0;
}

/* ---- held list and commit queue -------------------------------------------------- */

void crew__worker_queue(crew_remote_worker *w, crew__wjob *j)
{
    pthread_mutex_lock(&w->mu);
    j->qnext = NULL;
    *w->qtail = j;
    w->qtail = &j->qnext;
    bool wake = w->committer_idle;
    w->committer_idle = false;
    if (wake)
        pthread_cond_signal(&w->commit_cv);
    pthread_mutex_unlock(&w->mu);
}

void crew__worker_start(crew_remote_worker *w, crew__wjob **jobs, size_t n)
{
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        crew__wjob *j = jobs[i];
        j->next = &w->held;
        j->prev = w->held.prev;
        w->held.prev->next = j;
        w->held.prev = j;
    }
    w->nheld += n;
    pthread_mutex_unlock(&w->mu);
    /* One pool task per job: a job never waits behind another job while a
     * pool thread is free.  (Chaining a few jobs per task saves little --
     * the pool's threads spin once per batch, not per job -- and makes the
     * jobs behind a long one wait for it.) */
    for (size_t i = 0; i < n; i++) {
        crew__wjob *j = jobs[i];
        if (j->kind == CREW__OP_DEAD) {
            crew__worker_queue(w, j);
        } else if (crew_pool_submit(w->pool, crew__wjob_run, j, NULL)) {
            j->kind = CREW__OP_GIVEBACK; /* the pool refused: another worker runs it */
            crew__worker_queue(w, j);
        }
    }
}
