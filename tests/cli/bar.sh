#!/usr/bin/env bash
# --bar and --eta: drawn in a real terminal (a tmux pane: send the command,
# capture the pane while it runs and after), erased for a final summary
# line; and not one byte of them when stderr is not a terminal.
. "$(dirname "$0")/lib.sh"

# Not a terminal: nothing on stderr, stdout untouched.
out=$(crew -k --bar --eta echo ::: a b c 2>err)
check "--bar to a pipe: stdout as usual" "a
b
c" "$out"
check "--bar to a file: stderr empty" "0" "$(wc -c <err)"

if ! command -v tmux >/dev/null; then
    echo "tmux is not installed (scripts/deps.sh installs it)"
    exit 1
fi
sock=$T/tmux.sock
tm() { tmux -S "$sock" "$@"; }
trap 'tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$T"' EXIT
tm new-session -d -x 100 -y 20 "env PS1='$ ' bash --norc --noprofile"
pane() { tm capture-pane -p; }
shows() { pane | grep -Eq -- "$1"; }

crewcmd="${WRAP[*]} $CREW_BIN"
tm send-keys "$crewcmd -j2 --bar 'sleep 0.25; true' ::: \$(seq 24) >out.txt; echo \$? >done.txt" Enter
check "bar drawn while running" "yes" \
    "$(wait_until 60 shows '\[#*\.+\] +[0-9]+% [0-9]+/24 running [0-9]+ ETA [0-9]+:[0-9]{2}' && echo yes)"
check "finished" "yes" "$(wait_until 120 test -s done.txt && echo yes)"
check "status" "0" "$(cat done.txt)"
check "summary line" "yes" "$(wait_until 10 shows '^crew: 24 jobs in [0-9.]+ s, 0 failed$' && echo yes)"
check "bar erased at the end" "" "$(pane | grep -E '\[#' || true)"
check "stdout got nothing of it" "0" "$(wc -c <out.txt)"

# --eta alone, with job output on the same terminal: output lines whole.
rm -f done.txt
tm send-keys "clear; $crewcmd -k -j2 --eta 'sleep 0.2; echo line-{}' ::: \$(seq 12); echo \$? >done.txt" Enter
check "eta drawn" "yes" "$(wait_until 60 shows 'ETA [0-9?]' && echo yes)"
check "eta finished" "yes" "$(wait_until 120 test -s done.txt && echo yes)"
check "output lines intact beside the eta" "$(seq 12 | sed 's/^/line-/')" \
    "$(wait_until 10 shows '^crew: 12 jobs' && pane | grep -E '^line-' )"

# Ctrl-C typed in the terminal (SIGINT to the foreground process group):
# crew stops its jobs, none is left, status 255.
rm -f done.txt
tm send-keys "clear; $crewcmd -j2 --bar sleep ::: 43.71 43.71 43.71; echo \$? >done.txt" Enter
count2() { [ "$(pgrep -fc '^sleep 43.71')" -ge 2 ]; }
check "ctrl-c: jobs running" "yes" "$(wait_until 60 count2 && echo yes)"
tm send-keys C-c
check "ctrl-c: crew ended" "yes" "$(wait_until 60 test -s done.txt && echo yes)"
check "ctrl-c: status 255" "255" "$(cat done.txt)"
check "ctrl-c: no job left" "yes" "$(wait_until 10 no_process '^sleep 43.71' && echo yes)"
finish
