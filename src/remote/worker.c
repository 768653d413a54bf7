/* worker.c - the worker: create, register, serve (the fetch loop), stop,
 * stats, destroy.
 *
 * serve's thread is the fetcher: it takes up to `batch` new jobs per
 * XREADGROUP (COUNT, BLOCK), as long as fewer than `prefetch` jobs are
 * held, and every reclaim period runs the RECLAIM script for jobs whose
 * lease expired.  Each job goes to the crew pool; the committer
 * (worker_commit.c) stores results with their acks.  The protocol is
 * written up in README.md beside this file.
 *
 * Stopping (crew_remote_worker_stop, async-signal-safe: one atomic store):
 * the fetcher notices within its blocking read (at most 500 ms), takes no
 * more jobs and raises `giveback`, so pool tasks that had not started hand
 * their job back instead of running it; serve then waits up to grace_ns for
 * the held jobs to be committed or given back.  If the grace runs out the
 * committer gives every held job back (those still running may then run
 * twice, as at-least-once allows) and serve returns CREW_ETIMEDOUT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

#define RELAXED memory_order_relaxed
#define MS 1000000LL

int crew_remote_worker_create(crew_remote_worker **out, const char *url,
                              const crew_remote_options *opts)
{
    if (!out || !url)
        return CREW_EINVAL;
    crew_remote_worker *w = calloc(1, sizeof *w);
    if (!w)
        return CREW_ENOMEM;
    int rc = crew__url_parse(url, &w->url);
    if (!rc)
        rc = crew__opts_resolve(opts, &w->o, &w->url, &w->keys);
    if (rc) {
        crew__url_free(&w->url);
        free(w);
        return rc;
    }
    if (w->o.consumer) {
        snprintf(w->consumer, sizeof w->consumer, "%s", w->o.consumer);
    } else {
        char host[65] = "host", rnd[9];
        if (gethostname(host, sizeof host - 1) == 0)
            host[64] = '\0';
        for (char *p = host; *p; p++)
            if (*p < '!' || *p > '~')
                *p = '_';
        crew__random_hex(rnd, 4);
        snprintf(w->consumer, sizeof w->consumer, "%s-%ld-%s", host, (long)getpid(), rnd);
    }
    w->o.consumer = w->consumer;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the clock of crew_now_ns */
    pthread_cond_init(&w->commit_cv, &ca);
    pthread_cond_init(&w->room_cv, &ca);
    pthread_condattr_destroy(&ca);
    w->held.next = w->held.prev = &w->held;
    w->qtail = &w->qhead;
    crew__conn_init(&w->fetch, &w->url, &w->o, "worker fetch");
    crew__conn_init(&w->commit, &w->url, &w->o, "worker commit");
    *out = w;
    return 0;
}

int crew_remote_worker_register(crew_remote_worker *w, const char *name, crew_remote_task_fn fn,
                                void *ctx)
{
    if (!w || !name || !fn || atomic_load_explicit(&w->serving, memory_order_acquire))
        return CREW_EINVAL;
    size_t len = strnlen(name, CREW__TASK_MAX + 1);
    if (!crew__task_name_ok(name, len))
        return CREW_EINVAL;
    for (size_t i = 0; i < w->ntasks; i++)
        if (w->tasks[i].len == len && !memcmp(w->tasks[i].name, name, len))
            return CREW_EINVAL;
    crew__task *t = realloc(w->tasks, (w->ntasks + 1) * sizeof *t);
    if (!t)
        return CREW_ENOMEM;
    w->tasks = t;
    if (!(t[w->ntasks].name = strdup(name)))
        return CREW_ENOMEM;
    t[w->ntasks].len = len;
    t[w->ntasks].fn = fn;
    t[w->ntasks].ctx = ctx;
    w->ntasks++;
    return 0;
}

void crew_remote_worker_stop(crew_remote_worker *w)
{
    /* release: pairs with the acquire loads of the fetcher and conn.c. */
    if (w)
        atomic_store_explicit(&w->stop, 1, memory_order_release);
}

static bool stopping(crew_remote_worker *w)
{
    return atomic_load_explicit(&w->stop, memory_order_acquire);
}

/* Waits on cv until deadline (monotonic ns) [mu held]. */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline)
{
    struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
    pthread_cond_timedwait(cv, mu, &ts);
}

/* First connection: connect, check Redis, create the group.  0, or a code
 * that ends serve (CREW_EAUTH, CREW_ECONFIG, CREW_ESHUTDOWN). */
