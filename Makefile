# Common commands (see README.md).  Everything goes through CMake; the build
# trees live under build/.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake

.PHONY: all build run check test bench bench-quick install clean faults fuzz soak

all: build

build:
	$(CMAKE) -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	$(CMAKE) --build build/plain -j $(JOBS)

# The main job: the threads-FAQ example (checksums every file under a directory).
run: build
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

install: build
	$(CMAKE) --install build/plain $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf build
