/*
 * job.c - the job record's helpers shared by the loop and the writer.
 */
#include "run.h"

#include <stdlib.h>
#include <unistd.h>

void job_free(struct job *j, struct membudget *m)
{
    for (int i = 0; i < 2; i++) {
        outbuf_free(&j->out[i], m);
        sb_free(&j->part[i]);
        if (j->fd[i] >= 0)
            close(j->fd[i]);
    }
    if (j->pidfd >= 0)
        close(j->pidfd);
    args_free(j->args);
    free(j);
}

void job_describe(const struct job *j, struct strbuf *b)
{
    sb_addf(b, "job %llu", (unsigned long long)j->args->seq);
    if (j->args->n == 0)
        return;
    sb_adds(b, j->args->n == 1 ? " (input " : " (inputs ");
    for (unsigned i = 0; i < j->args->n && i < 4; i++) {
        if (i)
            sb_adds(b, ", ");
        sb_add_display(b, j->args->v[i], 60);
    }
    if (j->args->n > 4)
        sb_adds(b, ", ...");
    sb_addc(b, ')');
}

void job_command_line(const struct run *r, const struct job *j, struct strbuf *b)
{
    struct jobvals jv = {j->args->v, j->args->n, j->args->seq, j->slot};
    template_line(&r->tpl, &jv, b);
}

void job_tag(const struct run *r, const struct job *j, struct strbuf *b)
{
    const struct opts *o = r->o;
    if (!o->tagstring && !o->tag)
        return;
    struct jobvals jv = {j->args->v, j->args->n, j->args->seq, j->slot};
    if (o->tagstring) {
        template_text(&r->tagtpl, &jv, b);
    } else {
        for (unsigned i = 0; i < j->args->n; i++) {
            if (i)
                sb_addc(b, ' ');
            sb_adds(b, j->args->v[i]);
        }
    }
    sb_addc(b, '\t');
}