static int first_connect(crew_remote_worker *w)
{
    for (;;) {
        int rc = crew__conn_ensure(&w->fetch, INT64_MAX, &w->stop);
        if (!rc)
            rc = crew__conn_check_server(&w->fetch);
        if (!rc)
            rc = crew__conn_ensure_group(&w->fetch, &w->keys);
        if (rc == 0 || rc == CREW_EAUTH || rc == CREW_ECONFIG || rc == CREW_ESHUTDOWN)
            return rc;
        crew__conn_drop(&w->fetch);
        crew__nap(1000 * MS, &w->stop);
    }
}

/* Hands the entries of an XREADGROUP reply to the pool. */
static void take_entries(crew_remote_worker *w, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements != 2 ||
        r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *ents = r->element[0]->element[1];
    crew__wjob **jobs = malloc((ents->elements + 1) * sizeof *jobs);
    size_t n = 0;
    for (size_t i = 0; jobs && i < ents->elements; i++) {
        const redisReply *e = ents->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= CREW__ID_MAX)
            continue;
        crew__wjob *j = crew__wjob_from_entry(w, e->element[0], e->element[1]);
        if (j) /* else no memory: it stays pending, taken over after a lease */
            jobs[n++] = j;
    }
    atomic_fetch_add_explicit(&w->taken, n, RELAXED);
    crew__worker_start(w, jobs, n);
    free(jobs);
}

static void fetch_loop(crew_remote_worker *w)
{
    int64_t every = w->o.lease_ns / 4 < 500 * MS ? w->o.lease_ns / 4 : 500 * MS;
    int64_t next_reclaim = crew_now_ns();
    crew__args a;
    crew__args_init(&a);
    while (!stopping(w)) {
        int rc = crew__conn_ensure(&w->fetch, INT64_MAX, &w->stop);
        if (rc == CREW_ESHUTDOWN)
            break;
        if (rc) { /* the password stopped working: keep trying, slowly */
            crew__nap(1000 * MS, &w->stop);
            continue;
        }
        pthread_mutex_lock(&w->mu);
        size_t room = w->nheld < w->o.prefetch ? w->o.prefetch - w->nheld : 0;
        if (room == 0)
            wait_until(&w->room_cv, &w->mu, crew_now_ns() + 100 * MS);
        pthread_mutex_unlock(&w->mu);
        if (room == 0)
            continue;
        unsigned count = room < w->o.batch ? (unsigned)room : w->o.batch;
        int64_t now = crew_now_ns();
        if (now >= next_reclaim) {
            unsigned got = 0;
            rc = crew__reclaim(w, count, &got);
            next_reclaim = got == count ? now : now + every; /* more may be waiting */
            if (rc && rc != CREW_ECONN)
                crew__nap(1000 * MS, &w->stop);
            continue;
        }
        int64_t block = (next_reclaim - now) / MS;
        block = block < 1 ? 1 : block > 500 ? 500 : block;
        crew__args_reset(&a);
        crew__args_str(&a, "XREADGROUP");
        crew__args_str(&a, "GROUP");
        crew__args_str(&a, CREW__GROUP);
        crew__args_str(&a, w->consumer);
        crew__args_str(&a, "COUNT");
        crew__args_u64(&a, count);
        crew__args_str(&a, "BLOCK");
        crew__args_i64(&a, block);
        crew__args_str(&a, "STREAMS");
        crew__args_str(&a, w->keys.jobs);
        crew__args_str(&a, ">");
        redisReply *r;
        if (crew__conn_append(&w->fetch, &a) ||
            crew__conn_reply(&w->fetch, &r, now + block * MS + w->o.io_timeout_ns, -1))
            continue;
        if (r->type == REDIS_REPLY_ERROR) {
            if (!strncmp(r->str, "NOGROUP", 7)) { /* the stream or group is gone */
                crew__conn_ensure_group(&w->fetch, &w->keys);
            } else {
                crew__log(&w->o, CREW_REMOTE_LOG_WARN, "worker %s: XREADGROUP failed: %.200s",
                          w->consumer, r->str);
                crew__conn_drop(&w->fetch);
                crew__nap(200 * MS, &w->stop);
            }
        } else {
            take_entries(w, r);
        }
        freeReplyObject(r);
    }
    crew__args_free(&a);
}

