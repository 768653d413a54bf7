#!/usr/bin/env bash
# The test command: builds and runs every test three ways (plain, ASan+UBSan,
# TSan) with gcc, builds everything with clang -Wall -Wextra -Werror and runs
# the suite once more, once more on the portable POSIX platform and once
# with fault injection, checks that an installed crew is usable through
# pkg-config and CMake, runs the benchmark suite in --quick mode so the
# benchmarks never rot, and runs the libFuzzer targets for a short time.
# Exits non-zero on the first failure.
#
#   scripts/check.sh            everything
#   scripts/check.sh plain asan only the named stages
#                               (plain asan tsan clang posix faults install bench fuzz)
#
# The fuzz stage builds tests/fuzz with clang and -DCREW_FUZZ=ON and runs
# scripts/fuzz.sh $FUZZ_TIME (default 60: fuzz_queue 30 s, fuzz_pool 60 s and
# 30 s more with CREW_NO_MEMBARRIER=1, 2 min plus the build); `make fuzz` runs
# it longer.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
stages=("$@")
./scripts/deps.sh
[ ${#stages[@]} -gt 0 ] || stages=(plain asan tsan clang posix faults install bench fuzz)

suite() { # name, cmake args...
    local name=$1; shift
    echo "=== $name"
    cmake -S . -B "build/$name" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "build/$name" -j "$JOBS" >/dev/null
    (cd "build/$name" && ctest --output-on-failure -j "$JOBS")
}

for s in "${stages[@]}"; do
    case $s in
    plain) CC=gcc suite plain ;;
    asan)
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            CC=gcc suite asan -DCREW_SANITIZE=address ;;
    tsan)
        # TSan needs the 47-bit address layout it was built for; high ASLR
        # entropy on some kernels breaks it, so run without randomisation.
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0 \
            CC=gcc suite tsan -DCREW_SANITIZE=thread \
            -DCMAKE_CROSSCOMPILING_EMULATOR="setarch;$(uname -m);-R" ;;
    # The clang build also runs the fallback without membarrier (src/base/fence.h).
    clang) CREW_NO_MEMBARRIER=1 CC=clang suite clang ;;
    # The portable platform (src/base/platform_posix.c: condition variables
    # instead of futex, no membarrier, no placement), in a checked build.
    posix) CC=gcc suite posix -DCREW_PLATFORM=posix -DCMAKE_BUILD_TYPE=Debug ;;
    # Fault injection (src/base/fault.h) under ASan+UBSan: the whole suite once
    # more, plus the programs of tests/faults/.
    faults)
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            CC=gcc suite faults -DCREW_SANITIZE=address -DCREW_FAULTS=ON ;;
    install) ./scripts/check_install.sh ;;
    bench) ./bench/run.sh --quick ;;
    fuzz)
        echo "=== fuzz"
        CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREW_FUZZ=ON \
            -DCREW_BUILD_EXAMPLES=OFF >/dev/null
        cmake --build build/fuzz -j "$JOBS" --target fuzz_queue fuzz_pool fuzz_queue_replay \
            fuzz_pool_replay >/dev/null
        ./scripts/fuzz.sh "${FUZZ_TIME:-60}" ;;
    *) echo "unknown stage $s" >&2; exit 2 ;;
    esac
done
echo "=== all stages passed: ${stages[*]}"
