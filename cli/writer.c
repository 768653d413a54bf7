/*
 * writer.c - the output writer task (see writer.h).
 */
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "joblog.h"
#include "progress.h"
#include "util.h"

/* W: the writer's own state; main reads stats only after the task ended
 * (the task's future orders it). */
static struct {
    struct writer_stats st;
    bool stderr_dead;
    bool bar_shown;      /* the status line is on the screen */
    int64_t last_draw;
    bool progress;       /* --bar/--eta and stderr is a terminal */
    unsigned width;
} W;

void writer_get_stats(struct writer_stats *s)
{
    *s = W.st;
}

/* ---- writing ------------------------------------------------------------ */

static void erase_bar(void)
{
    if (W.bar_shown) {
        (void)write_all(2, "\r\033[K", 4);
        W.bar_shown = false;
    }
}

static void draw_bar(struct run *r, bool force)
{
    if (!W.progress)
        return;
    int64_t now = mono_ns();
    if (!force && W.bar_shown && now - W.last_draw < PROGRESS_INTERVAL_NS)
        return;
    struct progress_state s = {atomic_load_explicit(&r->done, memory_order_relaxed),
                               atomic_load_explicit(&r->failed, memory_order_relaxed),
                               atomic_load_explicit(&r->running, memory_order_relaxed),
                               atomic_load_explicit(&r->rd.total, memory_order_relaxed),
                               now - r->t0};
    struct strbuf b = {0};
    sb_adds(&b, "\r\033[K");
    progress_line(&b, &s, r->o->bar, r->o->eta, W.width);
    (void)write_all(2, b.s, b.len);
    sb_free(&b);
    W.bar_shown = true;
    W.last_draw = now;
}

/* Records a failed write; stdout failing stops the run. */
static void write_failed(struct run *r, int fd, int err)
{
    if (fd == 1) {
        if (!W.st.stdout_err) {
            W.st.stdout_err = err;
            atomic_store(&r->out_broken, true);
            waker_kick(&r->wk);
        }
    } else {
        W.stderr_dead = true;
    }
}

static bool fd_dead(int fd)
{
    return fd == 1 ? W.st.stdout_err != 0 : W.stderr_dead;
}

/* Copies a stream to fd, each line prefixed with tag (if any). */
struct printer {
    int fd;
    const char *tag;
    size_t taglen;
    bool bol;           /* at the beginning of a line */
    struct strbuf buf;  /* tagged output gathered before one write */
};

static int pr_flush(struct printer *p)
{
    int rc = 0;
    if (p->buf.len)
        rc = write_all(p->fd, p->buf.s, p->buf.len);
    sb_reset(&p->buf);
    return rc;
}

