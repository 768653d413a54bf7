#!/usr/bin/env python3
"""bench/report.py - statistics, table, CSV, chart and docs for bench/run.sh.

Reads the raw lines the benchmark programs printed (bench/README.md gives the
format), groups them by (workload, metric, peer), checks every answer of
W8-W11 against the sequential floor's, and writes:
  - the table on stdout: median, min and max per peer and crew's ratio to
    each peer (below 1: crew is better), then the targets of issue 14;
  - OUT/results.csv (with the machine's CPU model);
  - OUT/ratios.png (gnuplot) with crew's ratio to each peer per workload;
  - with --write-docs DIR: DIR/BENCHMARKS.md and DIR/bench-ratios.png.
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
HIGHER_BETTER = {"speedup", "mitems_per_s", "gflops"}
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
                checks[key] = checks.get(key, True) and kv.get("check") == "ok"
                if "answer" in kv:
                    answers.setdefault((kv["workload"], kv["peer"]), set()).add(kv["answer"])
            elif kind == "UNSUPPORTED":
                unsupported[(kv["workload"], kv["peer"])] = kv.get("reason", "")
            elif kind == "FAILED":
                failed[(kv["workload"], kv["peer"])] = kv.get("reason", "")
            elif kind == "MACHINE":
                machine.update(kv)
            elif kind == "NOTE":
                note = f'{kv.get("peer", "")}: {kv.get("text", "")}'
                if note not in notes:
                    notes.append(note)
    check_answers(answers, checks, failed)
    return results, checks, unsupported, failed, notes, machine


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


def targets(stats):
    """The figures issue 14 asks for: [(target, figure, met)], met is "yes",
    "no" or "n/a" (a figure missing from this run)."""
    def med(w, m, p):
        s = stats.get((w, m, p))
        return s["median"] if s else None

    out = []

    def vs_tbb(w, m, limit, what):
        r = ratio(stats, w, m, "tbb")
        c, t = med(w, m, "crew"), med(w, m, "tbb")
        if r is None:
            out.append((f"{what} <= {limit}x oneTBB", "missing", "n/a"))
            return
        unit = {"ms": " ms", "gflops": " GFLOP/s", "peak_bytes": " bytes"}.get(m, "")
        fig = f"crew {fmt(c)}{unit}, oneTBB {fmt(t)}{unit}: {r:.2f}x"
        out.append((f"{what} <= {limit}x oneTBB", fig, "yes" if r <= limit else "no"))

    def vs_handoff(w, limit, what):
        c = med(w, "ns_per_task", "crew")
        peers = [(med(w, "ns_per_task", p), p) for p in HANDOFF]
        peers = [(v, p) for v, p in peers if v]
        if c is None or not peers:
            out.append((f"{what} <= {limit}x the best hand-off pool", "missing", "n/a"))
            return
        best, who = min(peers)
        r = c / best
        fig = f"crew {fmt(c)} ns/task, best hand-off pool {who} {fmt(best)}: {r:.2f}x"
        omp = med(w, "ns_per_task", "omp")
        if omp:
            fig += f" (OpenMP, which may run tasks in the creating thread: {fmt(omp)}, {c / omp:.2f}x)"
        out.append((f"{what} <= {limit}x the best hand-off pool", fig,
                    "yes" if r <= limit else "no"))

    vs_handoff("W1", 0.25, "W1")
    vs_tbb("W2", "ms", 0.5, "W2 fib")
    vs_handoff("W7", 0.25, "W7")
    c7, c1 = med("W7", "ns_per_task", "crew"), med("W1", "ns_per_task", "crew")
    if c7 and c1:
        out.append(("W7 <= 2x crew's own W1 per task",
                    f"{fmt(c7)} vs {fmt(c1)} ns/task: {c7 / c1:.2f}x",
                    "yes" if c7 <= 2 * c1 else "no"))
    else:
        out.append(("W7 <= 2x crew's own W1 per task", "missing", "n/a"))
    vs_tbb("W8", "ms", 0.5, "W8 nqueens")
    vs_tbb("W9", "ms", 0.5, "W9 UTS")
    vs_tbb("W10", "gflops", 1.0, "W10 matmul time")
    vs_tbb("W11", "ms", 0.5, "W11 integrate")
    vs_tbb("W2", "peak_bytes", 0.25, "W2 peak memory")
    vs_tbb("W9", "peak_bytes", 0.25, "W9 peak memory")
    return out


def print_table(table, notes, runs, machine, goals):
    if machine:
        print(f"\nCPU: {machine.get('cpu', '?')}, P = {machine.get('cpus', '?')}")
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
    print("\ntargets (issue 14):")
    for goal, fig, met in goals:
        print(f"  {met:4} {goal}: {fig}")
    if notes:
        print("\nnotes:")
        for n in notes:
            print("  " + n)


def write_csv(path, stats, unsupported, failed, machine):
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


def chart(out_dir, stats, mode):
    """Clustered bars of crew/peer per workload (log scale); '?' = no ratio."""
    gp = shutil.which("gnuplot")
    if not gp:
        print("report: gnuplot not found, no chart", file=sys.stderr)
        return None
    peers = [p for p in PEERS if p not in ("crew", "floor")
             and any(ratio(stats, w, m, p) for w, m, _, _ in PRIMARY
                     if (w, m) not in NOT_CHARTED)]
    items = [(w, m, lab) for w, m, _, lab in PRIMARY
             if w[0] == "W" and (w, m) not in NOT_CHARTED
             and any(ratio(stats, w, m, p) for p in peers)]
    if not peers or not items:
        return None
    dat = os.path.join(out_dir, "ratios.dat")
    with open(dat, "w") as f:
        f.write("workload " + " ".join(peers) + "\n")
        for w, m, lab in items:
            short = lab.split(" (")[0].replace(" ", "_")
            vals = [ratio(stats, w, m, p) for p in peers]
            f.write(short + " " + " ".join("?" if v is None else f"{v:.5g}" for v in vals)
                    + "\n")
    allr = [r for w, m, _ in items for r in (ratio(stats, w, m, p) for p in peers) if r]
    lo = 10 ** min(-1, math.floor(math.log10(min(allr))))
    hi = 10 ** max(1, math.ceil(math.log10(max(allr))))
    png = os.path.join(out_dir, "ratios.png")
    term = "pngcairo size 1400,650 font ',10'"
    probe = subprocess.run([gp, "-e", "set terminal pngcairo"], capture_output=True, text=True)
    if probe.returncode != 0 or "unknown" in probe.stderr.lower():
        term = "png size 1400,650"
    script = f"""
