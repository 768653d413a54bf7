#!/usr/bin/env bash
# The full fault-injection sweep (`make faults`; the test command runs the
# quick one: tests/faults/ in its `faults` stage).  Builds crew with
# CREW_FAULTS twice -- under ASan+UBSan (leak checks; task blocks come from
# malloc there) and plain (the real block allocator, so its mmap calls are
# swept too) -- and runs tests/faults/fault_sweep with every kind of failure
# alone and together, plainly, with a delay in the failing call (the work
# queued before it gets time to run) and with a delay after every thread
# start (a new worker runs before its starter goes on).  Prints the runs
# and the failures injected; exits non-zero on the first failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
./scripts/deps.sh
build() { # dir, cmake args...
    local dir=$1; shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREW_FAULTS=ON "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS" --target fault_sweep >/dev/null
}
build build/faults -DCREW_SANITIZE=address
build build/faults-plain
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for args in "all" "a" "t" "all 1 2000" "all 1 0 3000" "t 1 0 3000"; do
    # shellcheck disable=SC2086
    echo "=== asan: fault_sweep $args"
    ./build/faults/tests/fault_sweep $args | tail -n 2
done
for args in "m" "all" "all 1 2000"; do
    # shellcheck disable=SC2086
    echo "=== plain: fault_sweep $args"
    ./build/faults-plain/tests/fault_sweep $args | tail -n 2
done
echo "=== faults: every sweep passed"
