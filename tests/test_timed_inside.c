/* test_timed_inside.c - a timed wait inside a task keeps its deadline
 * whatever work is queued (issue 11, bug 8).
 *
 * A wait inside a worker may run queued tasks of its pool meanwhile; a
 * timed one must not, or its deadline waits for whatever task it picked
 * up.  Here the queued task blocks on a gate that the test opens only after
 * the timed wait has returned: a wait that ran it would never return (the
 * test then reports the hang after 5 s instead of hanging ctest).  No time
 * is measured: the order of events is the check.
 *
 * One worker is held by a blocker, the other runs `outer`, which queues the
 * gated task on its own deque (where its helping wait would find it first)
 * and then makes one timed call that cannot succeed: a future's result, a
 * queue get, crew_wait, as_completed, a map item, a queue join. */
#include <pthread.h>
#include <unistd.h>

#include "check.h"
#include "support.h"

enum { FUTURE, QUEUE_GET, QUEUE_PUT, JOIN, WAIT, AS_COMPLETED, MAP, KINDS };
static const char *const kind_name[KINDS] = {"future", "queue get", "queue put", "queue join",
                                             "crew_wait", "as_completed", "map"};

typedef struct outer_ctx {
    int kind;
    crew_pool *pool;
    crew_future *never;  /* a future that cannot finish during the test */
    gate *late;          /* opened by the test after the timed call */
    int rc;              /* the timed call's code */
    atomic_int returned;
} outer_ctx;

static int task_wait_gate(void *arg, void **result)
{
    (void)result;
    gate_pass((gate *)arg);
    return 0;
}

static int map_fn(void *arg, void **result)
{
    (void)result;
    gate_pass((gate *)arg);
    return 0;
}

static int task_outer(void *arg, void **result)
{
    (void)result;
    outer_ctx *c = arg;
    crew_future *gated;
    CHECK_OK(crew_pool_submit(c->pool, task_wait_gate, c->late, &gated));
    const int64_t t = 20 * MS;
    switch (c->kind) {
    case FUTURE:
        c->rc = crew_future_result_timed(c->never, NULL, NULL, t);
        break;
    case QUEUE_GET:
    case QUEUE_PUT:
    case JOIN: {
        crew_queue_options o;
        crew_queue_options_init(&o);
        o.maxsize = 1;
        crew_queue *q;
        CHECK_OK(crew_queue_create(&q, &o));
        void *x;
        if (c->kind == QUEUE_GET) {
            c->rc = crew_queue_get_timed(q, &x, t);
        } else if (c->kind == QUEUE_PUT) {
            CHECK_OK(crew_queue_put(q, P(1)));
            c->rc = crew_queue_put_timed(q, P(2), t);
            CHECK_OK(crew_queue_get(q, &x));
            CHECK_OK(crew_queue_task_done(q));
        } else {
            CHECK_OK(crew_queue_put(q, P(1)));
            c->rc = crew_queue_join_timed(q, t);
            CHECK_OK(crew_queue_get(q, &x));
            CHECK_OK(crew_queue_task_done(q));
        }
        CHECK_OK(crew_queue_destroy(q));
        break;
    }
    case WAIT:
        c->rc = crew_wait_timed(&c->never, 1, CREW_ALL_COMPLETED, NULL, NULL, t);
        break;
    case AS_COMPLETED: {
        crew_as_completed *it;
        CHECK_OK(crew_as_completed_create(&it, &c->never, 1));
        crew_future *f;
        c->rc = crew_as_completed_next_timed(it, &f, t);
        crew_as_completed_destroy(it);
        break;
    }
    default: {
        /* A map whose item waits for the gate: its next_timed times out. */
        void *in[1] = {c->late};
        crew_map *m;
        crew_map_options mo = {1, 1};
        CHECK_OK(crew_map_create(&m, c->pool, map_fn, in, 1, &mo));
        c->rc = crew_map_next_timed(m, NULL, NULL, NULL, t);
        atomic_store(&c->returned, 1);
        CHECK_OK(crew_map_destroy(m)); /* waits for the item: after the gate */
        crew_future_release(gated);
        return 0;
    }
    }
    atomic_store(&c->returned, 1);
    crew_future_release(gated);
    return 0;
}

static void one_kind(int kind)
{
    crew_pool *p = make_pool(2);
    static blocker busy;
    static gate late;
    busy = (blocker)BLOCKER_INIT;
    late = (gate)GATE_INIT;
    crew_future *fb, *fo;
    CHECK_OK(crew_pool_submit(p, task_block, &busy, &fb));
    gate_pass(&busy.started);
    outer_ctx c = {kind, p, fb, &late, 99, 0};
    CHECK_OK(crew_pool_submit(p, task_outer, &c, &fo));
    POLL(atomic_load(&c.returned));
    if (!atomic_load(&c.returned)) {
        fprintf(stderr, "test_timed_inside: the timed %s wait ran the queued task\n",
                kind_name[kind]);
        _exit(1);
    }
    CHECK_RC(c.rc, CREW_ETIMEDOUT);
    gate_open(&late);
    CHECK_OK(crew_future_result(fo, NULL, NULL));
    gate_open(&busy.release);
    CHECK_OK(crew_future_result(fb, NULL, NULL));
    crew_future_release(fo);
    crew_future_release(fb);
    CHECK_OK(crew_pool_destroy(p));
}

int main(int argc, char **argv)
{
    int only = (int)arg_long(argc, argv, 1, -1); /* one kind, for a bisect */
    for (int k = 0; k < KINDS; k++)
        if (only < 0 || only == k)
            one_kind(k);
    return check_exit("test_timed_inside");
}
