/* fault_map_start.c - crew_map_create is all or nothing (issue 11, bug 5).
 *
 * crew_map_create submits its first chunks one by one.  If a later one
 * cannot be submitted (here: the N-th allocation fails, for every N until
 * a run sees no failure), create returns the error, and fn must not have
 * run on any input: the chunks already submitted wait at the map's start
 * gate and see it aborted.  When create succeeds, every item comes back
 * once with its own result. */
#include "check.h"
#include "base/fault.h"
#include "support.h"

enum { N = 40 };
static atomic_int calls;

static int task_record(void *arg, void **result)
{
    atomic_fetch_add(&calls, 1);
    *result = arg;
    return 0;
}

int main(void)
{
    static void *in[N];
    for (int i = 0; i < N; i++)
        in[i] = P(i + 1);
    crew_map_options o = {2, 6}; /* 20 chunks, 6 submitted at create */
    int failures = 0;
    crew__fault_fail_delay(2000); /* the chunks queued before a failure run */
    for (uint64_t n = 1;; n++) {
        crew_pool *p = make_pool(2);
        atomic_store(&calls, 0);
        crew_map *m = NULL;
        crew__fault_arm(CREW__FAULT_ALL, n);
        int rc = crew_map_create(&m, p, task_record, in, N, &o);
        bool fired = crew__fault_fired();
        crew__fault_arm(0, 0);
        if (rc != 0) {
            failures++;
            CHECK(fired);
            CHECK(rc == CREW_ENOMEM || rc == CREW_ETHREAD);
            CHECK_EQ(atomic_load(&calls), 0); /* nothing ran */
        } else {
            for (int i = 0; i < N; i++) {
                size_t idx;
                void *r;
                int irc = crew_map_next(m, &idx, &r, NULL);
                /* A chunk submitted by map_next may meet the failure. */
                CHECK(irc == 0 || irc == CREW_ENOMEM);
                CHECK_EQ(idx, i);
                if (irc == 0)
                    CHECK(r == in[i]);
            }
            CHECK_RC(crew_map_next(m, NULL, NULL, NULL), CREW_EEMPTY);
            CHECK_OK(crew_map_destroy(m));
        }
        CHECK_OK(crew_pool_destroy(p));
        if (!fired)
            break;
    }
    CHECK(failures > 2); /* the sweep reached the later chunks */
    return check_exit("fault_map_start");
}
