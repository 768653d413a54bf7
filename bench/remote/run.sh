#!/usr/bin/env bash
# bench/remote/run.sh - crew-remote against Celery, RQ and the hiredis
# floors on one private redis-server (bench/remote/README.md):
#   R1  throughput: N no-op jobs submitted, every result waited for; 2 workers
#   R2  round trip of one job on an idle system: median and p99
#   R3  recovery: a worker holding 1,000 jobs killed (kill -9); time until
#       all 1,000 completed on the surviving worker (crew only)
#
#   bench/remote/run.sh            full sizes, 5 rounds (about 3 minutes)
#   bench/remote/run.sh --quick    small sizes, 1 round (about 30 s)
#   options: --runs N, --only crew,floor,celery,rq (default: all)
#
# Output: the suite's RESULT lines on stdout (bench/README.md), a summary
# with the targets of issue 16, the raw lines in bench/out/remote.log
# (bench/run.sh adds them to its own raw log).  Exits non-zero if a program
# fails or a result's check is not ok.  Celery or RQ missing (and not root to
# install them): a NOTE, and that peer is left out.  Environment:
# CREW_BENCH_BUILD=DIR uses crew, crew-remote and crew-worker already built in
# that CMake tree (bench/run.sh's) instead of configuring build/bench-remote.
set -uo pipefail
cd "$(dirname "$0")/../.."

MODE=full
RUNS=5
ONLY="crew,floor,celery,rq"
while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "remote/run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
if [ $MODE = quick ]; then
    RUNS=1
    N_CREW=20000 N_FLOOR=20000 N_FLOOR_RT=2000 N_CELERY=300 N_RQ=40 N_RQS=100
    RT_CREW=200 RT_FLOOR=200 RT_CELERY=30 RT_RQ=20 LEASE_MS=1000
else
    N_CREW=200000 N_FLOOR=200000 N_FLOOR_RT=20000 N_CELERY=5000 N_RQ=300 N_RQS=1000
    RT_CREW=2000 RT_FLOOR=2000 RT_CELERY=200 RT_RQ=100 LEASE_MS=2000
fi
PY=/usr/bin/python3 # Debian's, with python3-celery and python3-rq
OUT=bench/out
BUILD=build/bench-remote
BIN=$BUILD/bench-bin
RAW=$OUT/remote.log
mkdir -p "$OUT" "$BIN"
: >"$RAW"
failed=0

note() { # peer text: a NOTE line on stdout and in the raw log
    echo "NOTE workload=R peer=$1 text=\"$2\"" | tee -a "$RAW"
}

