# Common commands (see README.md).  Everything goes through CMake; the build
# trees live under build/.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake

.PHONY: all build run run-example check test bench bench-quick bench-c1 install clean faults fuzz soak

all: build

build:
	$(CMAKE) -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	$(CMAKE) --build build/plain -j $(JOBS)

# The main job, on the crew command: one sha256sum job per file under a
# directory (ARGS, default /usr/share/common-licenses), output in input
# order, then a summary from the joblog.
RUN_DIR = $(if $(ARGS),$(ARGS),/usr/share/common-licenses)
run: build
	@find "$(RUN_DIR)" -type f -print0 | \
	  ./build/plain/cli/crew -0 -k --bar --joblog build/plain/run-joblog sha256sum; \
	status=$$?; \
	awk -F'\t' 'NR > 1 { n++; if ($$7 != 0 || $$8 != 0) f++; t += $$4 } \
	  END { printf "crew: %d files, one sha256sum job each: %d failed, %.3f s of job time (joblog: build/plain/run-joblog)\n", n, f, t }' \
	  build/plain/run-joblog; \
	exit $$status

# The library's own example of the same job: the threads FAQ's worker pool.
run-example: build
	./build/plain/faq_workers $(ARGS)

# Every test: plain, ASan+UBSan and TSan with gcc, a clang -Werror build,
# the install/pkg-config check and the benchmark suite in --quick mode.
check:
	./scripts/check.sh

test: build
	cd build/plain && ctest --output-on-failure -j $(JOBS)

# The full fault-injection sweep (the test command runs a quick one).
faults:
	./scripts/faults.sh

# The libFuzzer targets (tests/fuzz) for 2 x FUZZ_TIME seconds in all
# (scripts/fuzz.sh says how they are shared).
FUZZ_TIME ?= 600
fuzz:
	FUZZ_TIME=$(FUZZ_TIME) ./scripts/check.sh fuzz

# The stress programs at large counts for SOAK_TIME seconds in all; prints
# the number of checked hand-offs.  Not part of `make check`.
SOAK_TIME ?= 600
soak:
	./scripts/soak.sh $(SOAK_TIME)

bench:
	./bench/run.sh

bench-quick:
	./bench/run.sh --quick

# C1: the crew command against the spawn floor, xargs and GNU parallel.
bench-c1:
	./bench/c1/run.sh

install: build
	$(CMAKE) --install build/plain $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf build
