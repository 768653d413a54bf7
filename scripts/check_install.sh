#!/usr/bin/env bash
# Installs crew into a scratch prefix and builds a small program against it
# three ways: pkg-config with the shared library, pkg-config --static, and
# CMake's find_package(crew), then runs the installed crew command.  Proves
# the install rules, crew.pc and the CMake package work for a user.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
echo "=== install"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake -S . -B build/install -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCREW_BUILD_TESTS=OFF -DCREW_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build/install -j "$JOBS" >/dev/null
cmake --install build/install >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(gcc -print-multiarch 2>/dev/null)/pkgconfig"
app=$prefix/app.c
cat >"$app" <<'C'
#include <crew.h>
#include <stdio.h>
static int square(void *arg, void **result) {
    *result = (void *)((long)arg * (long)arg);
    return 0;
}
int main(void) {
    crew_pool *pool;
    crew_future *f;
    void *r = NULL;
    if (crew_pool_create(&pool, NULL) || crew_pool_submit(pool, square, (void *)7L, &f))
        return 1;
    int rc = crew_future_result(f, &r, NULL);
    crew_future_release(f);
    crew_pool_destroy(pool);
    printf("7*7=%ld (%s)\n", (long)r, crew_strerror(rc));
    return rc != 0 || (long)r != 49;
}
C
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror "$app" -o "$prefix/app_shared" $(pkg-config --cflags --libs crew)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir crew)" "$prefix/app_shared"
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror "$app" -o "$prefix/app_static" $(pkg-config --cflags crew) \
    "$(pkg-config --variable=libdir crew)/libcrew.a" $(pkg-config --libs-only-other --static crew)
"$prefix/app_static"
mkdir -p "$prefix/cmk"
cat >"$prefix/cmk/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(crew REQUIRED)
add_executable(app ../app.c)
target_link_libraries(app PRIVATE crew::crew_static)
CM
cmake -S "$prefix/cmk" -B "$prefix/cmk/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/cmk/build" >/dev/null
"$prefix/cmk/build/app"
# The crew command and its man page.
[ "$("$prefix/bin/crew" -k echo ::: a b | tr '\n' ' ')" = "a b " ]
[ -f "$prefix/share/man/man1/crew.1" ]
# crew-remote, when the build had hiredis: its header, libraries,
# crew-remote.pc, crew::crew_remote in the CMake package, crew-worker and its
# manual page.  The program needs no Redis: it checks a refused URL.
if [ -f "$(pkg-config --variable=libdir crew)/pkgconfig/crew-remote.pc" ]; then
    rapp=$prefix/rapp.c
    cat >"$rapp" <<'C'
#include <crew/remote.h>
#include <stdio.h>
int main(void) {
    crew_remote_client *c;
    crew_remote_options o;
    crew_remote_options_init(&o);
    int rc = crew_remote_client_create(&c, "rediss://tls.not.supported", &o);
    printf("rediss:// -> %s\n", crew_err_name(rc));
    return rc != CREW_EINVAL;
}
C
    # shellcheck disable=SC2046
    cc -Wall -Wextra -Werror "$rapp" -o "$prefix/rapp_shared" $(pkg-config --cflags --libs crew-remote)
    LD_LIBRARY_PATH="$(pkg-config --variable=libdir crew)" "$prefix/rapp_shared"
    # shellcheck disable=SC2046
    cc -Wall -Wextra -Werror "$rapp" -o "$prefix/rapp_static" $(pkg-config --cflags crew-remote) \
        "$(pkg-config --variable=libdir crew)/libcrew-remote.a" \
        "$(pkg-config --variable=libdir crew)/libcrew.a" $(pkg-config --libs --static hiredis) -pthread
    "$prefix/rapp_static"
    mkdir -p "$prefix/rcmk"
    cat >"$prefix/rcmk/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(rapp C)
find_package(crew REQUIRED)
add_executable(rapp ../rapp.c)
target_link_libraries(rapp PRIVATE crew::crew_remote_static)
CM
    cmake -S "$prefix/rcmk" -B "$prefix/rcmk/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$prefix/rcmk/build" >/dev/null
    "$prefix/rcmk/build/rapp"
    sed -i 's/crew::crew_remote_static/crew::crew_remote/' "$prefix/rcmk/CMakeLists.txt"
    cmake -S "$prefix/rcmk" -B "$prefix/rcmk/build2" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$prefix/rcmk/build2" >/dev/null
    LD_LIBRARY_PATH="$(pkg-config --variable=libdir crew)" "$prefix/rcmk/build2/rapp"
    "$prefix/bin/crew-worker" --help >/dev/null
    [ -f "$prefix/share/man/man1/crew-worker.1" ]
    echo "install: crew-remote ok"
fi
echo "install: ok"