# ---- 1. what it needs ---------------------------------------------------------
missing=()
want crew || want floor || want celery || want rq || { echo "remote/run.sh: --only: nothing to run" >&2; exit 2; }
command -v redis-server >/dev/null || missing+=(redis-server)
[ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
want celery && { $PY -c 'import celery' 2>/dev/null || missing+=(python3-celery); }
want rq && { $PY -c 'import rq' 2>/dev/null || missing+=(python3-rq); }
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "remote/run.sh: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
            echo "remote/run.sh: cannot install ${missing[*]}" >&2
    else
        echo "remote/run.sh: missing ${missing[*]} (run as root to install)" >&2
    fi
fi
if ! command -v redis-server >/dev/null || [ ! -f /usr/include/hiredis/hiredis.h ]; then
    echo "remote/run.sh: needs redis-server and hiredis (Debian: redis-server libhiredis-dev)" >&2
    exit 1
fi
# The Python peers are left out, with a note, when their package is missing.
if want celery && ! $PY -c 'import celery' 2>/dev/null; then
    note celery "R1, R2: Celery is not installed (Debian: python3-celery): left out"
    ONLY=${ONLY//celery/}
fi
if want rq && ! $PY -c 'import rq' 2>/dev/null; then
    note rq "R1, R2: RQ is not installed (Debian: python3-rq): left out"
    ONLY=${ONLY//rq/}
fi

# ---- 2. build: crew with crew-remote, the C programs with the same flags --------
echo "== building crew-remote (RelWithDebInfo) and the R programs (gcc -O2 -g)"
if [ -n "${CREW_BENCH_BUILD:-}" ]; then
    LIBS=$CREW_BENCH_BUILD
    configure() {
        for f in "$LIBS/src/remote/libcrew-remote.a" "$LIBS/libcrew.a" "$LIBS/worker/crew-worker"; do
            [ -e "$f" ] || { echo "remote/run.sh: CREW_BENCH_BUILD: $f is missing"; return 1; }
        done
    }
else
    LIBS=$BUILD
    configure() {
        cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREW_REMOTE=ON \
            -DCREW_BUILD_TESTS=OFF -DCREW_BUILD_EXAMPLES=OFF &&
            cmake --build "$BUILD" -j 2 --target crew_static crew_remote_static crew-worker
    }
fi
{
    configure &&
        gcc -O2 -g -Wall -Wextra -Werror bench/remote/r_floor.c -o "$BIN/r_floor" -lhiredis -pthread &&
        gcc -O2 -g -Wall -Wextra -Werror -Iinclude bench/remote/r_crew.c -o "$BIN/r_crew" \
            "$LIBS/src/remote/libcrew-remote.a" "$LIBS/libcrew.a" -lhiredis -pthread
} >"$OUT/remote-build.log" 2>&1 || { echo "remote/run.sh: build failed, see $OUT/remote-build.log" >&2; exit 1; }
WORKER=$LIBS/worker/crew-worker

# ---- 3. one private redis-server on a free loopback port ------------------------
DIR=$(mktemp -d "${TMPDIR:-/tmp}/crew-bench-redis-XXXXXX")
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$DIR/redis.conf" <<EOF
port $PORT
bind 127.0.0.1
protected-mode yes
dir $DIR
logfile $DIR/redis.log
save ""
appendonly yes
appendfsync everysec
maxmemory-policy noeviction
EOF
PIDS=()
REDIS_PID=
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
redis-server "$DIR/redis.conf" >/dev/null 2>&1 &
REDIS_PID=$!
for _ in $(seq 200); do
    redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
done
URL=redis://127.0.0.1:$PORT
export CREW_BENCH_REDIS=$URL/0
echo "== redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on $URL (appendonly yes, everysec)"
P=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -1 | tr -d '"')
echo "MACHINE cpu=\"${CPU:-$(uname -m)}\" cpus=$P" >>"$RAW"

# ---- 4. running things ----------------------------------------------------------
# Runs a measuring command; its RESULT lines go to stdout and the raw log.
measure() { # round, workload, peer, command...
    local round=$1 wl=$2 peer=$3; shift 3
    local out rc
    out=$("$@" 2>"$OUT/remote-last.err"); rc=$?
    [ -n "$out" ] && printf '%s\n' "$out"
    printf '%s\n' "$out" | sed -n "s/^RESULT/run=$round RESULT/p" >>"$RAW"
    if [ $rc -ne 0 ] || printf '%s\n' "$out" | grep -q 'check=failed'; then
        echo "FAILED workload=$wl peer=$peer reason=\"exit $rc: $(tail -1 "$OUT/remote-last.err" | tr '"' "'"); command: $*\"" |
            tee -a "$RAW"
        failed=1
    fi
}
start() { "$@" >>"$OUT/remote-workers.log" 2>&1 & PIDS+=($!); }
stop_all() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PIDS=()
    redis-cli -p "$PORT" flushall >/dev/null
}
: >"$OUT/remote-workers.log"

for round in $(seq "$RUNS"); do
    echo "== round $round of $RUNS ($MODE)"
    if want floor; then
        measure "$round" R1 floor "$BIN/r_floor" R1 127.0.0.1 "$PORT" "$N_FLOOR"
        measure "$round" R1 floor-rt "$BIN/r_floor" R1RT 127.0.0.1 "$PORT" "$N_FLOOR_RT"
        measure "$round" R2 floor "$BIN/r_floor" R2 127.0.0.1 "$PORT" "$RT_FLOOR"
    fi
    if want crew; then
        start "$WORKER" -u "$URL" -q bench -n 2
        measure "$round" R1 crew "$BIN/r_crew" R1 "$URL" "$N_CREW"
        measure "$round" R2 crew "$BIN/r_crew" R2 "$URL" "$RT_CREW"
        stop_all
        measure "$round" R3 crew "$BIN/r_crew" REC "$URL" "$WORKER" "$LEASE_MS"
        redis-cli -p "$PORT" flushall >/dev/null
    fi
    if want celery; then
        (cd bench/remote && exec $PY -m celery -A celery_bench worker -c 2 -P prefork \
            --loglevel WARNING --without-gossip --without-mingle --without-heartbeat) \
            >>"$OUT/remote-workers.log" 2>&1 &
        PIDS+=($!)
        measure "$round" R1 celery env PYTHONPATH=bench/remote $PY bench/remote/celery_bench.py R1 "$N_CELERY"
        measure "$round" R2 celery env PYTHONPATH=bench/remote $PY bench/remote/celery_bench.py R2 "$RT_CELERY"
        stop_all
    fi
    if want rq; then
        for kind in rq rq-simple; do
            wc=(); n=$N_RQ
            [ $kind = rq-simple ] && wc=(-w rq.worker.SimpleWorker) && n=$N_RQS
            for _ in 1 2; do
                start env PYTHONPATH=bench/remote $PY /usr/bin/rq worker -q -u "$CREW_BENCH_REDIS" \
                    "${wc[@]}" crewbench
            done
            measure "$round" R1 $kind env PYTHONPATH=bench/remote $PY bench/remote/rq_bench.py R1 "$n" "$kind"
            measure "$round" R2 $kind env PYTHONPATH=bench/remote $PY bench/remote/rq_bench.py R2 "$RT_RQ" "$kind"
            stop_all
        done
    fi
done

# ---- 5. summary: medians, ratios, the targets of issue 16 ------------------------
$PY - "$RAW" "$MODE" <<'PY' || failed=1
import re, statistics, sys
raw, mode = sys.argv[1], sys.argv[2]
vals = {}
for line in open(raw):
    m = re.search(r"RESULT workload=(\S+) peer=(\S+) metric=(\S+) value=(\S+) check=(\S+)", line)
    if m and m.group(5) in ("ok", "slow"):
        vals.setdefault(m.group(1, 2, 3), []).append(float(m.group(4)))
med = {k: statistics.median(v) for k, v in vals.items()}
print("\n%-4s %-10s %-12s %14s %14s %14s  runs" % ("", "peer", "metric", "median", "min", "max"))
for k in sorted(med):
    v = vals[k]
    print("%-4s %-10s %-12s %14.1f %14.1f %14.1f  %d" % (k[0], k[1], k[2], med[k], min(v), max(v), len(v)))
def get(w, p, m):
    return med.get((w, p, m))
rows = []
crew = get("R1", "crew", "jobs_per_s")
for name, target, value, ok in (
    ("R1 crew jobs/s >= 100,000", 100000, crew, lambda v: v >= 100000),
    ("R1 crew / celery >= 50", 50, crew and get("R1", "celery", "jobs_per_s") and crew / get("R1", "celery", "jobs_per_s"), lambda v: v >= 50),
    ("R1 crew / batched floor >= 0.4", 0.4, crew and get("R1", "floor", "jobs_per_s") and crew / get("R1", "floor", "jobs_per_s"), lambda v: v >= 0.4),
    ("R2 crew p50 / floor p50 <= 2", 2, get("R2", "crew", "p50_us") and get("R2", "floor", "p50_us") and get("R2", "crew", "p50_us") / get("R2", "floor", "p50_us"), lambda v: v <= 2),
    ("R2 crew p99 / floor p99 <= 2", 2, get("R2", "crew", "p99_us") and get("R2", "floor", "p99_us") and get("R2", "crew", "p99_us") / get("R2", "floor", "p99_us"), lambda v: v <= 2),
):
    if value:
        rows.append("TARGET %-32s %10.2f  %s" % (name, value, "met" if ok(value) else "NOT met"))
rec = vals.get(("R3", "crew", "recovery_ms"))
if rec:
    rows.append("TARGET %-32s %10.0f  (lease + 1 s; each run's check says ok or slow)" % ("R3 recovery ms (median)", statistics.median(rec)))
print()
print("\n".join(rows))
if mode == "quick":
    print("(quick mode: small sizes on a shared machine; the targets are judged on a full run)")
PY
exit $failed
