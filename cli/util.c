/*
 * util.c - strings, allocation, messages, parsing and clocks for the crew
 * command (see util.h).
 */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <crew.h>

void (*cli_warn_hook)(const char *line, size_t len);
void (*cli_fatal_hook)(void);

/* ---- strings ------------------------------------------------------------ */

void sb_grow(struct strbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2)
            cli_fatal("out of memory");
        cap *= 2;
    }
    b->s = xrealloc(b->s, cap);
    b->cap = cap;
}

void sb_add(struct strbuf *b, const char *p, size_t n)
{
    sb_grow(b, n);
    if (n)
        memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sb_adds(struct strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

void sb_addc(struct strbuf *b, char c)
{
    sb_grow(b, 1);
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
}

void sb_addf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[128];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sb_add(b, small, (size_t)n);
        return;
    }
    sb_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sb_reset(struct strbuf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

void sb_free(struct strbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

void sv_push(struct strvec *v, char *s)
{
    if (v->n + 1 >= v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        v->v = xrealloc(v->v, cap * sizeof *v->v);
        v->cap = cap;
    }
    v->v[v->n++] = s;
    v->v[v->n] = NULL;
}

void sv_free(struct strvec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

void sb_add_display(struct strbuf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    bool plain = n > 0;
    for (size_t i = 0; i < n && plain; i++) {
        unsigned char c = (unsigned char)s[i];
        plain = c > ' ' && c < 0x7f && c != '\'' && c != '"' && c != '\\';
    }
    if (plain && n <= max) {
        sb_add(b, s, n);
        return;
    }
    sb_addc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (i == max) {
            sb_adds(b, "...");
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            sb_adds(b, "\\n");
        else if (c == '\t')
            sb_adds(b, "\\t");
        else if (c < ' ' || c == 0x7f)
            sb_addf(b, "\\x%02x", c);
        else if (c == '\'' || c == '\\') {
            sb_addc(b, '\\');
            sb_addc(b, (char)c);
        } else
            sb_addc(b, (char)c);
    }
    sb_addc(b, '\'');
}

/* ---- allocation ------------------------------------------------------------ */

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        cli_fatal("out of memory");
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        cli_fatal("out of memory");
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        cli_fatal("out of memory");
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* ---- messages ------------------------------------------------------------ */

/* Formats "crew: <text>\n" into line (cut to fit); returns the length. */
static size_t format_msg(char *line, size_t size, const char *fmt, va_list ap)
{
    int n = snprintf(line, size, "crew: ");
    int m = vsnprintf(line + n, size - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > size - 2)
        len = size - 2;
    line[len++] = '\n';
    line[len] = '\0';
    return len;
}

void cli_vwarn(const char *fmt, va_list ap)
{
    char line[1024];
    size_t len = format_msg(line, sizeof line, fmt, ap);
    if (cli_warn_hook)
        cli_warn_hook(line, len);
    else
        (void)write_all(2, line, len);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vwarn(fmt, ap);
    va_end(ap);
}

void cli_fatal(const char *fmt, ...)
{
    /* Straight to stderr: the writer may be the thread that failed. */
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    size_t len = format_msg(line, sizeof line, fmt, ap);
    va_end(ap);
    (void)write_all(2, line, len);
    if (cli_fatal_hook)
        cli_fatal_hook();
    _exit(CLI_EXIT_ERROR);
}

int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- parsing ------------------------------------------------------------ */

int parse_uint(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int parse_duration(const char *s, double *seconds)
{
    if (!s || !*s)
        return -1;
    double total = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0)
            return -1;
        double unit = 1;
        switch (*end) {
        case 's': unit = 1; end++; break;
        case 'm': unit = 60; end++; break;
        case 'h': unit = 3600; end++; break;
        case 'd': unit = 86400; end++; break;
        case '\0': break;
        default: return -1;
        }
        total += v * unit;
        p = end;
    }
    *seconds = total;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    double mul = 1;
    if (*end) {
        const char *units = "KMGTP", *lower = "kmgtp";
        const char *u = strchr(units, *end), *l = strchr(lower, *end);
        if (!u && !l)
            return -1;
        long steps = u ? u - units + 1 : l - lower + 1;
        for (long i = 0; i < steps; i++)
            mul *= u ? 1024 : 1000;
        if (end[1])
            return -1;
    }
    v *= mul;
    if (v >= 18446744073709551615.0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* ---- clocks ------------------------------------------------------------ */

int64_t mono_ns(void)
{
    return crew_now_ns();
}

int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
