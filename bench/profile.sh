#!/usr/bin/env bash
# bench/profile.sh - where crew's time goes on W1 and W9 (docs/BENCHMARKS.md,
# "Where the time goes").  Not part of make check or run.sh: run by hand.
#
#   bench/profile.sh [w1|w9|all]      (default all; about 2 minutes on 2 cores)
#
# Builds crew as run.sh does (build/profile, RelWithDebInfo) with the bench
# programs, then prints, per workload, a table of parts (groups of functions):
#  - instructions per task/node from callgrind, each the difference of two
#    sizes over the difference in tasks (start-up and shutdown cancel out);
#    one worker (BENCH_THREADS=1), W1 in bursts of 256 as in run.sh; oneTBB
#    under `taskset -c 0` (its arena then has one slot);
#  - CPU time per task/node by part, natively with P workers, from
#    `perf record -e cpu-clock` samples (a software clock: works without
#    hardware counters) and the wall time of the same run;
#  - with `perf probe` (uprobes, root): steals, parks and blocking waits.
# Needs valgrind and linux-perf; skips what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
B=build/profile
OUT=$B/out
mkdir -p "$OUT"
CFLAGS="-O2 -g -std=c11 -Wall -Wextra -pthread"
CXXFLAGS="-O2 -g -Wall -Wextra -pthread"

echo "== CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
    "family $(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
    "model $(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREW_BUILD_TESTS=OFF \
    -DCREW_BUILD_EXAMPLES=OFF >"$OUT/build.log"
cmake --build "$B" -j2 --target crew_static >>"$OUT/build.log"
gcc $CFLAGS -Iinclude -o "$B/crew_pool" bench/crew_pool.c "$B/libcrew.a" -lm
gcc $CFLAGS -o "$B/floors" bench/floors.c -lm
g++ $CXXFLAGS -o "$B/tbb_group" bench/tbb_group.cpp -ltbb

have_cg=1; command -v valgrind >/dev/null || have_cg=0
have_perf=1; perf record -q -e cpu-clock -o /dev/null true >/dev/null 2>&1 || have_perf=0

# ---- helpers -----------------------------------------------------------------
# cg PREFIX [VAR=value | wrapper...] -- command...: callgrind, one file per
# thread; fails unless the program checked its result (check=ok)
cg() {
    local pre=$1; shift
    local pre_cmd=()
    while [ "$1" != "--" ]; do pre_cmd+=("$1"); shift; done
    shift
    rm -f "$pre".*
    env "${pre_cmd[@]}" valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes \
        --callgrind-out-file="$pre.%p" "$@" >"$pre.log" 2>&1
    grep -q 'check=ok' "$pre.log" || { echo "profile.sh: $* failed (see $pre.log)" >&2; exit 1; }
}
# parts.py: the grouping of functions into parts and the arithmetic.
PARTS=$OUT/parts.py
cat >"$PARTS" <<'EOF'
import collections, glob, os, re, subprocess, sys

# Part of each function, by workload; first match wins ("file:function" for
# callgrind, where file is where inlined code came from; "function" for perf).
PARTS = {
 "W1": [
  (r"crew_pool\.c:main|^main$", "bench loop (submit call, burst check)"),
  (r"ring_wait_space", "submitter: waiting for ring space (flow control)"),
  (r"crew_pool_submit|crew__pool_forked", "submitter: API entry (checks, fork check, dispatch)"),
  (r"push_inline|push_outside|subring_push", "submitter: ring push + notify check"),
  (r"crew__block_alloc|link_task|inject_push", "submitter: overflow path (blocks, queue)"),
  (r"inc_task", "task body (one atomic increment)"),
  (r"batch_fill|crew_now_ns|clock_gettime|batch_published|pool_notify", "worker: ring -> batch fill (+ timing, notify)"),
  (r"batch_take", "worker: take from own batch"),
  (r"find_work|take_submitted|take_inject|inject_try_pop|deque_pop|steal", "worker: find work (queues looked at)"),
  (r"run_detached|run_task|inline_run|future_run|block_free", "worker: run + completion count"),
  (r"worker_main|backoff|sched_yield|futex|work_visible", "worker: loop, idle spinning, parking"),
 ],
 "W9": [
  (r"uts|bench_|floors", "the node's own work (hash, child count, sum)"),
  (r"group_spawn|spawn_|deque_push|deque_try_push", "spawn: block from the worker's list, job set-up, deque push, wake check (inline)"),
  (r"pool_notify|wake_one", "wake-up path, when a worker is parked or blocked"),
  (r"block_alloc|block_free|refill|crew__block", "task blocks from the allocator (list empty or full)"),
  (r"group_wait|wait_step|wait_block|job_run|deque_pop|find_work|run_task|wait_word", "wait: pop + run own jobs inline, other work (helping)"),
  (r"group_init", "group init"),
  (r"steal", "steal"),
  (r"worker_main|futex|backoff|sched_yield|work_visible", "idle: spin, park"),
 ],
 "TBB": [
  (r"execute|^uts|:uts|bench_", "the node's own work + lambda (user code)"),
  (r"r1::spawn", "spawn"),
  (r"r1::wait|notify|cancelled", "wait (r1::wait, notify)"),
  (r"allocate", "task allocate + deallocate"),
  (r"getspecific", "pthread_getspecific (thread data lookups)"),
  (r"initialize|destroy|itt_make|reset", "task_group_context init/destroy"),
  (r"\?\?\?|0x0", "other libtbb internals (no symbol)"),
 ],
}

