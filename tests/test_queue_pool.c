/* test_queue_pool.c - crew_queue and crew_squeue used from crew tasks: a task
 * blocked in a get on an empty queue must not starve the task that would
 * fill it, even when the pool has a single worker (the queue waits through
 * crew__wait_word, which runs queued tasks meanwhile).  The same for a task
 * blocked in a put on a full queue and in join. */
#include <stdint.h>

#include "check.h"
#include "support.h"

static int get_task(void *arg, void **result)
{
    void *x = NULL;
    int rc = crew_queue_get_timed(arg, &x, 20000 * MS);
    *result = x;
    return rc == 0 ? 0 : 1;
}

static int put_task(void *arg, void **result)
{
    (void)result;
    return crew_queue_put_timed(arg, P(42), 20000 * MS) == 0 ? 0 : 1;
}

static int drain_task(void *arg, void **result)
{
    (void)result;
    void *x;
    if (crew_queue_get_timed(arg, &x, 20000 * MS) != 0)
        return 1;
    return crew_queue_task_done(arg) == 0 ? 0 : 1;
}

static int join_task(void *arg, void **result)
{
    (void)result;
    return crew_queue_join_timed(arg, 20000 * MS) == 0 ? 0 : 1;
}

static int sget_task(void *arg, void **result)
{
    return crew_squeue_get_timed(arg, result, 20000 * MS) == 0 ? 0 : 1;
}

static int sput_task(void *arg, void **result)
{
    (void)result;
    return crew_squeue_put(arg, P(7)) == 0 ? 0 : 1;
}

static void run_two(crew_pool *pool, crew_task_fn first, void *a1, crew_task_fn second, void *a2,
                    void **result1)
{
    crew_future *f1 = NULL, *f2 = NULL;
    CHECK_OK(crew_pool_submit(pool, first, a1, &f1));
    CHECK_OK(crew_pool_submit(pool, second, a2, &f2));
    int err1 = 0, err2 = 0; /* set only when a task fails (CREW_ETASK) */
    if (f1) {
        CHECK_OK(crew_future_wait_timed(f1, 30000 * MS));
        CHECK_OK(crew_future_result(f1, result1, &err1));
        crew_future_release(f1);
    }
    if (f2) {
        void *r2;
        CHECK_OK(crew_future_wait_timed(f2, 30000 * MS));
        CHECK_OK(crew_future_result(f2, &r2, &err2));
        crew_future_release(f2);
    }
}

int main(void)
{
    crew_pool_options po;
    crew_pool_options_init(&po);
    po.workers = 1;
    crew_pool *pool;
    CHECK_OK(crew_pool_create(&pool, &po));

    size_t sizes[] = {4, 0}; /* ring and locked store */
    for (int s = 0; s < 2; s++) {
        crew_queue_options o;
        crew_queue_options_init(&o);
        o.maxsize = sizes[s];
        crew_queue *q;
        CHECK_OK(crew_queue_create(&q, &o));
        void *r = NULL;
        /* get waits for a put queued behind it */
        run_two(pool, get_task, q, put_task, q, &r);
        CHECK_EQ(I(r), 42);
        CHECK_OK(crew_queue_task_done(q));
        if (sizes[s]) {
            /* put on a full queue waits for a get queued behind it */
            for (size_t i = 0; i < sizes[s]; i++)
                CHECK_OK(crew_queue_put(q, P(1)));
            run_two(pool, put_task, q, get_task, q, &r);
            void *x;
            while (crew_queue_try_get(q, &x) == 0)
                CHECK_OK(crew_queue_task_done(q));
            CHECK_OK(crew_queue_task_done(q)); /* the one get_task took */
        }
        /* join waits for a task_done queued behind it */
        CHECK_OK(crew_queue_put(q, P(5)));
        run_two(pool, join_task, q, drain_task, q, &r);
        CHECK_OK(crew_queue_join_timed(q, 0));
        CHECK_OK(crew_queue_destroy(q));
    }

    crew_squeue *sq;
    CHECK_OK(crew_squeue_create(&sq));
    void *r = NULL;
    run_two(pool, sget_task, sq, sput_task, sq, &r);
    CHECK_EQ(I(r), 7);
    CHECK_OK(crew_squeue_destroy(sq, NULL, NULL));

    CHECK_OK(crew_pool_shutdown(pool, true, false));
    CHECK_OK(crew_pool_destroy(pool));
    return check_exit("test_queue_pool");
}
