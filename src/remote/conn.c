/* conn.c - one Redis connection: connect, AUTH, SELECT, scripts, replies
 * with deadlines, reconnection with backoff, error replies mapped to codes.
 *
 * A connection belongs to one thread at a time (hiredis contexts are not
 * thread-safe): the client's submit connection is under the client's
 * submit lock, every other connection has a thread of its own.
 *
 * Replies are read with poll() on the socket and, for the client's result
 * thread, on a wake-up descriptor, so a blocking read (XREAD BLOCK) can be
 * abandoned at once when the client is destroyed and every wait has a
 * deadline on the monotonic clock.  A timeout or an I/O error drops the
 * connection: a reply may be on its way, so the stream of replies is no
 * longer in step with the commands, and only a new connection is safe.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote_impl.h"

#define MS 1000000LL

void crew__conn_init(crew__conn *c, const crew__url *url, const crew_remote_options *o,
                     const char *what)
{
    memset(c, 0, sizeof *c);
    c->url = url;
    c->opts = o;
    c->what = what;
    c->backoff_ns = 100 * MS;
}

void crew__conn_drop(crew__conn *c)
{
    if (c->rc) {
        redisFree(c->rc);
        c->rc = NULL;
    }
}

static struct timeval tv_of(int64_t ns)
{
    struct timeval tv = {(time_t)(ns / 1000000000), (suseconds_t)(ns % 1000000000 / 1000)};
    return tv;
}

int crew__reply_code(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ERROR)
        return 0;
    static const struct {
        const char *prefix;
        int code;
    } map[] = {
        {"OOM", CREW_EFULL},         {"NOAUTH", CREW_EAUTH},      {"WRONGPASS", CREW_EAUTH},
        {"NOPERM", CREW_EAUTH},      {"ERR invalid password", CREW_EAUTH},
        {"ERR AUTH", CREW_EAUTH},    {"LOADING", CREW_ECONN},     {"BUSY ", CREW_ECONN},
        {"MASTERDOWN", CREW_ECONN},  {"READONLY", CREW_ECONN},    {"TRYAGAIN", CREW_ECONN},
        {"CLUSTERDOWN", CREW_ECONN},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (r->str && !strncmp(r->str, map[i].prefix, strlen(map[i].prefix)))
            return map[i].code;
    return CREW_EBROKER;
}

int crew__conn_append(crew__conn *c, crew__args *a)
{
    if (!c->rc)
        return CREW_ECONN;
    int rc = crew__args_done(a);
    if (rc)
        return rc;
    if (redisAppendCommandArgv(c->rc, (int)a->n, a->v, a->len) != REDIS_OK) {
        int oom = c->rc->err == REDIS_ERR_OOM;
        crew__conn_drop(c);
        return oom ? CREW_ENOMEM : CREW_ECONN;
    }
    return 0;
}

/* Flushes the output buffer.  A write to a connection the server closed
 * raises SIGPIPE, which would kill a program that did not ignore it: the
 * signal is blocked in this thread while writing, and one it raised is
 * taken back (sigtimedwait) unless it was pending already. */
static int write_all(crew__conn *c)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    int done = 0, rc = REDIS_OK;
    while (!done && rc == REDIS_OK)
        rc = redisBufferWrite(c->rc, &done);
    if (rc != REDIS_OK && !was_pending) {
        struct timespec zero = {0, 0};
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE))
            sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int crew__conn_reply(crew__conn *c, redisReply **reply, int64_t deadline_ns, int wakefd)
{
    *reply = NULL;
    if (!c->rc)
        return CREW_ECONN;
    void *r = NULL;
    if (redisGetReplyFromReader(c->rc, &r) != REDIS_OK)
        goto fail;
    if (r) {
        *reply = r;
        return 0;
    }
    if (write_all(c) != REDIS_OK)
        goto fail;
    for (;;) {
        if (redisGetReplyFromReader(c->rc, &r) != REDIS_OK)
            goto fail;
        if (r) {
            *reply = r;
            return 0;
        }
        int64_t left = deadline_ns - crew_now_ns();
        if (left <= 0) {
            crew__log(c->opts, CREW_REMOTE_LOG_WARN, "%s: no reply from Redis in time", c->what);
            crew__conn_drop(c);
            return CREW_ECONN;
        }
        struct pollfd p[2] = {{.fd = c->rc->fd, .events = POLLIN},
                              {.fd = wakefd, .events = POLLIN}};
        int64_t ms = left / MS + 1;
        int n = poll(p, wakefd >= 0 ? 2 : 1, ms > INT_MAX ? INT_MAX : (int)ms);
        if (n < 0 && errno != EINTR)
            goto fail;
        if (n <= 0)
            continue;
        if (wakefd >= 0 && p[1].revents) {
            crew__conn_drop(c);
            return CREW_ECANCELLED;
        }
        if (p[0].revents && redisBufferRead(c->rc) != REDIS_OK)
            goto fail;
    }
fail:
    crew__log(c->opts, CREW_REMOTE_LOG_WARN, "%s: connection lost: %s", c->what,
              c->rc->errstr[0] ? c->rc->errstr : "I/O error");
    crew__conn_drop(c);
    return CREW_ECONN;
}

