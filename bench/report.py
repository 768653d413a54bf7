#!/usr/bin/env python3
"""bench/report.py - statistics, tables, CSV, charts and docs for bench/run.sh.

Reads the raw lines the benchmark programs printed (bench/README.md gives the
format): the pool workloads W1-W11 and floors F1-F2, the crew command's C1
(bench/c1/) and crew-remote's R1-R3 (bench/remote/).  Groups them by
(workload, metric, peer), checks every answer of W8-W11 against the
sequential floor's, and writes:
  - the tables on stdout: median, min and max per peer and crew's ratio to
    each peer (below 1: crew is better); for C1 and R1-R3 also each figure
    over its floor's; then the targets of issues 13 and 14 (pool), 15 (C1)
    and 16 (R1-R3) beside the measured figures;
  - OUT/results.csv (with the machine's CPU model and the targets);
  - OUT/ratios.png (gnuplot) with crew's ratio to each peer per workload, and
    OUT/c1-ratios.png with each C1 runner's time over the spawn floor's;
  - with --write-docs DIR: DIR/BENCHMARKS.md, DIR/bench-ratios.png and
    DIR/bench-c1-ratios.png.
Exits 1 if any check failed or any program failed.
"""
import argparse
import csv
import datetime
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys

PEERS = ["crew", "mutex", "glib", "uv", "omp", "tbb", "moodycamel", "python",
         "sequential", "floor"]
PEER_NAMES = {
    "crew": "crew",
    "mutex": "mutex+condvar pool / ring (baseline)",
    "glib": "GLib GThreadPool / GAsyncQueue",
    "uv": "libuv uv_queue_work",
    "omp": "OpenMP tasks (libgomp)",
    "tbb": "oneTBB task_group / concurrent_bounded_queue",
    "moodycamel": "moodycamel BlockingConcurrentQueue",
    "python": "Python ThreadPoolExecutor / queue.Queue",
    "sequential": "sequential (no pool)",
    "floor": "hardware floor",
}
# (workload, metric, higher_is_better, label) in table order.  Other metrics
# (W2 ns_per_task, W3 mitems_per_s, W5 seq/pool ms, W6 peak_mb, W10 ms) go to
# the CSV.
PRIMARY = [
    ("F1", "ns_per_rt", False, "F1 cache-line round trip (ns)"),
    ("F2", "us_per_rt", False, "F2 futex wake-up round trip (us)"),
    ("W1", "ns_per_task", False, "W1 spawn-empty (ns/task)"),
    ("W2", "ms", False, "W2 fib(n) fork-join (ms)"),
    ("W2", "peak_bytes", False, "W2 fib peak memory (bytes above baseline)"),
    ("W3-1p1c", "ns_per_item", False, "W3 queue 1P1C (ns/item)"),
    ("W3-2p2c", "ns_per_item", False, "W3 queue 2P2C (ns/item)"),
    ("W4", "p50_us", False, "W4 latency median (us)"),
    ("W4", "p99_us", False, "W4 latency p99 (us)"),
    ("W5", "speedup", True, "W5 speedup (x, ideal P)"),
    ("W6", "bytes_per_task", False, "W6 memory (bytes/pending task)"),
    ("W7", "ns_per_task", False, "W7 8 submitters (ns/task)"),
    ("W8", "ms", False, "W8 nqueens fork-join (ms)"),
    ("W9", "ms", False, "W9 UTS fork-join (ms)"),
    ("W9", "ns_per_node", False, "W9 UTS (ns/node)"),
    ("W9", "peak_bytes", False, "W9 UTS peak memory (bytes above baseline)"),
    ("W10", "gflops", True, "W10 matmul (GFLOP/s)"),
    ("W11", "ms", False, "W11 integrate fork-join (ms)"),
    ("W1", "instr_per_task", False, "W1 instructions per task (callgrind)"),
    ("W1", "instr_per_task_submitter", False, "W1 instructions per task, submitting thread"),
    ("W1", "instr_per_task_worker", False, "W1 instructions per task, worker"),
    ("W2", "instr_per_task", False, "W2 instructions per task (callgrind)"),
    ("W9", "instr_per_node", False, "W9 instructions per node (callgrind)"),
]
# Rows that repeat a workload shown above: peers that cannot run it are not
# listed again.
SECONDARY = {("W2", "peak_bytes"), ("W9", "ns_per_node"), ("W9", "peak_bytes"),
             ("W1", "instr_per_task"), ("W1", "instr_per_task_submitter"),
             ("W1", "instr_per_task_worker"), ("W2", "instr_per_task"),
             ("W9", "instr_per_node")}
