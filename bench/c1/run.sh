#!/usr/bin/env bash
# bench/c1/run.sh - workload C1 (docs/BENCHMARKS.md): what the crew command
# costs per job, against the floor (a bare posix_spawn + waitpid loop,
# spawn_floor.c), xargs -P2 -n1 and GNU parallel, all in the same run,
# interleaved round by round.
#
#   bench/c1/run.sh [--quick] [--runs N] [--mem-inputs N]
#
#   C1-true   N jobs of `true`, 2 slots: floor (serial), crew, crew -k,
#             crew --joblog, xargs -P2 -n1, parallel, parallel -k   (ms_per_job)
#   C1-echo   N jobs echoing one line each, output captured and printed:
#             floor (serial spawn of echo), crew, crew -k, xargs, parallel (ms_per_job)
#   C1-one    starting one job, the whole command each time (ms, median of R)
#   C1-mem    peak RSS of crew with 1,000 and 1,000,000 inputs of `true` on
#             stdin (peak_mb; --quick: 1,000 and 20,000; or --mem-inputs N);
#             run once; workloads C1-mem-1000 and C1-mem-<N>
#
# Full: N = 2,000, 5 rounds (the 1,000,000-input memory run alone takes
# several minutes).  --quick: N = 200, 1 round, for the test command.
# Prints RESULT lines in the suite's format (bench/README.md), then a table
# of medians and ratios to the floor; the lines, prefixed run=<round>, also
# go to bench/out/c1.log (bench/run.sh adds them to its own raw log).  Exits
# non-zero if anything failed or a check did not hold.  Environment: CREW_BIN to measure a given binary
# (default: builds one in build/c1).
set -uo pipefail
cd "$(dirname "$0")/../.."

MODE=full
RUNS=5
MEM_ARG=""
while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --runs) RUNS=$2; shift ;;
    --mem-inputs) MEM_ARG=$2; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "c1/run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ $MODE = quick ]; then
    N=200 RUNS=1 ONE_REPS=10 MEM_BIG=20000
else
    N=2000 ONE_REPS=30 MEM_BIG=1000000
fi
[ -n "$MEM_ARG" ] && MEM_BIG=$MEM_ARG

BUILD=build/c1
mkdir -p "$BUILD"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/crew-c1.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RAW=$WORK/raw
: >"$RAW"
LOG=bench/out/c1.log
mkdir -p bench/out
: >"$LOG"
ROUND=1
failed=0
note() { # peer text
    local line="NOTE workload=C1 peer=$1 text=\"$2\""
    echo "$line"
    echo "$line" >>"$LOG"
}

# ---- build ------------------------------------------------------------------
if [ -z "${CREW_BIN:-}" ]; then
    cmake -S . -B "$BUILD/crew" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREW_BUILD_TESTS=OFF \
        -DCREW_BUILD_EXAMPLES=OFF >/dev/null &&
        cmake --build "$BUILD/crew" -j "$(nproc)" --target crew_cli >/dev/null ||
        { echo "c1/run.sh: building crew failed" >&2; exit 1; }
    CREW_BIN=$BUILD/crew/cli/crew
fi
gcc -O2 -g -Wall -Wextra -o "$BUILD/spawn_floor" bench/c1/spawn_floor.c ||
    { echo "c1/run.sh: building spawn_floor failed" >&2; exit 1; }
FLOOR=$BUILD/spawn_floor
have_parallel=1
if ! command -v parallel >/dev/null; then
    have_parallel=0
    note parallel "C1: GNU parallel is not installed: its runs are skipped"
fi
export HOME=$WORK/home    # parallel's will-cite file lives here, not in the user's HOME
mkdir -p "$HOME/.parallel" && touch "$HOME/.parallel/will-cite"

seq "$N" >"$WORK/in"
# Times: bash 5's EPOCHREALTIME in microseconds, read without a fork.
echo 1 >"$WORK/one"
result() { # workload peer metric value check
    local line="RESULT workload=$1 peer=$2 metric=$3 value=$4 check=$5"
    echo "$line"
    echo "$line" >>"$RAW"
    echo "run=$ROUND $line" >>"$LOG"
}
fail() { # workload peer reason
    local line="FAILED workload=$1 peer=$2 reason=\"$(printf '%s' "$3" | tr '\n"' "  ")\""
    echo "$line"
    echo "$line" >>"$LOG"
    failed=1
}

# timed WORKLOAD PEER CHECK-COMMAND -- COMMAND...: runs COMMAND (stdin: the
# inputs, stdout: $WORK/out), reports ms per job; CHECK-COMMAND verifies.
timed() {
    local wl=$1 peer=$2 chk=$3
    shift 4
    local t0=${EPOCHREALTIME/[.,]/} t1 rc=0
    "$@" <"$WORK/in" >"$WORK/out" 2>"$WORK/err" || rc=$?
    if [ $rc != 0 ]; then
        fail "$wl" "$peer" "exit status $rc: $(head -c 200 "$WORK/err")"
        return
    fi
    t1=${EPOCHREALTIME/[.,]/}
    local check=ok
    eval "$chk" || check=bad
    [ $check = ok ] || failed=1
    result "$wl" "$peer" ms_per_job "$(awk -v a="$t0" -v b="$t1" -v n="$N" \
        'BEGIN { printf "%.4f", (b - a) / 1e3 / n }')" $check
}
lines_ok='[ "$(wc -l <"$WORK/out")" -eq "$N" ]'
empty_ok='[ ! -s "$WORK/out" ]'
log_ok='[ "$(wc -l <"$WORK/log")" -eq $((N + 1)) ]'

