/* test_deque.c - single-threaded semantics of the work-stealing deque
 * (src/deque.h): LIFO pop, FIFO steal, empty, growth keeping every item and
 * its order, interleavings against a reference model, size_hint, bad
 * arguments, and many init/destroy cycles (leaks show up under ASan). */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "sched/deque.h"

#define ITEM(i) ((void *)(uintptr_t)(i))
#define VAL(p) ((long long)(uintptr_t)(p))

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void test_bad_args(void)
{
    crew__deque d;
    CHECK_RC(crew__deque_init(NULL, 4), CREW_EINVAL);
    CHECK_RC(crew__deque_init(&d, CREW__DEQUE_MAX_LOG2 + 1), CREW_EINVAL);
    CHECK_RC(crew__deque_init(&d, 1000), CREW_EINVAL);
    CHECK_OK(crew__deque_init(&d, 3));
    CHECK_RC(crew__deque_push(&d, NULL), CREW_EINVAL);
    CHECK_RC(crew__deque_push(NULL, ITEM(1)), CREW_EINVAL);
    CHECK_EQ(crew__deque_size_hint(&d), 0); /* the refused push added nothing */
    CHECK(crew__deque_pop(&d) == NULL);
    crew__deque_destroy(&d);
    crew__deque_destroy(NULL); /* harmless */
}

static void test_empty(void)
{
    crew__deque d;
    CHECK_OK(crew__deque_init(&d, 2));
    CHECK_EQ(crew__deque_capacity(&d), 4);
    CHECK_EQ(crew__deque_size_hint(&d), 0);
    for (int i = 0; i < 3; i++) {
        int lost = 7;
        CHECK(crew__deque_pop(&d) == NULL);
        CHECK(crew__deque_steal(&d, &lost) == NULL);
        CHECK_EQ(lost, 0);
        CHECK(crew__deque_steal(&d, NULL) == NULL);
        CHECK_EQ(crew__deque_size_hint(&d), 0);
    }
    /* Emptied by pop, by steal, and by pop of the last item: still empty
     * and still usable afterwards. */
    CHECK_OK(crew__deque_push(&d, ITEM(1)));
    CHECK_EQ(VAL(crew__deque_pop(&d)), 1);
    CHECK(crew__deque_pop(&d) == NULL);
    CHECK_EQ(crew__deque_size_hint(&d), 0);
    CHECK_OK(crew__deque_push(&d, ITEM(2)));
    CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), 2);
    CHECK(crew__deque_pop(&d) == NULL);
    CHECK(crew__deque_steal(&d, NULL) == NULL);
    CHECK_EQ(crew__deque_size_hint(&d), 0);
    CHECK_OK(crew__deque_push(&d, ITEM(3)));
    CHECK_EQ(VAL(crew__deque_pop(&d)), 3);
    CHECK(crew__deque_steal(&d, NULL) == NULL);
    crew__deque_destroy(&d);
}

static void test_lifo_fifo(void)
{
    crew__deque d;
    CHECK_OK(crew__deque_init(&d, 4));
    for (int i = 1; i <= 10; i++) {
        CHECK_OK(crew__deque_push(&d, ITEM(i)));
        CHECK_EQ(crew__deque_size_hint(&d), i);
    }
    for (int i = 10; i >= 1; i--) {
        CHECK_EQ(VAL(crew__deque_pop(&d)), i);
        CHECK_EQ(crew__deque_size_hint(&d), i - 1);
    }
    CHECK(crew__deque_pop(&d) == NULL);

    for (int i = 1; i <= 10; i++)
        CHECK_OK(crew__deque_push(&d, ITEM(i)));
    for (int i = 1; i <= 10; i++) {
        int lost = 7;
        CHECK_EQ(VAL(crew__deque_steal(&d, &lost)), i);
        CHECK_EQ(lost, 0);
        CHECK_EQ(crew__deque_size_hint(&d), 10 - i);
    }
    int lost = 7;
    CHECK(crew__deque_steal(&d, &lost) == NULL);
    CHECK_EQ(lost, 0);

    /* Both ends at once: steal takes from the old end, pop from the new. */
    for (int i = 1; i <= 6; i++)
        CHECK_OK(crew__deque_push(&d, ITEM(i)));
    CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), 1);
    CHECK_EQ(VAL(crew__deque_pop(&d)), 6);
    CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), 2);
    CHECK_EQ(VAL(crew__deque_pop(&d)), 5);
    CHECK_EQ(VAL(crew__deque_pop(&d)), 4);
    CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), 3);
    CHECK(crew__deque_pop(&d) == NULL);
    CHECK(crew__deque_steal(&d, NULL) == NULL);
    crew__deque_destroy(&d);
}

