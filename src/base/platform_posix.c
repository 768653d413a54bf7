/* platform_posix.c - platform.h with POSIX threads only: for systems
 * without futex and membarrier (macOS, the BSDs), and tested on Linux by
 * the test command's `posix` stage.
 *
 * Waiting on a word is a parking lot: a fixed table of buckets, each a
 * mutex and a condition variable; a word's bucket is chosen by its
 * address.  A waiter locks the bucket, checks the word, and waits on the
 * condition variable (which releases the lock atomically); a waker, after
 * changing the word, locks the bucket and broadcasts.  Either the waiter's
 * check comes after the change (it does not sleep) or the waker's lock
 * comes after the waiter is inside its wait (it is woken): no wake-up is
 * lost.  Other words of the same bucket wake too; their waiters re-check
 * and sleep again (callers loop).
 */
#include "base/platform.h"

#include <pthread.h>
#include <time.h>

#include "base/clock.h"

const bool crew__futex_signal_safe = false;

#define BUCKETS 64

static struct bucket {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} buckets[BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;
/* Whether the condition variables run on CLOCK_MONOTONIC (set once). */
static bool monotonic_cv;

static void buckets_make(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
#if defined(_POSIX_CLOCK_SELECTION) && _POSIX_CLOCK_SELECTION >= 0 && !defined(__APPLE__)
    monotonic_cv = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0;
#endif
    for (int i = 0; i < BUCKETS; i++) {
        pthread_mutex_init(&buckets[i].mu, NULL);
        pthread_cond_init(&buckets[i].cv, &attr);
    }
    pthread_condattr_destroy(&attr);
}

/* fork(): a thread of the parent may hold a bucket's lock at the moment of
 * the fork, and the child, which has only the forking thread, would then
 * wait for it forever on its first wait or wake on a word of that bucket
 * (a pool created in the child parks and wakes its workers: test_fork).
 * The forking thread takes every bucket first (in index order; nothing
 * else holds two), the parent lets them go, and the child makes them anew:
 * their condition variables may count waiters that do not exist there. */
static void buckets_fork_prepare(void)
{
    for (int i = 0; i < BUCKETS; i++)
        pthread_mutex_lock(&buckets[i].mu);
}

static void buckets_fork_parent(void)
{
    for (int i = BUCKETS - 1; i >= 0; i--)
        pthread_mutex_unlock(&buckets[i].mu);
}

static void buckets_init(void)
{
    buckets_make();
    (void)pthread_atfork(buckets_fork_prepare, buckets_fork_parent, buckets_make);
}

static struct bucket *bucket_of(const void *addr)
{
    pthread_once(&buckets_once, buckets_init);
    uintptr_t a = (uintptr_t)addr >> 2;
    return &buckets[(a ^ (a >> 6) ^ (a >> 12)) % BUCKETS];
}

/* deadline (monotonic ns) as the condition variable's clock wants it. */
static struct timespec cv_deadline(int64_t deadline_ns)
{
    int64_t at = deadline_ns;
    if (!monotonic_cv) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        at = deadline_ns - crew_now_ns() + (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    }
    struct timespec ts = {(time_t)(at / 1000000000), (long)(at % 1000000000)};
    return ts;
}

int crew__futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t deadline_ns)
{
    if (deadline_ns != CREW__FOREVER && deadline_ns <= crew_now_ns())
        return CREW_ETIMEDOUT;
    struct bucket *b = bucket_of(addr);
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    /* seq_cst: the waker changed the word before it took the lock. */
    if (atomic_load_explicit(addr, memory_order_seq_cst) == expected) {
        if (deadline_ns == CREW__FOREVER) {
            pthread_cond_wait(&b->cv, &b->mu);
        } else {
            struct timespec ts = cv_deadline(deadline_ns);
            if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) != 0 && crew_now_ns() >= deadline_ns)
                rc = CREW_ETIMEDOUT;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void crew__futex_wake(_Atomic uint32_t *addr, int count)
{
    (void)count; /* a bucket is shared: everyone in it re-checks */
    struct bucket *b = bucket_of(addr);
    pthread_mutex_lock(&b->mu);
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void crew__futex_wake_all(_Atomic uint32_t *addr)
{
    crew__futex_wake(addr, 0);
}

bool crew__platform_membarrier_init(void)
{
    return false; /* base/fence.h falls back to symmetric fences */
}

int crew__platform_membarrier(void)
{
    return -1;
}

void crew__thread_place(unsigned index)
{
    (void)index;
}

void crew__thread_name(const char *name)
{
#if defined(__GLIBC__)
    (void)pthread_setname_np(pthread_self(), name);
#else
    (void)name; /* the name is a debugging aid only */
#endif
}
