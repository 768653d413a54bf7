#!/usr/bin/env bash
# The joblog's format (GNU parallel's), --resume, --resume-failed, --joblog
# +FILE and --retries.
. "$(dirname "$0")/lib.sh"

header=$'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand'
before=$(date +%s)
crew -k --joblog log 'echo {}; exit {}' ::: 0 3 >/dev/null
crew --joblog +log 'kill -TERM $$' ::: x >/dev/null
after=$(date +%s)
check "header" "$header" "$(head -1 log)"
check "one line per job" "4" "$(wc -l <log)"
out=$(tail -n +2 log | awk -F'\t' '{ print NF }' | sort -u)
check "nine TAB-separated fields" "9" "$out"
out=$(tail -n +2 log | cut -f 1,2,5,6,7,8,9)
check "Seq Host Send Receive Exitval Signal Command" "1	:	0	2	0	0	echo 0; exit 0
2	:	0	2	3	0	echo 3; exit 3
1	:	0	0	0	15	kill -TERM \$\$ x" "$out"
ok=yes
while IFS=$'\t' read -r seq host start runtime rest; do
    [[ $start =~ ^[0-9]+\.[0-9]{3}$ ]] || ok="bad Starttime $start"
    secs=${start%.*}
    { [ "$secs" -ge $((before - 5)) ] && [ "$secs" -le $((after + 5)) ]; } || ok="Starttime $start outside the run"
    [[ $runtime =~ ^\ *[0-9]+\.[0-9]{3}$ && ${#runtime} -eq 10 ]] || ok="bad JobRuntime '$runtime'"
done < <(tail -n +2 log)
check "Starttime and JobRuntime" "yes" "$ok"

# --resume: jobs whose Seq is in the log do not run again.
crew -j1 --joblog rl 'echo {}; exit {}' ::: 0 1 0 >/dev/null
out=$(crew -k -j1 --resume --joblog rl 'echo {}; exit {}' ::: 0 1 0 0 5)
check "--resume runs only the new jobs" "0
5" "$out"
check "--resume appends" "6" "$(wc -l <rl)"
check "--resume keeps the numbers" "1 2 3 4 5" "$(tail -n +2 rl | cut -f1 | tr '\n' ' ' | sed 's/ $//')"
# --resume-failed: the failed ones (2 and 5) again, and the new one (6).
out=$(crew -k -j1 --resume-failed --joblog rl 'echo again {}' ::: 0 1 0 0 5 6)
check "--resume-failed reruns failed and new jobs" "again 1
again 5
again 6" "$out"
out=$(crew -k -j1 --resume-failed --joblog rl 'echo again {}' ::: 0 1 0 0 5 6)
check "--resume-failed after success runs nothing" "" "$out"
check "one header" "1" "$(grep -c '^Seq' rl)"

# Jobs killed by --halt now are not logged, so --resume runs them.
crew -j2 --joblog hl --halt now,fail=1 'sleep {}; exit 1' ::: 0.2 30 >/dev/null 2>&1
check "killed by halt: not logged" "1" "$(tail -n +2 hl | cut -f1)"
out=$(crew -j2 --resume --joblog hl 'echo {}' ::: 0.2 30)
check "--resume runs the job halt killed" "30" "$out"

# --retries N: up to N runs in all; only the last run is printed and logged.
: >count
out=$(crew --joblog tl --retries 3 'true {}; echo run >>count; n=$(wc -l <count); echo "attempt $n"; [ $n -ge 3 ]' ::: x; echo "rc=$?")
check "--retries: third run succeeds" "attempt 3
rc=0" "$out"
check "--retries: ran three times" "3" "$(wc -l <count)"
check "--retries: one joblog line" "0" "$(tail -n +2 tl | cut -f7)"
: >count
out=$(crew --retries 2 'echo run >>count; exit 4' ::: x; echo "rc=$?")
check "--retries: fails every time" "rc=1" "$out"
check "--retries 2: ran twice" "2" "$(wc -l <count)"

check "--resume without --joblog is an error" "255" "$(crew --resume true ::: a 2>/dev/null; echo $?)"
finish
