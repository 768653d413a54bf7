/* msg.c - the message layout (README.md, "Messages"): a job's stream
 * entry, result records, the retry set's members, stream ids.
 *
 * Everything that comes from Redis is checked here before a worker acts on
 * it: field names (known, once each), sizes, number syntax and ranges.  A
 * message that fails is not run: it goes to the dead-letter stream with the
 * sentence this file writes into `why`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_impl.h"

/* ---- numbers ---------------------------------------------------------------- */

/* Decimal digits s[0..n) into *out if they fit under max.  No sign, no
 * spaces, no leading '+'. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool crew__id_parse(const char *s, size_t len, uint64_t *ms, uint64_t *seq)
{
    const char *dash = memchr(s, '-', len);
    return dash && parse_u64(s, (size_t)(dash - s), UINT64_MAX, ms) &&
           parse_u64(dash + 1, len - (size_t)(dash - s) - 1, UINT64_MAX, seq);
}

static bool client_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > CREW__CLIENT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

bool crew__msg_reply_to(const char *s, size_t n, size_t *client_len, uint64_t *seq)
{
    const char *slash = memchr(s, '/', n);
    if (!slash || !client_id_ok(s, (size_t)(slash - s)) ||
        !parse_u64(slash + 1, n - (size_t)(slash - s) - 1, CREW__SEQ_MAX, seq))
        return false;
    *client_len = (size_t)(slash - s);
    return true;
}

/* ---- jobs -------------------------------------------------------------------- */

void crew__msg_job_args(crew__args *a, const char *jobs_key, const crew__job_fields *j)
{
    crew__args_str(a, "XADD");
    crew__args_str(a, jobs_key);
    crew__args_str(a, "*");
    crew__args_str(a, "t");
    crew__args_add(a, j->task, j->task_len);
    if (j->client) {
        char c[CREW__CLIENT_MAX + 24];
        int n = snprintf(c, sizeof c, "%.*s/%" PRIu64, (int)j->client_len, j->client, j->seq);
        crew__args_str(a, "c");
        crew__args_copy(a, c, (size_t)n);
    }
    crew__args_str(a, "p");
    crew__args_add(a, j->payload, j->payload_len);
    if (j->retries || j->attempt || j->backoff_ms) {
        char o[48];
        int n = snprintf(o, sizeof o, "%u:%" PRIu32 ":%u", j->retries, j->backoff_ms, j->attempt);
        crew__args_str(a, "o");
        crew__args_copy(a, o, (size_t)n);
    }
    if (j->err) {
        crew__args_str(a, "e");
        crew__args_add(a, j->err, j->err_len);
    }
}

#define WHY(...) (snprintf(why, why_len, __VA_ARGS__), CREW_EPROTO)