# Rows left out of the chart (the same ratio as a row above, or a count that
# only crew and the floor have).
NOT_CHARTED = SECONDARY - {("W2", "peak_bytes"), ("W9", "peak_bytes")}
# Workloads whose programs print their answer (answer=...), compared with the
# sequential floor's.
ANSWERED = {"W8", "W9", "W10", "W11"}
# Peers that hand every task to another thread (for W1 and W7 targets);
# OpenMP may run tasks in the creating thread.
HANDOFF = ["mutex", "glib", "uv", "tbb", "python"]
MARK = "<!-- Everything below is written by bench/run.sh --write-docs. -->"
HIGHER_BETTER = {"speedup", "mitems_per_s", "gflops", "jobs_per_s"}
# A result's check: "ok", or "slow" (R3: every job completed, but later than
# the target; the target row says so) passes; anything else fails.
CHECK_PASSES = {"ok", "slow"}

# C1, the crew command (bench/c1/): (workload, metric, label, runners in
# table order).  The floor is a bare posix_spawn + waitpid loop.
C1_ROWS = [
    ("C1-true", "ms_per_job", "C1 jobs of `true`, 2 slots (ms/job)",
     ["floor", "crew", "crew-k", "crew-joblog", "xargs", "parallel", "parallel-k"]),
    ("C1-echo", "ms_per_job", "C1 jobs echoing one line (ms/job)",
     ["floor", "crew", "crew-k", "xargs", "parallel"]),
    ("C1-one", "ms", "C1 starting one job (ms)", ["floor", "crew", "xargs", "parallel"]),
]
C1_NAMES = {
    "floor": "a bare posix_spawn + waitpid loop, one job after another",
    "crew": "`crew -j2 true` (C1-one: `crew true ::: 1`)",
    "crew-k": "`crew -j2 -k`",
    "crew-joblog": "`crew -j2 --joblog FILE`",
    "xargs": "`xargs -P2 -n1`",
    "parallel": "GNU parallel `-j2`",
    "parallel-k": "GNU parallel `-j2 -k`",
}
C1_SHORT = {"floor": "spawn floor", "crew": "crew", "crew-k": "crew -k",
            "crew-joblog": "crew --joblog", "xargs": "xargs -P2 -n1",
            "parallel": "GNU parallel", "parallel-k": "GNU parallel -k"}
# R1-R3, crew-remote (bench/remote/), all on one private redis-server.
# R1's floor is the batched hiredis floor; floor-rt pays a round trip per
# message.
R_ROWS = [
    ("R1", "jobs_per_s", "R1 throughput, no-op jobs, 2 workers (jobs/s)",
     ["crew", "floor", "floor-rt", "celery", "rq", "rq-simple"]),
    ("R2", "p50_us", "R2 round trip of one job, median (us)",
     ["crew", "floor", "celery", "rq", "rq-simple"]),
    ("R2", "p99_us", "R2 round trip of one job, p99 (us)",
     ["crew", "floor", "celery", "rq", "rq-simple"]),
    ("R3", "recovery_ms", "R3 recovery after kill -9, 1,000 jobs held (ms)",
     ["crew"]),
]
R_NAMES = {
    "crew": "crew-remote's client, `crew-worker -n 2`",
    "floor": "C + hiredis only; R1: pipelined XADD, 2 consumers with XREADGROUP COUNT 100 and "
             "one XACK per batch; R2: XADD, XREADGROUP BLOCK, result XADD + XACK, XREAD BLOCK",
    "floor-rt": "the R1 floor with one round trip per message",
    "celery": "Celery, prefork `-c 2`, Redis as broker and result backend",
    "rq": "RQ, two `rq worker` (a fork per job)",
    "rq-simple": "RQ, two SimpleWorkers (no fork)",
}
LINE = re.compile(r'^(?:run=(\d+) )?(RESULT|UNSUPPORTED|NOTE|FAILED|MACHINE) (.*)$')
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse(path):
    results = {}      # (workload, metric, peer) -> [values]
    checks = {}       # same key -> all ok?
    unsupported = {}  # (workload, peer) -> reason
    failed = {}       # (workload, peer) -> reason
    notes = []
    answers = {}      # (workload, peer) -> set of answers printed
    machine = {}      # cpu, cpus
    extra = {}        # (workload, peer) -> the other fields of its last RESULT
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            kind = m.group(2)
            kv = {k: v.strip('"') for k, v in FIELD.findall(m.group(3))}
            if kind == "RESULT":
                key = (kv["workload"], kv["metric"], kv["peer"])
                results.setdefault(key, []).append(float(kv["value"]))
                checks[key] = checks.get(key, True) and kv.get("check") in CHECK_PASSES
                extra[(kv["workload"], kv["peer"])] = kv
                if "answer" in kv:
                    answers.setdefault((kv["workload"], kv["peer"]), set()).add(kv["answer"])
            elif kind == "UNSUPPORTED":
                unsupported[(kv.get("workload", "?"), kv.get("peer", "?"))] = kv.get("reason", "")
            elif kind == "FAILED":
                failed[(kv.get("workload", "?"), kv.get("peer", "?"))] = kv.get("reason", "")
            elif kind == "MACHINE":
                machine.update(kv)
            elif kind == "NOTE":
                note = f'{kv.get("peer", "")}: {kv.get("text", "")}'
                if note not in notes:
                    notes.append(note)
    check_answers(answers, checks, failed)
    return results, checks, unsupported, failed, notes, machine, extra


