/*
 * joblog.c - the joblog (write, and read back for --resume) and the
 * --results tree (see joblog.h).
 */
#include "joblog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char header[] =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

static void seqset_del(struct seqset *s, uint64_t seq)
{
    if (seq < s->cap)
        s->bits[seq / 8] &= (uint8_t)~(1u << (seq % 8));
}

/* Reads an existing joblog into skip. */
static int read_log(const char *path, enum resume_mode mode, struct seqset *skip)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : errno;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char *field[9] = {0}, *save = NULL, *p = line;
        int n = 0;
        for (char *tok = strtok_r(p, "\t", &save); tok && n < 9;
             tok = strtok_r(NULL, "\t", &save))
            field[n++] = tok;
        uint64_t seq;
        if (n < 8 || parse_uint(field[0], &seq) != 0 || seq == 0 || seq > (1ull << 40))
            continue; /* the header, or a command's continuation line */
        if (mode == RESUME_ALL) {
            seqset_add(skip, seq);
        } else {
            bool ok = strcmp(field[6], "0") == 0 && strcmp(field[7], "0") == 0;
            if (ok)
                seqset_add(skip, seq);
            else
                seqset_del(skip, seq);
        }
    }
    free(line);
    int err = ferror(f) ? EIO : 0;
    fclose(f);
    return err;
}

int joblog_open(const struct opts *o, struct seqset *skip, int *fd)
{
    *fd = -1;
    if (!o->joblog)
        return 0;
    if (o->resume != RESUME_NONE) {
        int err = read_log(o->joblog, o->resume, skip);
        if (err) {
            cli_warn("cannot read joblog %s: %s", o->joblog, strerror(err));
            return CLI_EXIT_ERROR;
        }
    }
    bool append = o->resume != RESUME_NONE || o->joblog_append;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    *fd = open(o->joblog, flags, 0644);
    if (*fd < 0) {
        cli_warn("cannot open joblog %s: %s", o->joblog, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    struct stat st;
    if (fstat(*fd, &st) == 0 && st.st_size == 0) {
        int err = write_all(*fd, header, sizeof header - 1);
        if (err) {
            cli_warn("cannot write joblog %s: %s", o->joblog, strerror(err));
            return CLI_EXIT_ERROR;
        }
    }
    return 0;
}

void joblog_format(const struct run *r, const struct job *j, struct strbuf *b)
{
    int exitval = j->killed == KILL_TIMEOUT ? -1 : j->exitval;
    sb_addf(b, "%llu\t:\t%lld.%03lld\t%10.3f\t0\t%llu\t%d\t%d\t",
            (unsigned long long)j->args->seq, (long long)(j->start_wall / 1000000000),
            (long long)(j->start_wall % 1000000000 / 1000000), (double)j->runtime_ns / 1e9,
            (unsigned long long)j->received, exitval, j->sig);
    job_command_line(r, j, b);
    sb_addc(b, '\n');
}

/* ---- --results ------------------------------------------------------------ */

static void add_component(struct strbuf *b, const char *v)
{
    if (!*v) {
        sb_adds(b, "\\e");
        return;
    }
    if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
        sb_adds(b, v[1] ? "\\.\\." : "\\.");
        return;
    }
    for (; *v; v++) {
        if (*v == '\\')
            sb_adds(b, "\\\\");
        else if (*v == '/')
            sb_adds(b, "\\_");
        else
            sb_addc(b, *v);
    }
}

/* mkdir -p of every directory in path up to its last component. */
static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        int err = errno;
        *p = '/';
        if (rc != 0 && err != EEXIST)
            return err;
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return errno;
    return 0;
}

static int write_fd(void *ctx, const char *p, size_t n)
{
    return write_all(*(int *)ctx, p, n);
}

static int write_file(const char *dir, const char *name, const struct outbuf *ob,
                      const char *text)
{
    char path[8192];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return errno;
    int rc = ob ? outbuf_each(ob, write_fd, &fd) : write_all(fd, text, strlen(text));
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    return rc;
}

int results_write(const struct run *r, const struct job *j)
{
    struct strbuf dir = {0};
    sb_adds(&dir, r->o->results);
    for (unsigned i = 0; i < j->args->n; i++) {
        sb_addf(&dir, "/%u/", (unsigned)j->args->src[i]);
        add_component(&dir, j->args->v[i]);
    }
    if (j->args->n == 0)
        sb_adds(&dir, "/");
    int rc = make_dirs(dir.s);
    char num[64];
    if (rc == 0)
        rc = write_file(dir.s, "stdout", &j->out[0], NULL);
    if (rc == 0)
        rc = write_file(dir.s, "stderr", &j->out[1], NULL);
    if (rc == 0) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)j->args->seq);
        rc = write_file(dir.s, "seq", NULL, num);
    }
    if (rc == 0) {
        int ev = j->killed == KILL_TIMEOUT ? -1 : j->sig ? 128 + j->sig : j->exitval;
        snprintf(num, sizeof num, "%d\n", ev);
        rc = write_file(dir.s, "exitval", NULL, num);
    }
    if (rc != 0) {
        struct strbuf d = {0};
        job_describe(j, &d);
        cli_warn("%s: cannot write its --results under %s: %s", d.s, dir.s, strerror(rc));
        sb_free(&d);
    }
    sb_free(&dir);
    return rc;
}
