/*
 * progress.c - rendering the --bar / --eta line (see progress.h).
 */
#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

unsigned progress_width(void)
{
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

static void add_duration(struct strbuf *b, double s)
{
    if (s < 0)
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        sb_addf(b, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        sb_addf(b, "%ld:%02ld", t / 60, t % 60);
}

void progress_line(struct strbuf *b, const struct progress_state *s, bool bar, bool eta,
                   unsigned width)
{
    bool known = s->total != UINT64_MAX;
    struct strbuf tail = {0};
    if (known)
        sb_addf(&tail, " %3u%% %llu/%llu", s->total ? (unsigned)(s->done * 100 / s->total) : 100,
                (unsigned long long)s->done, (unsigned long long)s->total);
    else
        sb_addf(&tail, " %llu/?", (unsigned long long)s->done);
    sb_addf(&tail, " running %llu", (unsigned long long)s->running);
    if (s->failed)
        sb_addf(&tail, " failed %llu", (unsigned long long)s->failed);
    if (eta || bar) {
        sb_adds(&tail, " ETA ");
        if (known && s->done > 0) {
            double per = (double)s->elapsed_ns / 1e9 / (double)s->done;
            add_duration(&tail, per * (double)(s->total - s->done));
        } else {
            sb_adds(&tail, "?");
        }
    }
    if (eta && s->done > 0)
        sb_addf(&tail, " avg %.3fs", (double)s->elapsed_ns / 1e9 / (double)s->done);
    if (bar) {
        long room = (long)width - 3 - (long)tail.len - 1;
        if (room >= 10) {
            unsigned cells = (unsigned)room;
            unsigned filled = known && s->total ? (unsigned)(s->done * cells / s->total) : 0;
            sb_addc(b, '[');
            for (unsigned i = 0; i < cells; i++)
                sb_addc(b, i < filled ? '#' : (known ? '.' : ' '));
            sb_addc(b, ']');
        }
    }
    sb_add(b, tail.s, tail.len);
    sb_free(&tail);
}

void progress_summary(struct strbuf *b, const struct progress_state *s)
{
    sb_addf(b, "crew: %llu job%s in ", (unsigned long long)s->done, s->done == 1 ? "" : "s");
    double secs = (double)s->elapsed_ns / 1e9;
    if (secs < 60)
        sb_addf(b, "%.2f s", secs);
    else
        add_duration(b, secs);
    sb_addf(b, ", %llu failed\n", (unsigned long long)s->failed);
}
