#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz for a bounded time each, on their
# seed corpus and regression inputs.  Exits non-zero on the first failing
# input and prints where libFuzzer saved it.
#
#   scripts/fuzz.sh [T]           T seconds (default 60): fuzz_queue T/2
#                                 (its coverage saturates within seconds),
#                                 fuzz_pool T, then fuzz_pool T/2 with
#                                 CREW_NO_MEMBARRIER=1 (the submit path without
#                                 per-thread rings); 2T in all
#
# Expects the build of `scripts/check.sh fuzz` (build/fuzz, -DCREW_FUZZ=ON).
# The corpus libFuzzer grows lives in build/fuzz/corpus/<target> and is kept
# from one run to the next; the seeds in tests/fuzz/corpus are never written.
# FUZZ_SKIP (tests/fuzz/README.md) is passed through for local runs; the
# test command never sets it.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-60}
B=build/fuzz/tests/fuzz
mkdir -p build/fuzz/artifacts

run() { # target seconds [env...]
    local t=$1 secs=$2; shift 2
    local work=build/fuzz/corpus/$t log=build/fuzz/$t.log
    mkdir -p "$work"
    echo "--- $t, ${secs}s${*:+ ($*)}"
    # -timeout: an input taking longer is a hang (every wait in a target has
    # a deadline or is known to finish).  The first corpus directory is the
    # one libFuzzer writes to.
    if ! env "$@" "$B/$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 \
        -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$t-" \
        "$work" "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t" >"$log" 2>&1; then
        grep -E "FUZZ CHECK FAILED|ERROR: |SUMMARY: " "$log" | head -20 >&2 || true
        local art
        art=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
        echo "fuzz: $t failed (log: $log)" >&2
        if [ -n "$art" ]; then
            echo "fuzz: reproducer: $art" >&2
            echo "fuzz:   read it:  FUZZ_TRACE=1 $B/${t}_replay $art" >&2
            echo "fuzz:   keep it:  cp $art tests/fuzz/regress/$t/<what-it-shows>" >&2
        else
            echo "fuzz: it failed on an input already in the corpus or regress/ (see the log)" >&2
        fi
        exit 1
    fi
    local execs
    execs=$(grep -o "stat::number_of_executed_units: [0-9]*" "$log" | grep -o "[0-9]*$" || echo "?")
    echo "$t: $execs inputs executed, no failure"
}

half=$(( (T + 1) / 2 ))
run fuzz_queue "$half"
run fuzz_pool "$T"
run fuzz_pool "$half" CREW_NO_MEMBARRIER=1
