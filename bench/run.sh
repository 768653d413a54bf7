#!/usr/bin/env bash
# bench/run.sh - the benchmark suite: builds crew and its peers with the same
# flags, runs the workloads W1-W11 and floors F1-F2 (docs/BENCHMARKS.md) with
# crew and every peer interleaved, then the crew command's suite C1
# (bench/c1/run.sh) and crew-remote's R1-R3 (bench/remote/run.sh) in the same
# mode, and reports median/min/max per peer, crew's ratio to each peer and the
# issues' targets (bench/README.md explains the layout).
#
#   bench/run.sh                 full sizes, 5 rounds, then instruction counts
#   bench/run.sh --quick         reduced sizes, 1 round (part of the test command)
#   bench/run.sh --write-docs    full run, then writes docs/BENCHMARKS.md
#   options: --runs N   rounds (full mode; at least 5 for published figures)
#            --only a,b what to run: pool peers (crew mutex glib uv omp tbb
#                       moodycamel python; the floors always run with them)
#                       and/or the sub-suites c1, remote; a list without
#                       c1 / remote leaves them out, a list of only c1 /
#                       remote leaves out W1-W11 and F1-F2
#            --skip a,b what to leave out: c1, remote, pool (W1-W11, F1-F2)
#                       or pool peers
#            --instr / --no-instr  count crew's instructions per task under
#                       callgrind (W1, W2, W9): default on in full mode, off
#                       in quick mode
#
# Output: the table on the terminal, bench/out/results.csv,
# bench/out/ratios.png, bench/out/c1-ratios.png, the raw lines of every part
# in bench/out/raw.log (the sub-suites' own output in bench/out/c1.out and
# remote.out).  Exits non-zero if a program fails to build or run or any
# result check fails.  redis-server or hiredis missing: R1-R3 are skipped
# with a NOTE; GNU parallel missing: C1's parallel runs likewise.
set -uo pipefail
cd "$(dirname "$0")/.."

MODE=full
RUNS=5
WRITE_DOCS=0
ONLY=""
SKIP=""
INSTR=""
while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --write-docs) WRITE_DOCS=1 ;;
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --skip) SKIP=$2; shift ;;
    --instr) INSTR=1 ;;
    --no-instr) INSTR=0 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ $MODE = quick ]; then
    [ $WRITE_DOCS = 1 ] && { echo "run.sh: --write-docs needs a full run" >&2; exit 2; }
    RUNS=1
fi
[ -n "$INSTR" ] || { [ $MODE = full ] && INSTR=1 || INSTR=0; }

# What runs: the pool workloads (W1-W11, F1-F2) with PEERS, C1, R1-R3.
ALL_PEERS=(crew mutex glib uv omp tbb moodycamel python)
PEERS=("${ALL_PEERS[@]}")
RUN_POOL=1 RUN_C1=1 RUN_REMOTE=1
is_peer() { [[ " ${ALL_PEERS[*]} " == *" $1 "* ]]; }
if [ -n "$ONLY" ]; then
    RUN_C1=0 RUN_REMOTE=0
    PEERS=()
    for x in ${ONLY//,/ }; do
        case $x in
        c1) RUN_C1=1 ;;
        remote) RUN_REMOTE=1 ;;
        *) is_peer "$x" || { echo "run.sh: --only: unknown peer or suite $x" >&2; exit 2; }
           PEERS+=("$x") ;;
        esac
    done
    [ ${#PEERS[@]} -gt 0 ] || RUN_POOL=0
fi
for x in ${SKIP//,/ }; do
    case $x in
    c1) RUN_C1=0 ;;
    remote) RUN_REMOTE=0 ;;
    pool) RUN_POOL=0 ;;
    *) is_peer "$x" || { echo "run.sh: --skip: unknown peer or suite $x" >&2; exit 2; }
       kept=()
       for p in ${PEERS[@]+"${PEERS[@]}"}; do [ "$p" = "$x" ] || kept+=("$p"); done
       PEERS=(${kept[@]+"${kept[@]}"}) ;;
    esac
done
[ $RUN_POOL = 1 ] || INSTR=0
if [ $RUN_POOL = 0 ] && [ $RUN_C1 = 0 ] && [ $RUN_REMOTE = 0 ]; then
    echo "run.sh: --only / --skip left nothing to run" >&2
    exit 2
