#!/usr/bin/env python3
"""Writes the hand-written seed programs of tests/fuzz/corpus/ from the
readable descriptions below (the byte layout is documented in README.md and
in the targets).  The seeds are committed; run this again only after editing
a description or the program layout:

    python3 tests/fuzz/make_seeds.py

FUZZ_TRACE=1 build/plain/tests/fuzz/fuzz_queue_replay tests/fuzz/corpus/fuzz_queue
prints each seed as the target reads it.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- fuzz_queue ------------------------------------------------------------
# configuration byte: kind = c % 3 (fifo, lifo, priority),
#                     maxsize = [0, 0, 1, 2, 3, 4, 5, 8][(c // 3) % 8]
Q_SIZES = [0, 0, 1, 2, 3, 4, 5, 8]
Q_KIND = {"fifo": 0, "lifo": 1, "priority": 2}
(Q_PUT, Q_PUT2, Q_PUT_MANY, Q_GET, Q_GET_MANY, Q_TASK_DONE, Q_JOIN, Q_SHUTDOWN,
 Q_DESTROY, Q_BAD, Q_SET_MAXSIZE) = range(11)
# set_maxsize's argument byte picks from [0, 1, 2, 3, 4, 5, 8, 100]
Q_NEW_SIZES = [0, 1, 2, 3, 4, 5, 8, 100]


def set_maxsize(n):
    return [Q_SET_MAXSIZE, Q_NEW_SIZES.index(n)]


def qconf(kind, maxsize):
    return [Q_KIND[kind] + 3 * Q_SIZES.index(maxsize)]


def put(form, prio=0, timeout=None):
    # form: 0 put, 1 try_put, 2 put_timed, 3 put_until; the timeout byte is
    # read only by the timed forms, and only when the model says the put
    # would block
    return [Q_PUT, form, prio] + ([] if timeout is None else [timeout])


def get(form, timeout=None):
    return [Q_GET, form] + ([] if timeout is None else [timeout])


QUEUE_SEEDS = {
    # a ring: fill, overflow in every form, drain, task_done, join
    "ring-fill-drain": qconf("fifo", 4)
    + put(0, 0) + put(0, 0) + put(1, 0) + put(2, 0)
    + put(1)                 # try_put on full: EFULL
    + put(2, 0, 5)           # put_timed on full: a microsecond, ETIMEDOUT
    + put(0)                 # put on full: the model uses put_timed 0
    + get(0) + get(1) + get(2) + get(3)
    + get(1)                 # try_get on empty: EEMPTY
    + get(3, 6)              # get_until on empty: a few microseconds
    + [Q_TASK_DONE] * 5      # the fifth is ETOOMANY
    + [Q_JOIN, 0],
    # priorities with ties, taken one by one and in a batch
    "priority-ties": qconf("priority", 0)
    + put(0, 3) + put(0, 1) + put(0, 3) + put(0, 1) + put(0, 0)
    + [Q_PUT_MANY, 0, 4, 2, 2, 0, 7]
    + get(1) + [Q_GET_MANY, 1, 8] + get(0)
    + [Q_JOIN, 1, 0],        # 9 unfinished: join_timed 0 times out
    # a bounded lifo: put_many cut short by the bound, then an immediate
    # shutdown drops the rest
    "lifo-shutdown-immediate": qconf("lifo", 3)
    + [Q_PUT_MANY, 1, 5, 0, 0, 0, 0, 0]
    + get(0)
    + [Q_SHUTDOWN, 1]
    + put(0) + get(1) + [Q_JOIN, 1, 0],
    # a plain shutdown: gets drain what is left, then ESHUTDOWN; destroy
    # with items left drops them; a new queue (maxsize 1: the locked fifo)
    "shutdown-plain-destroy": qconf("fifo", 0)
    + put(0) + put(0) + put(0)
    + [Q_SHUTDOWN, 0]
    + put(1) + get(0) + [Q_GET_MANY, 0, 1] + get(1)
    + [Q_DESTROY] + qconf("fifo", 1)
    + put(0) + put(1) + get(3) + [Q_TASK_DONE] * 2,
    # every bad-argument group
    "bad-arguments": qconf("fifo", 2) + put(0)
    + sum(([Q_BAD, k] + ([50] if k == 7 else []) for k in range(12)), []),
    # a ring of 2 lapped many times with batches
    # a ring of 4 holding 3: shrunk below its size in place (puts fail,
    # gets bring it under), grown back, then unbounded (the move to the
    # locked store, items kept in order), then bounded again
    "ring-set-maxsize": qconf("fifo", 4)
    + put(0) + put(0) + put(0)
    + set_maxsize(2) + put(1) + get(1) + put(1) + get(1) + get(1) + put(1)
    + set_maxsize(4) + put(1) + put(1) + put(1)
    + set_maxsize(0) + put(0) + put(0) + [Q_GET_MANY, 1, 8]
    + set_maxsize(1) + put(0) + put(1) + [Q_SHUTDOWN, 0] + set_maxsize(3)
    + get(1) + get(1),
    # the locked kinds: a priority queue shrunk, then grown
    "priority-set-maxsize": qconf("priority", 3)
    + put(0, 2) + put(0, 1) + put(0, 2) + set_maxsize(1) + put(1, 0)
    + get(0) + get(0) + put(1, 0) + get(0) + put(1, 3) + set_maxsize(100)
    + put(0, 0) + [Q_GET_MANY, 1, 8],
    "ring-laps": qconf("fifo", 2)
    + sum(([Q_PUT_MANY, 0, 2, 0, 0, Q_GET_MANY, 2, 3, Q_TASK_DONE, Q_TASK_DONE]
           for _ in range(12)), [])
    + [Q_JOIN, 2],
}

# ---- fuzz_pool ---------------------------------------------------------------
(P_SUBMIT, P_SUBMIT2, P_SUBMIT3, P_CANCEL, P_WAIT, P_RESULT, P_RESULT2, P_RELEASE,
 P_CALLBACK, P_CREW_WAIT, P_AS_COMPLETED, P_OPEN_GATE, P_GROUP, P_GROUP2, P_PFOR, P_MAP,
 P_SHUTDOWN, P_DESTROY, P_STATS, P_SIDE_CANCEL, P_BAD, P_WAIT_RUNNING) = range(22)
K_OK, K_FAIL, K_GATE, K_WAITER, K_SPAWNER = range(5)
CLEANUP, DETACHED, SLOW_CLEANUP, CHILD_FAILS, CHILD_CLEANUP, PLAIN_SUBMIT, SLOW = (
    1, 2, 4, 8, 16, 32, 64)


def pool(workers=2, idle=0):
    # the byte read when a pool is needed: workers = 1 + b % 3,
    # idle timeout = [never, never, never, 10 s, 1 ms, 100 us, 1 us, never][(b // 3) % 8]
    return [(workers - 1) + 3 * idle]


def submit(kind, flags=0, gate=0, wait=0, target=None):
    # kind byte: kind % 5, gate = (kind // 5) % 4, waiter timeout = (kind // 20) % 4
    b = [P_SUBMIT, kind + 5 * gate + 20 * wait, flags]
    if kind == K_WAITER:
        b.append(target)  # the task (index) whose future it waits on
    return b


POOL_SEEDS = {
    # submit, results in every form, cancel of a queued task behind a gate
    "submit-result-cancel": [P_SUBMIT] + pool(1) + [K_GATE, CLEANUP]
    + submit(K_OK) + submit(K_FAIL, CLEANUP) + submit(K_OK, CLEANUP)
    + [P_CANCEL, 3]                     # task 3 waits behind the gate: cancelled
    + [P_RESULT, 1, 2, 2]               # result_timed
    + [P_OPEN_GATE, 0]
    + [P_RESULT, 1, 0] + [P_RESULT, 2, 0] + [P_RESULT, 3, 1]
    + [P_WAIT, 0, 0] + [P_RELEASE, 1, 1] + [P_STATS],
    # done callbacks of every flavour, crew_wait and as_completed
    "callbacks-wait-as-completed": [P_SUBMIT] + pool(2) + [K_GATE, 0]
    + submit(K_OK) + submit(K_FAIL) + submit(K_OK, CLEANUP)
    + [P_CALLBACK, 0, 0] + [P_CALLBACK, 1, 2, 0] + [P_CALLBACK, 2, 3, 3]
    + [P_CALLBACK, 3, 1]
    + [P_CREW_WAIT, 0x0f, 0, 0, 0, 1] + [P_AS_COMPLETED, 0x8f, 0, 0, 0]
    + [P_OPEN_GATE, 0]
    + [P_CREW_WAIT, 0x0f, 0, 2, 1] + [P_AS_COMPLETED, 0x07, 1, 1, 0],
    # waiters and spawners: helping waits, children submitted from workers
    "waiters-spawners": [P_SUBMIT] + pool(1) + [K_OK, 0]
    + submit(K_WAITER, 0, wait=2, target=0)
    + submit(K_SPAWNER, CHILD_FAILS | CHILD_CLEANUP)
    + submit(K_SPAWNER, DETACHED)
    + submit(K_WAITER, SLOW, wait=1, target=1)
    + [P_RESULT, 1, 0] + [P_RESULT, 4, 0] + [P_DESTROY, 0],
    # groups: jobs that succeed, fail, fork-join; cancel; parallel_for; map
    "groups-pfor-map": [P_GROUP] + pool(2) + [0, 1, 0]      # init + spawn ok
    + [P_GROUP, 0, 1, 2] + [P_GROUP, 0, 2, 2 + 8 * 3]       # nested, nested isolated
    + [P_GROUP, 0, 3]                                         # wait
    + [P_GROUP, 1, 1, 0] + [P_GROUP, 1, 1, 1] + [P_GROUP, 1, 4]  # a failing job
    + [P_GROUP, 0, 0] + [P_GROUP, 0, 5] + [P_GROUP, 0, 1, 0] + [P_GROUP, 0, 3]  # cancel
    + [P_PFOR, 1, 100, 1, 3, 1] + [P_PFOR, 2, 57, 3, 0, 0, 20]
    + [P_MAP, 7 + 13 * 2, 0x20, 0, 1, 0]          # map_all, item 5 fails
    # iterated, blocking, 6 items consumed, shutdown(cancel) before the 4th
    + [P_MAP, 10 + 13 * 1, 0, 0, 3, 1, 0, 6, 24 | 4],
    # shutdown with cancel_pending behind a gate, submits after it, destroy
    "shutdown-cancel": [P_SUBMIT] + pool(1) + [K_GATE, CLEANUP]
    + [P_WAIT_RUNNING, 0]               # the worker is in the gated task
    + submit(K_OK, CLEANUP) + submit(K_OK) + submit(K_FAIL, CLEANUP | DETACHED)
    + submit(K_OK, DETACHED)
    + [P_SHUTDOWN, 2] + submit(K_OK, CLEANUP) + [P_STATS]
    + [P_OPEN_GATE, 0] + [P_SHUTDOWN, 1] + [P_DESTROY, 2]
    + [P_SUBMIT] + pool(1) + [K_OK, 0] + [P_RESULT, 0, 0],
    # short idle timeouts: workers retire between submits
    "idle-retire": [P_SUBMIT] + pool(2, idle=4) + [K_OK, 0]
    + [P_WAIT, 0, 1, 3] + submit(K_FAIL, DETACHED) + submit(K_OK)
    + [P_RESULT, 1, 2, 3] + [P_STATS] + [P_BAD, 0] + [P_BAD, 1] + [P_BAD, 2, 0]
    + [P_BAD, 3] + [P_BAD, 4] + [P_BAD, 5] + [P_BAD, 6] + [P_BAD, 7],
}


# Failing programs (tests/fuzz/regress/): each reproduces a bug of crew's
# library found by the fuzzer, written down by hand in the final layout so it
# fails as often as possible.  Inputs saved by libFuzzer itself are kept next
# to them as they were found.
POOL_REGRESS = {
    # issue 11 bug 7: grain 0 over a range of SIZE_MAX indexes gives grain 1
    "bug7-parallel-for-grain0-near-SIZE_MAX": [P_PFOR] + pool(1) + [0, 0, 0],
    # issue 11 bug 4 (with CREW_NO_MEMBARRIER=1, as the clang stage runs):
    # the worker is busy, a group job from outside and futures with slow
    # cleanups wait in the injection queue, shutdown(cancel_pending) strands
    # the job: the final group wait hangs
    "bug4-shutdown-cancel-strands-group-job": [P_SUBMIT] + pool(1) + [K_OK, SLOW]
    + [P_WAIT_RUNNING, 0]
    + [P_GROUP, 0, 1, 0]
    + submit(K_OK, CLEANUP | SLOW_CLEANUP) * 3
    + [P_SHUTDOWN, 2],
    # issue 11 bug 1: a side thread cancels a queued task with a slow cleanup;
    # the program waits until the task is CANCELLED (the cleanup is running),
    # then destroys the pool without joining the side thread: the cancel
    # writes to the freed pool (ASan: heap-use-after-free in
    # crew_future_cancel)
    "bug1-cancel-races-pool-destroy": [P_SUBMIT] + pool(1) + [K_GATE, 0]
    + [P_WAIT_RUNNING, 0]
    + submit(K_OK, CLEANUP | SLOW_CLEANUP)
    + [P_SIDE_CANCEL, 1] + [P_WAIT_RUNNING, 1]
    + [P_DESTROY, 4],
    # issue 11 bug 6: the first submit to a fresh pool whose idle timeout is
    # 1 us starts a worker that may retire before the submit re-checks: now
    # and then CREW_ETHREAD, though no thread creation failed
    "bug6-spurious-ETHREAD": sum(([P_SUBMIT] + pool(workers, idle=6)
                                  + [K_OK, CLEANUP | DETACHED] + [P_DESTROY, 0]
                                  for workers in (1, 2, 3) * 20), []),
    # shutdown(cancel_pending) returns while tasks taken by a worker in a
    # batch are still PENDING; the worker cancels them later and runs their
    # cleanups itself (pool.h: in the calling thread)
    "new-shutdown-cancel-returns-with-pending-futures": [P_SUBMIT] + pool(1) + [K_OK, SLOW]
    + submit(K_OK, CLEANUP) * 12
    + [P_WAIT_RUNNING, 0] + [P_SHUTDOWN, 2],
}


def write(target, seeds, where="corpus"):
    d = os.path.join(HERE, where, target)
    os.makedirs(d, exist_ok=True)
    for name, prog in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes(b & 0xff for b in prog))


if __name__ == "__main__":
    write("fuzz_queue", QUEUE_SEEDS)
    write("fuzz_pool", POOL_SEEDS)
    write("fuzz_pool", POOL_REGRESS, "regress")
