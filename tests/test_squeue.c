/* test_squeue.c - crew_squeue (SimpleQueue): bad arguments, FIFO order, the
 * get forms and their timeouts, caller-provided nodes, destroy with items
 * left and while a getter is blocked, and put_node from a real signal
 * handler: both waking a consumer asleep in get and interrupting a put on
 * the same thread (reentrancy). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "support.h"
#include "queue/squeue_impl.h"

static void test_bad_args(void)
{
    crew_squeue *q;
    crew_snode node;
    void *x = P(3);
    CHECK_RC(crew_squeue_create(NULL), CREW_EINVAL);
    CHECK_RC(crew_squeue_destroy(NULL, NULL, NULL), CREW_EINVAL);
    CHECK_RC(crew_squeue_put(NULL, x), CREW_EINVAL);
    CHECK_RC(crew_squeue_put_node(NULL, &node, x), CREW_EINVAL);
    CHECK_RC(crew_squeue_get(NULL, &x), CREW_EINVAL);
    CHECK_RC(crew_squeue_try_get(NULL, &x), CREW_EINVAL);
    CHECK_RC(crew_squeue_get_timed(NULL, &x, 1), CREW_EINVAL);
    CHECK_RC(crew_squeue_get_until(NULL, &x, 1), CREW_EINVAL);
    CHECK_EQ(crew_squeue_size(NULL), 0);
    CHECK(crew_squeue_empty(NULL));
    CHECK_OK(crew_squeue_create(&q));
    CHECK_RC(crew_squeue_put_node(q, NULL, x), CREW_EINVAL);
    CHECK_RC(crew_squeue_get(q, NULL), CREW_EINVAL);
    CHECK_RC(crew_squeue_try_get(q, NULL), CREW_EINVAL);
    CHECK_RC(crew_squeue_get_timed(q, NULL, 1), CREW_EINVAL);
    CHECK_RC(crew_squeue_get_until(q, NULL, 1), CREW_EINVAL);
    CHECK_RC(crew_squeue_get_timed(q, &x, -1), CREW_EINVAL);
    CHECK_EQ(I(x), 3);
    CHECK_OK(crew_squeue_destroy(q, NULL, NULL));
}

static void test_order_and_forms(void)
{
    crew_squeue *q;
    crew_snode nodes[50];
    void *x = P(1234);
    CHECK_OK(crew_squeue_create(&q));
    CHECK(crew_squeue_empty(q));
    CHECK_RC(crew_squeue_try_get(q, &x), CREW_EEMPTY);
    CHECK_EQ(I(x), 1234);
    /* Interleave malloc'd and caller-provided nodes; order is put order. */
    for (long i = 0; i < 100; i++) {
        if (i % 2)
            CHECK_OK(crew_squeue_put_node(q, &nodes[i / 2], P(i)));
        else
            CHECK_OK(crew_squeue_put(q, P(i)));
    }
    CHECK_EQ(crew_squeue_size(q), 100);
    for (long i = 0; i < 100; i++) {
        int form = (int)(i % 4);
        int rc = form == 0   ? crew_squeue_get(q, &x)
                 : form == 1 ? crew_squeue_try_get(q, &x)
                 : form == 2 ? crew_squeue_get_timed(q, &x, 0)
                             : crew_squeue_get_until(q, &x, 0);
        CHECK_OK(rc);
        CHECK_EQ(I(x), i);
        /* Puts after some gets still come after everything queued. */
        if (i == 10)
            CHECK_OK(crew_squeue_put(q, P(1000)));
    }
    CHECK_OK(crew_squeue_get(q, &x));
    CHECK_EQ(I(x), 1000);
    /* A node may be reused once its get returned. */
    CHECK_OK(crew_squeue_put_node(q, &nodes[0], P(7)));
    CHECK_OK(crew_squeue_get(q, &x));
    CHECK_OK(crew_squeue_put_node(q, &nodes[0], P(8)));
    CHECK_OK(crew_squeue_get(q, &x));
    CHECK_EQ(I(x), 8);
    CHECK(crew_squeue_empty(q));

    /* Timeouts on an empty queue. */
    int64_t t0 = crew_now_ns();
    CHECK_RC(crew_squeue_get_timed(q, &x, 50 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 45 * MS);
    CHECK_RC(crew_squeue_get_timed(q, &x, 0), CREW_ETIMEDOUT);
    CHECK_RC(crew_squeue_get_until(q, &x, crew_now_ns() - 1), CREW_ETIMEDOUT);
    CHECK_RC(crew_squeue_get_until(q, &x, INT64_MIN), CREW_ETIMEDOUT);
    t0 = crew_now_ns();
    CHECK_RC(crew_squeue_get_until(q, &x, t0 + 30 * MS), CREW_ETIMEDOUT);
    CHECK(crew_now_ns() - t0 >= 27 * MS);
    CHECK_OK(crew_squeue_destroy(q, NULL, NULL));
}

struct drops {
    int n;
    long sum;
};

static void record_drop(void *item, void *ctx)
{
    struct drops *d = ctx;
    d->n++;
    d->sum += I(item);
}

struct getter {
    crew_squeue *q;
    int rc;
    void *item;
};