int crew_remote_worker_serve(crew_remote_worker *w)
{
    if (!w || !w->ntasks)
        return CREW_EINVAL;
    int idle = 0;
    /* acq_rel: register's acquire load sees serve has begun. */
    if (!atomic_compare_exchange_strong_explicit(&w->serving, &idle, 1, memory_order_acq_rel,
                                                 memory_order_acquire))
        return CREW_EINVAL;
    int rc = first_connect(w);
    if (rc) {
        crew__conn_drop(&w->fetch);
        atomic_store_explicit(&w->serving, 2, memory_order_release);
        return rc == CREW_ESHUTDOWN ? 0 : rc;
    }
    crew__log(&w->o, CREW_REMOTE_LOG_INFO, "worker %s: serving queue %s", w->consumer,
              w->o.queue);
    crew_pool_options po;
    crew_pool_options_init(&po);
    po.workers = w->o.threads;
    po.name = "remote";
    rc = crew_pool_create(&w->pool, &po);
    if (!rc && pthread_create(&w->committer, NULL, crew__committer, w)) {
        crew_pool_destroy(w->pool);
        w->pool = NULL;
        rc = CREW_ETHREAD;
    }
    if (rc) {
        crew__conn_drop(&w->fetch);
        atomic_store_explicit(&w->serving, 2, memory_order_release);
        return rc;
    }
    fetch_loop(w);

    /* Stop: jobs not started go back, running ones get the grace. */
    atomic_store_explicit(&w->giveback, 1, memory_order_release); /* pairs with crew__wjob_run */
    int64_t deadline = crew_now_ns() + w->o.grace_ns;
    pthread_mutex_lock(&w->mu);
    w->fetch_done = true;
    pthread_cond_signal(&w->commit_cv);
    while (w->nheld > 0 && crew_now_ns() < deadline) {
        int64_t t = crew_now_ns() + 100 * MS;
        wait_until(&w->room_cv, &w->mu, t < deadline ? t : deadline);
    }
    bool late = w->nheld > 0;
    pthread_mutex_unlock(&w->mu);
    if (late) {
        crew__log(&w->o, CREW_REMOTE_LOG_WARN,
                  "worker %s: grace over with jobs running: handing them back to the queue",
                  w->consumer);
        /* release: pairs with the committer's acquire load. */
        atomic_store_explicit(&w->abandon, 1, memory_order_release);
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->commit_cv);
        pthread_mutex_unlock(&w->mu);
    }
    pthread_join(w->committer, NULL);
    if (!late) {
        crew_pool_destroy(w->pool);
        w->pool = NULL;
    }
    crew__conn_drop(&w->fetch);
    crew__log(&w->o, CREW_REMOTE_LOG_INFO, "worker %s: stopped", w->consumer);
    atomic_store_explicit(&w->serving, 2, memory_order_release);
    return late ? CREW_ETIMEDOUT : 0;
}

int crew_remote_worker_get_stats(crew_remote_worker *w, crew_remote_worker_stats *s)
{
    if (!w || !s)
        return CREW_EINVAL;
    s->taken = atomic_load_explicit(&w->taken, RELAXED);
    s->reclaimed = atomic_load_explicit(&w->reclaimed, RELAXED);
    s->ran = atomic_load_explicit(&w->ran, RELAXED);
    s->failed = atomic_load_explicit(&w->failed, RELAXED);
    s->retried = atomic_load_explicit(&w->retried, RELAXED);
    s->acked = atomic_load_explicit(&w->acked, RELAXED);
    s->dead_lettered = atomic_load_explicit(&w->dead_lettered, RELAXED);
    s->lease_renewals = atomic_load_explicit(&w->lease_renewals, RELAXED);
    s->leases_lost = atomic_load_explicit(&w->leases_lost, RELAXED);
    pthread_mutex_lock(&w->mu);
    s->held = w->nheld;
    pthread_mutex_unlock(&w->mu);
    uint64_t f = atomic_load_explicit(&w->fetch.connects, RELAXED);
    uint64_t c = atomic_load_explicit(&w->commit.connects, RELAXED);
    s->reconnects = (f > 1 ? f - 1 : 0) + (c > 1 ? c - 1 : 0);
    return 0;
}

int crew_remote_worker_destroy(crew_remote_worker *w)
{
    if (!w)
        return CREW_EINVAL;
    if (atomic_load_explicit(&w->serving, memory_order_acquire) == 1)
        return CREW_EBUSY;
    if (w->pool) /* serve timed out: wait for the jobs still running */
        crew_pool_destroy(w->pool);
    CREW__CHECK(w->pool || w->nheld == 0); /* a clean serve leaves nothing held */
    for (crew__wjob *j = w->held.next, *next; j != &w->held; j = next) {
        next = j->next;
        crew__wjob_free(j);
    }
    for (size_t i = 0; i < w->ntasks; i++)
        free(w->tasks[i].name);
    free(w->tasks);
    crew__conn_drop(&w->fetch);
    crew__conn_drop(&w->commit);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->commit_cv);
    pthread_cond_destroy(&w->room_cv);
    crew__url_free(&w->url);
    free(w);
    return 0;
}
