#!/usr/bin/env bash
# Signals: SIGINT or SIGTERM to crew stops it (status 255) and leaves no
# job process behind; a second SIGINT kills at once even jobs that ignore
# TERM; crew's stdout closing (SIGPIPE) ends crew the way it ends a filter.
# Also the SIGCHLD fallback used where pidfds are missing.
. "$(dirname "$0")/lib.sh"

# Background jobs of a non-interactive shell start with SIGINT ignored, and
# crew keeps an ignored signal ignored (as nohup expects): give it back.
run_bg() {
    env --default-signal=INT,TERM "${WRAP[@]}" "$CREW_BIN" "$@" &
    pid=$!
}
count() { [ "$(pgrep -fc "$1")" -ge "$2" ]; }

for sig in INT TERM; do
    run_bg -j3 'sleep 36.71; echo never {}' ::: 1 2 3 4 5 >out_$sig
    check "$sig: three jobs started" "yes" "$(wait_until 60 count '^sleep 36.71' 3 && echo yes)"
    kill -$sig $pid
    wait $pid
    check "SIG$sig: status 255" "255" "$?"
    check "SIG$sig: no job left" "yes" "$(wait_until 10 no_process '^sleep 36.71' && echo yes)"
    check "SIG$sig: killed jobs print nothing" "" "$(cat out_$sig)"
done

# Jobs with children of their own: the whole process group goes.
run_bg -j2 'sh -c "sleep 36.72"; echo {}' ::: 1 2
check "nested: started" "yes" "$(wait_until 60 count '^sleep 36.72' 2 && echo yes)"
kill -INT $pid
wait $pid
check "nested: no grandchild left" "yes" "$(wait_until 10 no_process '^sleep 36.72' && echo yes)"

# Jobs that ignore TERM: the first SIGINT starts --term-seq (a minute before
# KILL here), the second kills at once.
run_bg -j2 --term-seq TERM,60000,KILL,25 'trap "" TERM; sleep 37.71; true {}' ::: 1 2
check "stubborn: started" "yes" "$(wait_until 60 count '^sleep 37.71' 2 && echo yes)"
kill -INT $pid
sleep 0.5
check "stubborn: alive after the first SIGINT" "yes" "$(count '^sleep 37.71' 2 && echo yes)"
kill -INT $pid
wait $pid
check "stubborn: second SIGINT, status 255" "255" "$?"
check "stubborn: killed at once" "yes" "$(wait_until 30 no_process '^sleep 37.71' && echo yes)"

# Jobs that finished before the interrupt keep their output.
run_bg -k -j1 'echo {}; [ {} = 1 ] || sleep 38.71' ::: 1 2 >kept
check "finished job: running" "yes" "$(wait_until 60 count '^sleep 38.71' 1 && echo yes)"
kill -INT $pid
wait $pid
check "finished job's output kept" "1" "$(cat kept)"

# SIGPIPE: crew's reader goes away; crew stops its jobs and dies of SIGPIPE.
seq 100000 | crew -j2 echo | head -1 >/dev/null
check "SIGPIPE with quick jobs" "141" "${PIPESTATUS[1]}"
timeout 120 "${WRAP[@]}" "$CREW_BIN" --line-buffer -j2 'while :; do echo {}; sleep 0.05; done; sleep 39.71' ::: 1 2 3 | head -3 >/dev/null
check "SIGPIPE with endless jobs" "141" "${PIPESTATUS[0]}"
check "SIGPIPE: no job left" "yes" "$(wait_until 10 no_process '^sh -c while :; do echo' && echo yes)"

# The SIGCHLD fallback (kernels without pidfd_open).
export CREW_NO_PIDFD=1
check "fallback: runs" "$(seq 20)" "$(crew -k -j3 echo ::: $(seq 20))"
check "fallback: statuses" "2" "$(crew 'exit {}' ::: 0 1 7 >/dev/null 2>&1; echo $?)"
check "fallback: timeout" "rc=1" "$(crew --timeout 0.2 sleep ::: 40.71 2>/dev/null; echo "rc=$?")"
run_bg -j2 sleep ::: 41.71 41.71
check "fallback: started" "yes" "$(wait_until 60 count '^sleep 41.71' 2 && echo yes)"
kill -INT $pid
wait $pid
check "fallback: SIGINT status 255" "255" "$?"
check "fallback: no job left" "yes" "$(wait_until 10 no_process '^sleep 41.71' && echo yes)"
finish