int crew__msg_job_decode(const redisReply *fields, size_t max_payload, crew__job_fields *j,
                         char *why, size_t why_len)
{
    memset(j, 0, sizeof *j);
    if (!fields || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2)
        return WHY("the entry's fields are not name-value pairs");
    unsigned seen = 0;
    for (size_t i = 0; i < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return WHY("a field is not a string");
        const char *s = v->str;
        size_t n = v->len;
        int f = k->len == 1 ? k->str[0] : 0;
        const char *known = "tcpoe";
        const char *at = f ? strchr(known, f) : NULL;
        if (!at)
            return WHY("unknown field '%.32s'", k->str);
        unsigned bit = 1u << (at - known);
        if (seen & bit)
            return WHY("field '%c' appears twice", f);
        seen |= bit;
        switch (f) {
        case 't':
            if (!crew__task_name_ok(s, n))
                return WHY("bad task name (1-%d printable characters, no space)", CREW__TASK_MAX);
            j->task = s, j->task_len = n;
            break;
        case 'c':
            if (!crew__msg_reply_to(s, n, &j->client_len, &j->seq))
                return WHY("bad reply address 'c' (want <client>/<seq>)");
            j->client = s;
            break;
        case 'p':
            if (n > max_payload) {
                snprintf(why, why_len, "payload of %zu bytes is over the limit of %zu", n,
                         max_payload);
                return CREW_ETOOBIG;
            }
            j->payload = s, j->payload_len = n;
            break;
        case 'o': {
            uint64_t r, b, at2;
            const char *c1 = memchr(s, ':', n);
            const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - s)) : NULL;
            if (!c2 || !parse_u64(s, (size_t)(c1 - s), CREW__RETRIES_MAX, &r) ||
                !parse_u64(c1 + 1, (size_t)(c2 - c1 - 1), UINT32_MAX, &b) ||
                !parse_u64(c2 + 1, n - (size_t)(c2 + 1 - s), CREW__RETRIES_MAX, &at2))
                return WHY("bad options 'o' (want <retries>:<backoff ms>:<attempt>)");
            j->retries = (unsigned)r, j->backoff_ms = (uint32_t)b, j->attempt = (unsigned)at2;
            break;
        }
        case 'e':
            if (n > 4096)
                return WHY("last error 'e' over 4096 bytes");
            j->err = s, j->err_len = n;
            break;
        }
    }
    if (!j->task)
        return WHY("no task name 't'");
    if (!j->payload)
        return WHY("no payload 'p'");
    return 0;
}

/* ---- result records ------------------------------------------------------------ */

static void put_le(unsigned char *d, uint64_t x, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (unsigned char)(x >> (8 * i));
}

static uint64_t get_le(const unsigned char *s, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x |= (uint64_t)s[i] << (8 * i);
    return x;
}

size_t crew__rec_put(unsigned char *dst, uint64_t seq, int32_t status, const void *b, uint32_t len)
{
    put_le(dst, seq, 8);
    put_le(dst + 8, (uint32_t)status, 4);
    put_le(dst + 12, len, 4);
    if (len && b) /* b NULL: the head only */
        memcpy(dst + CREW__REC_HEAD, b, len);
    return CREW__REC_HEAD + (size_t)len;
}

int crew__rec_get(const unsigned char **p, const unsigned char *end, uint64_t *seq,
                  int32_t *status, const unsigned char **b, uint32_t *len)
{
    const unsigned char *s = *p;
    if ((size_t)(end - s) < CREW__REC_HEAD)
        return CREW_EPROTO;
    *seq = get_le(s, 8);
    *status = (int32_t)(uint32_t)get_le(s + 8, 4);
    *len = (uint32_t)get_le(s + 12, 4);
    if ((size_t)(end - s - CREW__REC_HEAD) < *len)
        return CREW_EPROTO;
    *b = s + CREW__REC_HEAD;
    *p = s + CREW__REC_HEAD + *len;
    return 0;
}

/* ---- growable bytes and msgpack -------------------------------------------------- */

void crew__buf_put(crew__buf *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

void crew__buf_free(crew__buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void put_be(crew__buf *b, unsigned char tag, uint64_t x, int n)
{
    unsigned char h[9];
    h[0] = tag;
    for (int i = 0; i < n; i++)
        h[1 + i] = (unsigned char)(x >> (8 * (n - 1 - i)));
    crew__buf_put(b, h, 1 + (size_t)n);
}

void crew__mp_array(crew__buf *b, uint32_t n)
{
    if (n <= 15)
        put_be(b, (unsigned char)(0x90 | n), 0, 0);
    else if (n <= 0xffff)
        put_be(b, 0xdc, n, 2);
    else
        put_be(b, 0xdd, n, 4);
}

void crew__mp_str(crew__buf *b, const void *p, size_t n)
{
    if (n <= 31)
        put_be(b, (unsigned char)(0xa0 | n), 0, 0);
    else if (n <= 0xff)
        put_be(b, 0xd9, n, 1);
    else if (n <= 0xffff)
        put_be(b, 0xda, n, 2);
    else
        put_be(b, 0xdb, n, 4);
    crew__buf_put(b, p, n);
}
