/*
 * main.c - crew, the command: parcel out shell jobs among workers, with GNU
 * parallel's interface (crew.1 documents it; cli/README.md the design).
 *
 * main sets up one run: options, the command template, the joblog, the
 * signal mask, then two crew tasks (the input reader and the output
 * writer, each on a one-worker pool) around the event loop, which runs in this thread; at the
 * end it drains the writer, joins both tasks and exits with parallel's
 * status (or dies of SIGPIPE if its stdout was closed, as a filter should).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <crew.h>

#include "joblog.h"
#include "loop.h"
#include "opts.h"
#include "run.h"
#include "spawn.h"
#include "util.h"
#include "writer.h"

static struct run *the_run; /* for the warning hook */

static void warn_to_writer(const char *line, size_t len)
{
    writer_text(the_run, 2, line, len);
}

/* Jobs and crew must never share a closed 0/1/2 with a pipe or a file. */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (n >= 0 && n != fd) {
                dup2(n, fd);
                close(n);
            }
        }
    }
}

static int setup_command(struct run *r, const struct opts *o)
{
    char err[256];
    if (template_parse(&r->tpl, o->cmd, o->ncmd, o->quote, o->force_shell, o->max_args_set,
                       o->repl, err, sizeof err) != 0) {
        cli_warn("%s", err);
        return CLI_EXIT_ERROR;
    }
    if (o->tagstring &&
        template_parse_text(&r->tagtpl, o->tagstring, o->repl, err, sizeof err) != 0) {
        cli_warn("--tagstring: %s", err);
        return CLI_EXIT_ERROR;
    }
    if (!r->tpl.shell) {
        /* Direct mode: the first word is a plain program name; look it up
         * once instead of once per job. */
        const struct seg *s = &r->tpl.words[0].segs[0];
        char *name = xstrndup(s->text, s->len);
        r->prog = resolve_program(name, &r->prog_err);
        free(name);
    }
    return 0;
}

/* The reader and the writer each run as the one task of a pool of one
 * worker.  Not one pool of two: a crew worker that blocks (the writer in
 * crew_queue_get) runs other queued tasks of its pool meanwhile, and could
 * run the reader nested on its own stack; the reader then blocks on a full
 * input queue that only the loop drains, the loop waits for the writer to
 * free records, and the writer cannot return to its get until the reader
 * ends.  A worker only ever runs tasks of its own pool, so one long task
 * per pool can never be nested under another.
 *
 * Both start only when needed: inputs that are all on the command line and
 * fit in the input queue are queued here, before the loop, without a
 * thread; the writer starts with the first output (writer_start), or at
 * once for --bar/--eta on a terminal. */
static int start_tasks(struct run *r)
{
    int rc = crew_queue_create(&r->outq, NULL);
    the_run = r;
    cli_warn_hook = warn_to_writer;
    if (rc == 0 && (r->o->bar || r->o->eta) && r->stderr_tty)
        rc = writer_start(r);
    uint64_t total = atomic_load(&r->rd.total);
    bool inline_read = total != UINT64_MAX && total <= crew_queue_maxsize(r->rd.q);
    for (size_t i = 0; i < r->rd.nsrc; i++)
        inline_read = inline_read && r->rd.src[i].spec->kind == SRC_ARGS;
    if (rc == 0 && inline_read) {
        reader_task(&r->rd, NULL); /* fits: never blocks */
    } else if (rc == 0) {
        crew_pool_options po;
        crew_pool_options_init(&po);
        po.workers = 1;
        po.name = "crew-in";
        po.idle_timeout_ns = -1;
        rc = crew_pool_create(&r->reader_pool, &po);
        if (rc == 0)
            rc = crew_pool_submit(r->reader_pool, reader_task, &r->rd, &r->reader_f);
    }
    if (rc != 0) {
        cli_warn("cannot start the reader and writer threads: %s", crew_strerror(rc));
        return CLI_EXIT_ERROR;
    }
    return 0;
}

static void finish_tasks(struct run *r)
{
    if (r->outq)
        crew_queue_shutdown(r->outq, false);
    pthread_mutex_lock(&r->writer_lock);
    r->writer_closed = true; /* no lazy start from here on */
    pthread_mutex_unlock(&r->writer_lock);
    if (r->writer_f)
        crew_future_wait(r->writer_f);
    if (r->reader_f) {
        reader_stop(&r->rd); /* a no-op if it has already finished */
        crew_future_wait(r->reader_f);
    }
    crew_future_release(r->writer_f);
    crew_future_release(r->reader_f);
    if (r->writer_pool)
        crew_pool_destroy(r->writer_pool);
    if (r->reader_pool)
        crew_pool_destroy(r->reader_pool);
    cli_warn_hook = NULL;
    if (r->outq)
        crew_queue_destroy(r->outq);
}

int main(int argc, char **argv)
{
    ensure_std_fds();
    struct opts o;
    int status = opts_parse(&o, argc, argv);
    if (status != 0) {
        opts_free(&o);
        return status < 0 ? 0 : status;
    }
    struct run r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    r.t0 = mono_ns();
    r.joblog_fd = -1;
    r.stdout_tty = isatty(1);
    r.stderr_tty = isatty(2);
    atomic_init(&r.live, 0);
    atomic_init(&r.out_broken, false);
    atomic_init(&r.running, 0);
    atomic_init(&r.done, 0);
    atomic_init(&r.failed, 0);
    atomic_init(&r.writer_on, false);
    pthread_mutex_init(&r.writer_lock, NULL);
    atomic_init(&r.mem.used, 0);
    r.mem.total = o.memtotal;
    r.mem.per_job = o.membuf;
    r.mem.tmpdir = o.tmpdir;
    r.wk.fd = -1;
    cli_fatal_hook = loop_kill_all;

    sigset_t child_mask;
    bool use_pidfd;
    status = setup_command(&r, &o);
    if (status == 0)
        status = joblog_open(&o, &r.skip, &r.joblog_fd);
    if (status == 0 && loop_block_signals(&child_mask, &use_pidfd) != 0)
        status = CLI_EXIT_ERROR;
    if (status == 0 && waker_init(&r.wk) != 0) {
        cli_warn("eventfd: %s", strerror(errno));
        status = CLI_EXIT_ERROR;
    }
    if (status == 0)
        status = reader_open(&r.rd, &o, &r.skip, &r.wk);
    if (status == 0)
        status = start_tasks(&r);
    if (status == 0)
        status = loop_run(&r, &child_mask, use_pidfd);
    finish_tasks(&r);

    struct writer_stats ws;
    writer_get_stats(&ws);
    if (ws.stdout_err == EPIPE) {
        status = -SIGPIPE;
    } else if (ws.stdout_err) {
        cli_warn("cannot write standard output: %s", strerror(ws.stdout_err));
        status = CLI_EXIT_ERROR;
    }
    if (r.joblog_fd >= 0 && close(r.joblog_fd) != 0 && status >= 0) {
        cli_warn("cannot write joblog %s: %s", o.joblog, strerror(errno));
        status = CLI_EXIT_ERROR;
    }
    reader_close(&r.rd);
    waker_close(&r.wk);
    seqset_free(&r.skip);
    template_free(&r.tpl);
    template_free(&r.tagtpl);
    free(r.prog);
    pthread_mutex_destroy(&r.writer_lock);
    opts_free(&o);
    if (status == -SIGPIPE) {
        /* End the way a filter does when its reader goes away. */
        fflush(stdout);
        signal(SIGPIPE, SIG_DFL);
        sigset_t pipe_set;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);
        raise(SIGPIPE);
        return 128 + SIGPIPE;
    }
    return status;
}