def check_answers(answers, checks, failed):
    """Every runtime's answer to W8-W11 must be the sequential floor's (one
    answer per program over all rounds).  A mismatch fails all the peer's
    results for that workload."""
    for w in sorted(ANSWERED):
        ref = answers.get((w, "sequential"))
        if ref is not None and len(ref) != 1:
            failed[(w, "sequential")] = f"the floor gave different answers: {sorted(ref)}"
            continue
        for (aw, peer), got in answers.items():
            if aw != w or peer == "sequential":
                continue
            bad = ""
            if ref is None:
                bad = "no sequential answer to compare with"
            elif got != ref:
                bad = f"answer {sorted(got)} differs from the sequential floor's {sorted(ref)}"
            if bad:
                failed[(w, peer)] = bad
                for key in checks:
                    if key[0] == w and key[2] == peer:
                        checks[key] = False


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 10:
        return f"{v:.2f}"
    return f"{v:.3f}"


def summarize(results, checks):
    """-> {(w, metric, peer): dict(median, min, max, n, ok)}"""
    out = {}
    for key, vals in results.items():
        out[key] = dict(median=statistics.median(vals), min=min(vals), max=max(vals),
                        n=len(vals), ok=checks[key])
    return out


def ratio(stats, w, metric, peer):
    """crew / peer, oriented so that below 1 means crew is better."""
    c, p = stats.get((w, metric, "crew")), stats.get((w, metric, peer))
    if not c or not p or peer == "crew" or c["median"] <= 0 or p["median"] <= 0:
        return None
    if metric in HIGHER_BETTER:
        return p["median"] / c["median"]
    return c["median"] / p["median"]


def rows(stats, unsupported, failed):
    """Table rows: (label, peer, median, min, max, ratio, status)."""
    out = []
    for w, metric, _, label in PRIMARY:
        secondary = (w, metric) in SECONDARY
        for peer in PEERS:
            s = stats.get((w, metric, peer))
            if s:
                status = "ok" if s["ok"] else "CHECK FAILED"
                if not s["ok"] and (w, peer) in failed:
                    status += ": " + failed[(w, peer)]
                out.append((label, w, metric, peer, s["median"], s["min"], s["max"], s["n"],
                            ratio(stats, w, metric, peer), status))
            elif secondary and not (metric.startswith("instr") and peer == "crew"):
                continue
            elif (w, peer) in failed:
                out.append((label, w, metric, peer, None, None, None, 0, None,
                            "FAILED: " + failed[(w, peer)]))
            elif (w, peer) in unsupported:
                out.append((label, w, metric, peer, None, None, None, 0, None,
                            "unsupported: " + unsupported[(w, peer)]))
    return out


def median_of(stats, w, m, p):
    s = stats.get((w, m, p))
    return s["median"] if s else None


def yes_no(ok):
    return "yes" if ok else "no"


