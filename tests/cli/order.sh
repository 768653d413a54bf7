#!/usr/bin/env bash
# Output order and grouping: -k prints in input order whatever the jobs'
# durations; without -k every job's output is there; a job's output is
# never cut by another job's, however it writes; at most -j jobs run at
# once, and they do run side by side.
. "$(dirname "$0")/lib.sh"

# Random durations (0-60 ms), fixed by the seed so a failure can be re-run.
RANDOM=4242
: >jobs
for i in $(seq 1 40); do
    printf '%d 0.%03d\n' "$i" $((RANDOM % 60)) >>jobs
done
out=$(crew -k -j4 --colsep ' ' 'sleep {2}; echo {1}' :::: jobs)
check "-k: input order under random durations" "$(seq 1 40)" "$out"
out=$(crew -k -j4 --colsep ' ' --line-buffer 'sleep {2}; echo {1}; sleep {2}; echo {1}' :::: jobs)
check "-k --line-buffer: input order" "$(seq 1 40 | sed 'p')" "$out"
out=$(crew -j4 --colsep ' ' 'sleep {2}; echo {1}' :::: jobs | sort -n)
check "without -k: every output once" "$(seq 1 40)" "$out"

# Grouping: each job writes 300 lines one write at a time, plus a 100 kB
# line without a newline in between; the lines of one job must come out
# together and whole.
crew -j4 'for i in $(seq 300); do echo "job{} line $i"; done; head -c 100000 /dev/zero | tr "\0" "x"; echo; echo "job{} end"' ::: 1 2 3 4 5 6 >grouped
out=$(awk '/^job/ {split($1, a, "b"); if (a[2] != cur) { n++; cur = a[2] }} END {print n}' grouped)
check "each job's lines together" "6" "$out"
out=$(awk '/^x+$/ && length($0) == 100000 { n++ } END { print n }' grouped)
check "long lines whole" "6" "$out"
out=$(wc -l <grouped)
check "every line" "$((6 * 302))" "$out"

# stdout and stderr of a job are kept apart and both whole.
crew -j3 'for i in $(seq 50); do echo "out{} $i"; echo "err{} $i" >&2; done' ::: a b c >o 2>e
check "stdout only out lines" "150" "$(grep -c '^out' o)"
check "stderr only err lines" "150" "$(grep -c '^err' e)"
out=$(awk '{ if ($1 != cur) { n++; cur = $1 } } END { print n }' e)
check "stderr grouped per job" "3" "$out"

# Slots: never more than -j at once, and they do overlap.
mkdir run
crew -j3 'touch run/{}; ls run | wc -l >>counts; sleep 0.5; rm run/{}' ::: 1 2 3 4 5 6 7 8 9
max=$(sort -n counts | tail -1)
check "at most 3 at once" "yes" "$([ "$max" -le 3 ] && echo yes || echo "no: $max")"
check "jobs overlap" "yes" "$([ "$max" -ge 2 ] && echo yes || echo "no: $max")"

# -j forms.
check "-j 1: one at a time" "1" "$(crew -j 1 'echo {%}' ::: a b c | sort -u)"
check "-j 100%" "0" "$(crew -j 100% true ::: a b; echo $?)"
check "-j +1" "0" "$(crew -j +1 true ::: a; echo $?)"
check "-j -1" "0" "$(crew -j -1 true ::: a; echo $?)"
check "-j 0" "0" "$(crew -j 0 true ::: a b c; echo $?)"

# -u: straight to crew's stdout, every line there.
out=$(crew -u -j2 'echo {}' ::: 1 2 3 | sort)
check "-u" "1
2
3" "$out"

# --load with a limit far above any load runs everything.
check "--load" "a
b" "$(crew -k --load 1000 echo ::: a b)"

# --delay spaces starts out (only checked to work, not timed).
check "--delay" "a
b" "$(crew -k --delay 0.05 echo ::: a b)"
finish