# one PEER COMMAND...: median wall time of starting one job, ONE_REPS times.
one() {
    local peer=$1
    shift
    local times=() t0 t1 rc
    for _ in $(seq "$ONE_REPS"); do
        t0=${EPOCHREALTIME/[.,]/}
        rc=0
        "$@" >/dev/null 2>&1 <"$WORK/one" || rc=$?
        if [ $rc != 0 ]; then
            fail C1-one "$peer" "exit status $rc"
            return
        fi
        t1=${EPOCHREALTIME/[.,]/}
        times+=($((t1 - t0)))
    done
    local med
    med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    result C1-one "$peer" ms "$(awk -v u="$med" 'BEGIN { printf "%.3f", u / 1000 }')" ok
}

round() {
    timed C1-true floor "$empty_ok" -- "$FLOOR" "$N" true
    timed C1-true crew "$empty_ok" -- "$CREW_BIN" -j2 true
    timed C1-true crew-k "$empty_ok" -- "$CREW_BIN" -j2 -k true
    rm -f "$WORK/log"
    timed C1-true crew-joblog "$log_ok" -- "$CREW_BIN" -j2 --joblog "$WORK/log" true
    timed C1-true xargs "$empty_ok" -- xargs -P2 -n1 true
    if [ $have_parallel = 1 ]; then
        timed C1-true parallel "$empty_ok" -- parallel -j2 true
        timed C1-true parallel-k "$empty_ok" -- parallel -j2 -k true
    fi
    timed C1-echo floor "$lines_ok" -- "$FLOOR" "$N" echo
    timed C1-echo crew "$lines_ok" -- "$CREW_BIN" -j2 echo
    timed C1-echo crew-k '[ "$(cat "$WORK/out")" = "$(cat "$WORK/in")" ]' -- "$CREW_BIN" -j2 -k echo
    timed C1-echo xargs "$lines_ok" -- xargs -P2 -n1 echo
    if [ $have_parallel = 1 ]; then
        timed C1-echo parallel "$lines_ok" -- parallel -j2 echo
    fi
    one floor "$FLOOR" 1 true
    one crew "$CREW_BIN" true ::: 1
    one xargs xargs -n1 true
    [ $have_parallel = 1 ] && one parallel parallel true ::: 1
}

for r in $(seq "$RUNS"); do
    echo "# round $r of $RUNS"
    ROUND=$r
    round
done
ROUND=1

# ---- memory: once, crew only -------------------------------------------------
mem() { # workload inputs
    seq "$2" >"$WORK/memin"
    local rc=0
    /usr/bin/time -o "$WORK/rss" -f %M "$CREW_BIN" -j2 true <"$WORK/memin" >/dev/null || rc=$?
    if [ $rc != 0 ]; then
        fail "$1" crew "exit status $rc"
        return
    fi
    local kb
    kb=$(tail -1 "$WORK/rss")
    result "$1" crew peak_mb "$(awk -v k="$kb" 'BEGIN { printf "%.2f", k / 1024 }')" ok
}
if [ -x /usr/bin/time ]; then
    mem C1-mem-1000 1000
    mem "C1-mem-$MEM_BIG" "$MEM_BIG"
else
    note crew "C1: /usr/bin/time is missing: no memory figures"
fi

# ---- the table: medians, and ratios to the floor -----------------------------
echo
awk '
    /^RESULT/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        k = f["workload"] SUBSEP f["peer"]
        n[k]++; v[k, n[k]] = f["value"] + 0
        if (!(k in seen)) { seen[k] = 1; order[++no] = k }
        unit[f["workload"]] = f["metric"]
    }
    function sorted(k,   m, i, j, t) {
        m = n[k]
        for (i = 1; i <= m; i++) a[i] = v[k, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return m
    }
    function median(k,   m) {
        m = sorted(k)
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
        printf "%-16s %-12s %10s %10s %10s %5s  %s\n", "workload", "peer", "median", "min", "max", "runs", "median / floor"
        for (o = 1; o <= no; o++) {
            split(order[o], p, SUBSEP)
            med = median(order[o])
            lo = a[1]; hi = a[n[order[o]]]
            fk = p[1] SUBSEP "floor"
            ratio = (fk in n) && median(fk) > 0 ? sprintf("%.2fx", med / median(fk)) : "-"
            printf "%-16s %-12s %10.4f %10.4f %10.4f %5d  %s\n", p[1], p[2], med, lo, hi, n[order[o]], ratio
        }
    }' "$RAW"
exit $failed