fi
OUT=bench/out
BUILD=build/bench
BIN=$BUILD/bench-bin
RAW=$OUT/raw.log
mkdir -p "$OUT" "$BIN"
: >"$RAW"
P=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
export UV_THREADPOOL_SIZE=$P OMP_NUM_THREADS=$P
failed=0

log() { printf '%s\n' "$*" >>"$RAW"; }

# The machine, printed and recorded with the results (report.py puts it in
# results.csv and docs/BENCHMARKS.md).
CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -1 | tr -d '"')
[ -n "$CPU" ] || CPU=$(uname -m)
echo "== machine: $CPU, P = $P"
log "MACHINE cpu=\"$CPU\" cpus=$P"

# ---- 1. the peers' packages -------------------------------------------------
missing=()
if [ $RUN_POOL = 1 ]; then
    pkg-config --exists glib-2.0 2>/dev/null || missing+=(libglib2.0-dev)
    [ -f /usr/include/uv.h ] || missing+=(libuv1-dev)
    [ -f /usr/include/oneapi/tbb/task_group.h ] || missing+=(libtbb-dev)
    [ -f /usr/include/concurrentqueue/blockingconcurrentqueue.h ] || missing+=(libconcurrentqueue-dev)
    command -v g++ >/dev/null || missing+=(g++)
fi
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
# C1: xargs and GNU parallel are its peers, /usr/bin/time reads its memory.
if [ $RUN_C1 = 1 ]; then
    command -v parallel >/dev/null || missing+=(parallel)
    command -v xargs >/dev/null || missing+=(findutils)
    [ -x /usr/bin/time ] || missing+=(time)
