/*
 * map.c - Executor.map in C (crew/map.h): fn applied to every input, results
 * read back in input order, with a bound on the tasks in flight.
 *
 * The inputs are cut into chunks of chunksize consecutive items; a chunk is
 * one pool task that runs fn on its items one after another and stores each
 * item's result and status in its chunk record.  The map owns a ring of
 * buffersize chunk records ("slots"); chunk c lives in slot c % buffersize.
 * At most buffersize chunks are submitted and not yet consumed: create
 * submits the first ones, and each time the caller consumes the last item of
 * chunk c, chunk c + buffersize is submitted into the slot c just freed.
 *
 * Ordering: a chunk's task writes its record, then finishes its future;
 * crew_map_next reads the record only after crew_future_wait_until returned 0
 * for that future, so the records are ordered by the future's completion
 * (the future's own release/acquire).  No field of a record is touched by the
 * caller while its task may run.
 *
 * Errors: an item whose fn returned non-zero is CREW_ETASK at its position;
 * a chunk that never ran (cancelled by a pool shutdown, pool broken) gives
 * that code for each of its items; a chunk that could not be submitted
 * (pool shut down meanwhile) gives the submit error for each of its items.
 * Iteration always goes on to the next item.
 *
 * Start, all or nothing: create submits the first buffersize chunks, and
 * if one of those submits fails it returns the error having run fn on no
 * input: the chunks already submitted wait at the map's start gate until
 * create has submitted them all, and see it aborted if one failed.  Later
 * chunks are submitted by crew_map_next; one whose submit fails reports
 * the error at each of its items, and iteration goes on.
 *
 * destroy: sets the stop flag (running chunks skip their remaining items),
 * cancels the chunks not started (fn is never called for them) and waits for
 * the running ones before freeing the records they write.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/clock.h"
#include "crew/future.h"
#include "crew/map.h"
#include "exec/future.h"
#include "sched/sched.h"
#include "base/sys.h"

typedef struct map_slot {
    struct crew_map *m; /* immutable: the owning map (for fn, inputs, stop) */
    /* Written by the creating thread before submit, read by the task. */
    size_t lo, hi;       /* the chunk's inputs [lo, hi) */
    /* Written by the chunk's task, read by the caller after the future is
     * done (ordered by the future's completion). */
    void **results;
    int *status;
    /* Caller's thread only. */
    crew_future *fut; /* NULL once consumed or if submit failed */
    int outcome;      /* chunk result once its future is done; or submit error */
    bool ready;       /* outcome is known */
} map_slot;

struct crew_map {
    /* Immutable after create. */
    crew_pool *pool;
    crew_task_fn fn;
    void *const *inputs;
    size_t n, chunksize, nslots, nchunks;
    size_t next;        /* caller only: next item to return */
    size_t submitted;   /* caller only: chunks submitted so far */
    _Atomic bool stop;  /* set by destroy; read by running chunk tasks */
    /* The start gate (MAP_*): create submits its first chunks while it is
     * MAP_STARTING, then opens it (MAP_OPEN) or, if a submit failed,
     * closes it (MAP_ABORTED).  A chunk that starts before that waits on
     * it (MAP_GATE_WAITERS: wake it); a chunk that sees it aborted runs fn
     * on none of its items, so a failed create has run nothing.  Stored
     * with release by create, loaded with acquire by the chunks. */
    _Atomic uint32_t gate;
    map_slot *slots;
};

#define MAP_STARTING 0u
#define MAP_OPEN 1u
#define MAP_ABORTED 2u
#define MAP_GATE_WAITERS 0x4u

/* Waits until create has opened or closed the gate; true if open.  Only a
 * chunk of the first batch can get here before the gate opens, and create
 * never waits for a chunk while the gate is still starting, so the wait
 * is as short as create's own submits (inside a worker, crew__wait_word
 * runs other tasks meanwhile). */
