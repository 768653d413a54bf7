/* test_future_create.c - futures you complete yourself (crew_future_create,
 * set_running_or_notify_cancel, set_result, set_error; issue 13), with
 * Python's rules: completing a finished future is CREW_ESTATE, cancel
 * succeeds only while pending, exactly one of several racing completers
 * wins, and such a future works wherever a pool's does (waits with and
 * without deadlines, callbacks, crew_wait, as_completed, waits inside a
 * worker, references and the freeing of its result). */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "support.h"

static atomic_int freed;
static void free_counted(void *r)
{
    atomic_fetch_add(&freed, 1);
    free(r);
}

static void cb_count(crew_future *f, void *ctx)
{
    CHECK(crew_future_done(f));
    atomic_fetch_add((atomic_int *)ctx, 1);
}

static void test_states(void)
{
    crew_future *f;
    CHECK_RC(crew_future_create(NULL, NULL), CREW_EINVAL);
    CHECK_OK(crew_future_create(&f, NULL));
    CHECK_EQ(crew_future_get_state(f), CREW_FUTURE_PENDING);
    CHECK_RC(crew_future_try_result(f, NULL, NULL), CREW_EPENDING);
    CHECK_RC(crew_future_wait_timed(f, 1 * MS), CREW_ETIMEDOUT);
    atomic_int calls = 0;
    CHECK_OK(crew_future_add_done_callback(f, cb_count, &calls));
    CHECK_OK(crew_future_set_running_or_notify_cancel(f));
    CHECK(crew_future_running(f));
    CHECK_RC(crew_future_set_running_or_notify_cancel(f), CREW_ESTATE);
    CHECK(!crew_future_cancel(f)); /* running: Python's cancel() is False */
    CHECK_OK(crew_future_set_result(f, P(42)));
    CHECK_EQ(atomic_load(&calls), 1);
    CHECK_RC(crew_future_set_result(f, P(43)), CREW_ESTATE);
    CHECK_RC(crew_future_set_error(f, 5, NULL), CREW_ESTATE);
    CHECK_RC(crew_future_set_running_or_notify_cancel(f), CREW_ESTATE);
    void *r = NULL;
    CHECK_OK(crew_future_result(f, &r, NULL));
    CHECK_EQ(I(r), 42);
    CHECK_OK(crew_future_add_done_callback(f, cb_count, &calls)); /* runs at once */
    CHECK_EQ(atomic_load(&calls), 2);
    crew_future_release(f);

    /* Straight from PENDING, and an error with a description. */
    CHECK_OK(crew_future_create(&f, free_counted));
    char *msg = strdup("no such key");
    CHECK_RC(crew_future_set_error(f, 0, msg), CREW_EINVAL); /* 0 is not an error */
    CHECK_OK(crew_future_set_error(f, 17, msg));
    int te = 0;
    r = NULL;
    CHECK_RC(crew_future_result(f, &r, &te), CREW_ETASK);
    CHECK_EQ(te, 17);
    CHECK(r == msg);
    atomic_store(&freed, 0);
    crew_future_release(f); /* frees the description */
    CHECK_EQ(atomic_load(&freed), 1);

    /* Cancel while pending: then set_running reports it, set_* fail, and
     * nothing is freed (nothing was given). */
    CHECK_OK(crew_future_create(&f, free_counted));
    CHECK(crew_future_cancel(f));
    CHECK(crew_future_cancel(f)); /* still true, as Python's */
    CHECK_RC(crew_future_set_running_or_notify_cancel(f), CREW_ECANCELLED);
    CHECK_RC(crew_future_set_result(f, P(1)), CREW_ESTATE);
    CHECK_RC(crew_future_result(f, NULL, NULL), CREW_ECANCELLED);
    atomic_store(&freed, 0);
    crew_future_release(f);
    CHECK_EQ(atomic_load(&freed), 0);

    /* A pool's future is completed by its task only. */
    crew_pool *p = make_pool(1);
    static blocker b = BLOCKER_INIT;
    CHECK_OK(crew_pool_submit(p, task_block, &b, &f));
    CHECK_RC(crew_future_set_result(f, NULL), CREW_EINVAL);
    CHECK_RC(crew_future_set_error(f, 1, NULL), CREW_EINVAL);
    CHECK_RC(crew_future_set_running_or_notify_cancel(f), CREW_EINVAL);
    gate_open(&b.release);
    CHECK_OK(crew_future_result(f, NULL, NULL));
    crew_future_release(f);
    CHECK_OK(crew_pool_destroy(p));
    CHECK_RC(crew_future_set_result(NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_future_set_running_or_notify_cancel(NULL), CREW_EINVAL);
}

/* ---- races ------------------------------------------------------------------ */

enum { RACERS = 4, ROUNDS = 300 };

typedef struct race {
    crew_future *f;
    latch go;
    atomic_int wins;
    atomic_int cancels;
} race;

static void *racer_set(void *arg)
{
    race *r = arg;
    latch_pass(&r->go);
    void *mine = malloc(8); /* ours unless we win */
    int rc = crew_future_set_result(r->f, mine);
    if (rc == 0)
        atomic_fetch_add(&r->wins, 1);
    else {
        CHECK_RC(rc, CREW_ESTATE);
        free(mine);
    }
    return NULL;
}

static void *racer_cancel(void *arg)
{
    race *r = arg;
    latch_pass(&r->go);
    if (crew_future_cancel(r->f))
        atomic_fetch_add(&r->cancels, 1);
    return NULL;
}

static void test_races(void)
{
    for (int round = 0; round < ROUNDS; round++) {
        static race r;
        memset(&r, 0, sizeof r);
        atomic_store(&freed, 0);
        CHECK_OK(crew_future_create(&r.f, free_counted));
        atomic_int calls = 0;
        CHECK_OK(crew_future_add_done_callback(r.f, cb_count, &calls));
        pthread_t th[RACERS + 1];
        for (int i = 0; i < RACERS; i++)
            CHECK_EQ(pthread_create(&th[i], NULL, racer_set, &r), 0);
        bool with_cancel = round % 2;
        if (with_cancel)
            CHECK_EQ(pthread_create(&th[RACERS], NULL, racer_cancel, &r), 0);
        latch_open(&r.go);
        for (int i = 0; i < RACERS + with_cancel; i++)
            pthread_join(th[i], NULL);
        /* Exactly one outcome: one completer won, or the cancel did. */
        CHECK_EQ(atomic_load(&r.wins) + atomic_load(&r.cancels), 1);
        CHECK_EQ(atomic_load(&calls), 1);
        int rc = crew_future_result(r.f, NULL, NULL);
        CHECK_RC(rc, atomic_load(&r.cancels) ? CREW_ECANCELLED : CREW_OK);
        crew_future_release(r.f);
        CHECK_EQ(atomic_load(&freed), atomic_load(&r.wins)); /* the winner's result, once */
    }
}

/* ---- everywhere a pool's future works -------------------------------------- */

typedef struct completer {
    crew_future *f;
    long value;
    gate start;
} completer;

static void *complete_later(void *arg)
{
    completer *c = arg;
    gate_pass(&c->start);
    nap_ms(5);
    CHECK_OK(crew_future_set_running_or_notify_cancel(c->f));
    CHECK_OK(crew_future_set_result(c->f, P(c->value)));
    return NULL;
}

/* A task of the pool waits on a created future (the worker helps meanwhile,
 * and does not deadlock with one worker). */
static int task_wait_created(void *arg, void **result)
{
    void *r = NULL;
    int rc = crew_future_result((crew_future *)arg, &r, NULL);
    *result = r;
    return rc;
}

static void test_everywhere(void)
{
    enum { N = 4 };
    crew_future *fs[N];
    completer cs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        CHECK_OK(crew_future_create(&fs[i], NULL));
        cs[i] = (completer){fs[i], 10 + i, GATE_INIT};
        CHECK_EQ(pthread_create(&th[i], NULL, complete_later, &cs[i]), 0);
    }
    /* as_completed over created futures completed in a chosen order */
    crew_as_completed *it;
    CHECK_OK(crew_as_completed_create(&it, fs, N));
    for (int i = N - 1; i >= 0; i--) {
        gate_open(&cs[i].start);
        crew_future *f;
        CHECK_OK(crew_as_completed_next(it, &f));
        CHECK(f == fs[i]);
    }
    CHECK_RC(crew_as_completed_next(it, NULL), CREW_EINVAL);
    crew_future *f;
    CHECK_RC(crew_as_completed_next(it, &f), CREW_EEMPTY);
    crew_as_completed_destroy(it);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    bool done[N];
    size_t nd;
    CHECK_OK(crew_wait(fs, N, CREW_ALL_COMPLETED, done, &nd));
    CHECK_EQ(nd, N);
    release_all(fs, N);

    /* Mixed with a pool's futures in one crew_wait, and awaited by a task
     * of a one-worker pool. */
    crew_pool *p = make_pool(1);
    crew_future *made, *mixed[2];
    CHECK_OK(crew_future_create(&made, NULL));
    CHECK_OK(crew_pool_submit(p, task_wait_created, made, &mixed[0]));
    mixed[1] = made;
    CHECK_RC(crew_wait_timed(mixed, 2, CREW_FIRST_COMPLETED, NULL, NULL, 5 * MS),
             CREW_ETIMEDOUT);
    completer c = {made, 99, GATE_INIT};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, complete_later, &c), 0);
    gate_open(&c.start);
    CHECK_OK(crew_wait(mixed, 2, CREW_ALL_COMPLETED, NULL, NULL));
    void *r;
    CHECK_OK(crew_future_result(mixed[0], &r, NULL));
    CHECK_EQ(I(r), 99);
    pthread_join(t, NULL);
    release_all(mixed, 2);
    CHECK_OK(crew_pool_destroy(p));
}

/* A created future released while nobody completed it: its callbacks are
 * dropped uncalled and their memory freed (ASan's leak check in the
 * sanitizer stage; the callback nodes leaked before, found by the remote
 * module's author). */
static void test_release_pending(void)
{
    atomic_int calls = 0;
    for (int running = 0; running < 2; running++) {
        crew_future *f;
        CHECK_OK(crew_future_create(&f, free_counted));
        if (running)
            CHECK_OK(crew_future_set_running_or_notify_cancel(f));
        for (int i = 0; i < 3; i++)
            CHECK_OK(crew_future_add_done_callback(f, cb_count, &calls));
        crew_future_release(f);
    }
    CHECK_EQ(atomic_load(&calls), 0);
}

int main(void)
{
    test_release_pending();
    test_states();
    test_races();
    test_everywhere();
    return check_exit("test_future_create");
}