fi
# R1-R3: a private redis-server, hiredis, and Debian's Celery and RQ as peers.
if [ $RUN_REMOTE = 1 ]; then
    command -v redis-server >/dev/null || missing+=(redis-server)
    [ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
    /usr/bin/python3 -c 'import celery' 2>/dev/null || missing+=(python3-celery)
    /usr/bin/python3 -c 'import rq' 2>/dev/null || missing+=(python3-rq)
fi
# valgrind only for the instruction counts (full mode or --instr)
[ "$INSTR" = 0 ] || command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "run.sh: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y \
                "${missing[@]}" >/dev/null; }
    else
        echo "run.sh: missing ${missing[*]} (run as root to install them)" >&2
    fi
fi
# Without a redis-server and hiredis crew-remote cannot be measured at all:
# say so and go on (Celery or RQ missing only leaves that peer out, and
# bench/remote/run.sh says so).
if [ $RUN_REMOTE = 1 ] && { ! command -v redis-server >/dev/null ||
        [ ! -f /usr/include/hiredis/hiredis.h ]; }; then
    echo "run.sh: redis-server or hiredis is not installed: R1-R3 skipped"
    log "NOTE workload=R peer=all text=\"R1-R3 skipped: redis-server or hiredis (libhiredis-dev) is not installed\""
    RUN_REMOTE=0
fi

# ---- 2. build: crew through CMake (RelWithDebInfo = -O2 -g), the programs
# with the same flags; C with gcc, C++ with g++ ---------------------------------
CC=${BENCH_CC:-gcc}   # one compiler family for crew and the peers
CXX=${BENCH_CXX:-g++}
CFLAGS="-O2 -g -std=c11 -Wall -Wextra -pthread"
CXXFLAGS="-O2 -g -std=c++17 -Wall -Wextra -pthread"
BLOG=$OUT/build.log
: >"$BLOG"
echo "== building (log: $BLOG)"
crew_ok=1
CC=$CC cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREW_BUILD_TESTS=OFF \
    -DCREW_BUILD_EXAMPLES=OFF >>"$BLOG" 2>&1 &&
    cmake --build "$BUILD" -j "$P" --target crew_static >>"$BLOG" 2>&1 || crew_ok=0
# The sub-suites use the same tree: the crew command (C1), crew-remote and
# crew-worker (R1-R3).
cli_ok=0 remote_ok=0
if [ $crew_ok = 1 ] && [ $RUN_C1 = 1 ]; then
    cmake --build "$BUILD" -j "$P" --target crew_cli >>"$BLOG" 2>&1 && cli_ok=1
fi
if [ $crew_ok = 1 ] && [ $RUN_REMOTE = 1 ]; then
    cmake --build "$BUILD" -j "$P" --target crew_remote_static crew-worker >>"$BLOG" 2>&1 &&
        remote_ok=1
fi

declare -A built
rm -f "$BIN"/*
build() { # program, compiler command...: compiles in the background, P at a time
    local prog=$1; shift
    while [ "$(jobs -rp | wc -l)" -ge "$P" ]; do wait -n; done
    ( "$@" -o "$BIN/$prog" >"$BIN/$prog.log" 2>&1; echo $? >"$BIN/$prog.rc" ) &
}
progs=()
[ $RUN_POOL = 1 ] && progs=(floors mutex_pool glib_pool uv_pool omp_tasks tbb_group moodycamel_queue)
[ $RUN_POOL = 1 ] && {
build floors $CC $CFLAGS bench/floors.c
build mutex_pool $CC $CFLAGS bench/mutex_pool.c
build glib_pool $CC $CFLAGS bench/glib_pool.c $(pkg-config --cflags --libs glib-2.0)
build uv_pool $CC $CFLAGS bench/uv_pool.c $(pkg-config --cflags --libs libuv)
build omp_tasks $CC $CFLAGS -fopenmp bench/omp_tasks.c
build tbb_group $CXX $CXXFLAGS bench/tbb_group.cpp -ltbb
build moodycamel_queue $CXX $CXXFLAGS bench/moodycamel_queue.cpp
}
if [ $crew_ok = 1 ] && [ $RUN_POOL = 1 ]; then
    progs+=(crew_pool crew_queue)
    build crew_pool $CC $CFLAGS -Iinclude bench/crew_pool.c "$BUILD/libcrew.a"
    build crew_queue $CC $CFLAGS -Iinclude bench/crew_queue.c "$BUILD/libcrew.a"
elif [ $crew_ok = 0 ]; then
    echo "run.sh: building libcrew.a FAILED (see $BLOG)" >&2
    log "FAILED workload=all peer=crew reason=\"building libcrew.a failed (see $BLOG)\""
    failed=1
fi
wait
built[crew_pool]=0
built[crew_queue]=0
for p in "${progs[@]}"; do
    { echo "--- $p"; cat "$BIN/$p.log"; } >>"$BLOG"
    if [ "$(cat "$BIN/$p.rc" 2>/dev/null)" = 0 ]; then
        built[$p]=1
    else
        built[$p]=0
        echo "run.sh: build of $p FAILED (see $BLOG)" >&2
        failed=1
    fi
    rm -f "$BIN/$p.log" "$BIN/$p.rc"
done

# ---- 3. Python 3.13 -----------------------------------------------------------
if [ -x /root/.pyenv/versions/3.13.0/bin/python3.13 ]; then
    PY=/root/.pyenv/versions/3.13.0/bin/python3.13
elif command -v python3.13 >/dev/null && python3.13 -c 1 2>/dev/null; then
    PY=python3.13
else
    PY=python3
    echo "run.sh: Python 3.13 not found; the python peer uses $($PY --version 2>&1)"
fi
[ $RUN_POOL = 1 ] && [[ " ${PEERS[*]-} " == *" python "* ]] &&
    log "NOTE peer=python text=\"interpreter: $($PY --version 2>&1) ($PY)\""

# ---- 4. sizes -----------------------------------------------------------------
# W7: submitting threads and tasks per thread.  W8: nqueens(NQ) with tasks
# down to row NQ - 3 (a node below that has about one node under it, less
# work than a spawn).  W9: UTS depth cap (11: 4,038,775 nodes; 9: 251,613).
# W10: matrix size.  W11: integrate over [0, INTX] (256: 1,296,417 spawns).
if [ $MODE = quick ]; then
    N1=100000 N1PY=10000 FIB=25 N3=1000000 N3PY=100000 N4=2000 T5=200 N6=100000
    R1="100000 300" R2="10000 300" TMO=120
    N7="8 25000" N7PY="8 1250" NQ=10 UTS=9 MM=256 INTX=64
else
    N1=1000000 N1PY=100000 FIB=30 N3=10000000 N3PY=1000000 N4=10000 T5=2000 N6=1000000
    R1="1000000 2000" R2="100000 2000" TMO=900
    N7="8 250000" N7PY="8 12500" NQ=12 UTS=11 MM=1024 INTX=256
fi
NQCUT=$((NQ - 3))
ITERS=100000
if [ "${built[floors]:-0}" = 1 ]; then
    ITERS=$("$BIN/floors" CAL 200 | sed -n 's/^CALIBRATE iters=//p')
fi
[ $RUN_POOL = 1 ] &&
    log "NOTE peer=all text=\"W5 task: bench_spin with $ITERS iterations (~200 us here); P = $P\""

# The command that runs workload $2 for peer $1 (empty: that peer has no
# program for it).
cmd_for() {
    local peer=$1 w=$2 prog
    case $peer in
    floor) case $w in F1) echo "$BIN/floors F1 $R1" ;; F2) echo "$BIN/floors F2 $R2" ;; esac
        return ;;
    sequential)
        case $w in
        W2) echo "$BIN/floors SEQ $FIB" ;;
        W8) echo "$BIN/floors W8 $NQ $NQCUT" ;;
        W9) echo "$BIN/floors W9 $UTS" ;;
        W10) echo "$BIN/floors W10 $MM" ;;
        W11) echo "$BIN/floors W11 $INTX" ;;
        esac
        return ;;
    esac
    case $w in F1|F2) return ;; esac
    local n1=$N1 n3=$N3 a5=$ITERS n7=$N7
    case $peer in
    crew) prog=$BIN/crew_pool; case $w in W3*) prog=$BIN/crew_queue ;; esac ;;
    mutex) prog=$BIN/mutex_pool ;;
    glib) prog=$BIN/glib_pool ;;
    uv) prog=$BIN/uv_pool ;;
    omp) prog=$BIN/omp_tasks ;;
    tbb) prog=$BIN/tbb_group ;;
    moodycamel) prog=$BIN/moodycamel_queue ;;
    python) prog="$PY bench/py_pool.py" n1=$N1PY n3=$N3PY a5=200 n7=$N7PY ;;
    esac
    case $w in
    W1) echo "$prog W1 $n1" ;;
    W2) echo "$prog W2 $FIB" ;;
    W3-1p1c) echo "$prog W3 $n3 1 1" ;;
    W3-2p2c) echo "$prog W3 $n3 2 2" ;;
    W4) echo "$prog W4 $N4" ;;
    W5) echo "$prog W5 $T5 $a5" ;;
    W6) echo "$prog W6 $N6" ;;
    W7) echo "$prog W7 $n7" ;;
    W8) echo "$prog W8 $NQ $NQCUT" ;;
    W9) echo "$prog W9 $UTS" ;;
    W10) echo "$prog W10 $MM" ;;
    W11) echo "$prog W11 $INTX" ;;
    # C1 (the command-line tool, bench/c1/) goes here and in WORKLOADS below.
    esac
}

prog_built() { # the binary named in a command was built (python: always)
    local exe=${1%% *}
    case $exe in "$BIN"/*) [ "${built[${exe#"$BIN"/}]:-0}" = 1 ] ;; *) true ;; esac
}

WORKLOADS=()
if [ $RUN_POOL = 1 ]; then
    PEERS+=(sequential floor)
    WORKLOADS=(F1 F2 W1 W2 W3-1p1c W3-2p2c W4 W5 W6 W7 W8 W9 W10 W11)
fi

# ---- 5. run: every round runs every workload once per peer, the peers in a
# rotated order, so no peer's runs come back to back --------------------------
declare -A unsupported
npeers=${#PEERS[@]}
[ $RUN_POOL = 1 ] && echo "== running W1-W11, F1-F2 ($MODE, $RUNS round(s), P = $P)"
for ((r = 1; r <= RUNS; r++)); do
    for w in "${WORKLOADS[@]}"; do
        for ((i = 0; i < npeers; i++)); do
            peer=${PEERS[$(((i + r - 1) % npeers))]}
            cmd=$(cmd_for "$peer" "$w")
            [ -n "$cmd" ] || continue
            [ -z "${unsupported[$peer/$w]:-}" ] || continue
            if ! prog_built "$cmd"; then
                [ $r = 1 ] && log "FAILED workload=$w peer=$peer reason=\"not built\""
                continue
            fi
            [ -t 1 ] && printf '  round %d  %-8s %-10s\r' "$r" "$w" "$peer"
            outf=$OUT/last.out
            timeout "$TMO" $cmd >"$outf" 2>"$OUT/last.err"
            rc=$?
            sed "s/^/run=$r /" "$outf" >>"$RAW"
            grep -q '^UNSUPPORTED' "$outf" && unsupported[$peer/$w]=1
            if [ $rc != 0 ]; then
                log "FAILED workload=$w peer=$peer reason=\"exit status $rc: $(tr '\n"' ' ' <"$OUT/last.err" | cut -c1-200)\""
                echo "run.sh: $w $peer FAILED (exit status $rc)" >&2
                failed=1
            elif grep -q 'check=FAIL' "$outf"; then
                failed=1
            fi
        done
    done
done
[ -t 1 ] && printf '%60s\r' ''
rm -f "$OUT/last.out" "$OUT/last.err"

# ---- 6. instruction counts: crew under callgrind, on reduced sizes ------------
# Wall time on a shared machine is noisy; instructions per task are not, so
# later changes can be compared with these.  Each figure is the difference
# between two runs of different sizes divided by the difference in tasks
# (start-up, pool creation and shutdown cancel out).  Valgrind runs one thread
# at a time, so the pool has one worker (no thread spins idle while another
# runs), and W1 submits in bursts of 256 that the worker drains before the
# next (otherwise the submitter fills its ring and sends the rest through the
# overflow queue, which W1 does not do natively).  W2 and W9 thus count the
# path of a spawn that is not stolen: spawn, push, pop, run, wait.  The
# sequential floors are counted too: the difference is the runtime's share.
# W1 also splits the count into the submitting thread and the worker.
instr_run() { # out-file-prefix, command...: prints the total Ir of each thread file
    local pre=$1; shift
    rm -f "$pre".*
    BENCH_THREADS=1 timeout 300 valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes \
        --callgrind-out-file="$pre.%p" "$@" >"$pre.out" 2>"$pre.err" || return 1
    grep -q 'check=ok' "$pre.out" || return 1
    local f
    for f in "$pre".*-*; do sed -n 's/^totals: *//p' "$f" | head -1; done
}
instr_sum() { awk '{s += $1} END {print s + 0}'; }
instr_metric() { # workload, peer, metric, small-cmd, large-cmd, tasks-small, tasks-large
    local w=$1 peer=$2 metric=$3 a b side
    local small=$4 large=$5 ta=$6 tb=$7 pre=$OUT/cg
    a=$(instr_run "$pre.a" $small) && b=$(instr_run "$pre.b" $large) || {
        log "FAILED workload=$w peer=$peer reason=\"callgrind run failed: $(cat "$pre.a.err" "$pre.b.err" 2>/dev/null | tr '\n"' '  ' | cut -c1-200)\""
        echo "run.sh: instruction count $w $peer FAILED" >&2
        failed=1
        rm -f "$pre".*
        return
    }
    local ia ib
    ia=$(printf '%s\n' "$a" | instr_sum)
    ib=$(printf '%s\n' "$b" | instr_sum)
    log "RESULT workload=$w peer=$peer metric=$metric value=$(((ib - ia) / (tb - ta))) check=ok"
    if [ "$w" = W1 ]; then # thread 1 submits; the others are workers
        side=$(( ($(printf '%s\n' "$b" | head -1) - $(printf '%s\n' "$a" | head -1)) / (tb - ta) ))
        log "RESULT workload=$w peer=$peer metric=${metric}_submitter value=$side check=ok"
        side=$(( ($(printf '%s\n' "$b" | tail -n +2 | instr_sum) - $(printf '%s\n' "$a" | tail -n +2 | instr_sum)) / (tb - ta) ))
        log "RESULT workload=$w peer=$peer metric=${metric}_worker value=$side check=ok"
    fi
    rm -f "$pre".*
}
if [ "$INSTR" = 1 ]; then
    if ! command -v valgrind >/dev/null; then
        echo "run.sh: valgrind not found: no instruction counts" >&2
        log "NOTE peer=crew text=\"instruction counts skipped: valgrind not installed\""
    elif [ "${built[crew_pool]:-0}" = 1 ] && [ "${built[floors]:-0}" = 1 ]; then
        echo "== instruction counts (callgrind, one worker)"
        instr_metric W1 crew instr_per_task "$BIN/crew_pool W1 50000 256" \
            "$BIN/crew_pool W1 100000 256" 50000 100000
        # fib(20) and fib(23): 10,945 and 46,367 tasks
        instr_metric W2 crew instr_per_task "$BIN/crew_pool W2 20" "$BIN/crew_pool W2 23" 10945 46367
        instr_metric W2 sequential instr_per_task "$BIN/floors SEQ 20" "$BIN/floors SEQ 23" 10945 46367
        # UTS depth caps 7 and 9: 15,495 and 251,613 nodes
        instr_metric W9 crew instr_per_node "$BIN/crew_pool W9 7" "$BIN/crew_pool W9 9" 15495 251613
        instr_metric W9 sequential instr_per_node "$BIN/floors W9 7" "$BIN/floors W9 9" 15495 251613
    fi
