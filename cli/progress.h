/*
 * progress.h - the --bar / --eta status line and the final summary.
 *
 * Drawn by the writer thread on stderr, only when stderr is a terminal (a
 * pipe or a file never receives any of it), redrawn in place ("\r" + erase
 * line) at most five times a second, and erased before any job output is
 * printed so output and bar never mix on one line.
 */
#ifndef CREW_CLI_PROGRESS_H
#define CREW_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define PROGRESS_INTERVAL_NS 200000000 /* at most five redraws a second */

struct progress_state {
    uint64_t done, failed, running;
    uint64_t total;   /* UINT64_MAX while the input is still being read */
    int64_t elapsed_ns;
};

/* Appends the status line (no newline) for a terminal `width` columns wide. */
void progress_line(struct strbuf *b, const struct progress_state *s, bool bar, bool eta,
                   unsigned width);

/* Appends the final summary line (with its newline). */
void progress_summary(struct strbuf *b, const struct progress_state *s);

/* The terminal's width (stderr), 80 if unknown. */
unsigned progress_width(void);

#endif /* CREW_CLI_PROGRESS_H */
