/*
 * finish.c - what the event loop does with a job's output and its end:
 * capture or --line-buffer printing, retries, the -k window, --halt,
 * killing through --term-seq, and the exit status (see loop.h).
 *
 * The -k window: jobs get an order number (ord) when the loop takes them;
 * a finished job waits in win[ord % livecap] until every earlier ord has
 * been handed to the writer.  ord - win_next < livecap always holds because
 * the loop starts nothing while livecap records are alive, so two waiting
 * jobs never share a cell.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "joblog.h"
#include "loop_int.h"
#include "writer.h"

#define RUNTIME_SAMPLES 1001 /* --timeout N%: the median of this many recent jobs */
#define LB_LONGEST (1u << 20) /* --line-buffer: a longer line is printed in parts */

/* ---- output ------------------------------------------------------------ */

static bool lb_live(const struct loop *L, const struct job *j)
{
    return !L->o->keep_order || j->ord == L->win_next;
}

/* --line-buffer: prints the complete lines of part[k] (all of it if all),
 * each with the job's tag. */
static void lb_emit(struct loop *L, struct job *j, int k, bool all)
{
    struct strbuf *p = &j->part[k];
    if (p->len == 0)
        return;
    char *last = memrchr(p->s, '\n', p->len);
    size_t upto = last ? (size_t)(last - p->s) + 1 : 0;
    if (all || (upto == 0 && p->len >= LB_LONGEST))
        upto = p->len;
    if (upto == 0)
        return;
    struct strbuf tag = {0};
    job_tag(L->r, j, &tag);
    if (tag.len == 0) {
        writer_text(L->r, k + 1, p->s, upto);
    } else {
        sb_reset(&L->line);
        for (size_t i = 0; i < upto;) {
            const char *nl = memchr(p->s + i, '\n', upto - i);
            size_t l = nl ? (size_t)(nl - (p->s + i)) + 1 : upto - i;
            sb_add(&L->line, tag.s, tag.len);
            sb_add(&L->line, p->s + i, l);
            i += l;
        }
        writer_text(L->r, k + 1, L->line.s, L->line.len);
    }
    sb_free(&tag);
    loop_throttle(L); /* --line-buffer output is bounded too */
    memmove(p->s, p->s + upto, p->len - upto);
    p->len -= upto;
    p->s[p->len] = '\0';
}

struct lb_feed {
    struct loop *L;
    struct job *j;
    int k;
};

static int lb_feed_fn(void *ctx, const char *p, size_t n)
{
    struct lb_feed *f = ctx;
    sb_add(&f->j->part[f->k], p, n);
    lb_emit(f->L, f->j, f->k, false);
    return 0;
}

void job_output(struct loop *L, struct job *j, int k, const char *p, size_t n)
{
    if (k == 0)
        j->received += n;
    if (L->o->out == OUT_LINEBUF && lb_live(L, j)) {
        sb_add(&j->part[k], p, n);
        lb_emit(L, j, k, false);
        return;
    }
    int rc = outbuf_append(&j->out[k], &L->r->mem, p, n);
    if (rc) {
        struct strbuf d = {0};
        job_describe(j, &d);
        cli_warn("%s: output lost, cannot keep it in %s: %s", d.s, L->o->tmpdir, strerror(rc));
        sb_free(&d);
    }
}

/* -k --line-buffer: the job became the oldest; print what it buffered. */
static void lb_promote(struct loop *L, struct job *j)
{
    for (int k = 0; k < 2; k++) {
        if (outbuf_size(&j->out[k]) == 0)
            continue;
        struct lb_feed f = {L, j, k};
        outbuf_each(&j->out[k], lb_feed_fn, &f);
        outbuf_clear(&j->out[k], &L->r->mem);
    }
}

/* The joblog line, written by the loop when the job is handed on (the
 * order of the lines is the order jobs are handed on: input order with -k,
 * as they finish without). */
static void log_job(struct loop *L, struct job *j)
{
    struct run *r = L->r;
    if (r->joblog_fd < 0)
        return;
    sb_reset(&L->line);
    joblog_format(r, j, &L->line);
    int rc = write_all(r->joblog_fd, L->line.s, L->line.len);
    if (rc) {
        cli_warn("cannot write joblog %s: %s", L->o->joblog, strerror(rc));
        close(r->joblog_fd);
        r->joblog_fd = -1;
    }
}