fi

# ---- 7. the sub-suites: C1 (bench/c1/run.sh) and R1-R3 (bench/remote/run.sh),
# in the same mode, on the crew built above.  Each writes its lines in the
# suite's format, prefixed run=<round>, to its own log; they are appended to
# raw.log so that report.py sees one run.  Their own output (and table) goes
# to bench/out/c1.out and remote.out. ---------------------------------------------
# The quick run is part of the test command: C1's memory figure there uses
# 5,000 inputs rather than its own quick size (each input is a process; the
# flatness check on a million inputs belongs to the full run).
C1_QUICK_MEM=5000
if [ $MODE = quick ]; then
    SUB_ARGS=(--quick) SUB_TMO=600
else
    SUB_ARGS=(--runs "$RUNS") SUB_TMO=7200
fi
sub_suite() { # name, script, log, env assignment, args...
    local name=$1 script=$2 sublog=$3 envset=$4; shift 4
    local t0=$SECONDS rc=0
    echo "== $name: $script $* (output: $OUT/$name.out)"
    rm -f "$sublog"
    env "$envset" timeout -k 10 "$SUB_TMO" "$script" "$@" >"$OUT/$name.out" 2>&1 || rc=$?
    [ -f "$sublog" ] && grep -v '^MACHINE' "$sublog" >>"$RAW"
    grep '^NOTE' "$OUT/$name.out" | sed 's/^/   /'
    echo "   $name: $((SECONDS - t0)) s, exit status $rc"
    if [ $rc != 0 ]; then
        echo "run.sh: $script FAILED (exit status $rc; see $OUT/$name.out):" >&2
        grep '^FAILED' "$OUT/$name.out" | head -5 >&2
        tail -3 "$OUT/$name.out" >&2
        log "FAILED workload=$name peer=all reason=\"$script exited with status $rc (see $OUT/$name.out)\""
        failed=1
    fi
}
if [ $RUN_C1 = 1 ]; then
    if [ $cli_ok = 1 ]; then
        c1_args=("${SUB_ARGS[@]}")
        [ $MODE = quick ] && c1_args+=(--mem-inputs "$C1_QUICK_MEM")
        sub_suite c1 bench/c1/run.sh "$OUT/c1.log" "CREW_BIN=$BUILD/cli/crew" "${c1_args[@]}"
    elif [ $crew_ok = 1 ]; then
        echo "run.sh: building the crew command FAILED (see $BLOG)" >&2
        log "FAILED workload=c1 peer=crew reason=\"building the crew command failed (see $BLOG)\""
        failed=1
    fi
fi
if [ $RUN_REMOTE = 1 ]; then
    if [ $remote_ok = 1 ]; then
        sub_suite remote bench/remote/run.sh "$OUT/remote.log" "CREW_BENCH_BUILD=$BUILD" \
            "${SUB_ARGS[@]}"
    elif [ $crew_ok = 1 ]; then
        echo "run.sh: building crew-remote FAILED (see $BLOG)" >&2
        log "FAILED workload=remote peer=crew reason=\"building crew-remote and crew-worker failed (see $BLOG)\""
        failed=1
    fi
fi

# ---- 8. report ------------------------------------------------------------------
args=(--raw "$RAW" --out "$OUT" --mode "$MODE" --runs "$RUNS" --python "$PY")
[ $WRITE_DOCS = 1 ] && args+=(--write-docs docs)
python3 bench/report.py "${args[@]}" || failed=1
if [ $failed != 0 ]; then
    echo "run.sh: FAILED (a program failed to build or run, or a check failed)" >&2
    exit 1
fi
exit 0
