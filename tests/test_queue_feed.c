/* test_queue_feed.c - two tasks of one pool that feed each other through a
 * bounded queue never deadlock (found while building the crew command).
 *
 * A wait inside a worker used to run queued tasks of its pool meanwhile,
 * also in a queue call: the consumer, blocked in get, ran the producer on
 * its own stack; the producer blocked on the full queue; the consumer frame
 * under it could never take an item: every round hung.  A queue wait runs
 * no other task (a replacement worker runs the producer).  Rounds of a
 * consumer submitted before its producer, with a small queue, on pools of
 * one and two workers; a watchdog reports a hang instead of hanging. */
#include <unistd.h>

#include "check.h"
#include "support.h"

enum { ITEMS = 1000 };

typedef struct feed {
    crew_queue *q;
    long got;
} feed;

static int consumer(void *arg, void **result)
{
    (void)result;
    feed *f = arg;
    void *x;
    while (crew_queue_get(f->q, &x) == 0)
        f->got++;
    return 0;
}

static int producer(void *arg, void **result)
{
    (void)result;
    feed *f = arg;
    for (long i = 0; i < ITEMS; i++)
        CHECK_OK(crew_queue_put(f->q, P(i + 1)));
    CHECK_OK(crew_queue_shutdown(f->q, false));
    return 0;
}

static void one_round(unsigned workers, crew_queue_kind kind, size_t maxsize)
{
    crew_queue_options qo;
    crew_queue_options_init(&qo);
    qo.kind = kind;
    qo.maxsize = maxsize;
    qo.compare = by_value;
    feed f = {NULL, 0};
    CHECK_OK(crew_queue_create(&f.q, &qo));
    crew_pool *p = make_pool(workers);
    crew_future *c, *pr;
    CHECK_OK(crew_pool_submit(p, consumer, &f, &c));
    CHECK_OK(crew_pool_submit(p, producer, &f, &pr));
    POLL(crew_future_done(c) && crew_future_done(pr));
    if (!crew_future_done(c) || !crew_future_done(pr)) {
        fprintf(stderr, "test_queue_feed: producer and consumer deadlocked (%u workers)\n",
                workers);
        _exit(1);
    }
    CHECK_OK(crew_future_result(c, NULL, NULL));
    CHECK_OK(crew_future_result(pr, NULL, NULL));
    CHECK_EQ(f.got, ITEMS);
    crew_future_release(c);
    crew_future_release(pr);
    CHECK_OK(crew_pool_destroy(p));
    CHECK_OK(crew_queue_destroy(f.q));
}

int main(void)
{
    for (int r = 0; r < 20; r++) {
        one_round(1 + r % 2, CREW_QUEUE_FIFO, 4);       /* the lock-free ring */
        one_round(1 + r % 2, CREW_QUEUE_LIFO, 4);       /* the locked store */
        one_round(1 + r % 2, CREW_QUEUE_PRIORITY, 1);
    }
    return check_exit("test_queue_feed");
}