static bool map_pass_gate(crew_map *m)
{
    uint32_t g = atomic_load_explicit(&m->gate, memory_order_acquire);
    while ((g & ~MAP_GATE_WAITERS) == MAP_STARTING) {
        if (!(g & MAP_GATE_WAITERS)) {
            /* acquire: as the load above, if the gate moved meanwhile. */
            g = atomic_fetch_or_explicit(&m->gate, MAP_GATE_WAITERS, memory_order_acquire) |
                MAP_GATE_WAITERS;
            continue;
        }
        (void)crew__wait_word(&m->gate, g, CREW__FOREVER);
        g = atomic_load_explicit(&m->gate, memory_order_acquire);
    }
    return (g & ~MAP_GATE_WAITERS) == MAP_OPEN;
}

/* Create's end of the gate: opens or closes it, waking chunks that wait. */
static void map_set_gate(crew_map *m, uint32_t to)
{
    /* release: everything create wrote before (the slots of later chunks
     * are not read by these chunks anyway) before a chunk's acquire. */
    uint32_t old = atomic_exchange_explicit(&m->gate, to, memory_order_acq_rel);
    if (old & MAP_GATE_WAITERS)
        crew__wake_word(&m->gate);
}

/* The chunk task: fn on each item of the chunk, in order. */
static int map_chunk_task(void *arg, void **result)
{
    (void)result;
    map_slot *s = arg;
    crew_map *m = s->m;
    if (!map_pass_gate(m)) {
        for (size_t i = s->lo; i < s->hi; i++)
            s->status[i - s->lo] = CREW_ECANCELLED;
        return 0;
    }
    for (size_t i = s->lo; i < s->hi; i++) {
        /* relaxed: a hint only; destroy waits for this task anyway. */
        if (atomic_load_explicit(&m->stop, memory_order_relaxed)) {
            for (; i < s->hi; i++)
                s->status[i - s->lo] = CREW_ECANCELLED;
            break;
        }
        void *r = NULL;
        int st = m->fn(m->inputs[i], &r);
        s->results[i - s->lo] = r;
        s->status[i - s->lo] = st;
    }
    return 0;
}

/* Submits chunk c into its slot.  On failure the slot reports the error for
 * each of its items. */
static int map_submit(crew_map *m, size_t c)
{
    map_slot *s = &m->slots[c % m->nslots];
    s->lo = c * m->chunksize;
    s->hi = s->lo + m->chunksize < m->n ? s->lo + m->chunksize : m->n;
    s->fut = NULL;
    s->ready = false;
    int rc = crew_pool_submit(m->pool, map_chunk_task, s, &s->fut);
    if (rc != 0) {
        s->fut = NULL;
        s->outcome = rc;
        s->ready = true;
    }
    m->submitted = c + 1;
    return rc;
}

static void map_free(crew_map *m)
{
    for (size_t i = 0; i < m->nslots; i++) {
        crew__free(m->slots[i].results);
        crew__free(m->slots[i].status);
    }
    crew__free(m->slots);
    crew__free(m);
}

/* Cancels or waits for every chunk still in flight, then frees m. */
static void map_teardown(crew_map *m)
{
    /* relaxed: a hint to running tasks; the waits below order the rest. */
    atomic_store_explicit(&m->stop, true, memory_order_relaxed);
    /* Cancel everything first, then wait: waiting on a running chunk before
     * cancelling the others would let a worker start them meanwhile. */
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i].fut)
            (void)crew_future_cancel(m->slots[i].fut);
    for (size_t i = 0; i < m->nslots; i++) {
        crew_future *f = m->slots[i].fut;
        if (!f)
            continue;
        (void)crew_future_wait(f); /* a running chunk writes this slot */
        crew_future_release(f);
        m->slots[i].fut = NULL;
    }
    map_free(m);
}

