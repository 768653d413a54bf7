/* fault_queue_move.c - crew_queue_set_maxsize on the lock-free ring when the
 * move to the locked store cannot allocate: CREW_ENOMEM, and the queue is
 * exactly as it was (bound, items, order); the same call succeeds once
 * memory is back.  Both bounds that need the move are tried: 0 (unbounded)
 * and one above the ring's size. */
#include "check.h"
#include "base/fault.h"
#include "support.h"

static void one(size_t new_max)
{
    crew_queue_options o;
    crew_queue_options_init(&o);
    o.maxsize = 8; /* a lock-free ring of 8 slots */
    crew_queue *q;
    CHECK_OK(crew_queue_create(&q, &o));
    for (intptr_t i = 0; i < 5; i++)
        CHECK_OK(crew_queue_put(q, (void *)(i + 1)));
    crew__fault_arm_from(CREW__FAULT_ALLOC, 1);
    CHECK_RC(crew_queue_set_maxsize(q, new_max), CREW_ENOMEM);
    crew__fault_arm(0, 0);
    /* Unchanged: still bounded by 8, the five items in order. */
    CHECK_EQ(crew_queue_maxsize(q), 8);
    CHECK_EQ(crew_queue_size(q), 5);
    for (intptr_t i = 5; i < 8; i++)
        CHECK_OK(crew_queue_put(q, (void *)(i + 1)));
    CHECK_RC(crew_queue_try_put(q, (void *)99), CREW_EFULL);
    for (intptr_t i = 0; i < 8; i++) {
        void *x = NULL;
        CHECK_OK(crew_queue_try_get(q, &x));
        CHECK_EQ((intptr_t)x, i + 1);
    }
    /* With memory back the move happens and the new bound holds. */
    CHECK_OK(crew_queue_put(q, (void *)1));
    CHECK_OK(crew_queue_set_maxsize(q, new_max));
    CHECK_EQ(crew_queue_maxsize(q), new_max);
    size_t room = new_max ? new_max - 1 : 100;
    for (size_t i = 0; i < room; i++)
        CHECK_OK(crew_queue_try_put(q, (void *)(intptr_t)(i + 2)));
    if (new_max)
        CHECK_RC(crew_queue_try_put(q, (void *)99), CREW_EFULL);
    for (size_t i = 0; i < room + 1; i++) {
        void *x = NULL;
        CHECK_OK(crew_queue_try_get(q, &x));
        CHECK_EQ((intptr_t)x, (intptr_t)i + 1);
    }
    CHECK_OK(crew_queue_destroy(q));
}

int main(void)
{
    one(0);
    one(20);
    return check_exit("fault_queue_move");
}
