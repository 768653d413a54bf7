# lib.sh - what every test of the crew command shares (sourced).
#
# The tests run the real binary ($CREW_BIN, set by ctest) on real commands,
# through $CREW_WRAPPER when the build needs one (TSan: setarch -R).  Each
# script works in a temporary directory of its own (removed at exit) that is
# also HOME, so GNU parallel finds its will-cite file there and nothing
# outside is touched.  A failed check prints what was expected and what came,
# and the script exits 1 at the end; nothing asserts how fast anything runs
# (waits have generous timeouts only).
set -u
: "${CREW_BIN:?CREW_BIN must name the crew binary}"
WRAP=()
if [ -n "${CREW_WRAPPER:-}" ]; then
    read -r -a WRAP <<<"$CREW_WRAPPER"
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/crew-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
export HOME=$T/home
mkdir -p "$HOME/.parallel"
touch "$HOME/.parallel/will-cite"
cd "$T" || exit 1
# args: prints each of its arguments as <arg> on a line of its own, so a
# test sees exactly which argv a job got.
mkdir -p "$T/bin"
printf '#!/bin/sh\nfor a; do printf "<%%s>\\n" "$a"; done\n' >"$T/bin/args"
chmod +x "$T/bin/args"
export PATH="$T/bin:$PATH"
checks=0
fails=0

crew() {
    "${WRAP[@]}" "$CREW_BIN" "$@"
}

# check NAME EXPECTED ACTUAL
check() {
    checks=$((checks + 1))
    if [ "$2" == "$3" ]; then
        return 0
    fi
    fails=$((fails + 1))
    printf 'FAIL %s\n--- expected\n%s\n--- actual\n%s\n---\n' "$1" "$2" "$3"
}

# check_match NAME REGEX ACTUAL
check_match() {
    checks=$((checks + 1))
    if [[ "$3" =~ $2 ]]; then
        return 0
    fi
    fails=$((fails + 1))
    printf 'FAIL %s\n--- expected to match\n%s\n--- actual\n%s\n---\n' "$1" "$2" "$3"
}

# wait_until SECONDS COMMAND...: polls COMMAND every 50 ms; 1 on timeout.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.05
    done
}

# no_process PATTERN: no process whose command line matches (pgrep -f).
no_process() {
    ! pgrep -f "$1" >/dev/null
}

finish() {
    if [ $fails -gt 0 ]; then
        echo "$fails of $checks checks failed"
        exit 1
    fi
    echo "ok: $checks checks"
    exit 0
}