int crew__conn_call(crew__conn *c, crew__args *a, redisReply **reply)
{
    *reply = NULL;
    int rc = crew__conn_append(c, a);
    if (rc)
        return rc;
    return crew__conn_reply(c, reply, crew_now_ns() + c->opts->io_timeout_ns, -1);
}

/* Pipelines SCRIPT LOAD of every script; keeps their SHA1s. */
static int load_scripts(crew__conn *c)
{
    crew__args a;
    crew__args_init(&a);
    int rc = 0;
    for (int i = 0; i < CREW__S_COUNT && !rc; i++) {
        crew__args_reset(&a);
        crew__args_str(&a, "SCRIPT");
        crew__args_str(&a, "LOAD");
        crew__args_str(&a, crew__script_text[i]);
        rc = crew__conn_append(c, &a);
    }
    crew__args_free(&a);
    int64_t deadline = crew_now_ns() + c->opts->io_timeout_ns;
    for (int i = 0; i < CREW__S_COUNT && !rc; i++) {
        redisReply *r;
        rc = crew__conn_reply(c, &r, deadline, -1);
        if (rc)
            break;
        if (r->type == REDIS_REPLY_STRING && r->len == 40) {
            memcpy(c->sha[i], r->str, 40);
            c->sha[i][40] = '\0';
        } else {
            rc = crew__reply_code(r);
            if (!rc)
                rc = CREW_EBROKER;
            crew__log(c->opts, CREW_REMOTE_LOG_ERROR, "%s: SCRIPT LOAD failed: %s", c->what,
                      r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        }
        freeReplyObject(r);
    }
    return rc;
}

int crew__conn_open(crew__conn *c)
{
    const crew__url *u = c->url;
    crew__conn_drop(c);
    struct timeval tv = tv_of(c->opts->connect_timeout_ns);
    c->rc = u->path ? redisConnectUnixWithTimeout(u->path, tv)
                    : redisConnectWithTimeout(u->host, u->port, tv);
    if (!c->rc)
        return c->last_error = CREW_ENOMEM;
    if (c->rc->err) {
        if (c->last_error != CREW_ECONN) /* log the first failure of a series only */
            crew__log(c->opts, CREW_REMOTE_LOG_WARN, "%s: cannot connect to %s%s%d: %s",
                      c->what, u->path ? u->path : u->host, u->path ? "" : ":",
                      u->path ? 0 : u->port, c->rc->errstr);
        crew__conn_drop(c);
        return c->last_error = CREW_ECONN;
    }
    if (!u->path)
        redisEnableKeepAlive(c->rc);
    int rc = 0;
    crew__args a;
    crew__args_init(&a);
    int sent = 0;
    if (u->password) {
        crew__args_str(&a, "AUTH");
        if (u->user)
            crew__args_str(&a, u->user);
        crew__args_str(&a, u->password);
        rc = crew__conn_append(c, &a);
        sent++;
    }
    if (!rc && u->db) {
        crew__args_reset(&a);
        crew__args_str(&a, "SELECT");
        crew__args_u64(&a, (uint64_t)u->db);
        rc = crew__conn_append(c, &a);
        sent++;
    }
    crew__args_free(&a);
    int64_t deadline = crew_now_ns() + c->opts->io_timeout_ns;
    for (int i = 0; i < sent && !rc; i++) {
        redisReply *r;
        rc = crew__conn_reply(c, &r, deadline, -1);
        if (rc)
            break;
        rc = crew__reply_code(r);
        if (rc && i == 0 && u->password)
            rc = CREW_EAUTH; /* whatever AUTH's error says */
        if (rc)
            crew__log(c->opts, CREW_REMOTE_LOG_ERROR, "%s: %s refused: %s", c->what,
                      i == 0 && u->password ? "AUTH" : "SELECT", r->str);
        freeReplyObject(r);
    }
    if (!rc)
        rc = load_scripts(c);
    if (rc) {
        crew__conn_drop(c);
        return c->last_error = rc;
    }
    /* relaxed: a counter, read as a snapshot by the stats calls */
    if (atomic_fetch_add_explicit(&c->connects, 1, memory_order_relaxed) > 0 || c->last_error)
        crew__log(c->opts, CREW_REMOTE_LOG_INFO, "%s: connected again", c->what);
    c->last_error = 0;
    c->backoff_ns = 100 * MS;
    return 0;
}

int crew__conn_ensure(crew__conn *c, int64_t deadline_ns, const atomic_int *stop)
{
    for (;;) {
        if (c->rc)
            return 0;
        /* acquire: pairs with the release store of the stop request. */
        if (stop && atomic_load_explicit(stop, memory_order_acquire))
            return CREW_ESHUTDOWN;
        int rc = crew__conn_open(c);
        if (rc == 0 || rc == CREW_EAUTH)
            return rc;
        /* Transient (refused, loading, busy, out of memory): back off. */
        int64_t now = crew_now_ns();
        unsigned jitter;
        char hex[3];
        crew__random_hex(hex, 1);
        jitter = (unsigned)strtoul(hex, NULL, 16); /* 0..255 */
        int64_t pause = c->backoff_ns / 4 * 3 + c->backoff_ns / 2 * jitter / 256;
        if (now + pause > deadline_ns)
            return rc == CREW_EBROKER || rc == CREW_ENOMEM ? rc : CREW_ECONN;
        c->backoff_ns = c->backoff_ns * 2 > 2000 * MS ? 2000 * MS : c->backoff_ns * 2;
        crew__nap(pause, stop);
        /* acquire: pairs with the release store of the stop request. */
        if (stop && atomic_load_explicit(stop, memory_order_acquire))
            return CREW_ESHUTDOWN;
    }
}

void crew__nap(int64_t ns, const atomic_int *stop)
{
    int64_t now, until = crew_now_ns() + ns;
    while ((now = crew_now_ns()) < until) {
        /* acquire: pairs with the release store of the stop request. */
        if (stop && atomic_load_explicit(stop, memory_order_acquire))
            return;
        int64_t step = until - now < 20 * MS ? until - now : 20 * MS;
        struct timespec ts = {0, (long)step};
        nanosleep(&ts, NULL);
    }
}

void crew__script_begin(crew__conn *c, crew__args *a, enum crew__script_id id, unsigned nkeys)
{
    crew__args_reset(a);
    crew__args_str(a, "EVALSHA");
    crew__args_add(a, c->sha[id], 40);
    crew__args_u64(a, nkeys);
}

int crew__script_call(crew__conn *c, crew__args *a, redisReply **reply)
{
    for (int attempt = 0;; attempt++) {
        int rc = crew__conn_call(c, a, reply);
        if (rc)
            return rc;
        redisReply *r = *reply;
        if (r->type != REDIS_REPLY_ERROR)
            return 0;
        if (attempt == 0 && !strncmp(r->str, "NOSCRIPT", 8)) {
            /* SCRIPT FLUSH or a restart without our scripts: load, retry. */
            freeReplyObject(r);
            *reply = NULL;
            rc = load_scripts(c);
            if (rc)
                return rc;
            continue;
        }
        rc = crew__reply_code(r);
        crew__log(c->opts, rc == CREW_ECONN ? CREW_REMOTE_LOG_WARN : CREW_REMOTE_LOG_ERROR,
                  "%s: script failed: %.200s", c->what, r->str);
        freeReplyObject(r);
        *reply = NULL;
        if (rc == CREW_ECONN)
            crew__conn_drop(c); /* transient: reconnect */
        return rc;
    }
}

/* ---- checks at connect ------------------------------------------------------ */

/* CONFIG GET name into out (""), or false if CONFIG is not allowed. */
static int config_get(crew__conn *c, const char *name, char *out, size_t n)
{
    crew__args a;
    crew__args_init(&a);
    crew__args_str(&a, "CONFIG");
    crew__args_str(&a, "GET");
    crew__args_str(&a, name);
    redisReply *r;
    int rc = crew__conn_call(c, &a, &r);
    crew__args_free(&a);
    if (rc)
        return rc;
    out[0] = '\0';
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING)
        snprintf(out, n, "%s", r->element[1]->str);
    else
        rc = 1; /* not allowed or not there */
    freeReplyObject(r);
    return rc;
}