def targets(stats):
    """The figures issues 13 (W4) and 14 ask for: [(issue, target, figure,
    met)], met is "yes", "no" or "n/a" (a figure missing from this run)."""
    def med(w, m, p):
        return median_of(stats, w, m, p)

    out = []
    issue = "14"

    def add(goal, fig, met):
        out.append((issue, goal, fig, met))

    def vs_tbb(w, m, limit, what):
        r = ratio(stats, w, m, "tbb")
        c, t = med(w, m, "crew"), med(w, m, "tbb")
        if r is None:
            add(f"{what} <= {limit}x oneTBB", "missing", "n/a")
            return
        unit = {"ms": " ms", "gflops": " GFLOP/s", "peak_bytes": " bytes",
                "p50_us": " us", "p99_us": " us"}.get(m, "")
        fig = f"crew {fmt(c)}{unit}, oneTBB {fmt(t)}{unit}: {r:.2f}x"
        o, ro = med(w, m, "omp"), ratio(stats, w, m, "omp")
        if w == "W4" and o and ro is not None:
            fig += f"; OpenMP {fmt(o)}{unit}: {ro:.2f}x"
        add(f"{what} <= {limit}x oneTBB", fig, yes_no(r <= limit))

    def vs_handoff(w, limit, what):
        c = med(w, "ns_per_task", "crew")
        peers = [(med(w, "ns_per_task", p), p) for p in HANDOFF]
        peers = [(v, p) for v, p in peers if v]
        if c is None or not peers:
            add(f"{what} <= {limit}x the best hand-off pool", "missing", "n/a")
            return
        best, who = min(peers)
        r = c / best
        fig = f"crew {fmt(c)} ns/task, best hand-off pool {who} {fmt(best)}: {r:.2f}x"
        omp = med(w, "ns_per_task", "omp")
        if omp:
            fig += f" (OpenMP, which may run tasks in the creating thread: {fmt(omp)}, {c / omp:.2f}x)"
        add(f"{what} <= {limit}x the best hand-off pool", fig, yes_no(r <= limit))

    # Issue 13: an idle submit-and-wait round trip no slower than oneTBB's
    # (whose wait runs the task in the waiting thread), OpenMP beside it.
    issue = "13"
    vs_tbb("W4", "p50_us", 1.0, "W4 idle round trip median")
    vs_tbb("W4", "p99_us", 1.0, "W4 idle round trip p99")
    issue = "14"
    vs_handoff("W1", 0.25, "W1")
    vs_tbb("W2", "ms", 0.5, "W2 fib")
    vs_handoff("W7", 0.25, "W7")
    c7, c1 = med("W7", "ns_per_task", "crew"), med("W1", "ns_per_task", "crew")
    if c7 and c1:
        add("W7 <= 2x crew's own W1 per task", f"{fmt(c7)} vs {fmt(c1)} ns/task: {c7 / c1:.2f}x",
            yes_no(c7 <= 2 * c1))
    else:
        add("W7 <= 2x crew's own W1 per task", "missing", "n/a")
    vs_tbb("W8", "ms", 0.5, "W8 nqueens")
    vs_tbb("W9", "ms", 0.5, "W9 UTS")
    vs_tbb("W10", "gflops", 1.0, "W10 matmul time")
    vs_tbb("W11", "ms", 0.5, "W11 integrate")
    vs_tbb("W2", "peak_bytes", 0.25, "W2 peak memory")
    vs_tbb("W9", "peak_bytes", 0.25, "W9 peak memory")
    return out


def c1_mem(stats):
    """C1's memory runs: [(inputs, workload)] sorted by the number of inputs."""
    out = []
    for (w, m, p) in stats:
        if w.startswith("C1-mem-") and m == "peak_mb" and p == "crew":
            try:
                out.append((int(w[len("C1-mem-"):]), w))
            except ValueError:
                pass
    return sorted(out)


def sub_rows(stats, spec, failed, floors):
    """Rows of a sub-suite's table: (label, peer, median, min, max, runs,
    figure over the floor's, crew/peer, status).  The floor's figure is
    floors[workload] (a (metric, peer) of the same workload) if any;
    crew/peer is oriented as in the pool table (below 1: crew is better)."""
    out = []
    for w, m, label, peers in spec:
        fm, fp = floors.get(w, (m, "floor"))
        fl = median_of(stats, w, fm, fp)
        for peer in peers:
            s = stats.get((w, m, peer))
            if not s:
                if (w, peer) in failed:
                    out.append((label, peer, None, None, None, 0, None, None,
                                "FAILED: " + failed[(w, peer)]))
                continue
            status = "ok" if s["ok"] else "CHECK FAILED"
            if not s["ok"] and (w, peer) in failed:
                status += ": " + failed[(w, peer)]
            over = s["median"] / fl if fl and peer != fp else None
            r = None if peer.startswith("crew") or peer == "floor" else ratio(stats, w, m, peer)
            out.append((label, peer, s["median"], s["min"], s["max"], s["n"], over, r, status))
    return out


def c1_rows(stats, failed):
    table = sub_rows(stats, C1_ROWS, failed, {})
    # Memory: each run's peak RSS over the smallest run's (1,000 inputs).
    mem = c1_mem(stats)
    base = median_of(stats, mem[0][1], "peak_mb", "crew") if mem else None
    for n, w in mem:
        s = stats[(w, "peak_mb", "crew")]
        over = s["median"] / base if base and n != mem[0][0] else None
        table.append((f"C1 peak RSS of crew, {n:,} inputs on stdin (MB)", "crew", s["median"],
                      s["min"], s["max"], s["n"], over, None,
                      "ok" if s["ok"] else "CHECK FAILED"))
    return table


def r_rows(stats, failed):
    return sub_rows(stats, R_ROWS, failed, {})


