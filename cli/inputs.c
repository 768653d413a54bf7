/*
 * inputs.c - the input reader task (see inputs.h).
 */
#include "inputs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define RD_MIN 65536

/* ---- records ------------------------------------------------------------ */

struct args *args_new(uint64_t seq, unsigned n, const char *const *v, const size_t *len,
                      const uint16_t *src)
{
    size_t bytes = 0;
    for (unsigned i = 0; i < n; i++)
        bytes += len[i] + 1;
    size_t head = sizeof(struct args) + n * sizeof(char *);
    struct args *a = xmalloc(head + n * sizeof(uint16_t) + bytes);
    a->seq = seq;
    a->n = n;
    a->src = (uint16_t *)((char *)a + head);
    char *p = (char *)(a->src + n);
    for (unsigned i = 0; i < n; i++) {
        a->src[i] = src[i];
        a->v[i] = p;
        memcpy(p, v[i], len[i]);
        p[len[i]] = '\0';
        p += len[i] + 1;
    }
    return a;
}

void args_free(struct args *a)
{
    free(a);
}

static void drop_args(void *item, void *ctx)
{
    (void)ctx;
    args_free(item);
}

/* ---- resume set ------------------------------------------------------------ */

void seqset_add(struct seqset *s, uint64_t seq)
{
    if (seq >= s->cap) {
        uint64_t cap = s->cap ? s->cap : 1024;
        while (cap <= seq)
            cap *= 2;
        s->bits = xrealloc(s->bits, cap / 8);
        memset(s->bits + s->cap / 8, 0, (cap - s->cap) / 8);
        s->cap = cap;
    }
    s->bits[seq / 8] |= (uint8_t)(1u << (seq % 8));
}

bool seqset_has(const struct seqset *s, uint64_t seq)
{
    return s && seq < s->cap && (s->bits[seq / 8] >> (seq % 8)) & 1;
}

void seqset_free(struct seqset *s)
{
    free(s->bits);
    s->bits = NULL;
    s->cap = 0;
}

/* ---- buffered records ------------------------------------------------------ */

/* Returns 1 with the next record (NUL-terminated in place), 0 at the end,
 * -1 on a read error (errno set), -2 if told to stop. */