/* Does the writer have anything to do with this job? */
static bool has_output(const struct loop *L, const struct job *j)
{
    if (j->discard)
        return false;
    if (L->o->results || L->o->verbose_out)
        return true;
    return L->o->out != OUT_UNGROUP && (outbuf_size(&j->out[0]) || outbuf_size(&j->out[1]));
}

/* Hands a finished job on, in print order: its joblog line, then to the
 * writer if it has output, else it is freed here (most jobs of a
 * `crew true` run never cost the writer a wake-up). */
static void push_out(struct loop *L, struct job *j)
{
    struct run *r = L->r;
    if (!j->discard) {
        if (L->o->out == OUT_LINEBUF) {
            lb_emit(L, j, 0, true);
            lb_emit(L, j, 1, true);
        }
        log_job(L, j);
        atomic_fetch_add_explicit(&r->done, 1, memory_order_relaxed);
        if (j->failed)
            atomic_fetch_add_explicit(&r->failed, 1, memory_order_relaxed);
    }
    if (has_output(L, j) && writer_start(r) == 0 && crew_queue_put(r->outq, j) == 0)
        return;
    job_free(j, &r->mem);
    atomic_fetch_sub_explicit(&r->live, 1, memory_order_release);
}

static void to_window(struct loop *L, struct job *j)
{
    if (!L->o->keep_order) {
        push_out(L, j);
        return;
    }
    L->win[j->ord % L->livecap] = j;
    struct job *w;
    while ((w = L->win[L->win_next % L->livecap]) != NULL) {
        L->win[L->win_next % L->livecap] = NULL;
        L->win_next++;
        push_out(L, w);
    }
    if (L->o->out == OUT_LINEBUF)
        for (unsigned s = 0; s < L->o->slots; s++)
            if (L->slot[s] && L->slot[s]->ord == L->win_next)
                lb_promote(L, L->slot[s]);
}

/* ---- the end of a job ------------------------------------------------------ */

/* The status a job "exits with" for --halt ...,fail=1 (a shell's $?). */
static int job_status(const struct job *j)
{
    if (j->spawn_err)
        return j->spawn_err == ENOENT ? 127 : 126;
    if (j->sig)
        return 128 + j->sig;
    return j->exitval;
}

