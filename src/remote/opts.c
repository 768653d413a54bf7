/* opts.c - options and their defaults, the URL, key names, logging.
 *
 * The password may come from three places, first found wins: the options'
 * `password`, the URL's userinfo, the environment variable named by
 * `password_env` (CREW_REDIS_PASSWORD by default), so that it need not
 * appear on a command line (ps shows those to every user).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "remote_impl.h"

#define MS 1000000LL
#define SEC 1000000000LL

void crew_remote_options_init(crew_remote_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->queue = "default";
    o->password_env = "CREW_REDIS_PASSWORD";
    o->connect_timeout_ns = 5 * SEC;
    o->io_timeout_ns = 10 * SEC;
    o->retry_timeout_ns = 30 * SEC;
    o->max_payload = 1u << 20;
    o->max_result = 1u << 20;
    o->result_ttl_ns = 24 * 3600 * SEC;
    o->batch = 100;
    o->max_deliveries = 5;
    o->lease_ns = 30 * SEC;
    o->grace_ns = 30 * SEC;
    o->dead_consumer_idle_ns = 3600 * SEC;
    o->dead_max = 100000;
}

/* ---- URL ------------------------------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A percent-decoded copy of s[0..n), or NULL (bad escape, NUL, no memory). */
static char *pct_dup(const char *s, size_t n)
{
    char *out = malloc(n + 1), *d = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int h = i + 2 < n ? hexval(s[i + 1]) : -1;
            int l = h >= 0 ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                free(out);
                return NULL;
            }
            *d++ = (char)(h * 16 + l);
            i += 2;
        } else {
            *d++ = s[i];
        }
    }
    *d = '\0';
    return out;
}

static bool parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
    if (n == 0 || n > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

void crew__url_free(crew__url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->path);
    free(u->user);
    free(u->password);
    memset(u, 0, sizeof *u);
}

/* unix:///path[?db=N] or /path */
static int parse_unix(const char *p, crew__url *u)
{
    const char *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 0 || p[0] != '/' || n >= 108) /* sun_path */
        return CREW_EINVAL;
    if (q && (strncmp(q, "?db=", 4) || !parse_int(q + 4, strlen(q + 4), 0, 1000000, &u->db)))
        return CREW_EINVAL;
    u->path = strndup(p, n);
    return u->path ? 0 : CREW_ENOMEM;
}

int crew__url_parse(const char *url, crew__url *u)
{
    memset(u, 0, sizeof *u);
    u->port = 6379;
    int rc = CREW_EINVAL;
    if (!url || !*url)
        return CREW_EINVAL;
    if (url[0] == '/')
        rc = parse_unix(url, u);
    else if (!strncmp(url, "unix://", 7))
        rc = parse_unix(url + 7, u);
    else if (!strncmp(url, "redis://", 8)) {
        const char *s = url + 8, *end = s + strlen(s);
        const char *slash = memchr(s, '/', (size_t)(end - s));
        const char *hend = slash ? slash : end;
        const char *at = NULL;
        for (const char *p = s; p < hend; p++)
            if (*p == '@')
                at = p; /* the last '@' before the path ends the userinfo */
        rc = 0;
        if (at) {
            const char *colon = memchr(s, ':', (size_t)(at - s));
            size_t ulen = colon ? (size_t)(colon - s) : (size_t)(at - s);
            if (ulen) {
                u->user = pct_dup(s, ulen);
                rc = u->user ? 0 : CREW_EINVAL;
            }
            if (!rc && colon) {
                u->password = pct_dup(colon + 1, (size_t)(at - colon - 1));
                rc = u->password ? 0 : CREW_EINVAL;
            }
            s = at + 1;
        }
        /* host[:port]; [v6]:port */
        const char *hs = s, *he, *ps = NULL;
        if (!rc && *hs == '[') {
            const char *rb = memchr(hs, ']', (size_t)(hend - hs));
            if (!rb)
                rc = CREW_EINVAL;
            else {
                he = rb;
                hs++;
                if (rb + 1 < hend) {
                    if (rb[1] != ':')
                        rc = CREW_EINVAL;
                    ps = rb + 2;
                }
            }
        } else if (!rc) {
            const char *colon = memchr(hs, ':', (size_t)(hend - hs));
            he = colon ? colon : hend;
            ps = colon ? colon + 1 : NULL;
        }
        if (!rc && (he == hs || (ps && !parse_int(ps, (size_t)(hend - ps), 1, 65535, &u->port))))
            rc = CREW_EINVAL;
        if (!rc) {
            for (const char *p = hs; p < he; p++)
                if (!(isalnum((unsigned char)*p) || strchr(".-_:", *p)))
                    rc = CREW_EINVAL;
        }
        if (!rc && !(u->host = strndup(hs, (size_t)(he - hs))))
            rc = CREW_ENOMEM;
        if (!rc && slash && slash + 1 < end &&
            !parse_int(slash + 1, (size_t)(end - slash - 1), 0, 1000000, &u->db))
            rc = CREW_EINVAL;
    }
    /* rediss:// (TLS) and anything else: not supported. */
    if (rc)
        crew__url_free(u);
    return rc;
}