static int rd_next(struct rdbuf *rd, int delim, int stop_fd, char **rec, size_t *len)
{
    for (;;) {
        char *base = rd->buf + rd->start;
        char *d = rd->end > rd->start ? memchr(base, delim, rd->end - rd->start) : NULL;
        if (d) {
            *d = '\0';
            *rec = base;
            *len = (size_t)(d - base);
            rd->start = (size_t)(d - rd->buf) + 1;
            return 1;
        }
        if (rd->eof) {
            if (rd->end == rd->start)
                return 0;
            rd->buf[rd->end] = '\0'; /* a last record without its delimiter */
            *rec = base;
            *len = rd->end - rd->start;
            rd->start = rd->end;
            return 1;
        }
        if (rd->start > 0) {
            memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
            rd->end -= rd->start;
            rd->start = 0;
        }
        if (rd->end + 1 >= rd->cap) {
            rd->cap = rd->cap ? rd->cap * 2 : RD_MIN;
            rd->buf = xrealloc(rd->buf, rd->cap);
        }
        if (stop_fd >= 0) {
            struct pollfd p[2] = {{rd->fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            if (p[1].revents)
                return -2;
        }
        ssize_t n = read(rd->fd, rd->buf + rd->end, rd->cap - rd->end - 1);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (n == 0)
            rd->eof = true;
        rd->end += (size_t)n;
    }
}

static const char *src_name(const struct source_spec *s)
{
    return strcmp(s->path, "-") == 0 ? "standard input" : s->path;
}

static int open_source(struct rsrc *s)
{
    s->rd.fd = -1;
    if (s->spec->kind != SRC_FILE)
        return 0;
    if (strcmp(s->spec->path, "-") == 0) {
        s->rd.fd = 0;
        return 0;
    }
    s->rd.fd = open(s->spec->path, O_RDONLY | O_CLOEXEC);
    if (s->rd.fd < 0) {
        cli_warn("cannot open input file %s: %s", s->spec->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads a whole file source into vals. */
static int load_source(struct rsrc *s, int delim, bool skip_empty)
{
    char *rec;
    size_t len, cap = 0;
    int rc;
    s->owned = true;
    while ((rc = rd_next(&s->rd, delim, -1, &rec, &len)) == 1) {
        (void)skip_empty;
        if (s->n == cap) {
            cap = cap ? cap * 2 : 16;
            s->vals = xrealloc(s->vals, cap * sizeof *s->vals);
        }
        s->vals[s->n++] = xstrndup(rec, len);
    }
    if (rc < 0) {
        cli_warn("cannot read %s: %s", src_name(s->spec), strerror(errno));
        return -1;
    }
    free(s->rd.buf);
    s->rd.buf = NULL;
    return 0;
}

/* --colsep is a Perl regex in parallel; POSIX EREs lack \t \n \d, so
 * translate those (glibc's regex already knows \s \S \w \W). */
static char *translate_regex(const char *re)
{
    struct strbuf b = {0};
    for (const char *p = re; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            switch (*p) {
            case 't': sb_addc(&b, '\t'); break;
            case 'n': sb_addc(&b, '\n'); break;
            case 'r': sb_addc(&b, '\r'); break;
            case 'd': sb_adds(&b, "[0-9]"); break;
            case 'D': sb_adds(&b, "[^0-9]"); break;
            default: sb_addc(&b, '\\'); sb_addc(&b, *p); break;
            }
        } else {
            sb_addc(&b, *p);
        }
    }
    return b.s ? b.s : xstrdup("");
}

int reader_open(struct reader *r, const struct opts *o, const struct seqset *skip,
                struct waker *wk)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->skip = skip;
    r->wk = wk;
    r->stop_fd = -1;
    r->room.fd = -1;
    atomic_init(&r->total, UINT64_MAX);
    atomic_init(&r->failed, false);
    r->src = xcalloc(o->nsrc, sizeof *r->src);
    r->nsrc = o->nsrc;
    for (size_t i = 0; i < o->nsrc; i++) {
        r->src[i].spec = &o->src[i];
        if (open_source(&r->src[i]) != 0)
            return CLI_EXIT_ERROR;
        if (o->src[i].kind == SRC_ARGS) {
            r->src[i].vals = o->src[i].items;
            r->src[i].n = o->src[i].n;
        }
    }
    for (size_t i = 1; i < r->nsrc; i++)
        if (r->src[i].spec->kind == SRC_FILE &&
            load_source(&r->src[i], o->delim, o->skip_empty) != 0)
            return CLI_EXIT_ERROR;
    if (o->colsep) {
        char *re = translate_regex(o->colsep);
        int rc = regcomp(&r->colsep, re, REG_EXTENDED);
        free(re);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &r->colsep, msg, sizeof msg);
            cli_warn("bad --colsep regex '%s': %s", o->colsep, msg);
            return CLI_EXIT_ERROR;
        }
        r->has_colsep = true;
    }
    r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->stop_fd < 0 || waker_init(&r->room) != 0) {
        cli_warn("eventfd: %s", strerror(errno));
        return CLI_EXIT_ERROR;
    }
    crew_queue_options qo;
    crew_queue_options_init(&qo);
    size_t qsize = 2 * (size_t)o->slots;
    qo.maxsize = qsize < 64 ? 64 : qsize > 4096 ? 4096 : qsize;
    qo.drop = drop_args;
    int rc = crew_queue_create(&r->q, &qo);
    if (rc != 0) {
        cli_warn("cannot create the input queue: %s", crew_strerror(rc));
        return CLI_EXIT_ERROR;
    }

    /* With only ::: sources the number of jobs is known now (for --bar,
     * --eta and --halt ...%). */
    bool known = !o->skip_empty;
    uint64_t tuples = 1;
    for (size_t i = 0; i < r->nsrc && known; i++) {
        if (r->src[i].spec->kind != SRC_ARGS)
            known = false;
        else if (r->src[i].n > 0 && tuples > UINT64_MAX / r->src[i].n)
            known = false;
        else
            tuples *= r->src[i].n ? r->src[i].n : 1;
    }
    if (known) {
        uint64_t per = o->max_args_set && o->max_args > 0 ? o->max_args : 1;
        uint64_t jobs = (tuples + per - 1) / per, skipped = 0;
        for (uint64_t s = 1; skip && s <= jobs && s < skip->cap; s++)
            skipped += seqset_has(skip, s);
        atomic_store(&r->total, jobs - skipped);
    }
    return 0;
}