static void record_runtime(struct loop *L, int64_t ns)
{
    if (L->o->timeout_pct <= 0)
        return;
    if (!L->runtimes)
        L->runtimes = xmalloc(RUNTIME_SAMPLES * sizeof *L->runtimes);
    L->runtimes[L->rtpos] = ns;
    L->rtpos = (L->rtpos + 1) % RUNTIME_SAMPLES;
    if (L->nrt < RUNTIME_SAMPLES)
        L->nrt++;
    L->median_stale = true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t timeout_for(struct loop *L)
{
    const struct opts *o = L->o;
    if (o->timeout > 0)
        return (int64_t)(o->timeout * 1e9);
    if (o->timeout_pct <= 0 || L->nrt < 3)
        return 0; /* N%: not before three jobs have succeeded */
    if (L->median_stale) {
        int64_t *tmp = xmalloc(L->nrt * sizeof *tmp);
        memcpy(tmp, L->runtimes, L->nrt * sizeof *tmp);
        qsort(tmp, L->nrt, sizeof *tmp, cmp_i64);
        L->median = tmp[L->nrt / 2];
        free(tmp);
        L->median_stale = false;
    }
    int64_t t = (int64_t)((double)L->median * o->timeout_pct / 100.0);
    return t > 0 ? t : 1;
}

/* Does this job's end trigger --halt?  If so records the exit status and
 * fills msg (printed once the job's own output has been queued). */
static bool halt_due(struct loop *L, struct job *j, bool failed, struct strbuf *msg)
{
    const struct opts *o = L->o;
    if (o->halt_when == HALT_NEVER || L->halted)
        return false;
    bool relevant = o->halt_why == HALT_FAIL ? failed : o->halt_why == HALT_SUCCESS ? !failed
                                                                                   : true;
    if (!relevant)
        return false;
    uint64_t n = o->halt_why == HALT_FAIL ? L->failed
               : o->halt_why == HALT_SUCCESS ? L->succeeded : L->done;
    if (o->halt_pct > 0) {
        uint64_t total = atomic_load(&L->r->rd.total);
        if (total == UINT64_MAX || total == 0 || (double)n * 100.0 < o->halt_pct * (double)total)
            return false;
    } else if (n < o->halt_count) {
        return false;
    }
    L->halted = true;
    L->halt_status = job_status(j);
    sb_addf(msg, "halting (--halt %s): ", o->halt_when == HALT_NOW ? "now" : "soon");
    job_describe(j, msg);
    sb_adds(msg, failed ? " failed: " : " succeeded: ");
    job_command_line(L->r, j, msg);
    return true;
}

void job_finished(struct loop *L, struct job *j)
{
    const struct opts *o = L->o;
    int64_t now = mono_ns();
    L->slot[j->slot - 1] = NULL;
    L->nrunning--;
    atomic_fetch_sub_explicit(&L->r->running, 1, memory_order_relaxed);
    if (j->kill_step >= 0)
        L->nkilling--;
    j->runtime_ns = now - j->start_mono;
    j->pid = 0;
    if (j->killed == KILL_HALT || j->killed == KILL_INTERRUPT || j->killed == KILL_PIPE) {
        j->discard = true;
        to_window(L, j);
        return;
    }
    bool failed = j->spawn_err || j->sig || j->exitval != 0 || j->killed == KILL_TIMEOUT;
    if (failed && j->attempts < o->retries && !L->stopping) {
        /* Try again: the same record and ord, output of this attempt dropped. */
        for (int k = 0; k < 2; k++) {
            outbuf_clear(&j->out[k], &L->r->mem);
            sb_reset(&j->part[k]);
        }
        j->received = 0;
        j->exitval = j->sig = j->spawn_err = 0;
        j->exited = false;
        j->killed = KILL_NONE;
        j->kill_step = -1;
        j->deadline = 0;
        j->next = NULL;
        if (L->retry_tail)
            L->retry_tail->next = j;
        else
            L->retry_head = j;
        L->retry_tail = j;
        return;
    }
    L->done++;
    if (failed) {
        L->failed++;
    } else {
        L->succeeded++;
        record_runtime(L, j->runtime_ns);
    }
    j->failed = failed;
    struct strbuf msg = {0};
    bool halt = halt_due(L, j, failed, &msg);
    to_window(L, j); /* j belongs to the writer from here on */
    if (halt) {
        cli_warn("%s", msg.s);
        run_stop(L, L->o->halt_when == HALT_NOW ? KILL_HALT : KILL_NONE);
    }
    sb_free(&msg);
}

/* ---- stopping ------------------------------------------------------------ */

void job_kill_next(struct loop *L, struct job *j, int64_t now)
{
    if (j->kill_step >= (int)L->o->nterm) {
        j->kill_at = 0; /* the sequence is over; wait for the exit */
        return;
    }
    const struct term_step *s = &L->o->term[j->kill_step++];
    if (j->pid > 0)
        kill(-j->pid, s->sig); /* the job's process group */
    j->kill_at = now + (int64_t)s->ms * 1000000;
}

void job_kill(struct loop *L, struct job *j, enum kill_reason why, int64_t now)
{
    if (j->killed == KILL_NONE || why != KILL_TIMEOUT)
        j->killed = why;
    if (j->kill_step >= 0)
        return; /* already on its way */
    j->kill_step = 0;
    L->nkilling++;
    job_kill_next(L, j, now);
}

void retries_drop(struct loop *L)
{
    while (L->retry_head) {
        struct job *j = L->retry_head;
        L->retry_head = j->next;
        j->discard = true;
        to_window(L, j);
    }
    L->retry_tail = NULL;
}

void run_stop(struct loop *L, enum kill_reason why)
{
    if (!L->stopping) {
        L->stopping = true;
        reader_stop(&L->r->rd);
    }
    if (why != KILL_NONE) {
        if (L->stop_why == KILL_NONE || why == KILL_INTERRUPT)
            L->stop_why = why;
        int64_t now = mono_ns();
        for (unsigned s = 0; s < L->o->slots; s++)
            if (L->slot[s] && L->slot[s]->pid > 0)
                job_kill(L, L->slot[s], why, now);
    }
    retries_drop(L);
}

int exit_status(struct loop *L)
{
    const struct opts *o = L->o;
    if (L->stop_why == KILL_INTERRUPT || atomic_load(&L->r->rd.failed))
        return CLI_EXIT_ERROR;
    if (L->halted) {
        if (o->halt_why == HALT_SUCCESS)
            return 0;
        if (o->halt_why == HALT_FAIL && o->halt_pct > 0) {
            uint64_t total = atomic_load(&L->r->rd.total);
            return total && total != UINT64_MAX ? (int)(L->failed * 100 / total) : 101;
        }
        if (o->halt_why == HALT_FAIL && o->halt_count == 1)
            return L->halt_status;
    }
    return L->failed > 101 ? 101 : (int)L->failed;
}
