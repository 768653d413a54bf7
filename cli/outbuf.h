/*
 * outbuf.h - one stream (stdout or stderr) of one job, captured while the
 * job runs and printed whole when it ends.
 *
 * The first bytes are kept in memory, up to a per-job bound (--mem-buffer,
 * 1 MiB by default) and while all jobs together stay under a global budget;
 * the rest goes to an unlinked temporary file (O_TMPFILE in --tmpdir, or
 * mkstemp + unlink), so a job that prints gigabytes costs disk, not memory,
 * and nothing is left behind whatever happens to crew.  The stream's content
 * is data[0..len) followed by the file's bytes.
 *
 * Threads: the event loop appends while the job runs; the record then moves
 * to the writer thread (through the output queue, which orders the two),
 * which reads and frees it.  The budget counter is shared: atomic.
 */
#ifndef CREW_CLI_OUTBUF_H
#define CREW_CLI_OUTBUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct membudget {
    atomic_uint_fast64_t used; /* A: bytes of job output held in memory */
    uint64_t total;            /* I: the budget */
    uint64_t per_job;          /* I: the most one stream keeps in memory */
    const char *tmpdir;        /* I */
};

struct outbuf {
    char *data;
    size_t len, cap;
    int fd;            /* spill file, or -1 */
    uint64_t spilled;  /* bytes in the spill file */
};

void outbuf_init(struct outbuf *b);

/* Appends n bytes.  0, or an errno if the spill file could not be created
 * or written (the bytes are then lost; the caller reports it). */
int outbuf_append(struct outbuf *b, struct membudget *m, const char *p, size_t n);

static inline uint64_t outbuf_size(const struct outbuf *b)
{
    return b->len + b->spilled;
}

/* Calls fn on the content in order, in pieces (memory part, then the file
 * read back in chunks).  Stops at and returns fn's first non-zero result,
 * or an errno from reading the file. */
int outbuf_each(const struct outbuf *b, int (*fn)(void *ctx, const char *p, size_t n),
                void *ctx);

/* Drops the content (for a retry), keeping nothing in memory. */
void outbuf_clear(struct outbuf *b, struct membudget *m);
void outbuf_free(struct outbuf *b, struct membudget *m);

#endif /* CREW_CLI_OUTBUF_H */