int crew_map_create(crew_map **out, crew_pool *p, crew_task_fn fn, void *const *inputs,
                    size_t n, const crew_map_options *opts)
{
    if (!out || !p || !fn || (n > 0 && !inputs))
        return CREW_EINVAL;
    size_t cs = opts && opts->chunksize ? opts->chunksize : 1;
    size_t bs = opts ? opts->buffersize : 0;
    if (bs == 0) {
        unsigned w = crew__pool_max_workers(p);
        bs = 2 * (size_t)(w ? w : 1);
    }
    size_t nchunks = n / cs + (n % cs != 0);
    size_t nslots = bs < nchunks ? bs : nchunks;
    size_t per = cs < n ? cs : n; /* items per record */

    crew_map *m = crew__calloc(1, sizeof *m);
    if (!m)
        return CREW_ENOMEM;
    m->pool = p;
    m->fn = fn;
    m->inputs = inputs;
    m->n = n;
    m->chunksize = cs;
    m->nslots = nslots;
    m->nchunks = nchunks;
    atomic_init(&m->stop, false);
    atomic_init(&m->gate, MAP_STARTING);
    m->slots = crew__calloc(nslots ? nslots : 1, sizeof *m->slots);
    if (!m->slots) {
        crew__free(m);
        return CREW_ENOMEM;
    }
    for (size_t i = 0; i < nslots; i++) {
        m->slots[i].m = m;
        m->slots[i].results = crew__calloc(per, sizeof(void *));
        m->slots[i].status = crew__calloc(per, sizeof(int));
        if (!m->slots[i].results || !m->slots[i].status) {
            map_free(m);
            return CREW_ENOMEM;
        }
    }
    /* All or nothing: the chunks submitted here run fn only once the gate
     * opens, after the last of them was accepted. */
    for (size_t c = 0; c < nslots; c++) {
        int rc = map_submit(m, c);
        if (rc != 0) {
            map_set_gate(m, MAP_ABORTED);
            map_teardown(m);
            return rc;
        }
    }
    map_set_gate(m, MAP_OPEN);
    *out = m;
    return 0;
}

int crew_map_next_until(crew_map *m, size_t *index, void **result, int *task_error,
                        int64_t deadline_ns)
{
    if (!m)
        return CREW_EINVAL;
    if (m->next >= m->n)
        return CREW_EEMPTY;
    size_t c = m->next / m->chunksize;
    map_slot *s = &m->slots[c % m->nslots];
    if (!s->ready) {
        int rc = crew_future_wait_until(s->fut, deadline_ns);
        if (rc != 0)
            return rc; /* CREW_ETIMEDOUT: the same item next time */
        s->outcome = crew_future_try_result(s->fut, NULL, NULL);
        s->ready = true;
        crew_future_release(s->fut);
        s->fut = NULL;
    }
    size_t i = m->next - s->lo;
    int rc = s->outcome;
    void *r = NULL;
    int st = 0;
    if (rc == 0) {
        r = s->results[i];
        st = s->status[i];
        if (st != 0)
            rc = CREW_ETASK;
    }
    if (index)
        *index = m->next;
    if (result)
        *result = r;
    if (task_error)
        *task_error = rc == CREW_ETASK ? st : 0;
    m->next++;
    /* The chunk is consumed: its slot takes the next chunk not submitted. */
    if (m->next == s->hi && m->submitted < m->nchunks)
        (void)map_submit(m, m->submitted); /* an error shows at its items */
    return rc;
}

int crew_map_next_timed(crew_map *m, size_t *index, void **result, int *task_error,
                        int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return CREW_EINVAL;
    return crew_map_next_until(m, index, result, task_error, crew__deadline_after(timeout_ns));
}

int crew_map_next(crew_map *m, size_t *index, void **result, int *task_error)
{
    return crew_map_next_until(m, index, result, task_error, CREW__FOREVER);
}

int crew_map_destroy(crew_map *m)
{
    if (!m)
        return CREW_EINVAL;
    map_teardown(m);
    return 0;
}

int crew_map_all(crew_pool *p, crew_task_fn fn, void *const *inputs, size_t n,
                 void **results, int *errors, const crew_map_options *opts)
{
    crew_map *m;
    int rc = crew_map_create(&m, p, fn, inputs, n, opts);
    if (rc != 0)
        return rc;
    int first_crew_error = 0;
    bool any_task_error = false;
    for (;;) {
        size_t i;
        void *r;
        int st;
        int irc = crew_map_next(m, &i, &r, &st);
        if (irc == CREW_EEMPTY)
            break;
        if (results)
            results[i] = r;
        if (errors)
            errors[i] = irc == CREW_ETASK ? st : irc;
        if (irc == CREW_ETASK)
            any_task_error = true;
        else if (irc != 0 && first_crew_error == 0)
            first_crew_error = irc;
    }
    crew_map_destroy(m);
    if (first_crew_error)
        return first_crew_error;
    return any_task_error ? CREW_ETASK : 0;
}