static void *getter_main(void *arg)
{
    struct getter *g = arg;
    g->rc = crew_squeue_get(g->q, &g->item);
    return NULL;
}

static void test_destroy(void)
{
    crew_squeue *q;
    crew_snode n1, n2;
    struct drops d = {0, 0};
    CHECK_OK(crew_squeue_create(&q));
    CHECK_OK(crew_squeue_put(q, P(1)));
    CHECK_OK(crew_squeue_put_node(q, &n1, P(2)));
    CHECK_OK(crew_squeue_put(q, P(3)));
    CHECK_OK(crew_squeue_put_node(q, &n2, P(4)));
    void *x;
    CHECK_OK(crew_squeue_get(q, &x)); /* 1 into the private list's path */
    CHECK_OK(crew_squeue_destroy(q, record_drop, &d));
    CHECK_EQ(d.n, 3);
    CHECK_EQ(d.sum, 9);

    /* Busy while a getter sleeps; nothing changes; then it works. */
    CHECK_OK(crew_squeue_create(&q));
    struct getter g = {q, -999, NULL};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, getter_main, &g), 0);
    /* Wait until the getter is inside its blocking path. */
    POLL_NS(atomic_load(&q->blocked) != 0, 10000 * MS);
    CHECK_EQ(atomic_load(&q->blocked), 1);
    CHECK_RC(crew_squeue_destroy(q, NULL, NULL), CREW_EBUSY);
    CHECK_OK(crew_squeue_put(q, P(77)));
    pthread_join(t, NULL);
    CHECK_OK(g.rc);
    CHECK_EQ(I(g.item), 77);
    CHECK_OK(crew_squeue_destroy(q, NULL, NULL));
}

/* ---- signal handlers that post with put_node ----------------------------- */

static crew_squeue *sigq;
static crew_snode signodes[64];
static volatile sig_atomic_t signal_count;

static void on_signal(int sig)
{
    (void)sig;
    int i = signal_count;
    if (i < 64) {
        crew_squeue_put_node(sigq, &signodes[i], P(2 * i + 1)); /* odd */
        signal_count = i + 1;
    }
}

/* A consumer asleep in get is woken by a put_node from a signal handler
 * running in another thread (the timer's SIGALRM goes to the process; the
 * consumer thread blocks it so the handler runs in main). */
static void *sleepy_consumer(void *arg)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct getter *g = arg;
    g->rc = crew_squeue_get_timed(g->q, &g->item, 20000 * MS);
    return NULL;
}

static void test_signal_wakes_consumer(void)
{
    CHECK_OK(crew_squeue_create(&sigq));
    signal_count = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);

    struct getter g = {sigq, -999, NULL};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, sleepy_consumer, &g), 0);
    /* One-shot timer in 50 ms; main waits for the signal in pause-free
     * sleeps so the handler runs on this thread. */
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    POLL_NS(signal_count != 0, 10000 * MS);
    pthread_join(t, NULL);
    CHECK_EQ(signal_count, 1);
    CHECK_OK(g.rc);
    CHECK_EQ(I(g.item), 1);
    CHECK_OK(crew_squeue_destroy(sigq, NULL, NULL));
}

/* A signal handler on the same thread interrupts put after put: pthread_kill
 * to self delivers synchronously, between arbitrary instructions of the
 * loop below when the timer fires; every item must come out once. */
static void test_signal_interrupts_put(void)
{
    CHECK_OK(crew_squeue_create(&sigq));
    signal_count = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    /* A 1 ms periodic timer while this thread puts in a tight loop. */
    struct itimerval it = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    long puts = 0, last_main = -2, last_sig = -1, n_sig = 0;
    void *x;
    int64_t end = crew_now_ns() + 5000 * MS;
    for (;;) {
        bool more = signal_count < 20 && crew_now_ns() < end;
        if (more) {
            CHECK_OK(crew_squeue_put(sigq, P(2 * puts))); /* even */
            puts++;
        }
        if (!more || puts % 4096 == 0) {
            if (!more) {
                struct itimerval off = {{0, 0}, {0, 0}};
                setitimer(ITIMER_REAL, &off, NULL);
                /* Explicit same-thread signals too. */
                pthread_kill(pthread_self(), SIGALRM);
                pthread_kill(pthread_self(), SIGALRM);
            }
            /* Drain (all of it at the end): main's items in order, the
             * handler's items in order, interleaved, each once. */
            while (crew_squeue_try_get(sigq, &x) == 0) {
                long v = I(x);
                if (v % 2) {
                    CHECK(v > last_sig);
                    last_sig = v;
                    n_sig++;
                } else {
                    CHECK(v > last_main);
                    last_main = v;
                }
            }
        }
        if (!more)
            break;
    }
    int sigs = signal_count;
    CHECK(sigs >= 2);
    CHECK_EQ(n_sig, sigs);
    CHECK_EQ(last_main, 2 * (puts - 1));
    CHECK_OK(crew_squeue_destroy(sigq, NULL, NULL));
    signal(SIGALRM, SIG_DFL);
}

int main(void)
{
    test_bad_args();
    test_order_and_forms();
    test_destroy();
    test_signal_wakes_consumer();
    test_signal_interrupts_put();
    return check_exit("test_squeue");
}