def c1_targets(stats):
    """Issue 15's figures: [("15", target, figure, met)]."""
    out = []

    def med(w, p, m="ms_per_job"):
        return median_of(stats, w, m, p)

    def over(w, p, ref, limit, goal, m="ms_per_job", unit="ms/job"):
        a, b = med(w, p, m), med(w, ref, m)
        if not a or not b:
            out.append(("15", goal, "missing", "n/a"))
            return
        r = a / b
        out.append(("15", goal, f"{C1_SHORT[p]} {fmt(a)} {unit}, {C1_SHORT[ref]} {fmt(b)}: {r:.2f}x",
                    yes_no(r <= limit)))

    over("C1-true", "crew", "floor", 1.2, "C1 `true` per job <= 1.2x the spawn floor")
    over("C1-true", "crew-k", "floor", 1.2, "C1 `true` per job with -k <= 1.2x the spawn floor")
    over("C1-true", "crew-joblog", "floor", 1.2,
         "C1 `true` per job with --joblog <= 1.2x the spawn floor")
    over("C1-true", "crew", "xargs", 0.66, "C1 `true` per job <= 0.66x xargs -P2 -n1")
    over("C1-true", "crew", "parallel", 0.14, "C1 `true` per job <= 0.14x GNU parallel")
    over("C1-echo", "crew", "floor", 1.3, "C1 echoing one line per job <= 1.3x the spawn floor")
    over("C1-echo", "crew-k", "floor", 1.3,
         "C1 echoing one line per job with -k <= 1.3x the spawn floor")
    over("C1-one", "crew", "floor", 1.5, "C1 starting one job <= 1.5x the floor's single job",
         m="ms", unit="ms")
    mem = c1_mem(stats)
    goal = "C1 peak RSS with 1,000,000 inputs <= 2x with 1,000"
    if len(mem) >= 2:
        (n0, w0), (n1, w1) = mem[0], mem[-1]
        a, b = med(w1, "crew", "peak_mb"), med(w0, "crew", "peak_mb")
        fig = f"{fmt(a)} MB with {n1:,} inputs, {fmt(b)} MB with {n0:,}: {a / b:.2f}x"
        if n1 < 1000000:
            fig += f" (this run had {n1:,} inputs, not 1,000,000)"
        out.append(("15", goal, fig, yes_no(a <= 2 * b)))
    else:
        out.append(("15", goal, "missing", "n/a"))
    return out


def r_targets(stats, extra):
    """Issue 16's figures: [("16", target, figure, met)]."""
    out = []

    def med(w, m, p):
        return median_of(stats, w, m, p)

    crew = med("R1", "jobs_per_s", "crew")
    goal = "R1 crew >= 100,000 jobs/s end to end"
    if crew:
        out.append(("16", goal, f"{crew:,.0f} jobs/s", yes_no(crew >= 100000)))
    else:
        out.append(("16", goal, "missing", "n/a"))
    for peer, who, limit, goal in (
            ("celery", "Celery", 50, "R1 crew >= 50x Celery"),
            ("floor", "batched floor", 0.4, "R1 crew >= 0.4x the batched hiredis floor")):
        other = med("R1", "jobs_per_s", peer)
        if crew and other:
            r = crew / other
            out.append(("16", goal, f"crew {crew:,.0f} jobs/s, {who} {other:,.0f}: {r:.2f}x",
                        yes_no(r >= limit)))
        else:
            out.append(("16", goal, "missing", "n/a"))
    for m, what in (("p50_us", "median"), ("p99_us", "p99")):
        goal = f"R2 round trip {what} <= 2x the floor's"
        c, f = med("R2", m, "crew"), med("R2", m, "floor")
        if c and f:
            out.append(("16", goal, f"crew {fmt(c)} us, floor {fmt(f)} us: {c / f:.2f}x",
                        yes_no(c <= 2 * f)))
        else:
            out.append(("16", goal, "missing", "n/a"))
    goal = "R3 all 1,000 jobs of a killed worker done within lease + 1 s"
    s = stats.get(("R3", "recovery_ms", "crew"))
    lease = extra.get(("R3", "crew"), {}).get("lease_ms")
    if s and lease:
        limit = float(lease) + 1000
        fig = (f"median {s['median']:,.0f} ms (min {s['min']:,.0f}, max {s['max']:,.0f}) "
               f"with a lease of {float(lease):,.0f} ms: limit {limit:,.0f} ms")
        out.append(("16", goal, fig, yes_no(s["median"] <= limit)))
    else:
        out.append(("16", goal, "missing", "n/a"))
    return out


def print_sub(title, table):
    if not table:
        return
    print(f"\n{title}")
    print(f"{'workload':58} {'peer':12} {'median':>10} {'min':>10} {'max':>10} "
          f"{'x floor':>8} {'crew/peer':>9}")
    last = None
    for label, peer, med, lo, hi, _, over, r, status in table:
        lab = label if label != last else ""
        last = label
        if med is None:
            print(f"{lab:58} {peer:12} {status}")
            continue
        extra = "" if status == "ok" else "  " + status
        print(f"{lab:58} {peer:12} {fmt(med):>10} {fmt(lo):>10} {fmt(hi):>10} "
              f"{fmt(over) if over is not None else '':>8} "
              f"{fmt(r) if r is not None else '':>9}{extra}")


def print_goals(title, goals, mode):
    if not goals:
        return
    print(f"\n{title}" + (" (quick run: small sizes, one round; judge them on a full run)"
                          if mode == "quick" else "") + ":")
    for issue, goal, fig, met in goals:
        print(f"  {met:4} {goal} (issue {issue}): {fig}")