/* ---- the task ------------------------------------------------------------ */

/* The values of the job being assembled (copied: the line buffer moves). */
struct group {
    struct strbuf text; /* values separated by NULs */
    size_t *off, *len;
    uint16_t *src;
    unsigned n, cap;
};

static void group_add(struct group *g, const char *p, size_t n, uint16_t src)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 8;
        g->off = xrealloc(g->off, g->cap * sizeof *g->off);
        g->len = xrealloc(g->len, g->cap * sizeof *g->len);
        g->src = xrealloc(g->src, g->cap * sizeof *g->src);
    }
    g->off[g->n] = g->text.len;
    g->len[g->n] = n;
    g->src[g->n] = src;
    g->n++;
    sb_add(&g->text, p, n);
    sb_addc(&g->text, '\0');
}

static void add_value(struct reader *r, struct group *g, const char *p, uint16_t src)
{
    if (!r->has_colsep) {
        group_add(g, p, strlen(p), src);
        return;
    }
    int flags = 0;
    regmatch_t m;
    while (*p && regexec(&r->colsep, p, 1, &m, flags) == 0 && m.rm_eo > m.rm_so) {
        group_add(g, p, (size_t)m.rm_so, src);
        p += m.rm_eo;
        flags = REG_NOTBOL;
    }
    group_add(g, p, strlen(p), src);
}

/* Puts a record; when the queue is full, sleeps until the loop has drained
 * it to half (reader_took) or wants the reader to stop.  0 or an error. */