set terminal {term}
set output '{png}'
set title "crew / peer per workload: time, memory, 1/speedup ({mode} run; below 1: crew is better; log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set yrange [{lo:g}:{hi:g}]
set ylabel "crew / peer"
set datafile missing '?'
set key outside right top
set xtics rotate by -30 noenhanced
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb 'black'
plot for [i=2:{len(peers) + 1}] '{dat}' using i:xtic(1) title columnheader(i)
"""
    r = subprocess.run([gp], input=script, capture_output=True, text=True)
    if r.returncode != 0:
        print("report: gnuplot failed:\n" + r.stderr, file=sys.stderr)
        return None
    return png


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
              "libtbb-dev libconcurrentqueue-dev 2>/dev/null")
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


def write_docs(doc_dir, table, notes, png, runs, python, recorded, goals):
    os.makedirs(doc_dir, exist_ok=True)
    if png:
        shutil.copy(png, os.path.join(doc_dir, "bench-ratios.png"))
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
    lines.append("### Targets of issue 14 in this run\n")
    lines.append("Computed from the medians below by `bench/report.py`; \"best hand-off pool\" is the "
                 "fastest of the pools that hand every task to another thread (" +
                 ", ".join(PEER_NAMES[p] for p in HANDOFF) + ").\n")
    lines.append("| target | figure | met |")
    lines.append("|---|---|---|")
    for goal, fig, met in goals:
        lines.append(f"| {goal} | {fig} | {met} |")
    lines.append("")
    lines.append("### All results\n")
    lines.append(f"Median of {runs} interleaved runs, with min and max. "
                 "`crew/peer` is crew's median over the peer's (for W5's speedup, the peer's "
                 "over crew's): **below 1 means crew is better**.\n")
    if png:
        lines.append("![crew / peer per workload](bench-ratios.png)\n")
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
    if notes:
        lines.append("\nNotes printed by the programs:\n")
        for n in notes:
            lines.append(f"- {n}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--python", default="python3")
    ap.add_argument("--write-docs", default=None)
    a = ap.parse_args()
    results, checks, unsupported, failed, notes, recorded = parse(a.raw)
    stats = summarize(results, checks)
    table = rows(stats, unsupported, failed)
    goals = targets(stats)
    print_table(table, notes, a.runs, recorded, goals)
    write_csv(os.path.join(a.out, "results.csv"), stats, unsupported, failed, recorded)
    png = chart(a.out, stats, a.mode)
    print(f"\nwrote {os.path.join(a.out, 'results.csv')}" + (f" and {png}" if png else ""))
    if a.write_docs:
        write_docs(a.write_docs, table, notes, png, a.runs, a.python, recorded, goals)
        print(f"wrote {os.path.join(a.write_docs, 'BENCHMARKS.md')}")
    bad = [k for k, s in stats.items() if not s["ok"]]
    for k in bad:
        print(f"report: check FAILED for {k[0]} {k[2]} ({k[1]})", file=sys.stderr)
    for (w, peer), reason in failed.items():
        print(f"report: {w} {peer} FAILED: {reason}", file=sys.stderr)
    return 1 if bad or failed else 0


if __name__ == "__main__":
    sys.exit(main())