def print_table(rep, notes, runs, machine, mode):
    if machine:
        print(f"\nCPU: {machine.get('cpu', '?')}, P = {machine.get('cpus', '?')}")
    table = rep["pool"]
    if table:
        print(f"\n{'workload':44} {'peer':11} {'median':>10} {'min':>10} {'max':>10} "
              f"{'crew/peer':>9}  (median of {runs} run(s); crew/peer < 1: crew better)")
    last = None
    for label, _, _, peer, med, lo, hi, _, r, status in table:
        lab = label if label != last else ""
        last = label
        if med is None:
            print(f"{lab:44} {peer:11} {status}")
        else:
            extra = "" if status == "ok" else "  " + status
            print(f"{lab:44} {peer:11} {fmt(med):>10} {fmt(lo):>10} {fmt(hi):>10} "
                  f"{fmt(r) if r is not None else '':>9}{extra}")
    print_sub("the crew command, C1 (x floor: over the spawn floor's figure; memory: over the "
              "1,000-input run's)", rep["c1"])
    print_sub("crew-remote, R1-R3 (x floor: over the hiredis floor's figure)", rep["r"])
    if rep["pool"]:
        print_goals("targets of the pool (issues 13, 14)", rep["pool_goals"], mode)
    if rep["c1"]:
        print_goals("targets of the crew command (issue 15)", rep["c1_goals"], mode)
    if rep["r"]:
        print_goals("targets of crew-remote (issue 16)", rep["r_goals"], mode)
    if notes:
        print("\nnotes:")
        for n in notes:
            print("  " + n)


def write_csv(path, stats, unsupported, failed, machine, goals):
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["workload", "metric", "peer", "runs", "median", "min", "max",
                     "crew_over_peer", "check", "note"])
        if machine:
            wr.writerow(["machine", "cpu_model", "", 0, "", "", "", "", "",
                         machine.get("cpu", "")])
            wr.writerow(["machine", "online_cpus", "", 0, machine.get("cpus", ""), "", "", "",
                         "", ""])
        for (w, metric, peer), s in sorted(stats.items()):
            r = ratio(stats, w, metric, peer)
            wr.writerow([w, metric, peer, s["n"], f'{s["median"]:.6g}', f'{s["min"]:.6g}',
                         f'{s["max"]:.6g}', "" if r is None else f"{r:.4g}",
                         "ok" if s["ok"] else "FAIL", ""])
        for (w, peer), reason in sorted(unsupported.items()):
            wr.writerow([w, "", peer, 0, "", "", "", "", "unsupported", reason])
        for (w, peer), reason in sorted(failed.items()):
            wr.writerow([w, "", peer, 0, "", "", "", "", "FAIL", reason])
        # The issues' targets: metric = the target, check = met (yes, no, n/a),
        # note = the figure.
        for issue, goal, fig, met in goals:
            wr.writerow([f"target-issue-{issue}", goal, "", 0, "", "", "", "", met, fig])


def bars(out_dir, name, title, ylabel, series, items, size="1400,650"):
    """A gnuplot chart of clustered bars, log scale, a line at 1:
    series = the bars' names, items = [(x label, [value or None per series])].
    Writes OUT/NAME.dat and OUT/NAME.png; returns the png's path or None."""
    gp = shutil.which("gnuplot")
    if not gp:
        print("report: gnuplot not found, no chart", file=sys.stderr)
        return None
    allr = [v for _, vals in items for v in vals if v]
    if not series or not allr:
        return None
    dat = os.path.join(out_dir, name + ".dat")
    with open(dat, "w") as f:
        f.write("workload " + " ".join(series) + "\n")
        for lab, vals in items:
            f.write(lab + " " + " ".join("?" if v is None else f"{v:.5g}" for v in vals) + "\n")
    lo = 10 ** min(-1, math.floor(math.log10(min(allr))))
    hi = 10 ** max(1, math.ceil(math.log10(max(allr))))
    png = os.path.join(out_dir, name + ".png")
    term = f"pngcairo size {size} font ',10'"
    probe = subprocess.run([gp, "-e", "set terminal pngcairo"], capture_output=True, text=True)
    if probe.returncode != 0 or "unknown" in probe.stderr.lower():
        term = f"png size {size}"
    script = f"""
set terminal {term}
set output '{png}'
set title "{title}" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set yrange [{lo:g}:{hi:g}]
set ylabel "{ylabel}"
set datafile missing '?'
set key outside right top noenhanced
set xtics rotate by -30 noenhanced
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb 'black'
plot for [i=2:{len(series) + 1}] '{dat}' using i:xtic(1) title columnheader(i)
"""
    r = subprocess.run([gp], input=script, capture_output=True, text=True)
    if r.returncode != 0:
        print("report: gnuplot failed:\n" + r.stderr, file=sys.stderr)
        return None
    return png


