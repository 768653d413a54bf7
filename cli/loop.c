/*
 * loop.c - the event loop: starting jobs, events, deadlines and signals
 * (see loop.h; what happens when a job ends is in finish.c).
 *
 * epoll data: (slot << 2) | kind, kind 0 = the job's pidfd, 1 = its stdout
 * pipe, 2 = its stderr pipe, 3 = a control descriptor (slot 0 = signalfd,
 * 1 = waker).  Events of one epoll_wait batch never meet a new job in the
 * same slot: jobs start only between batches.
 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop_int.h"
#include "writer.h"

#define RBUF 65536
#define CTL_SIG 0
#define CTL_WAKE 1

/* The running loop, for loop_kill_all (cli_fatal from any thread). */
static struct loop *_Atomic current;

void loop_kill_all(void)
{
    struct loop *L = atomic_load(&current);
    if (!L)
        return;
    for (unsigned s = 0; s < L->o->slots; s++) {
        struct job *j = L->slot[s];
        if (j && j->pid > 0)
            kill(-j->pid, SIGKILL);
    }
}

static void ep_add(struct loop *L, int fd, uint64_t data)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = data};
    if (epoll_ctl(L->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        cli_fatal("epoll_ctl: %s", strerror(errno));
}

/* ---- starting jobs ------------------------------------------------------ */

static struct job *new_job(struct loop *L, struct args *a)
{
    struct job *j = xcalloc(1, sizeof *j);
    j->kind = ITEM_JOB;
    j->args = a;
    j->ord = L->next_ord++;
    j->pidfd = j->fd[0] = j->fd[1] = -1;
    j->kill_step = -1;
    outbuf_init(&j->out[0]);
    outbuf_init(&j->out[1]);
    atomic_fetch_add_explicit(&L->r->live, 1, memory_order_relaxed);
    return j;
}

/* The next job to start: a retry, else a record from the reader.  NULL
 * if none is ready (the waker is then armed for the reader's next put). */
static struct job *take_job(struct loop *L)
{
    if (L->retry_head) {
        struct job *j = L->retry_head;
        L->retry_head = j->next;
        if (!L->retry_head)
            L->retry_tail = NULL;
        return j;
    }
    if (L->input_done)
        return NULL;
    void *item;
    int rc = crew_queue_try_get(L->r->rd.q, &item);
    if (rc == CREW_EEMPTY) {
        waker_arm(&L->r->wk);
        rc = crew_queue_try_get(L->r->rd.q, &item);
        if (rc != CREW_EEMPTY)
            waker_disarm(&L->r->wk);
    }
    if (rc == CREW_ESHUTDOWN)
        L->input_done = true;
    if (rc != 0)
        return NULL;
    reader_took(&L->r->rd);
    return new_job(L, item);
}

/* A job whose program could not be started: it "ran" and failed like a
 * shell's 127 (not found) or 126 (not executable), with the reason in its
 * stderr. */
static void not_started(struct loop *L, struct job *j, const char *prog, int err)
{
    struct strbuf m = {0};
    sb_adds(&m, "crew: ");
    job_describe(j, &m);
    sb_addf(&m, ": %s: %s\n", prog,
            err == ENOENT ? "command not found" : strerror(err));
    j->spawn_err = err;
    j->exitval = err == ENOENT ? 127 : 126;
    job_output(L, j, 1, m.s, m.len);
    sb_free(&m);
    j->exited = true;
    job_finished(L, j);
}

static void start_job(struct loop *L, struct job *j, int64_t now)
{
    struct run *r = L->r;
    const struct opts *o = L->o;
    unsigned s = 0;
    while (L->slot[s])
        s++;
    L->slot[s] = j;
    j->slot = s + 1;
    j->attempts++;
    L->nrunning++;
    atomic_fetch_add_explicit(&r->running, 1, memory_order_relaxed);
    j->start_mono = now;
    j->start_wall = wall_ns();
    int64_t t = timeout_for(L);
    j->deadline = t ? now + t : 0;
    L->next_start = now + (int64_t)(o->delay * 1e9);

    struct jobvals jv = {j->args->v, j->args->n, j->args->seq, j->slot};
    const char *path;
    if (r->tpl.shell) {
        sb_reset(&L->line);
        template_line(&r->tpl, &jv, &L->line);
        L->argv.n = 0;
        sv_push(&L->argv, "sh");
        sv_push(&L->argv, "-c");
        sv_push(&L->argv, L->line.s);
        path = "/bin/sh";
    } else {
        template_argv(&r->tpl, &jv, &L->arena, &L->argv);
        path = r->prog;
    }
    if (o->verbose_err) {
        struct strbuf c = {0};
        job_command_line(r, j, &c);
        sb_addc(&c, '\n');
        writer_text(r, 2, c.s, c.len);
        sb_free(&c);
    }
    if (!path) {
        not_started(L, j, L->argv.v[0], r->prog_err);
        return;
    }
    int p[2][2] = {{-1, -1}, {-1, -1}};
    if (o->out != OUT_UNGROUP) {
        for (int k = 0; k < 2; k++) {
            if (pipe2(p[k], O_CLOEXEC) != 0)
                cli_fatal("cannot create a pipe: %s", strerror(errno));
            fcntl(p[k][0], F_SETFL, O_NONBLOCK);
        }
    }
    pid_t pid;
    int rc = spawner_run(&L->sp, path, L->argv.v, p[0][1], p[1][1], j->args->seq, j->slot,
                         &pid);
    for (int k = 0; k < 2; k++)
        if (p[k][1] >= 0)
            close(p[k][1]);
    if (rc != 0) {
        for (int k = 0; k < 2; k++)
            if (p[k][0] >= 0)
                close(p[k][0]);
        not_started(L, j, L->argv.v[0], rc);
        return;
    }
    j->pid = pid;
    for (int k = 0; k < 2; k++) {
        j->fd[k] = p[k][0];
        if (j->fd[k] >= 0)
            ep_add(L, j->fd[k], ((uint64_t)s << 2) | (uint64_t)(k + 1));
    }
    if (L->use_pidfd) {
        j->pidfd = pidfd_open_fd(pid);
        if (j->pidfd < 0)
            cli_fatal("pidfd_open: %s", strerror(errno));
        ep_add(L, j->pidfd, (uint64_t)s << 2);
    }
}

/* --load: is the 1-minute load average below the limit?  Looked at once
 * a second at most. */
static bool load_ok(struct loop *L, int64_t now)
{
    if (L->o->load_max <= 0)
        return true;
    if (now >= L->load_at) {
        double avg;
        L->load_high = getloadavg(&avg, 1) == 1 && avg >= L->o->load_max;
        L->load_at = now + 1000000000;
    }
    return !L->load_high;
}

void loop_throttle(struct loop *L)
{
    struct run *r = L->r;
    while (atomic_load_explicit(&r->live, memory_order_acquire) >= L->livecap + L->o->slots) {
        waker_arm(&r->wk);
        if (atomic_load_explicit(&r->live, memory_order_acquire) < L->livecap + L->o->slots) {
            waker_disarm(&r->wk);
            return;
        }
        struct pollfd p[2] = {{r->wk.fd, POLLIN, 0}, {L->sigfd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return;
        if (p[1].revents)
            return; /* a signal: let the loop see it */
        waker_clear(&r->wk);
    }
}

static void dry_run(struct loop *L, struct job *j)
{
    struct jobvals jv = {j->args->v, j->args->n, j->args->seq, 1};
    sb_reset(&L->line);
    template_line(&L->r->tpl, &jv, &L->line);
    sb_addc(&L->line, '\n');
    writer_text(L->r, 1, L->line.s, L->line.len);
    job_free(j, &L->r->mem);
    atomic_fetch_sub(&L->r->live, 1);
    loop_throttle(L);
}

static void start_jobs(struct loop *L)
{
    while (!L->stopping && L->nrunning < L->o->slots) {
        if (atomic_load_explicit(&L->r->live, memory_order_acquire) >= L->livecap) {
            waker_arm(&L->r->wk);
            if (atomic_load_explicit(&L->r->live, memory_order_acquire) >= L->livecap)
                return; /* the writer kicks when it frees one */
            waker_disarm(&L->r->wk);
        }
        int64_t now = mono_ns();
        if (now < L->next_start || !load_ok(L, now))
            return;
        struct job *j = take_job(L);
        if (!j)
            return;
        if (L->o->dry_run)
            dry_run(L, j);
        else
            start_job(L, j, now);
    }
}

/* ---- events ------------------------------------------------------------ */

static void close_pipe(struct job *j, int k)
{
    close(j->fd[k]); /* also leaves the epoll set */
    j->fd[k] = -1;
}

/* Reads a job's pipe once, or (drain, after the exit) until it is empty,
 * at most DRAIN_READS times: what the process wrote before it exited fits a
 * pipe buffer (1 MiB at most, the kernel's pipe-max-size default), and a
 * process it left behind that keeps writing must not keep the loop here. */
#define DRAIN_READS (((1 << 20) / RBUF) + 1)

static void read_pipe(struct loop *L, struct job *j, int k, bool drain)
{
    int reads = 0;
    while (j->fd[k] >= 0) {
        ssize_t n = read(j->fd[k], L->rbuf, RBUF);
        if (n > 0) {
            job_output(L, j, k, L->rbuf, (size_t)n);
            if (!drain)
                return;
            if (++reads == DRAIN_READS)
                close_pipe(j, k);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN && !drain) {
            return;
        } else {
            /* EOF, or after the exit: what is left was written by a
             * process the job left behind; the job is over. */
            close_pipe(j, k);
        }
    }
}

/* The job's process exited with wait status st. */
static void reaped(struct loop *L, struct job *j, int st)
{
    j->exited = true;
    if (WIFSIGNALED(st))
        j->sig = WTERMSIG(st);
    else
        j->exitval = WEXITSTATUS(st);
    if (j->pidfd >= 0) {
        close(j->pidfd);
        j->pidfd = -1;
    }
    read_pipe(L, j, 0, true);
    read_pipe(L, j, 1, true);
    job_finished(L, j);
}

/* Both pipes at EOF: the job's process is most likely exiting (a process
 * closes its files a few microseconds before it becomes a zombie).  Reap it
 * now if it has, after at most a few yields, which saves the loop the second
 * wake-up its pidfd would cost; if not, the pidfd (or SIGCHLD) still
 * reports the exit, so a job that closed its output and runs on is fine. */
static void try_reap(struct loop *L, struct job *j)
{
    int st;
    pid_t p;
    for (int i = 0; i < 3; i++) {
        while ((p = waitpid(j->pid, &st, WNOHANG)) < 0 && errno == EINTR)
            ;
        if (p != 0)
            break;
        sched_yield();
    }
    if (p == j->pid)
        reaped(L, j, st);
}

static void on_pidfd(struct loop *L, struct job *j)
{
    int st;
    pid_t p;
    while ((p = waitpid(j->pid, &st, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (p == j->pid)
        reaped(L, j, st);
}

/* SIGCHLD fallback: reap every exited child. */
static void on_sigchld(struct loop *L)
{
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0 || (p < 0 && errno == EINTR)) {
        if (p < 0)
            continue;
        for (unsigned s = 0; s < L->o->slots; s++) {
            if (L->slot[s] && L->slot[s]->pid == p) {
                reaped(L, L->slot[s], st);
                break;
            }
        }
    }
}

static void on_signal(struct loop *L)
{
    struct signalfd_siginfo si;
    while (read(L->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
            on_sigchld(L);
            continue;
        }
        if (++L->signals == 1) {
            run_stop(L, KILL_INTERRUPT);
        } else {
            /* A second signal: kill at once. */
            for (unsigned s = 0; s < L->o->slots; s++)
                if (L->slot[s] && L->slot[s]->pid > 0)
                    kill(-L->slot[s]->pid, SIGKILL);
        }
    }
}

/* Deadlines: --timeout and --term-seq steps. */
static void on_timers(struct loop *L)
{
    if (L->o->timeout <= 0 && L->o->timeout_pct <= 0 && L->nkilling == 0)
        return;
    int64_t now = mono_ns();
    for (unsigned s = 0; s < L->o->slots; s++) {
        struct job *j = L->slot[s];
        if (!j || j->exited || j->pid <= 0)
            continue;
        if (j->deadline && now >= j->deadline && j->kill_step < 0) {
            struct strbuf d = {0}, c = {0};
            job_describe(j, &d);
            job_command_line(L->r, j, &c);
            cli_warn("%s timed out after %.3f s and is killed: %s", d.s,
                     (double)(now - j->start_mono) / 1e9, c.s);
            sb_free(&d);
            sb_free(&c);
            j->deadline = 0;
            job_kill(L, j, KILL_TIMEOUT, now);
        } else if (j->kill_step >= 0 && j->kill_at && now >= j->kill_at) {
            job_kill_next(L, j, now);
        }
    }
}

/* Milliseconds until the next deadline, -1 if none. */
static int next_wait(struct loop *L)
{
    int64_t next = INT64_MAX, now = mono_ns();
    if (!L->stopping && L->nrunning < L->o->slots) {
        if (L->next_start > now)
            next = L->next_start;
        if (L->load_high && L->load_at < next)
            next = L->load_at;
    }
    if (L->o->timeout > 0 || L->o->timeout_pct > 0 || L->nkilling) {
        for (unsigned s = 0; s < L->o->slots; s++) {
            struct job *j = L->slot[s];
            if (!j || j->pid <= 0)
                continue;
            if (j->deadline && j->kill_step < 0 && j->deadline < next)
                next = j->deadline;
            if (j->kill_step >= 0 && j->kill_at && j->kill_at < next)
                next = j->kill_at;
        }
    }
    if (next == INT64_MAX)
        return -1;
    if (next <= now)
        return 0;
    int64_t ms = (next - now + 999999) / 1000000;
    return ms > 1000000 ? 1000000 : (int)ms;
}

int loop_run(struct run *r, const sigset_t *child_mask, bool use_pidfd)
{
    struct loop L0 = {0}, *L = &L0;
    L->r = r;
    L->o = r->o;
    L->use_pidfd = use_pidfd;
    L->livecap = r->o->slots + KEEP_WINDOW;
    L->slot = xcalloc(r->o->slots, sizeof *L->slot);
    L->win = r->o->keep_order ? xcalloc(L->livecap, sizeof *L->win) : NULL;
    L->rbuf = xmalloc(RBUF);
    L->ep = epoll_create1(EPOLL_CLOEXEC);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (!use_pidfd)
        sigaddset(&set, SIGCHLD);
    L->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int rc = L->ep < 0 || L->sigfd < 0 ? errno : spawner_init(&L->sp, child_mask);
    if (rc)
        cli_fatal("cannot set up the event loop: %s", strerror(rc));
    ep_add(L, L->sigfd, (CTL_SIG << 2) | 3);
    ep_add(L, r->wk.fd, (CTL_WAKE << 2) | 3);

    atomic_store(&current, L);
    struct epoll_event ev[64];
    for (;;) {
        start_jobs(L);
        if (L->nrunning == 0 && (L->stopping || (L->input_done && !L->retry_head)))
            break;
        int n = epoll_wait(L->ep, ev, 64, next_wait(L));
        if (n < 0 && errno != EINTR)
            cli_fatal("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            unsigned kind = (unsigned)(ev[i].data.u64 & 3), s = (unsigned)(ev[i].data.u64 >> 2);
            if (kind == 3) {
                if (s == CTL_SIG)
                    on_signal(L);
                else
                    waker_clear(&r->wk);
                continue;
            }
            struct job *j = L->slot[s];
            if (!j || j->exited)
                continue; /* finished earlier in this batch */
            if (kind == 0)
                on_pidfd(L, j);
            else if (j->fd[kind - 1] >= 0) {
                read_pipe(L, j, (int)kind - 1, false);
                if (j->fd[kind - 1] < 0 && j->fd[2 - kind] >= 0)
                    read_pipe(L, j, 2 - (int)kind, false); /* EOF on both at once? */
                if (j->fd[0] < 0 && j->fd[1] < 0)
                    try_reap(L, j);
            }
        }
        on_timers(L);
        if (!L->stopping && atomic_load(&r->out_broken))
            run_stop(L, KILL_PIPE);
        if (!L->stopping && atomic_load(&r->rd.failed) && L->input_done)
            L->stopping = true;
    }
    atomic_store(&current, NULL);
    retries_drop(L);
    int status = exit_status(L);
    if (L->stop_why == KILL_PIPE)
        status = -SIGPIPE;
    spawner_free(&L->sp);
    close(L->ep);
    close(L->sigfd);
    free(L->slot);
    free(L->win);
    free(L->rbuf);
    free(L->runtimes);
    sb_free(&L->arena);
    sb_free(&L->line);
    sv_free(&L->argv);
    return status;
}
