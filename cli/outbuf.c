/*
 * outbuf.c - captured job output, in memory up to a bound, then in an
 * unlinked temporary file (see outbuf.h).
 */
#include "outbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define CHUNK 65536

void outbuf_init(struct outbuf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->fd = -1;
    b->spilled = 0;
}

static int open_spill(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    /* Filesystems without O_TMPFILE: a named file, unlinked at once. */
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/crew-out.XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -1;
    unlink(path);
    return fd;
}

/* Room for n more bytes in memory, within both bounds? */
static bool reserve(struct outbuf *b, struct membudget *m, size_t n)
{
    if (b->fd >= 0 || b->len + n > m->per_job)
        return false;
    if (b->len + n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    if (cap > m->per_job)
        cap = (size_t)m->per_job;
    size_t grow = cap - b->cap;
    uint64_t used = atomic_fetch_add_explicit(&m->used, grow, memory_order_relaxed);
    if (used + grow > m->total) {
        atomic_fetch_sub_explicit(&m->used, grow, memory_order_relaxed);
        return false;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        atomic_fetch_sub_explicit(&m->used, grow, memory_order_relaxed);
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

int outbuf_append(struct outbuf *b, struct membudget *m, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (reserve(b, m, n)) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
    }
    if (b->fd < 0) {
        b->fd = open_spill(m->tmpdir);
        if (b->fd < 0)
            return errno;
    }
    int rc = write_all(b->fd, p, n);
    if (rc == 0)
        b->spilled += n;
    return rc;
}

int outbuf_each(const struct outbuf *b, int (*fn)(void *ctx, const char *p, size_t n),
                void *ctx)
{
    int rc;
    if (b->len && (rc = fn(ctx, b->data, b->len)) != 0)
        return rc;
    if (b->fd < 0 || b->spilled == 0)
        return 0;
    char *chunk = xmalloc(CHUNK);
    uint64_t off = 0;
    rc = 0;
    while (off < b->spilled) {
        ssize_t r = pread(b->fd, chunk, CHUNK, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? errno : EIO;
            break;
        }
        off += (uint64_t)r;
        if ((rc = fn(ctx, chunk, (size_t)r)) != 0)
            break;
    }
    free(chunk);
    return rc;
}

void outbuf_clear(struct outbuf *b, struct membudget *m)
{
    outbuf_free(b, m);
    outbuf_init(b);
}

void outbuf_free(struct outbuf *b, struct membudget *m)
{
    if (b->cap)
        atomic_fetch_sub_explicit(&m->used, b->cap, memory_order_relaxed);
    free(b->data);
    if (b->fd >= 0)
        close(b->fd);
    outbuf_init(b);
}