def chart(out_dir, stats, mode):
    """Clustered bars of crew/peer per workload (log scale); '?' = no ratio."""
    peers = [p for p in PEERS if p not in ("crew", "floor")
             and any(ratio(stats, w, m, p) for w, m, _, _ in PRIMARY
                     if (w, m) not in NOT_CHARTED)]
    items = [(lab.split(" (")[0].replace(" ", "_"), [ratio(stats, w, m, p) for p in peers])
             for w, m, _, lab in PRIMARY
             if w[0] == "W" and (w, m) not in NOT_CHARTED
             and any(ratio(stats, w, m, p) for p in peers)]
    if not items:
        return None
    return bars(out_dir, "ratios", "crew / peer per workload: time, memory, 1/speedup "
                f"({mode} run; below 1: crew is better; log scale)", "crew / peer", peers, items)


def c1_chart(out_dir, stats, mode):
    """C1: each runner's figure over the spawn floor's, per workload."""
    runners = [p for p in C1_SHORT if p != "floor"
               and any(stats.get((w, m, p)) for w, m, _, _ in C1_ROWS)]
    items = []
    for w, m, _, _ in C1_ROWS:
        fl = median_of(stats, w, m, "floor")
        if not fl:
            continue
        vals = [(median_of(stats, w, m, p) or 0) / fl or None for p in runners]
        if any(vals):
            items.append((w, vals))
    if not items:
        return None
    return bars(out_dir, "c1-ratios", "C1: time over the posix_spawn + waitpid floor "
                f"({mode} run; log scale; issue 15: crew <= 1.2x, echo 1.3x, one job 1.5x)",
                "runner / floor", runners, items, size="1100,550")


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine(python, recorded):
    cpu = recorded.get("cpu", "")
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not cpu:
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    pkgs = sh("dpkg-query -W -f '${Package} ${Version}\\n' libglib2.0-dev libuv1-dev "
              "libtbb-dev libconcurrentqueue-dev findutils parallel redis-server libhiredis-dev "
              "python3-celery python3-rq 2>/dev/null")
    return [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("CPU", cpu),
        ("online CPUs (P)", recorded.get("cpus", str(os.cpu_count()))),
        ("kernel", platform.release()),
        ("C compiler", sh("gcc --version | head -1")),
        ("C++ compiler", sh("g++ --version | head -1")),
        ("Python peer", sh(f"{shlex.quote(python)} --version 2>&1")),
        ("crew source", sh("git rev-parse --short HEAD 2>/dev/null")
         + (" + uncommitted changes" if sh("git status --porcelain -- src include bench "
                                            "2>/dev/null") else "")),
        ("peer packages", "; ".join(pkgs.splitlines())),
    ]


def md_goals(lines, goals):
    lines.append("| target | issue | figure | met |")
    lines.append("|---|---|---|---|")
    for issue, goal, fig, met in goals:
        lines.append(f"| {goal} | {issue} | {fig} | {met} |")
    lines.append("")


