#!/usr/bin/env bash
# --timeout: the job is killed (its whole process group), reported on
# stderr with its number and input, logged with Exitval -1 and the signal,
# and counted as failed; --term-seq escalates for jobs that ignore TERM;
# --timeout N% follows the median runtime.  The jobs that must be killed
# would sleep far longer than any wait here, so only a kill ends them.
. "$(dirname "$0")/lib.sh"

out=$(timeout 120 "${WRAP[@]}" "$CREW_BIN" -k --joblog log --timeout 0.5 'sleep {}; echo done {}' ::: 0.1 31.71 2>err; echo "rc=$?")
check "timeout: the quick job's output, one failure" "done 0.1
rc=1" "$out"
check_match "timeout reported with job and input" "job 2 \(input 31\.71\) timed out after [0-9.]+ s and is killed: sleep 31\.71; echo done 31\.71" "$(cat err)"
check "timeout: joblog Exitval -1, Signal 15" "1	0	0
2	-1	15" "$(tail -n +2 log | cut -f 1,7,8)"
check "timeout: the sleep is gone" "yes" "$(wait_until 10 no_process '^sleep 31.71' && echo yes)"

# A job that ignores TERM is walked through --term-seq to KILL.
out=$(timeout 120 "${WRAP[@]}" "$CREW_BIN" --joblog log2 --timeout 0.3 --term-seq TERM,200,KILL,25 \
    'trap "" TERM; sleep {}' ::: 32.71 2>/dev/null; echo "rc=$?")
check "term-seq: failed" "rc=1" "$out"
check "term-seq: ended by KILL" "-1	9" "$(tail -n +2 log2 | cut -f 7,8)"
check "term-seq: the sleep is gone" "yes" "$(wait_until 10 no_process '^sleep 32.71' && echo yes)"

# --timeout N%: three quick jobs set the median, the slow one is cut.
out=$(timeout 120 "${WRAP[@]}" "$CREW_BIN" -k -j1 --timeout 1000% 'sleep {}; echo ok {}' ::: 0.05 0.05 0.05 33.71 2>err; echo "rc=$?")
check "--timeout 1000%: the slow job is killed" "ok 0.05
ok 0.05
ok 0.05
rc=1" "$out"
check_match "--timeout N% reported" "job 4 \(input 33\.71\) timed out" "$(cat err)"

check "timeout with retries: retried, then failed" "rc=1 runs=2" \
    "$(crew --retries 2 --timeout 0.2 'echo x >>runs; sleep {}' ::: 34.71 2>/dev/null; echo "rc=$? runs=$(wc -l <runs)")"
check "bad --timeout" "255" "$(crew --timeout abc true ::: a 2>/dev/null; echo $?)"
check "bad --term-seq" "255" "$(crew --term-seq TERM,x true ::: a 2>/dev/null; echo $?)"
finish