def part(table, key):
    for rx, name in PARTS[table]:
        if re.search(rx, key):
            return name
    return "other" if key else "kernel (scheduler, syscalls)"

def cg_load(f):
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no",
                          "--threshold=100", f], capture_output=True, text=True).stdout
    d = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*?)(?:\s+\[/.*\])?$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        key = re.sub(r"\s*\([\d,]+x\)$", "", m.group(2))
        if ":" not in key:
            continue
        fl, fn = key.split(":", 1) if not key.startswith("???") else ("???", key[4:])
        fn = re.sub(r"'\d+$", "", fn)
        d[os.path.basename(fl) + ":" + fn] += int(m.group(1).replace(",", ""))
    return d

def cg_side(pre):
    fs = sorted(glob.glob(pre + ".*-*")) or sorted(glob.glob(pre + ".[0-9]*"))
    first, rest = collections.Counter(), collections.Counter()
    for i, f in enumerate(fs):
        (first if i == 0 else rest).update(cg_load(f))
    return first, rest

def table(title, rows, unit):
    tot = sum(v for _, v in rows)
    print(f"-- {title}: {tot:.1f} {unit}")
    for name, v in sorted(rows, key=lambda r: -r[1]):
        if abs(v) >= 0.05 * max(1, abs(tot)) / 5:
            print(f"   {v:8.1f} {100 * v / tot if tot else 0:5.1f}%  {name}")

def cmd_cg(tab, a, b, na, nb, split):
    (fa, ra), (fb, rb) = cg_side(a), cg_side(b)
    sides = [("first thread", fa, fb), ("other threads", ra, rb)] if split else \
            [("all threads", fa + ra, fb + rb)]
    for label, da, db in sides:
        per = collections.Counter()
        for k in set(da) | set(db):
            per[part(tab, k)] += (db[k] - da[k]) / (nb - na)
        if abs(sum(per.values())) >= 0.5:
            table(f"{label}, instructions per item", list(per.items()), "instr")
    if os.environ.get("PROFILE_FUNCS"):
        per = collections.Counter()
        for k in set(fa + ra) | set(fb + rb):
            per[k] = ((fb + rb)[k] - (fa + ra)[k]) / (nb - na)
        for k, v in per.most_common(25):
            print(f"      {v:8.1f}  {k[:110]}")

def cmd_perf(tab, data, n, hz, wall_ns):
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "-n",
                          "--sort", "comm,sym"], capture_output=True, text=True).stdout
    by_thread = collections.defaultdict(collections.Counter)
    for line in out.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\S+)\s+\[([.k])\]\s+(.*?)\s*$", line)
        if not m:
            continue
        samples, comm, where, sym = int(m.group(1)), m.group(2), m.group(3), m.group(4)
        key = sym if where == "." else ""
        by_thread[comm][part(tab, key)] += samples * 1e9 / hz / n
    total = sum(sum(c.values()) for c in by_thread.values())
    print(f"-- CPU time per item, all threads: {total:.1f} ns (wall {wall_ns:.1f} ns per item:"
          f" {total / wall_ns:.2f} CPUs busy)")
    for comm, c in sorted(by_thread.items(), key=lambda kv: -sum(kv[1].values())):
        table(f"thread {comm}, CPU ns per item", list(c.items()), "ns")

