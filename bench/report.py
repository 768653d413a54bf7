#!/usr/bin/env python3
"""bench/report.py - statistics, table, CSV, chart and docs for bench/run.sh.

Reads the raw lines the benchmark programs printed (bench/README.md gives the
format), groups them by (workload, metric, peer), and writes:
  - the table on stdout: median, min and max per peer and crew's ratio to
    each peer (below 1: crew is better);
  - OUT/results.csv;
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
# (W2 ns_per_task, W3 mitems_per_s, W5 seq/pool ms, W6 peak_mb) go to the CSV.
PRIMARY = [
    ("F1", "ns_per_rt", False, "F1 cache-line round trip (ns)"),
    ("F2", "us_per_rt", False, "F2 futex wake-up round trip (us)"),
    ("W1", "ns_per_task", False, "W1 spawn-empty (ns/task)"),
    ("W2", "ms", False, "W2 fib(n) fork-join (ms)"),
    ("W3-1p1c", "ns_per_item", False, "W3 queue 1P1C (ns/item)"),
    ("W3-2p2c", "ns_per_item", False, "W3 queue 2P2C (ns/item)"),
    ("W4", "p50_us", False, "W4 latency median (us)"),
    ("W4", "p99_us", False, "W4 latency p99 (us)"),
    ("W5", "speedup", True, "W5 speedup (x, ideal P)"),
    ("W6", "bytes_per_task", False, "W6 memory (bytes/pending task)"),
]
MARK = "<!-- Everything below is written by bench/run.sh --write-docs. -->"
HIGHER_BETTER = {"speedup", "mitems_per_s"}
LINE = re.compile(r'^(?:run=(\d+) )?(RESULT|UNSUPPORTED|NOTE|FAILED) (.*)$')
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse(path):
    results = {}      # (workload, metric, peer) -> [values]
    checks = {}       # same key -> all ok?
    unsupported = {}  # (workload, peer) -> reason
    failed = {}       # (workload, peer) -> reason
    notes = []
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
            elif kind == "UNSUPPORTED":
                unsupported[(kv["workload"], kv["peer"])] = kv.get("reason", "")
            elif kind == "FAILED":
                failed[(kv["workload"], kv["peer"])] = kv.get("reason", "")
            elif kind == "NOTE":
                note = f'{kv.get("peer", "")}: {kv.get("text", "")}'
                if note not in notes:
                    notes.append(note)
    return results, checks, unsupported, failed, notes


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
        for peer in PEERS:
            s = stats.get((w, metric, peer))
            if s:
                status = "ok" if s["ok"] else "CHECK FAILED"
                out.append((label, w, metric, peer, s["median"], s["min"], s["max"], s["n"],
                            ratio(stats, w, metric, peer), status))
            elif (w, peer) in failed:
                out.append((label, w, metric, peer, None, None, None, 0, None,
                            "FAILED: " + failed[(w, peer)]))
            elif (w, peer) in unsupported:
                out.append((label, w, metric, peer, None, None, None, 0, None,
                            "unsupported: " + unsupported[(w, peer)]))
    return out


def print_table(table, notes, runs):
    print(f"\n{'workload':34} {'peer':11} {'median':>10} {'min':>10} {'max':>10} "
          f"{'crew/peer':>9}  (median of {runs} run(s); crew/peer < 1: crew better)")
    last = None
    for label, _, _, peer, med, lo, hi, _, r, status in table:
        lab = label if label != last else ""
        last = label
        if med is None:
            print(f"{lab:34} {peer:11} {status}")
        else:
            extra = "" if status == "ok" else "  " + status
            print(f"{lab:34} {peer:11} {fmt(med):>10} {fmt(lo):>10} {fmt(hi):>10} "
                  f"{fmt(r) if r is not None else '':>9}{extra}")
    if notes:
        print("\nnotes:")
        for n in notes:
            print("  " + n)


def write_csv(path, stats, unsupported, failed):
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["workload", "metric", "peer", "runs", "median", "min", "max",
                     "crew_over_peer", "check", "note"])
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
             and any(ratio(stats, w, m, p) for w, m, _, _ in PRIMARY)]
    items = [(w, m, lab) for w, m, _, lab in PRIMARY
             if w[0] == "W" and any(ratio(stats, w, m, p) for p in peers)]
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
    term = "pngcairo size 1200,600 font ',10'"
    probe = subprocess.run([gp, "-e", "set terminal pngcairo"], capture_output=True, text=True)
    if probe.returncode != 0 or "unknown" in probe.stderr.lower():
        term = "png size 1200,600"
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


def machine(python):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    pkgs = sh("dpkg-query -W -f '${Package} ${Version}\\n' libglib2.0-dev libuv1-dev "
              "libtbb-dev libconcurrentqueue-dev 2>/dev/null")
    return [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("CPU", cpu),
        ("online CPUs (P)", str(os.cpu_count())),
        ("kernel", platform.release()),
        ("C compiler", sh("gcc --version | head -1")),
        ("C++ compiler", sh("g++ --version | head -1")),
        ("Python peer", sh(f"{shlex.quote(python)} --version 2>&1")),
        ("crew source", sh("git rev-parse --short HEAD 2>/dev/null")
         + (" + uncommitted changes" if sh("git status --porcelain -- src include bench "
                                            "2>/dev/null") else "")),
        ("peer packages", "; ".join(pkgs.splitlines())),
    ]


def write_docs(doc_dir, table, notes, png, runs, python):
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
    for k, v in machine(python):
        lines.append(f"| {k} | {v} |")
    lines.append("")
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
    results, checks, unsupported, failed, notes = parse(a.raw)
    stats = summarize(results, checks)
    table = rows(stats, unsupported, failed)
    print_table(table, notes, a.runs)
    write_csv(os.path.join(a.out, "results.csv"), stats, unsupported, failed)
    png = chart(a.out, stats, a.mode)
    print(f"\nwrote {os.path.join(a.out, 'results.csv')}" + (f" and {png}" if png else ""))
    if a.write_docs:
        write_docs(a.write_docs, table, notes, png, a.runs, a.python)
        print(f"wrote {os.path.join(a.write_docs, 'BENCHMARKS.md')}")
    bad = [k for k, s in stats.items() if not s["ok"]]
    for k in bad:
        print(f"report: check FAILED for {k[0]} {k[2]} ({k[1]})", file=sys.stderr)
    for (w, peer), reason in failed.items():
        print(f"report: {w} {peer} FAILED: {reason}", file=sys.stderr)
    return 1 if bad or failed else 0


if __name__ == "__main__":
    sys.exit(main())