/* Growth from capacity 1 and from a ring whose live range wraps around. */
static void test_growth(void)
{
    crew__deque d;
    CHECK_OK(crew__deque_init(&d, 0));
    CHECK_EQ(crew__deque_capacity(&d), 1);
    const int n = 5000;
    for (int i = 1; i <= n; i++)
        CHECK_OK(crew__deque_push(&d, ITEM(i)));
    CHECK_EQ(crew__deque_size_hint(&d), n);
    CHECK(crew__deque_capacity(&d) >= n);
    CHECK_EQ(crew__deque_capacity(&d), 8192);
    for (int i = 1; i <= n / 2; i++)
        CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), i);
    for (int i = n; i > n / 2; i--)
        CHECK_EQ(VAL(crew__deque_pop(&d)), i);
    CHECK(crew__deque_pop(&d) == NULL);
    crew__deque_destroy(&d);

    /* Capacity 4; move top to 3 so the live range wraps, then grow twice. */
    CHECK_OK(crew__deque_init(&d, 2));
    for (int i = 1; i <= 3; i++)
        CHECK_OK(crew__deque_push(&d, ITEM(100 + i)));
    for (int i = 1; i <= 3; i++)
        CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), 100 + i);
    for (int i = 1; i <= 4; i++) /* indices 3..6: slots 3,0,1,2 */
        CHECK_OK(crew__deque_push(&d, ITEM(i)));
    CHECK_EQ(crew__deque_capacity(&d), 4);
    for (int i = 5; i <= 13; i++)
        CHECK_OK(crew__deque_push(&d, ITEM(i)));
    CHECK_EQ(crew__deque_capacity(&d), 16);
    CHECK_EQ(crew__deque_size_hint(&d), 13);
    CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), 1);
    CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), 2);
    CHECK_EQ(VAL(crew__deque_pop(&d)), 13);
    for (int i = 3; i <= 12; i++)
        CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), i);
    CHECK(crew__deque_steal(&d, NULL) == NULL);
    CHECK(crew__deque_pop(&d) == NULL);
    /* The ring never shrinks. */
    CHECK_EQ(crew__deque_capacity(&d), 16);
    crew__deque_destroy(&d);
}

/* Random push/pop/steal against a reference model: an array with a head
 * (steal end) and a tail (pop end). */
static void test_model(void)
{
    enum { MAXN = 1 << 16 };
    static long long model[MAXN];
    long long head = 0, tail = 0, next = 1;
    crew__deque d;
    CHECK_OK(crew__deque_init(&d, 1));
    int failures_before = atomic_load(&check_failures_);
    for (int op = 0; op < 200000 && atomic_load(&check_failures_) == failures_before; op++) {
        uint64_t r = rng_next();
        /* Bias toward push in some phases and toward taking in others, so the
         * size wanders between empty and a few thousand. */
        int push_bias = ((op / 5000) % 2) ? 6 : 4;
        unsigned k = (unsigned)(r % 10);
        if (k < (unsigned)push_bias && tail < MAXN) {
            CHECK_OK(crew__deque_push(&d, ITEM(next)));
            model[tail++] = next++;
        } else if (k % 2 == 0) {
            void *p = crew__deque_pop(&d);
            if (head == tail) {
                CHECK(p == NULL);
            } else {
                CHECK_EQ(VAL(p), model[--tail]);
            }
        } else {
            int lost = 7;
            void *p = crew__deque_steal(&d, &lost);
            CHECK_EQ(lost, 0); /* nobody to lose a race to */
            if (head == tail) {
                CHECK(p == NULL);
            } else {
                CHECK_EQ(VAL(p), model[head++]);
            }
        }
        CHECK_EQ(crew__deque_size_hint(&d), tail - head);
        if (head == tail) /* keep the model's indices small */
            head = tail = 0;
    }
    crew__deque_destroy(&d);
}

/* Many init/destroy cycles, with growth and with items left inside: ASan's
 * leak checker sees any ring destroy forgets. */
static void test_cycles(void)
{
    for (int c = 0; c < 2000; c++) {
        crew__deque d;
        CHECK_OK(crew__deque_init(&d, (unsigned)(c % 5)));
        int n = (int)(rng_next() % 300);
        for (int i = 1; i <= n; i++)
            CHECK_OK(crew__deque_push(&d, ITEM(i)));
        int pops = (int)(rng_next() % (unsigned)(n + 1));
        for (int i = 0; i < pops; i++)
            CHECK_EQ(VAL(crew__deque_pop(&d)), n - i);
        if (c % 3 == 0 && pops < n)
            CHECK_EQ(VAL(crew__deque_steal(&d, NULL)), 1);
        crew__deque_destroy(&d);
    }
    /* Re-initialising a destroyed deque works. */
    crew__deque d;
    CHECK_OK(crew__deque_init(&d, 1));
    crew__deque_destroy(&d);
    CHECK_OK(crew__deque_init(&d, 1));
    CHECK_OK(crew__deque_push(&d, ITEM(9)));
    CHECK_EQ(VAL(crew__deque_pop(&d)), 9);
    crew__deque_destroy(&d);
}

/* A heap-allocated deque must be 64-byte aligned (see deque.h). */
static void test_heap(void)
{
    crew__deque *d = aligned_alloc(_Alignof(crew__deque), sizeof(crew__deque));
    CHECK(d != NULL);
    if (d == NULL)
        return;
    CHECK_OK(crew__deque_init(d, 2));
    for (int i = 1; i <= 100; i++)
        CHECK_OK(crew__deque_push(d, ITEM(i)));
    CHECK_EQ(VAL(crew__deque_steal(d, NULL)), 1);
    CHECK_EQ(VAL(crew__deque_pop(d)), 100);
    crew__deque_destroy(d);
    free(d);
}

int main(void)
{
    CHECK(_Alignof(crew__deque) == 64);
    test_bad_args();
    test_empty();
    test_lifo_fifo();
    test_growth();
    test_model();
    test_cycles();
    test_heap();
    return check_exit("test_deque");
}
