#!/usr/bin/env bash
# Soak: runs the stress programs (tests/stress_*.c) at large counts, one after
# another in rounds, until the time is up, and adds up the hand-offs they
# checked.  A hand-off is one item or task passed from one thread to another
# and checked for loss and duplication (each program's header says what it
# counts).  Not part of the test command.
#
#   scripts/soak.sh [seconds]      default 600 (10 minutes), the total time;
#                                  the last run may end up to ~15 s later
#   SOAK_PROGRAMS="stress_queue stress_pool" scripts/soak.sh 60
#                                  only those programs
#
# stress_churn (short-lived submitting threads, memory must stay flat) runs
# once, first, with 48,000 threads.  Every run's output is kept in
# build/soak/.  Exits 1 if any run failed; a loss or duplicate stops the soak
# at once.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-600}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

cmake -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/plain -j "$JOBS" >/dev/null
BIN=build/plain/tests
LOG=build/soak
rm -rf "$LOG"
mkdir -p "$LOG"

# name and arguments of each run: a few seconds each on a 2-core machine, and
# at most a few hundred MB of bookkeeping
declare -A ARGS=(
    [stress_queue]="4 4 1000000 64"
    [stress_squeue]="8 2 10000000"
    [stress_pool]="4 1000000 2"
    [stress_deque]="3 50000000 2 1000"
    [stress_group]="2 400 15"
    [stress_submit]="4 200000 2 20"
)
ORDER=(stress_queue stress_squeue stress_pool stress_deque stress_group stress_submit)
if [ -n "${SOAK_PROGRAMS:-}" ]; then
    read -r -a ORDER <<<"$SOAK_PROGRAMS"
fi

declare -A HANDOFFS RUNS NS
total=0
failed=()
now() { date +%s%N; } # nanoseconds
start=$(now)
n=0

# Runs one program; adds its checked hand-offs.  Returns 1 if it failed.
run() { # name args...
    local name=$1; shift
    n=$((n + 1))
    local log="$LOG/$n-$name.log" t0 t1 h
    t0=$(now)
    local rc=0
    "$BIN/$name" "$@" >"$log" 2>&1 || rc=$?
    t1=$(now)
    h=$(grep -o "[0-9]* checked hand-offs" "$log" | grep -o "^[0-9]*" || echo 0)
    HANDOFFS[$name]=$(( ${HANDOFFS[$name]:-0} + h ))
    RUNS[$name]=$(( ${RUNS[$name]:-0} + 1 ))
    NS[$name]=$(( ${NS[$name]:-0} + t1 - t0 ))
    total=$((total + h))
    if [ $rc -ne 0 ]; then
        echo "soak: $name $* FAILED (exit $rc), output in $log:" >&2
        tail -5 "$log" >&2
        failed+=("$name")
        return 1
    fi
    return 0
}

summary() {
    local elapsed=$(( $(now) - start ))
    awk -v ns="$elapsed" 'BEGIN { printf "=== soak: %.0f s\n", ns / 1e9 }'
    for name in stress_churn "${ORDER[@]}"; do
        [ -n "$name" ] && [ -n "${RUNS[$name]:-}" ] || continue
        awk -v n="$name" -v r="${RUNS[$name]}" -v h="${HANDOFFS[$name]}" -v ns="${NS[$name]}" \
            'BEGIN { printf "  %-14s %4d runs  %14d checked hand-offs  %8.1f s\n", n, r, h, ns / 1e9 }'
    done
    awk -v t="$total" -v ns="$elapsed" \
        'BEGIN { printf "  total          %25d checked hand-offs, %.0f per second\n", t, t / (ns / 1e9) }'
    if [ ${#failed[@]} -eq 0 ]; then
        echo "soak: no loss, no duplicate, every check held"
    else
        echo "soak: FAILED: ${failed[*]}"
    fi
}

if [ -z "${SOAK_PROGRAMS:-}" ] || [[ " $SOAK_PROGRAMS " == *" stress_churn "* ]]; then
    # Memory growth is a failure of its own (issue 11, bug 3), not a lost
    # hand-off: note it and go on.
    run stress_churn 48000 || true
    ORDER=("${ORDER[@]/stress_churn/}")
fi
end=$(( start + T * 1000000000 ))
while :; do
    for name in "${ORDER[@]}"; do
        [ -n "$name" ] || continue
        if [ "$(now)" -ge "$end" ]; then
            summary
            [ ${#failed[@]} -eq 0 ]
            exit
        fi
        # shellcheck disable=SC2086
        if ! run "$name" ${ARGS[$name]:-}; then
            summary
            exit 1
        fi
    done
done
