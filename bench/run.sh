#!/usr/bin/env bash
# bench/run.sh - the benchmark suite: builds crew and its peers with the same
# flags, runs the workloads W1-W6 and floors F1-F2 (docs/BENCHMARKS.md) with
# crew and every peer interleaved, and reports median/min/max per peer and
# crew's ratio to each peer (bench/README.md explains the layout).
#
#   bench/run.sh                 full sizes, 5 rounds
#   bench/run.sh --quick         reduced sizes, 1 round (part of the test command)
#   bench/run.sh --write-docs    full run, then writes docs/BENCHMARKS.md
#   options: --runs N   rounds (full mode; at least 5 for published figures)
#            --only a,b peers to run (crew mutex glib uv omp tbb moodycamel
#                       python; the floors always run)
#
# Output: the table on the terminal, bench/out/results.csv,
# bench/out/ratios.png, the raw lines in bench/out/raw.log.  Exits non-zero if
# a program fails to build or run or any result check fails.
set -uo pipefail
cd "$(dirname "$0")/.."

MODE=full
RUNS=5
WRITE_DOCS=0
ONLY=""
while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --write-docs) WRITE_DOCS=1 ;;
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ $MODE = quick ]; then
    [ $WRITE_DOCS = 1 ] && { echo "run.sh: --write-docs needs a full run" >&2; exit 2; }
    RUNS=1
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

# ---- 1. the peers' packages -------------------------------------------------
missing=()
pkg-config --exists glib-2.0 2>/dev/null || missing+=(libglib2.0-dev)
[ -f /usr/include/uv.h ] || missing+=(libuv1-dev)
[ -f /usr/include/oneapi/tbb/task_group.h ] || missing+=(libtbb-dev)
[ -f /usr/include/concurrentqueue/blockingconcurrentqueue.h ] || missing+=(libconcurrentqueue-dev)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "run.sh: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y libglib2.0-dev libuv1-dev libtbb-dev \
            libconcurrentqueue-dev gnuplot-nox g++ >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y \
                libglib2.0-dev libuv1-dev libtbb-dev libconcurrentqueue-dev gnuplot-nox g++ \
                >/dev/null; }
    else
        echo "run.sh: missing ${missing[*]} (run as root to install them)" >&2
    fi
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

declare -A built
rm -f "$BIN"/*
build() { # program, compiler command...: compiles in the background, P at a time
    local prog=$1; shift
    while [ "$(jobs -rp | wc -l)" -ge "$P" ]; do wait -n; done
    ( "$@" -o "$BIN/$prog" >"$BIN/$prog.log" 2>&1; echo $? >"$BIN/$prog.rc" ) &
}
progs=(floors mutex_pool glib_pool uv_pool omp_tasks tbb_group moodycamel_queue)
build floors $CC $CFLAGS bench/floors.c
build mutex_pool $CC $CFLAGS bench/mutex_pool.c
build glib_pool $CC $CFLAGS bench/glib_pool.c $(pkg-config --cflags --libs glib-2.0)
build uv_pool $CC $CFLAGS bench/uv_pool.c $(pkg-config --cflags --libs libuv)
build omp_tasks $CC $CFLAGS -fopenmp bench/omp_tasks.c
build tbb_group $CXX $CXXFLAGS bench/tbb_group.cpp -ltbb
build moodycamel_queue $CXX $CXXFLAGS bench/moodycamel_queue.cpp
if [ $crew_ok = 1 ]; then
    progs+=(crew_pool crew_queue)
    build crew_pool $CC $CFLAGS -Iinclude bench/crew_pool.c "$BUILD/libcrew.a"
    build crew_queue $CC $CFLAGS -Iinclude bench/crew_queue.c "$BUILD/libcrew.a"
else
    echo "run.sh: building libcrew.a FAILED (see $BLOG)" >&2
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
case " ${ONLY:-python} " in *python*)
    log "NOTE peer=python text=\"interpreter: $($PY --version 2>&1) ($PY)\"" ;;
esac

# ---- 4. sizes -----------------------------------------------------------------
if [ $MODE = quick ]; then
    N1=100000 N1PY=10000 FIB=25 N3=1000000 N3PY=100000 N4=2000 T5=200 N6=100000
    R1="100000 300" R2="10000 300" TMO=120
else
    N1=1000000 N1PY=100000 FIB=30 N3=10000000 N3PY=1000000 N4=10000 T5=2000 N6=1000000
    R1="1000000 2000" R2="100000 2000" TMO=900
fi
ITERS=100000
if [ "${built[floors]}" = 1 ]; then
    ITERS=$("$BIN/floors" CAL 200 | sed -n 's/^CALIBRATE iters=//p')
fi
log "NOTE peer=all text=\"W5 task: bench_spin with $ITERS iterations (~200 us here); P = $P\""

# The command that runs workload $2 for peer $1 (empty: that peer has no
# program for it).
cmd_for() {
    local peer=$1 w=$2 prog
    case $peer in
    floor) case $w in F1) echo "$BIN/floors F1 $R1" ;; F2) echo "$BIN/floors F2 $R2" ;; esac
        return ;;
    sequential) [ "$w" = W2 ] && echo "$BIN/floors SEQ $FIB"; return ;;
    esac
    case $w in F1|F2) return ;; esac
    local n1=$N1 n3=$N3 a5=$ITERS
    case $peer in
    crew) prog=$BIN/crew_pool; case $w in W3*) prog=$BIN/crew_queue ;; esac ;;
    mutex) prog=$BIN/mutex_pool ;;
    glib) prog=$BIN/glib_pool ;;
    uv) prog=$BIN/uv_pool ;;
    omp) prog=$BIN/omp_tasks ;;
    tbb) prog=$BIN/tbb_group ;;
    moodycamel) prog=$BIN/moodycamel_queue ;;
    python) prog="$PY bench/py_pool.py" n1=$N1PY n3=$N3PY a5=200 ;;
    esac
    case $w in
    W1) echo "$prog W1 $n1" ;;
    W2) echo "$prog W2 $FIB" ;;
    W3-1p1c) echo "$prog W3 $n3 1 1" ;;
    W3-2p2c) echo "$prog W3 $n3 2 2" ;;
    W4) echo "$prog W4 $N4" ;;
    W5) echo "$prog W5 $T5 $a5" ;;
    W6) echo "$prog W6 $N6" ;;
    esac
}

prog_built() { # the binary named in a command was built (python: always)
    local exe=${1%% *}
    case $exe in "$BIN"/*) [ "${built[${exe#"$BIN"/}]:-0}" = 1 ] ;; *) true ;; esac
}

PEERS=(crew mutex glib uv omp tbb moodycamel python)
if [ -n "$ONLY" ]; then IFS=, read -r -a PEERS <<<"$ONLY"; fi
PEERS+=(sequential floor)
WORKLOADS=(F1 F2 W1 W2 W3-1p1c W3-2p2c W4 W5 W6)

# ---- 5. run: every round runs every workload once per peer, the peers in a
# rotated order, so no peer's runs come back to back --------------------------
declare -A unsupported
npeers=${#PEERS[@]}
echo "== running ($MODE, $RUNS round(s), P = $P)"
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

# ---- 6. report ------------------------------------------------------------------
args=(--raw "$RAW" --out "$OUT" --mode "$MODE" --runs "$RUNS" --python "$PY")
[ $WRITE_DOCS = 1 ] && args+=(--write-docs docs)
python3 bench/report.py "${args[@]}" || failed=1
if [ $failed != 0 ]; then
    echo "run.sh: FAILED (a program failed to build or run, or a check failed)" >&2
    exit 1
fi
exit 0
