#!/usr/bin/env bash
# The same job lists through crew and GNU parallel: output (with -k), the
# joblog's Seq, Exitval, Signal and Command columns, and the exit status
# must agree.  (parallel runs jobs with bash, crew with /bin/sh or none, so
# the jobs avoid what the two shells do differently, such as echo of a
# backslash.)
. "$(dirname "$0")/lib.sh"

if ! command -v parallel >/dev/null; then
    echo "GNU parallel is not installed (scripts/deps.sh installs it)"
    exit 1
fi

# same NAME [--stdin FILE] ARGS...: runs both, compares.
same() {
    local name=$1 in=/dev/null
    shift
    if [ "$1" = --stdin ]; then
        in=$2
        shift 2
    fi
    parallel --will-cite --joblog pj "$@" <"$in" >po 2>/dev/null
    local ps=$?
    crew --joblog cj "$@" <"$in" >co 2>/dev/null
    local cs=$?
    check "$name: output" "$(cat po)" "$(cat co)"
    check "$name: exit status" "$ps" "$cs"
    check "$name: joblog Seq Exitval Signal Command" \
        "$(tail -n +2 pj | cut -f 1,7,8,9 | sort -n)" "$(tail -n +2 cj | cut -f 1,7,8,9 | sort -n)"
}

same "plain values" -k echo ::: a 'b c' "d'e" 'f"g' '$(h)' 'i;j' '' -k
same "{} forms" -k echo '{}' '{.}' '{/}' '{//}' '{/.}' '{#}' ::: /a/b.c x.tar.gz ./y z/
same "exit statuses" -k 'echo {}; exit {}' ::: 0 1 2 3 0 7
same "signals" -k 'echo {}; kill -{} $$' ::: 9 15 2
same "two sources" -k printf '%s-%s\n' ::: a b c ::: 1 2
same "three sources, positional" -k echo '{3}{2}{1}' ::: a b ::: c ::: d e
same "-N2" -k -N2 echo '{1}+{2}' ::: a b c d e
same "-N3 appended" -k -N3 printf '[%s]' ::: a b c d
same "--colsep" -k --colsep , echo '{2}{1}' ::: a,b c,d e
same "shell syntax" -k 'echo {} | tr a-z A-Z; echo done' ::: ab cd
same "no command" -k ::: 'echo one' 'exit 3' 'echo two'
same "command not found" -k nosuchcmd-xyz ::: a b
same "-I" -k -I @@ echo '<@@>' ::: a b
same "--tag" -k --tag printf '%s\n' ::: x y ::: 1
printf 'l1\nl 2\n\nl4\n' >lines
same "stdin lines" --stdin lines -k echo '[{}]'
printf 'n1\0n 2\0' >nul
same "-0" --stdin nul -k -0 echo '[{}]'
same "halt soon,fail=1" -k -j1 --halt soon,fail=1 'echo {}; exit {}' ::: 0 4 0
same "halt soon,fail=2" -k -j1 --halt soon,fail=2 'echo {}; exit {}' ::: 1 0 2 3
same "halt now,success=1" -k -j1 --halt now,success=1 'echo {}; exit {}' ::: 5 0 6
same "halt soon,fail=50%" -k -j1 --halt soon,fail=50% 'echo {}; exit {}' ::: 1 0 2 0
same "retries" -k --retries 2 'echo {}; exit {}' ::: 0 1
same "-j1 many" -k -j1 echo ::: $(seq 30)
same "-j3 many" -k -j3 'echo {}; exit $(( {} % 3 ))' ::: $(seq 30)
finish