if __name__ == "__main__":
    if sys.argv[1] == "cg":
        cmd_cg(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
               sys.argv[7] == "split")
    else:
        cmd_perf(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
EOF

value() { sed -n "s/.*metric=$1 value=\([0-9.]*\).*/\1/p" "$2" | head -1; }
# perf_parts TABLE N metric HZ -- command...: native profile by part.  Low
# sampling rates: at 20 kHz the timer interrupts (VM exits in a guest) slow
# W1 down by half; at 1-2 kHz wall times match unprofiled runs.
perf_parts() {
    local tab=$1 n=$2 metric=$3 HZ=$4; shift 5
    perf record -q -e cpu-clock -F $HZ -o "$OUT/perf.data" "$@" >"$OUT/perf.out" 2>/dev/null
    local wall; wall=$(value "$metric" "$OUT/perf.out")
    python3 "$PARTS" perf "$tab" "$OUT/perf.data" "$n" "$HZ" "$wall"
}
# probes BINARY -- command...: steals, parks, blocking waits (uprobes)
probes() {
    local bin=$1; shift 2
    local g; g=probe_$(basename "$bin")
    perf probe -q -d "$g:*" >/dev/null 2>&1 || true
    if ! perf probe -q -x "$bin" -a 'steal=crew__deque_steal%return $retval' \
        -a 'futexwait=crew__futex_wait' -a 'waitword=crew__wait_word' >/dev/null 2>&1; then
        echo "-- (perf probe unavailable: no steal/park counts)"
        return
    fi
    perf record -q -e "$g:steal__return,$g:futexwait,$g:waitword" -o "$OUT/probe.data" "$@" \
        >/dev/null 2>&1
    perf script -i "$OUT/probe.data" 2>/dev/null | awk '
        /steal__return/ { tries++; if ($NF != "arg1=0x0") ok++ }
        /futexwait/ { fw++ }  /waitword/ { ww++ }
        END { printf "-- steal attempts %d, successful %d; futex waits (parks + blocked waits) %d; crew__wait_word calls %d\n", tries, ok, fw, ww }'
    perf probe -q -d "$g:*" >/dev/null 2>&1 || true
}

# ---- W1 ----------------------------------------------------------------------
if [ "$what" = all ] || [ "$what" = w1 ]; then
    echo "== W1: detached submits from one thread"
    if [ $have_cg = 1 ]; then
        echo "callgrind, one worker, bursts of 256 (first thread: the submitter; other: the worker)"
        cg "$OUT/w1a" BENCH_THREADS=1 -- "$B/crew_pool" W1 50000 256
        cg "$OUT/w1b" BENCH_THREADS=1 -- "$B/crew_pool" W1 250000 256
        python3 "$PARTS" cg W1 "$OUT/w1a" "$OUT/w1b" 50000 250000 split
    fi
    if [ $have_perf = 1 ]; then
        echo "native, $(nproc) workers, N = 40,000,000, perf cpu-clock samples at 1 kHz"
        perf_parts W1 40000000 ns_per_task 1000 -- "$B/crew_pool" W1 40000000
        echo "native, 1 worker, N = 40,000,000"
        BENCH_THREADS=1 perf_parts W1 40000000 ns_per_task 1000 -- "$B/crew_pool" W1 40000000
        echo "native, $(nproc) workers, N = 4,000,000, uprobes"
        probes "$B/crew_pool" -- "$B/crew_pool" W1 4000000
    fi
fi

# ---- W9 ----------------------------------------------------------------------
if [ "$what" = all ] || [ "$what" = w9 ]; then
    echo "== W9: unbalanced tree search, a task per node (depth caps 7 and 9: 15,495 and 251,613 nodes)"
    if [ $have_cg = 1 ]; then
        echo "callgrind, crew, one worker"
        cg "$OUT/w9a" BENCH_THREADS=1 -- "$B/crew_pool" W9 7
        cg "$OUT/w9b" BENCH_THREADS=1 -- "$B/crew_pool" W9 9
        python3 "$PARTS" cg W9 "$OUT/w9a" "$OUT/w9b" 15495 251613 all
        echo "callgrind, sequential floor"
        cg "$OUT/w9sa" -- "$B/floors" W9 7
        cg "$OUT/w9sb" -- "$B/floors" W9 9
        python3 "$PARTS" cg W9 "$OUT/w9sa" "$OUT/w9sb" 15495 251613 all
        echo "callgrind, oneTBB, one arena slot (taskset -c 0)"
        cg "$OUT/w9ta" BENCH_THREADS=1 taskset -c 0 -- "$B/tbb_group" W9 7
        cg "$OUT/w9tb" BENCH_THREADS=1 taskset -c 0 -- "$B/tbb_group" W9 9
        python3 "$PARTS" cg TBB "$OUT/w9ta" "$OUT/w9tb" 15495 251613 all
    fi
    if [ $have_perf = 1 ]; then
        echo "native, depth cap 12 (16,154,912 nodes), perf cpu-clock samples at 2 kHz: crew"
        perf_parts W9 16154912 ns_per_node 2000 -- "$B/crew_pool" W9 12
        echo "native, depth cap 11 (4,038,775 nodes), uprobes: crew"
        probes "$B/crew_pool" -- "$B/crew_pool" W9 11
        echo "native, depth cap 12: oneTBB"
        perf_parts TBB 16154912 ns_per_node 2000 -- "$B/tbb_group" W9 12
        echo "native, depth cap 12: sequential floor"
        perf_parts W9 16154912 ns_per_node 2000 -- "$B/floors" W9 12
    fi
fi
