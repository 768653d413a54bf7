#!/usr/bin/env bash
# Hostile inputs reach the job as exactly one argument, unchanged and never
# interpreted by a shell: in direct mode (posix_spawn), in shell mode (the
# command has shell syntax, or --shell), from ::: and from stdin, and in the
# --dry-run / joblog text, which a shell must read back to the same argv.
. "$(dirname "$0")/lib.sh"

hostile=(
    'two words' "it's" 'say "hi"' '$(touch pwned)' '`touch pwned`' 'a;touch pwned'
    'a|b' 'a&b' '>pwned' '<in' $'new\nline' '' '-n' '--help' '-' '*' '~' '~root'
    'back\slash' $'tab\there' '  lead and trail  ' '$HOME' '${HOME}' '!' '#c' 'é ü'
    '{}' '{1}' "'" '"' '\' 'a=b' '(x)' '[x]' '%s'
)
expected=$(printf '<%s>\n' "${hostile[@]}")

out=$(crew -k args ::: "${hostile[@]}")
check "direct mode, appended" "$expected" "$out"
out=$(crew -k args {} ::: "${hostile[@]}")
check "direct mode, {}" "$expected" "$out"
out=$(crew -k 'args {} | cat' ::: "${hostile[@]}")
check "shell mode (a pipe), {}" "$expected" "$out"
out=$(crew -k --shell args ::: "${hostile[@]}")
check "--shell, appended" "$expected" "$out"
out=$(crew -k -q args {} ::: "${hostile[@]}")
check "-q" "$expected" "$out"
out=$(printf '%s\0' "${hostile[@]}" | crew -0 -k 'args {}; true')
check "stdin -0, shell mode" "$expected" "$out"

# ::: and :::: are separators on the command line; as data they pass.
out=$(printf ':::\n::::\n' | crew -k args)
check "::: as stdin data" "<:::>
<::::>" "$out"
out=$(crew -k --arg-sep ,, --arg-file-sep ,,,, args ,, ::: ::::)
check "::: as values after --arg-sep" "<:::>
<::::>" "$out"

# Inside a word: the value is part of one argument, in both modes.
out=$(crew -k args 'x{}y' ::: 'a b' "q'q" '')
check "direct mode, inside a word" "<xa by>
<xq'qy>
<xy>" "$out"
out=$(crew -k 'args x{}y; true' ::: 'a b' "q'q" '')
check "shell mode, inside a word" "<xa by>
<xq'qy>
<xy>" "$out"

# What --dry-run prints is a shell command line that gives the same argv.
crew -k --dry-run args {} ::: "${hostile[@]}" >cmds
out=$(sh cmds)
check "--dry-run text read back by sh" "$expected" "$out"
crew -k --dry-run 'args {}; true' ::: "${hostile[@]}" >cmds2
out=$(sh cmds2)
check "--dry-run of a shell command read back by sh" "$expected" "$out"

# The joblog's Command column is the same text.
crew -k --joblog log args {} ::: 'a b' "c'd" >/dev/null
out=$(tail -n +2 log | cut -f 9-)
check "joblog command quoted" "args 'a b'
args 'c'\"'\"'d'" "$out"

check "nothing was interpreted" "" "$(ls pwned 2>/dev/null)"

# Options end at the command; inputs that look like options are inputs.
out=$(crew -k args -x {} ::: -k --version)
check "options after the command belong to it" "<-x>
<-k>
<-x>
<--version>" "$out"
out=$(crew -- args ::: -j)
check "-- ends crew's options" "<-j>" "$out"
out=$(printf -- '-n\n--help\n' | crew -k args)
check "stdin values that look like options" "<-n>
<--help>" "$out"
finish