/* ---- options -------------------------------------------------------------- */

static bool queue_name_ok(const char *q)
{
    size_t n = q ? strlen(q) : 0;
    if (n == 0 || n > CREW__QUEUE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)q[i]) || strchr("_.:-", q[i])))
            return false;
    return true;
}

bool crew__task_name_ok(const char *name, size_t len)
{
    if (!name || len == 0 || len > CREW__TASK_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (name[i] < '!' || name[i] > '~')
            return false;
    return true;
}

int crew__opts_resolve(const crew_remote_options *in, crew_remote_options *o, crew__url *u,
                       crew__keys *k)
{
    crew_remote_options d;
    crew_remote_options_init(&d);
    if (in)
        *o = *in;
    else
        *o = d;
#define DEFAULT_(field)          \
    if (!o->field)               \
        o->field = d.field;
    DEFAULT_(queue) DEFAULT_(connect_timeout_ns) DEFAULT_(io_timeout_ns)
    DEFAULT_(retry_timeout_ns) DEFAULT_(max_payload) DEFAULT_(max_result)
    DEFAULT_(result_ttl_ns) DEFAULT_(batch) DEFAULT_(max_deliveries) DEFAULT_(lease_ns)
    DEFAULT_(grace_ns) DEFAULT_(dead_consumer_idle_ns) DEFAULT_(dead_max)
#undef DEFAULT_
    if (!o->prefetch)
        o->prefetch = 4 * o->batch;
    if (!queue_name_ok(o->queue) || o->connect_timeout_ns < 0 || o->io_timeout_ns < 0 ||
        o->retry_timeout_ns < 0 || o->result_ttl_ns < MS || o->lease_ns < 10 * MS ||
        o->grace_ns < 0 || o->dead_consumer_idle_ns < 0 || o->batch > 10000 ||
        o->prefetch < o->batch || o->prefetch > 1000000 || o->max_deliveries > 1000 ||
        o->threads > 4096 || o->max_payload > (256u << 20) || o->max_result > (256u << 20))
        return CREW_EINVAL;
    if (o->consumer) {
        size_t n = strlen(o->consumer);
        if (n == 0 || n > 128 || !crew__task_name_ok(o->consumer, n))
            return CREW_EINVAL;
    }
    if (o->password) {
        free(u->password);
        if (!(u->password = strdup(o->password)))
            return CREW_ENOMEM;
    } else if (!u->password && o->password_env && *o->password_env) {
        const char *env = getenv(o->password_env);
        if (env && *env && !(u->password = strdup(env)))
            return CREW_ENOMEM;
    }
    if (u->user && !u->password)
        return CREW_EINVAL; /* AUTH user needs a password */
    /* {Q}: every key of a queue hashes to one Redis Cluster slot. */
    snprintf(k->jobs, sizeof k->jobs, "crew:{%s}:jobs", o->queue);
    snprintf(k->dead, sizeof k->dead, "crew:{%s}:dead", o->queue);
    snprintf(k->delayed, sizeof k->delayed, "crew:{%s}:delayed", o->queue);
    snprintf(k->keeper, sizeof k->keeper, "crew:{%s}:keeper", o->queue);
    snprintf(k->res_prefix, sizeof k->res_prefix, "crew:{%s}:res:", o->queue);
    return 0;
}

void crew__log(const crew_remote_options *o, int level, const char *fmt, ...)
{
    if (!o || !o->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->log(level, line, o->log_ctx);
}

void crew__random_hex(char *out, size_t n)
{
    unsigned char b[64];
    if (n > sizeof b)
        n = sizeof b;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < n) { /* no getrandom: time and address, still unique enough per process */
        uint64_t x = (uint64_t)crew_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)out;
        for (size_t i = got; i < n; i++) {
            x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
            b[i] = (unsigned char)((x * 0x2545F4914F6CDD1DULL) >> 56);
        }
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int64_t crew__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void crew__check_failed(const char *what, const char *file, int line)
{
    fprintf(stderr, "crew-remote: internal check failed: %s (%s:%d)\n", what, file, line);
    abort();
}
