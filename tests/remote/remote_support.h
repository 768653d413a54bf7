/* remote_support.h - what crew-remote's tests share: a worker served in a
 * thread of the test (tasks that count their runs in the test's memory),
 * test tasks, and result helpers.  Include after check.h and support.h.
 */
#ifndef CREW_TESTS_REMOTE_SUPPORT_H
#define CREW_TESTS_REMOTE_SUPPORT_H

#include <crew/remote.h>
#include <pthread.h>
#include <stdatomic.h>

#include "redis_harness.h"

/* Sanitizer builds run smaller counts (CMake defines it). */
#ifdef CREW_SANITIZER_BUILD
#define RT_SANITIZED 1
#else
#define RT_SANITIZED 0
#endif

/* ---- a worker in a thread ------------------------------------------------------ */

typedef struct inproc {
    crew_remote_worker *w;
    pthread_t thread;
    int rc; /* serve's return */
} inproc;

static inline void *inproc_main_(void *arg)
{
    inproc *p = arg;
    p->rc = crew_remote_worker_serve(p->w);
    return NULL;
}

/* Creates a worker for url/o with the registration function reg, and
 * serves it in a new thread.  0 or a code. */
static inline int inproc_start(inproc *p, const char *url, const crew_remote_options *o,
                               void (*reg)(crew_remote_worker *w, void *ctx), void *ctx)
{
    memset(p, 0, sizeof *p);
    int rc = crew_remote_worker_create(&p->w, url, o);
    if (rc)
        return rc;
    reg(p->w, ctx);
    if (pthread_create(&p->thread, NULL, inproc_main_, p)) {
        crew_remote_worker_destroy(p->w);
        p->w = NULL;
        return CREW_ETHREAD;
    }
    return 0;
}

/* Stops, joins and destroys; serve's return code. */
static inline int inproc_stop(inproc *p)
{
    if (!p->w)
        return 0;
    crew_remote_worker_stop(p->w);
    pthread_join(p->thread, NULL);
    crew_remote_worker_destroy(p->w);
    p->w = NULL;
    return p->rc;
}

/* ---- test tasks ------------------------------------------------------------------ */

static inline int rt_echo(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)ctx;
    return crew_remote_out_write(out, in, n) ? 99 : 0;
}

/* Counts its runs in the atomic_int ctx; no result. */
static inline int rt_count(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)in, (void)n, (void)out;
    atomic_fetch_add((atomic_int *)ctx, 1);
    return 0;
}

/* Payload "status:message": fails with them. */
static inline int rt_fail(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)ctx;
    const char *s = in, *colon = memchr(s, ':', n);
    int st = atoi(s);
    if (colon)
        crew_remote_out_write(out, colon + 1, n - (size_t)(colon - s) - 1);
    return st;
}

/* ---- results ------------------------------------------------------------------------ */

/* The bytes of a remote result as a string ("" for NULL). */
static inline const char *rt_text(void *result)
{
    return result ? (const char *)((crew_remote_bytes *)result)->data : "";
}

static inline size_t rt_size(void *result)
{
    return result ? ((crew_remote_bytes *)result)->size : 0;
}

/* Waits (10 s at most) for f; its code, with *status and the result's text
 * copied into text (if not NULL). */
static inline int rt_result(crew_future *f, int *status, char *text, size_t cap)
{
    void *r = NULL;
    int st = 0;
    int rc = crew_future_result_timed(f, &r, &st, 20 * 1000000000LL);
    if (status)
        *status = st;
    if (text)
        snprintf(text, cap, "%s", rc == 0 || rc == CREW_ETASK ? rt_text(r) : "");
    return rc;
}

/* Did every one of n counters reach exactly 1?  (Per-future done
 * callback counts: a future is DONE before its callbacks have run, so
 * poll this before checking it.) */
static inline bool rt_all_once(atomic_int *done, long n)
{
    for (long i = 0; i < n; i++)
        if (atomic_load(&done[i]) != 1)
            return false;
    return true;
}

static inline void rt_log(int level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level <= CREW_REMOTE_LOG_WARN && getenv("CREW_TEST_VERBOSE"))
        fprintf(stderr, "  [remote] %s\n", msg);
}

/* Options for tests: the queue, a quiet log (CREW_TEST_VERBOSE=1 shows it). */
static inline crew_remote_options rt_opts(const char *queue)
{
    crew_remote_options o;
    crew_remote_options_init(&o);
    o.queue = queue;
    o.log = rt_log;
    return o;
}

#endif