static int pr_feed(void *ctx, const char *s, size_t n)
{
    struct printer *p = ctx;
    if (!p->tag)
        return write_all(p->fd, s, n);
    while (n > 0) {
        if (p->bol)
            sb_add(&p->buf, p->tag, p->taglen);
        const char *nl = memchr(s, '\n', n);
        size_t l = nl ? (size_t)(nl - s) + 1 : n;
        sb_add(&p->buf, s, l);
        p->bol = nl != NULL;
        s += l;
        n -= l;
        if (p->buf.len >= 65536) {
            int rc = pr_flush(p);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void print_stream(struct run *r, int fd, const struct outbuf *ob, const char *tag,
                         size_t taglen)
{
    if (outbuf_size(ob) == 0 || fd_dead(fd))
        return;
    bool tty = fd == 1 ? r->stdout_tty : r->stderr_tty;
    if (tty)
        erase_bar();
    struct printer p = {fd, tag, taglen, true, {0}};
    int rc = outbuf_each(ob, pr_feed, &p);
    if (rc == 0)
        rc = pr_flush(&p);
    sb_free(&p.buf);
    if (rc)
        write_failed(r, fd, rc);
}

static void print_job(struct run *r, struct job *j)
{
    const struct opts *o = r->o;
    struct strbuf tag = {0};
    job_tag(r, j, &tag);
    if (o->verbose_out && !fd_dead(1)) {
        struct strbuf cmd = {0};
        job_command_line(r, j, &cmd);
        sb_addc(&cmd, '\n');
        if (r->stdout_tty)
            erase_bar();
        int rc = write_all(1, cmd.s, cmd.len);
        if (rc)
            write_failed(r, 1, rc);
        sb_free(&cmd);
    }
    if (o->results) {
        results_write(r, j);
    } else if (o->out != OUT_UNGROUP) {
        print_stream(r, 1, &j->out[0], tag.s, tag.len);
        print_stream(r, 2, &j->out[1], tag.s, tag.len);
    }
    sb_free(&tag);
}

static void handle_text(struct run *r, struct textitem *t)
{
    if (!fd_dead(t->fd)) {
        if (t->fd == 2 || (t->fd == 1 && r->stdout_tty))
            erase_bar();
        int rc = write_all(t->fd, t->data, t->len);
        if (rc)
            write_failed(r, t->fd, rc);
    }
    free(t);
    atomic_fetch_sub_explicit(&r->live, 1, memory_order_release);
    waker_kick(&r->wk);
}

static void handle_job(struct run *r, struct job *j)
{
    if (!j->discard)
        print_job(r, j);
    job_free(j, &r->mem);
    atomic_fetch_sub_explicit(&r->live, 1, memory_order_release);
    waker_kick(&r->wk);
}

int writer_task(void *arg, void **result)
{
    struct run *r = arg;
    W.progress = (r->o->bar || r->o->eta) && r->stderr_tty;
    W.width = W.progress ? progress_width() : 80;
    for (;;) {
        void *item;
        int rc = W.progress ? crew_queue_get_timed(r->outq, &item, PROGRESS_INTERVAL_NS)
                            : crew_queue_get(r->outq, &item);
        if (rc == CREW_ETIMEDOUT) {
            draw_bar(r, true);
            continue;
        }
        if (rc != 0)
            break; /* CREW_ESHUTDOWN: drained */
        if (*(enum item_kind *)item == ITEM_TEXT)
            handle_text(r, item);
        else
            handle_job(r, item);
        draw_bar(r, false);
    }
    if (W.progress) {
        struct progress_state s = {atomic_load(&r->done), atomic_load(&r->failed), 0,
                                   atomic_load(&r->rd.total), mono_ns() - r->t0};
        struct strbuf b = {0};
        sb_adds(&b, "\r\033[K");
        progress_summary(&b, &s);
        (void)write_all(2, b.s, b.len);
        sb_free(&b);
    }
    (void)result;
    return 0;
}

/* Each long task on a pool of one worker: see main.c's start_tasks. */
int writer_start(struct run *r)
{
    if (atomic_load_explicit(&r->writer_on, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&r->writer_lock);
    int rc = 0;
    if (r->writer_closed) {
        rc = CREW_ESHUTDOWN;
    } else if (!atomic_load_explicit(&r->writer_on, memory_order_relaxed)) {
        crew_pool_options po;
        crew_pool_options_init(&po);
        po.workers = 1;
        po.name = "crew-out";
        po.idle_timeout_ns = -1;
        rc = crew_pool_create(&r->writer_pool, &po);
        if (rc == 0)
            rc = crew_pool_submit(r->writer_pool, writer_task, r, &r->writer_f);
        if (rc == 0)
            atomic_store_explicit(&r->writer_on, true, memory_order_release);
    }
    pthread_mutex_unlock(&r->writer_lock);
    return rc;
}

void writer_text(struct run *r, int fd, const char *p, size_t n)
{
    if (writer_start(r) != 0) {
        (void)write_all(fd, p, n);
        return;
    }
    struct textitem *t = xmalloc(sizeof *t + n);
    t->kind = ITEM_TEXT;
    t->fd = fd;
    t->len = n;
    memcpy(t->data, p, n);
    atomic_fetch_add_explicit(&r->live, 1, memory_order_relaxed);
    if (crew_queue_put(r->outq, t) != 0) {
        (void)write_all(fd, p, n); /* the writer is gone: print it here */
        free(t);
        atomic_fetch_sub_explicit(&r->live, 1, memory_order_relaxed);
    }
}
