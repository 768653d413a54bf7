#!/usr/bin/env bash
# Exit statuses (parallel's: 0, the number of failed jobs up to 101, 255
# for crew's own errors), every --halt mode, and commands that cannot run.
. "$(dirname "$0")/lib.sh"

st() { "$@" >/dev/null 2>&1; echo $?; }

check "all succeed" "0" "$(st crew true ::: a b c)"
check "three fail" "3" "$(st crew 'exit {}' ::: 0 1 2 3 0)"
check "killed by a signal counts as failed" "1" "$(st crew 'kill -9 $$; true {}' ::: a)"
check "more than 100 fail: 101" "101" "$(st crew -j4 'exit 1; true {}' ::: $(seq 120))"

# --halt.  Every job that must be killed sleeps far longer than the test.
out=$(crew -k -j2 --colsep , --halt now,fail=1 'sleep {1}; echo {2}; exit {2}' ::: 0.3,4 35.71,0 0,0 2>err; echo "rc=$?")
check "now,fail=1: status of the failed job, running job killed, no more started" "4
rc=4" "$out"
check "now,fail=1: the killed job is gone" "yes" "$(wait_until 10 no_process '^sleep 35.71' && echo yes)"
check_match "now,fail=1: says why, naming the job" "halting \(--halt now\): job 1 \(inputs 0.3, 4\) failed: sleep 0.3; echo 4; exit 4" "$(cat err)"
out=$(crew -k -j2 --colsep , --halt soon,fail=1 'sleep {1}; echo {2}; exit {2}' ::: 0,5 0.5,0 0,0 2>/dev/null; echo "rc=$?")
check "soon,fail=1: running job finishes, no more started" "5
0
rc=5" "$out"
out=$(crew -k -j1 --halt soon,fail=2 'echo {}; exit {}' ::: 3 5 0 4 2>/dev/null; echo "rc=$?")
check "soon,fail=2: stops after the second failure, status 2" "3
5
rc=2" "$out"
out=$(crew -k -j1 --halt now,success=1 'echo {}; exit {}' ::: 3 0 5 2>/dev/null; echo "rc=$?")
check "now,success=1: status 0" "3
0
rc=0" "$out"
out=$(crew -k -j1 --halt soon,success=2 'echo {}; exit {}' ::: 0 3 0 5 2>/dev/null; echo "rc=$?")
check "soon,success=2" "0
3
0
rc=0" "$out"
out=$(crew -k -j1 --halt soon,fail=50% 'echo {}; exit {}' ::: 3 0 5 1 0 0 2>/dev/null; echo "rc=$?")
check "soon,fail=50%: status is the percentage" "3
0
5
1
rc=50" "$out"
out=$(crew -k -j1 --halt soon,done=2 'echo {}; exit {}' ::: 3 0 5 2>/dev/null; echo "rc=$?")
check "soon,done=2: status is the failures" "3
0
rc=1" "$out"
out=$(crew -k -j1 --halt now,done=25% 'echo {}; exit {}' ::: 0 0 0 0 0 0 0 0 2>/dev/null; echo "rc=$?")
check "now,done=25%" "0
0
rc=0" "$out"
out=$(crew -k -j1 --halt 2 'echo {}; exit {}' ::: 0 6 0 2>/dev/null; echo "rc=$?")
check "--halt 2 is now,fail=1" "0
6
rc=6" "$out"
out=$(crew -k -j1 --halt 1 'echo {}; exit {}' ::: 0 6 0 2>/dev/null; echo "rc=$?")
check "--halt 1 is soon,fail=1" "0
6
rc=6" "$out"
out=$(crew -k -j1 --halt now,fail=1 'kill -TERM $$; true {}' ::: a 2>/dev/null; echo "rc=$?")
check "fail=1 by a signal: 128 + signal" "rc=143" "$out"

# A stdin that never ends: crew reads only as jobs need inputs, so a halt
# ends the run.
out=$(yes | head -c 100000000 | timeout 120 "${WRAP[@]}" "$CREW_BIN" -j2 --halt now,done=5 true 2>/dev/null; echo "rc=$?")
check "halt on endless stdin" "rc=0" "$out"

# Commands that cannot run: each job fails like a shell's 127/126, with a
# message naming the job and its input.
out=$(crew -k --joblog nf nosuchcmd-xyz ::: a 'b c' 2>&1; echo "rc=$?")
check "command not found: message and status" "crew: job 1 (input a): nosuchcmd-xyz: command not found
crew: job 2 (input 'b c'): nosuchcmd-xyz: command not found
rc=2" "$out"
check "command not found: Exitval 127" "127
127" "$(tail -n +2 nf | cut -f7)"
out=$(crew 'nosuchcmd-xyz "{}"' ::: a 2>/dev/null; echo "rc=$?")
check "command not found in shell mode" "rc=1" "$out"
printf 'echo no shebang "$1"\n' >noexec
check_match "not executable: 126" "rc=1 .*noexec: Permission denied" "$(crew ./noexec ::: a 2>&1; echo "rc=$? $(crew --joblog pl ./noexec ::: a 2>&1)")"
check "not executable: joblog 126" "126" "$(tail -n +2 pl | cut -f7)"
chmod +x noexec
check "script without #! runs with sh" "no shebang a" "$(crew ./noexec ::: a)"

# crew's own errors: 255, before any job runs.
check "unknown option" "255" "$(st crew --no-such-option true ::: a)"
check "parallel option crew lacks" "255" "$(st crew --pipe cat)"
check_match "it says so" "--pipe: GNU parallel's option, not supported by crew" "$(crew --pipe cat 2>&1)"
check "missing input file" "255" "$(st crew echo :::: /nonexistent/file)"
check_match "missing input file named" "cannot open input file /nonexistent/file" "$(crew echo :::: /nonexistent/file 2>&1)"
check "bad -j" "255" "$(st crew -j abc true ::: a)"
check "bad --colsep" "255" "$(st crew --colsep '(' true ::: a)"
check "bad --halt" "255" "$(st crew --halt sometimes true ::: a)"
check "perl replacement string" "255" "$(st crew echo '{= $_ =}' ::: a)"
check "option without value" "255" "$(st crew -j)"
check "--help" "0" "$(st crew --help)"
check "--version" "0" "$(st crew --version)"
finish