static int put_record(struct reader *r, struct args *a)
{
    for (;;) {
        int rc = crew_queue_try_put(r->q, a);
        if (rc != CREW_EFULL)
            return rc;
        waker_arm(&r->room);
        rc = crew_queue_try_put(r->q, a);
        if (rc != CREW_EFULL) {
            waker_disarm(&r->room);
            return rc;
        }
        struct pollfd p[2] = {{r->room.fd, POLLIN, 0}, {r->stop_fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return CREW_EINVAL;
        if (p[1].revents)
            return CREW_ESHUTDOWN;
        waker_clear(&r->room);
    }
}

void reader_took(struct reader *r)
{
    atomic_thread_fence(memory_order_seq_cst); /* pairs with waker_arm's fence */
    if (atomic_load_explicit(&r->room.armed, memory_order_relaxed) &&
        crew_queue_size(r->q) <= crew_queue_maxsize(r->q) / 2)
        waker_kick(&r->room);
}

/* Queues the assembled job.  Returns false if the loop shut the queue. */
static bool emit(struct reader *r, struct group *g, uint64_t *seq, uint64_t *queued)
{
    ++*seq;
    bool ok = true;
    if (!seqset_has(r->skip, *seq)) {
        const char **v = xmalloc((g->n ? g->n : 1) * sizeof *v);
        for (unsigned i = 0; i < g->n; i++)
            v[i] = g->text.s + g->off[i];
        struct args *a = args_new(*seq, g->n, v, g->len, g->src);
        free(v);
        if (put_record(r, a) == 0) {
            ++*queued;
            waker_kick(r->wk);
        } else {
            args_free(a);
            ok = false;
        }
    }
    g->n = 0;
    sb_reset(&g->text);
    return ok;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* The next value of the first source: 1, 0 at the end, -1 error, -2 stop. */
static int next_first(struct reader *r, size_t *pos, const char **v)
{
    struct rsrc *s = &r->src[0];
    if (s->spec->kind == SRC_ARGS) {
        if (*pos >= (s->n ? s->n : 1))
            return 0;
        v[0] = s->n ? s->vals[*pos] : ""; /* an empty ::: is one empty value, as parallel */
        ++*pos;
        return 1;
    }
    char *rec;
    size_t len;
    int rc = rd_next(&s->rd, r->o->delim, r->stop_fd, &rec, &len);
    if (rc == 1)
        v[0] = rec;
    return rc;
}

int reader_task(void *arg, void **result)
{
    struct reader *r = arg;
    const struct opts *o = r->o;
    unsigned per = o->max_args_set && o->max_args > 0 ? o->max_args : 1;
    bool keep_values = !(o->max_args_set && o->max_args == 0);
    struct group g = {0};
    size_t *idx = xcalloc(r->nsrc, sizeof *idx), pos = 0;
    uint64_t seq = 0, queued = 0;
    unsigned tuples = 0;
    bool empty_product = false, stopped = false;
    for (size_t i = 1; i < r->nsrc; i++)
        if (r->src[i].spec->kind == SRC_FILE && r->src[i].n == 0)
            empty_product = true;
    int rc;
    const char *v0;
    while (!stopped && (rc = next_first(r, &pos, &v0)) == 1) {
        if ((o->skip_empty && blank(v0)) || empty_product)
            continue;
        memset(idx, 0, r->nsrc * sizeof *idx);
        for (;;) {
            if (keep_values) {
                add_value(r, &g, v0, 1);
                for (size_t s = 1; s < r->nsrc; s++)
                    add_value(r, &g, r->src[s].n ? r->src[s].vals[idx[s]] : "",
                              (uint16_t)(s + 1));
            }
            if (++tuples == per) {
                tuples = 0;
                if (!emit(r, &g, &seq, &queued)) {
                    stopped = true;
                    break;
                }
            }
            /* The odometer: the last source varies fastest. */
            size_t s = r->nsrc;
            while (s-- > 1) {
                size_t n = r->src[s].n ? r->src[s].n : 1;
                if (++idx[s] < n)
                    break;
                idx[s] = 0;
            }
            if (s == 0 || r->nsrc == 1)
                break;
        }
    }
    if (!stopped && rc < 0) {
        if (rc == -1) {
            cli_warn("cannot read %s: %s", src_name(r->src[0].spec), strerror(errno));
            atomic_store(&r->failed, true);
        }
        stopped = true;
    }
    if (!stopped && tuples > 0)
        (void)emit(r, &g, &seq, &queued);
    atomic_store(&r->total, queued);
    crew_queue_shutdown(r->q, false);
    waker_kick(r->wk);
    sb_free(&g.text);
    free(g.off);
    free(g.len);
    free(g.src);
    free(idx);
    (void)result;
    return 0;
}

void reader_stop(struct reader *r)
{
    uint64_t one = 1;
    if (r->stop_fd >= 0)
        (void)!write(r->stop_fd, &one, sizeof one);
    if (r->q)
        crew_queue_shutdown(r->q, true);
}

void reader_close(struct reader *r)
{
    if (!r->o)
        return; /* never opened */
    for (size_t i = 0; i < r->nsrc; i++) {
        struct rsrc *s = &r->src[i];
        if (s->rd.fd > 0)
            close(s->rd.fd);
        free(s->rd.buf);
        if (s->owned) {
            for (size_t k = 0; k < s->n; k++)
                free(s->vals[k]);
            free(s->vals);
        }
    }
    free(r->src);
    if (r->has_colsep)
        regfree(&r->colsep);
    if (r->stop_fd >= 0)
        close(r->stop_fd);
    waker_close(&r->room);
    if (r->q)
        crew_queue_destroy(r->q);
    memset(r, 0, sizeof *r);
    r->stop_fd = -1;
    r->room.fd = -1;
}
