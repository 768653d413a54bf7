/* fault_shutdown_start.c - a submit that starts a thread for its own task
 * races with crew_pool_shutdown(wait): either the submit fails with
 * CREW_ESHUTDOWN and its task never runs, or it succeeds and its future is
 * done by the time shutdown returns (run, or cancelled by a shutdown with
 * cancel_pending).
 *
 * Found by stress_submit in the posix stage (issue 13's burst rule): a
 * submit through the injection queue (no membarrier, so no ring) checked
 * the flags, then started a thread for its task; shutdown ran in between,
 * found no thread to join and returned; the thread started after it, and
 * an accepted task ran after shutdown(wait) had returned.  The start now
 * checks the flags under the pool's lock, which shutdown takes once after
 * setting them.
 *
 * The submit sleeps 20 ms before it takes the lock (fault.h), shutdown
 * runs in that window.  Both ways of queueing from outside are tried: a
 * ring, and the injection queue (ctest runs it again with
 * CREW_NO_MEMBARRIER=1: fault_shutdown_start_inject). */
#include "check.h"
#include "base/fault.h"
#include "support.h"

#include <pthread.h>

static crew_pool *pool;
static atomic_int ran;
static int submit_rc;
static crew_future *fut;

static void *submitter(void *arg)
{
    (void)arg;
    submit_rc = crew_pool_submit(pool, task_count, &ran, &fut);
    return NULL;
}

static void one(bool cancel)
{
    atomic_store(&ran, 0);
    pool = make_pool(2); /* no thread yet: the submit starts one */
    crew__fault_pause_set(CREW__PAUSE_START, 20000);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, submitter, NULL), 0);
    nap_ms(5); /* the submit is in its sleep */
    fut = NULL;
    CHECK_OK(crew_pool_shutdown(pool, true, cancel));
    int ran_by_then = atomic_load(&ran);
    pthread_join(t, NULL);
    crew__fault_pause_set(CREW__PAUSE_START, 0);
    if (submit_rc == 0) {
        /* Accepted: shutdown waited for it (or cancelled it). */
        CHECK(crew_future_done(fut));
        int rc = crew_future_result(fut, NULL, NULL);
        CHECK(rc == 0 || (cancel && rc == CREW_ECANCELLED));
        CHECK_EQ(ran_by_then, rc == 0);
        crew_future_release(fut);
    } else {
        CHECK_RC(submit_rc, CREW_ESHUTDOWN);
        CHECK_EQ(ran_by_then, 0);
    }
    CHECK_OK(crew_pool_destroy(pool));
    CHECK_EQ(atomic_load(&ran), ran_by_then);
}

int main(void)
{
    for (int r = 0; r < 5; r++) {
        one(false);
        one(true);
    }
    return check_exit("fault_shutdown_start");
}