def md_sub(lines, table, names):
    lines.append("| workload | runner | median | min | max | × floor | crew/peer |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    last = None
    for label, peer, med, lo, hi, _, over, r, status in table:
        lab = label if label != last else ""
        last = label
        if med is None:
            lines.append(f"| {lab} | {peer} | {status} | | | | |")
            continue
        extra = "" if status == "ok" else f" ({status})"
        lines.append(f"| {lab} | {peer}{extra} | {fmt(med)} | {fmt(lo)} | {fmt(hi)} | "
                     f"{fmt(over) if over is not None else ''} | "
                     f"{fmt(r) if r is not None else ''} |")
    shown = {row[1] for row in table}
    lines.append("\nRunners: " + "; ".join(f"`{p}`: {names[p]}" for p in names if p in shown)
                 + ".\n")


def write_docs(doc_dir, rep, notes, pngs, runs, python, recorded):
    os.makedirs(doc_dir, exist_ok=True)
    copied = {}
    for key, name in (("pool", "bench-ratios.png"), ("c1", "bench-c1-ratios.png")):
        if pngs.get(key):
            shutil.copy(pngs[key], os.path.join(doc_dir, name))
            copied[key] = name
    # Everything above MARK in BENCHMARKS.md (the method) is kept as written.
    path = os.path.join(doc_dir, "BENCHMARKS.md")
    head = "# Benchmarks\n"
    if os.path.exists(path):
        with open(path) as f:
            head = f.read().split(MARK)[0].rstrip() + "\n"
    lines = [head, MARK, "", "## Latest results\n"]
    lines.append("Written by `bench/run.sh --write-docs` on this machine:\n")
    lines.append("| | |\n|---|---|")
    for k, v in machine(python, recorded):
        lines.append(f"| {k} | {v} |")
    lines.append("")
    table = rep["pool"]
    if table:
        lines.append("### Targets of the thread pool in this run (issues 13 and 14)\n")
        lines.append("Computed from the medians below by `bench/report.py`; \"best hand-off pool\" "
                     "is the fastest of the pools that hand every task to another thread (" +
                     ", ".join(PEER_NAMES[p] for p in HANDOFF) + ").\n")
        md_goals(lines, rep["pool_goals"])
        lines.append("### All results of the thread pool\n")
        lines.append(f"Median of {runs} interleaved runs, with min and max. "
                     "`crew/peer` is crew's median over the peer's (for W5's speedup, the peer's "
                     "over crew's): **below 1 means crew is better**.\n")
        if "pool" in copied:
            lines.append(f"![crew / peer per workload]({copied['pool']})\n")
        lines.append("| workload | peer | median | min | max | crew/peer |")
        lines.append("|---|---|---:|---:|---:|---:|")
        last = None
        for label, _, _, peer, med, lo, hi, _, r, status in table:
            lab = label if label != last else ""
            last = label
            if med is None:
                lines.append(f"| {lab} | {peer} | {status} | | | |")
            else:
                extra = "" if status == "ok" else f" ({status})"
                lines.append(f"| {lab} | {peer}{extra} | {fmt(med)} | {fmt(lo)} | {fmt(hi)} | "
                             f"{fmt(r) if r is not None else ''} |")
        lines.append("")
    if rep["c1"]:
        lines.append("### The crew command: C1 (issue 15)\n")
        lines.append("`bench/c1/run.sh`, run by `bench/run.sh` in the same run: N jobs with 2 "
                     "slots, every runner interleaved round by round (median of "
                     f"{runs} rounds; the memory runs once). `× floor` is the runner's median "
                     "over the floor's (a bare `posix_spawn` + `waitpid` loop running the jobs "
                     "one after another); for memory, the peak RSS over the 1,000-input run's. "
                     "`crew/peer` is `crew -j2`'s median over the peer's: below 1, crew is "
                     "faster.\n")
        md_goals(lines, rep["c1_goals"])
        if "c1" in copied:
            lines.append(f"![C1: time over the spawn floor]({copied['c1']})\n")
        md_sub(lines, rep["c1"], C1_NAMES)
    if rep["r"]:
        lines.append("### crew-remote: R1–R3 (issue 16)\n")
        lines.append("`bench/remote/run.sh`, run by `bench/run.sh` in the same run, against one "
                     "private redis-server (appendonly, everysec) on this machine: clients, "
                     "workers and Redis share its CPUs. Median of "
                     f"{runs} rounds. `× floor` is the figure over the hiredis floor's (R1: the "
                     "batched floor; for jobs/s higher is better, for times lower); `crew/peer` "
                     "is oriented as above: **below 1 means crew is better** (for jobs/s, the "
                     "peer's over crew's).\n")
        md_goals(lines, rep["r_goals"])
        md_sub(lines, rep["r"], R_NAMES)
    if notes:
        lines.append("Notes printed by the programs:\n")
        for n in notes:
            lines.append(f"- {n}")
    with open(path, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--python", default="python3")
    ap.add_argument("--write-docs", default=None)
    a = ap.parse_args()
    results, checks, unsupported, failed, notes, recorded, extra = parse(a.raw)
    stats = summarize(results, checks)
    rep = {"pool": rows(stats, unsupported, failed),
           "c1": c1_rows(stats, failed),
           "r": r_rows(stats, failed)}
    rep["pool_goals"] = targets(stats) if rep["pool"] else []
    rep["c1_goals"] = c1_targets(stats) if rep["c1"] else []
    rep["r_goals"] = r_targets(stats, extra) if rep["r"] else []
    print_table(rep, notes, a.runs, recorded, a.mode)
    goals = rep["pool_goals"] + rep["c1_goals"] + rep["r_goals"]
    write_csv(os.path.join(a.out, "results.csv"), stats, unsupported, failed, recorded, goals)
    pngs = {"pool": chart(a.out, stats, a.mode), "c1": c1_chart(a.out, stats, a.mode)}
    made = [p for p in pngs.values() if p]
    print(f"\nwrote {os.path.join(a.out, 'results.csv')}" +
          (f" and {', '.join(made)}" if made else ""))
    if a.write_docs:
        write_docs(a.write_docs, rep, notes, pngs, a.runs, a.python, recorded)
        print(f"wrote {os.path.join(a.write_docs, 'BENCHMARKS.md')}")
    bad = [k for k, s in stats.items() if not s["ok"]]
    for k in bad:
        print(f"report: check FAILED for {k[0]} {k[2]} ({k[1]})", file=sys.stderr)
    for (w, peer), reason in failed.items():
        print(f"report: {w} {peer} FAILED: {reason}", file=sys.stderr)
    return 1 if bad or failed else 0


if __name__ == "__main__":
    sys.exit(main())
