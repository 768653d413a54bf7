/* client.c - the client: create, submit, cancel, stats, destroy.
 *
 * A submit creates the futures, enters them in the tables (by_seq for the
 * result thread, by_fut for cancels) before anything is sent, so a result
 * can never arrive for a job the client does not know, then pipelines one
 * XADD per job on the submit connection and returns once Redis has
 * answered each.  A connection lost in the middle is re-established and
 * the jobs without an answer are sent again under the same sequence number:
 * one of them may then be in Redis twice, which at-least-once allows and
 * the client's dedup (first result wins) hides.
 *
 * Each future carries a done callback (crew__client_on_done, in
 * client_cancel.c) that notices a crew_future_cancel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "client.h"

#define RELAXED memory_order_relaxed

/* ---- create ---------------------------------------------------------------------- */

int crew_remote_client_create(crew_remote_client **out, const char *url,
                              const crew_remote_options *opts)
{
    if (!out || !url)
        return CREW_EINVAL;
    crew_remote_client *c = calloc(1, sizeof *c);
    if (!c)
        return CREW_ENOMEM;
    int rc = crew__url_parse(url, &c->url);
    if (!rc)
        rc = crew__opts_resolve(opts, &c->o, &c->url, &c->keys);
    if (rc) {
        crew__url_free(&c->url);
        free(c);
        return rc;
    }
    crew__random_hex(c->id, 16);
    snprintf(c->res_key, sizeof c->res_key, "%s%s", c->keys.res_prefix, c->id);
    strcpy(c->last_id, "0-0");
    pthread_mutex_init(&c->submit_mu, NULL);
    pthread_mutex_init(&c->map_mu, NULL);
    pthread_cond_init(&c->map_cv, NULL);
    crew__idmap_init(&c->by_seq);
    crew__idmap_init(&c->by_fut);
    crew__args_init(&c->args);
    crew__conn_init(&c->sub, &c->url, &c->o, "client");
    crew__conn_init(&c->rd, &c->url, &c->o, "client results");
    c->wakefd = -1;
    rc = crew__conn_open(&c->sub);
    if (!rc)
        rc = crew__conn_check_server(&c->sub);
    if (!rc)
        rc = crew__conn_ensure_group(&c->sub, &c->keys);
    if (!rc && (c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        rc = errno == ENOMEM ? CREW_ENOMEM : CREW_ETHREAD;
    if (!rc && pthread_create(&c->reader, NULL, crew__client_reader, c))
        rc = CREW_ETHREAD;
    if (rc) {
        if (c->wakefd >= 0)
            close(c->wakefd);
        crew__conn_drop(&c->sub);
        crew__args_free(&c->args);
        pthread_mutex_destroy(&c->submit_mu);
        pthread_mutex_destroy(&c->map_mu);
        pthread_cond_destroy(&c->map_cv);
        crew__url_free(&c->url);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- submit ------------------------------------------------------------------------ */

typedef struct pend {
    crew_future *f;   /* NULL: fire-and-forget */
    uint64_t seq;
    int rc;           /* 1: not answered yet */
    uint64_t ms, sseq; /* the stream id Redis gave it */
} pend;

static int check_job(const crew_remote_client *c, const crew_remote_job *j)
{
    if (!j->task || !crew__task_name_ok(j->task, strnlen(j->task, CREW__TASK_MAX + 1)) ||
        (!j->payload && j->size) || j->retries > CREW__RETRIES_MAX)
        return CREW_EINVAL;
    return j->size > c->o.max_payload ? CREW_ETOOBIG : 0;
}

/* Sends every job with p[i].rc == 1 until each is answered or the deadline
 * passes [S held]. */
static void send_jobs(crew_remote_client *c, const crew_remote_job *jobs, pend *p, size_t n)
{
    int64_t deadline = crew_now_ns() + c->o.retry_timeout_ns;
    for (;;) {
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            left += p[i].rc == 1;
        if (left == 0)
            return;
        int rc = crew__conn_ensure(&c->sub, deadline, &c->closing);
        if (rc) {
            for (size_t i = 0; i < n; i++)
                if (p[i].rc == 1)
                    p[i].rc = rc;
            return;
        }
        size_t sent = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            if (p[i].rc != 1)
                continue;
            crew__job_fields f = {.task = jobs[i].task,
                                  .task_len = strlen(jobs[i].task),
                                  .client = p[i].f ? c->id : NULL,
                                  .client_len = strlen(c->id),
                                  .seq = p[i].seq,
                                  .payload = jobs[i].payload,
                                  .payload_len = jobs[i].size,
                                  .retries = jobs[i].retries,
                                  .backoff_ms = jobs[i].backoff_ms};
            crew__args_reset(&c->args);
            crew__msg_job_args(&c->args, c->keys.jobs, &f);
            rc = crew__conn_append(&c->sub, &c->args);
            if (rc == CREW_ENOMEM)
                p[i].rc = rc, rc = 0;
            else if (!rc)
                sent++;
        }
        int64_t io_deadline = crew_now_ns() + c->o.io_timeout_ns;
        bool transient = false;
        for (size_t i = 0; i < n && sent && !rc; i++) {
            if (p[i].rc != 1)
                continue;
            redisReply *r;
            rc = crew__conn_reply(&c->sub, &r, io_deadline, -1);
            if (rc)
                break; /* lost: the rest are sent again */
            sent--;
            if (r->type == REDIS_REPLY_STRING && crew__id_parse(r->str, r->len, &p[i].ms, &p[i].sseq))
                p[i].rc = 0;
            else if ((p[i].rc = crew__reply_code(r)) == CREW_ECONN)
                p[i].rc = 1, transient = true; /* LOADING and the like: not stored */
            else if (!p[i].rc)
                p[i].rc = CREW_EPROTO;
            freeReplyObject(r);
        }
        if (transient)
            crew__conn_drop(&c->sub); /* back off, then send again */
    }
}

int crew_remote_submit_many(crew_remote_client *c, const crew_remote_job *jobs, size_t n,
                            crew_future **outs)
{
    if (!c || (!jobs && n))
        return CREW_EINVAL;
    if (n == 0)
        return 0;
    /* acquire: pairs with destroy's release store. */
    if (atomic_load_explicit(&c->closing, memory_order_acquire))
        return CREW_ESHUTDOWN;
    pend one, *p = n == 1 ? &one : calloc(n, sizeof *p);
    if (!p)
        return CREW_ENOMEM;
    memset(p, 0, n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i].rc = check_job(c, &jobs[i]);
        if (!p[i].rc && outs) {
            p[i].rc = crew_future_create(&p[i].f, free);
            if (!p[i].rc && (p[i].rc = crew_future_add_done_callback(p[i].f, crew__client_on_done, c))) {
                crew_future_release(p[i].f); /* no callback was added: nothing to run */
                p[i].f = NULL;
            }
        }
        if (!p[i].rc)
            p[i].rc = 1; /* to send */
    }
    /* Enter the futures before sending: the result may come back before
     * the XADD's answer. */
    pthread_mutex_lock(&c->map_mu);
    for (size_t i = 0; i < n; i++) {
        if (p[i].rc != 1 || !p[i].f)
            continue;
        p[i].seq = ++c->next_seq;
        crew__rec bs = {.key = p[i].seq, .f = p[i].f};
        crew__rec bf = {.key = (uint64_t)(uintptr_t)p[i].f, .a = p[i].seq};
        if (crew__idmap_put(&c->by_seq, &bs)) {
            p[i].rc = CREW_ENOMEM;
        } else if (crew__idmap_put(&c->by_fut, &bf)) {
            crew__idmap_del(&c->by_seq, p[i].seq, NULL);
            p[i].rc = CREW_ENOMEM;
        } else {
            crew_future_retain(p[i].f); /* the tables' reference */
        }
    }
    pthread_mutex_unlock(&c->map_mu);

    pthread_mutex_lock(&c->submit_mu);
    send_jobs(c, jobs, p, n);
    crew__client_flush_cancels(c, true);
    pthread_mutex_unlock(&c->submit_mu);

    int first = 0;
    size_t stored = 0;
    pthread_mutex_lock(&c->map_mu);
    for (size_t i = 0; i < n; i++) {
        if (p[i].rc == 0) {
            stored++;
            crew__rec *r = p[i].f ? crew__idmap_get(&c->by_seq, p[i].seq) : NULL;
            if (r)
                r->a = p[i].ms, r->b = p[i].sseq; /* for cancels */
        } else if (p[i].f && crew__idmap_del(&c->by_fut, (uint64_t)(uintptr_t)p[i].f, NULL)) {
            crew__idmap_del(&c->by_seq, p[i].seq, NULL);
            crew_future_release(p[i].f); /* the tables' reference */
        }
    }
    pthread_mutex_unlock(&c->map_mu);
    atomic_fetch_add_explicit(&c->submitted, stored, RELAXED);
    for (size_t i = 0; i < n; i++) {
        if (p[i].rc && !first)
            first = p[i].rc;
        if (p[i].rc && p[i].f) {
            /* Never handed out: complete it so its callback list is freed. */
            crew_future_set_error(p[i].f, p[i].rc, NULL);
            crew_future_release(p[i].f);
            p[i].f = NULL;
        }
        if (outs)
            outs[i] = p[i].f;
    }
    if (p != &one)
        free(p);
    return first;
}

int crew_remote_submit_job(crew_remote_client *c, const crew_remote_job *job, crew_future **out)
{
    if (!job)
        return CREW_EINVAL;
    crew_future *f = NULL;
    int rc = crew_remote_submit_many(c, job, 1, out ? &f : NULL);
    if (out)
        *out = f;
    return rc;
}

int crew_remote_submit(crew_remote_client *c, const char *task, const void *payload, size_t size,
                       crew_future **out)
{
    crew_remote_job j = {.task = task, .payload = payload, .size = size};
    return crew_remote_submit_job(c, &j, out);
}

/* ---- stats, destroy ---------------------------------------------------------------------- */

int crew_remote_client_get_stats(crew_remote_client *c, crew_remote_client_stats *s)
{
    if (!c || !s)
        return CREW_EINVAL;
    s->submitted = atomic_load_explicit(&c->submitted, RELAXED);
    s->completed = atomic_load_explicit(&c->completed, RELAXED);
    s->duplicates = atomic_load_explicit(&c->duplicates, RELAXED);
    s->cancels_removed = atomic_load_explicit(&c->cancels_removed, RELAXED);
    s->cancels_too_late = atomic_load_explicit(&c->cancels_too_late, RELAXED);
    uint64_t a = atomic_load_explicit(&c->sub.connects, RELAXED);
    uint64_t b = atomic_load_explicit(&c->rd.connects, RELAXED);
    s->reconnects = (a > 1 ? a - 1 : 0) + (b > 1 ? b - 1 : 0);
    pthread_mutex_lock(&c->map_mu);
    s->in_flight = c->by_seq.count;
    pthread_mutex_unlock(&c->map_mu);
    return 0;
}

int crew_remote_client_destroy(crew_remote_client *c)
{
    if (!c)
        return CREW_EINVAL;
    /* release: pairs with the acquire loads in submit and the result thread. */
    atomic_store_explicit(&c->closing, 1, memory_order_release);
    uint64_t one = 1;
    if (write(c->wakefd, &one, sizeof one) < 0) {
        /* an eventfd write fails only on overflow: it is readable then */
    }
    pthread_join(c->reader, NULL);
    close(c->wakefd);
    /* Complete whatever is still waiting.  A future a concurrent
     * crew_future_cancel won keeps its entry until on_done takes it. */
    pthread_mutex_lock(&c->map_mu);
    size_t n = 0, cap = c->by_seq.count;
    crew_future **fs = cap ? malloc(cap * sizeof *fs) : NULL;
    for (size_t i = 0; fs && c->by_seq.slot && i <= c->by_seq.mask; i++)
        if (c->by_seq.slot[i].key)
            fs[n++] = crew_future_retain(c->by_seq.slot[i].f);
    pthread_mutex_unlock(&c->map_mu);
    for (size_t i = 0; i < n; i++) {
        crew__rec r;
        pthread_mutex_lock(&c->map_mu);
        bool mine = !crew_future_cancelled(fs[i]) && crew__client_take(c, fs[i], &r);
        pthread_mutex_unlock(&c->map_mu);
        if (mine) {
            crew_future_set_error(fs[i], CREW_ESHUTDOWN, NULL); /* CREW_ESTATE if cancelled now */
            crew_future_release(fs[i]); /* the tables' reference */
        }
        crew_future_release(fs[i]);
    }
    free(fs);
    /* Without memory for the list above, complete them one by one. */
    for (;;) {
        crew_future *f = NULL;
        crew__rec r;
        pthread_mutex_lock(&c->map_mu);
        for (size_t i = 0; c->by_seq.slot && i <= c->by_seq.mask && !f; i++)
            if (c->by_seq.slot[i].key && !crew_future_cancelled(c->by_seq.slot[i].f))
                f = c->by_seq.slot[i].f;
        bool mine = f && crew__client_take(c, f, &r);
        pthread_mutex_unlock(&c->map_mu);
        if (!mine)
            break;
        crew_future_set_error(f, CREW_ESHUTDOWN, NULL);
        crew_future_release(f);
    }
    pthread_mutex_lock(&c->map_mu);
    while (c->by_seq.count > 0 || c->busy > 0)
        pthread_cond_wait(&c->map_cv, &c->map_mu);
    CREW__CHECK(c->by_fut.count == 0 && crew__idmap_valid(&c->by_seq) &&
                crew__idmap_valid(&c->by_fut));
    pthread_mutex_unlock(&c->map_mu);
    crew__conn_drop(&c->sub);
    crew__conn_drop(&c->rd);
    crew__args_free(&c->args);
    crew__idmap_free(&c->by_seq);
    crew__idmap_free(&c->by_fut);
    free(c->cancels);
    pthread_mutex_destroy(&c->submit_mu);
    pthread_mutex_destroy(&c->map_mu);
    pthread_cond_destroy(&c->map_cv);
    crew__url_free(&c->url);
    free(c);
    return 0;
}