int crew__conn_check_server(crew__conn *c)
{
    const crew_remote_options *o = c->opts;
    crew__args a;
    crew__args_init(&a);
    crew__args_str(&a, "INFO");
    crew__args_str(&a, "server");
    redisReply *r;
    int rc = crew__conn_call(c, &a, &r);
    crew__args_free(&a);
    if (rc)
        return rc;
    int major = 0, minor = 0;
    const char *v = r->type == REDIS_REPLY_STRING ? strstr(r->str, "redis_version:") : NULL;
    if (v)
        sscanf(v + 14, "%d.%d", &major, &minor);
    freeReplyObject(r);
    if (major < 6 || (major == 6 && minor < 2)) {
        crew__log(o, CREW_REMOTE_LOG_ERROR, "%s: Redis %d.%d is too old (6.2 or later needed)",
                  c->what, major, minor);
        return CREW_ECONFIG;
    }
    char policy[64], aof[16], save[128];
    int p = config_get(c, "maxmemory-policy", policy, sizeof policy);
    if (p < 0)
        return p;
    if (p > 0) {
        crew__log(o, CREW_REMOTE_LOG_WARN,
                  "%s: cannot read Redis's settings (CONFIG GET refused): make sure "
                  "maxmemory-policy is noeviction and persistence (appendonly yes) is on",
                  c->what);
        return 0;
    }
    if (strcmp(policy, "noeviction")) {
        crew__log(o, o->allow_eviction ? CREW_REMOTE_LOG_WARN : CREW_REMOTE_LOG_ERROR,
                  "%s: maxmemory-policy is %s: Redis may evict queued jobs and results "
                  "(noeviction is needed)%s",
                  c->what, policy, o->allow_eviction ? "; allowed by allow_eviction" : "");
        if (!o->allow_eviction)
            return CREW_ECONFIG;
    }
    if ((p = config_get(c, "appendonly", aof, sizeof aof)) < 0 ||
        (p == 0 && (p = config_get(c, "save", save, sizeof save)) < 0))
        return p;
    if (p == 0 && strcmp(aof, "yes")) {
        bool rdb = save[0] != '\0';
        crew__log(o, o->require_persistence && !rdb ? CREW_REMOTE_LOG_ERROR : CREW_REMOTE_LOG_WARN,
                  "%s: appendonly is off%s: a Redis crash or restart loses %s", c->what,
                  rdb ? " (RDB snapshots only)" : " and there are no snapshots",
                  rdb ? "the jobs since the last snapshot" : "every queued job and result");
        if (o->require_persistence && !rdb)
            return CREW_ECONFIG;
    }
    return 0;
}

int crew__conn_ensure_group(crew__conn *c, const crew__keys *k)
{
    crew__args a;
    crew__args_init(&a);
    crew__args_str(&a, "XGROUP");
    crew__args_str(&a, "CREATE");
    crew__args_str(&a, k->jobs);
    crew__args_str(&a, CREW__GROUP);
    crew__args_str(&a, "0");
    crew__args_str(&a, "MKSTREAM");
    redisReply *r;
    int rc = crew__conn_call(c, &a, &r);
    crew__args_free(&a);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9)) {
        rc = crew__reply_code(r);
        crew__log(c->opts, CREW_REMOTE_LOG_ERROR, "%s: XGROUP CREATE failed: %s", c->what,
                  r->str);
    }
    freeReplyObject(r);
    return rc;
}
