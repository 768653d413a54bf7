#!/usr/bin/env bash
# Installs what building, testing and benchmarking crew needs, from Debian's
# packages, when something is missing and we are root.  Safe to run again:
# it does nothing when everything is there.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have gcc || need+=(gcc)
have g++ || need+=(g++)
have clang || need+=(clang)
have cmake || need+=(cmake)
have make || need+=(make)
have pkg-config || need+=(pkg-config)
have setarch || need+=(util-linux)
have python3 || need+=(python3)
have gnuplot || need+=(gnuplot-nox)
# The crew command's tests and benchmark: GNU parallel (the reference it is
# compared with), tmux (--bar in a real terminal), pgrep, xargs and
# /usr/bin/time (C1's peers and memory figures).
have parallel || need+=(parallel)
have tmux || need+=(tmux)
have pgrep || need+=(procps)
have xargs || need+=(findutils)
[ -x /usr/bin/time ] || need+=(time)
for pair in glib-2.0/glib.h:libglib2.0-dev uv.h:libuv1-dev oneapi/tbb.h:libtbb-dev \
            concurrentqueue/blockingconcurrentqueue.h:libconcurrentqueue-dev; do
    [ -e "/usr/include/${pair%%:*}" ] || need+=("${pair##*:}")
done
# crew-remote (src/remote/) and its tests: hiredis and a redis-server the
# tests start themselves; its benchmark's peers: Celery and RQ (Python).
[ -e /usr/include/hiredis/hiredis.h ] || need+=(libhiredis-dev)
have redis-server || need+=(redis-server)
/usr/bin/python3 -c 'import celery' 2>/dev/null || need+=(python3-celery)
/usr/bin/python3 -c 'import rq' 2>/dev/null || need+=(python3-rq)
# libgomp ships with gcc; the TSan/ASan runtimes with gcc too (libtsan2, libasan8).
# libFuzzer (the fuzz stage) is clang's libclang-rt-<version>-dev: look for it
# in clang's runtime directory, or assume Debian 12's clang 14 if clang itself
# is still missing.
if have clang; then
    clang_major=$(clang -dumpversion | cut -d. -f1)
    [ -e "$(clang --print-runtime-dir)/libclang_rt.fuzzer-$(uname -m).a" ] ||
        need+=("libclang-rt-$clang_major-dev")
else
    need+=(libclang-rt-14-dev)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing ${need[*]}; run as root (or install them) first" >&2
    exit 1
fi
echo "deps.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
