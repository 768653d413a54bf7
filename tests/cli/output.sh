#!/usr/bin/env bash
# Output handling: output past the in-memory bound (spilled to a temporary
# file and printed whole and in order), --line-buffer, --tag, --tagstring,
# --results, -v, -t, --dry-run, and nothing left in TMPDIR afterwards.
. "$(dirname "$0")/lib.sh"

mkdir tmp
export TMPDIR=$T/tmp

# 3 MB per job against a 64 kB bound: each stream goes to a spill file.
big='head -c 3000000 /dev/urandom | od -An -v -tx1 | head -c 3000000 | tee out.{} | sha1sum >sum.{}; cat out.{}; echo; echo end {}'
crew -k -j3 --mem-buffer 64K "$big" ::: 1 2 3 4 >all
expect=$(for i in 1 2 3 4; do cat out.$i; echo; echo "end $i"; done | sha1sum)
check "spilled output whole and in order" "$expect" "$(sha1sum <all)"
# The same on stderr, and with the default bound.
crew -k -j2 'head -c 2000000 /dev/zero | tr "\0" "e" >&2; echo {} >&2' ::: 1 2 2>err >/dev/null
check "spilled stderr" "4000004" "$(wc -c <err)"
check "nothing left in TMPDIR" "" "$(ls tmp)"
# A TMPDIR that cannot take the spill: the job's output is reported lost,
# crew goes on.
out=$(crew --mem-buffer 4K --tmpdir /nonexistent/dir 'head -c 100000 /dev/zero; echo {} >&2' ::: x 2>&1 >/dev/null)
check_match "spill failure reported with the job" "job 1 \(input x\): output lost" "$out"

# --line-buffer: lines as they come, whole; a last line without newline.
out=$(crew --line-buffer -j2 'printf "a{}"; sleep 0.2; printf "b{}\n"' ::: 1 2 | sort)
check "--line-buffer: a line written in two parts stays whole" "a1b1
a2b2" "$out"
check "--line-buffer: a last line without newline" "x1" "$(crew --line-buffer 'printf x{}' ::: 1)"
out=$(crew --line-buffer -k 'echo {}; sleep 0.{}; echo {}' ::: 3 1 2)
check "--line-buffer -k" "3
3
1
1
2
2" "$out"

# --tag and --tagstring, on stdout and stderr, every line.
out=$(crew -k --tag 'true {}; echo x; echo y; echo z >&2' ::: a 'b c' 2>&1)
check "--tag" "a	x
a	y
a	z
b c	x
b c	y
b c	z" "$out"
out=$(crew -k --tagstring '{#}:{}' echo ::: p q)
check "--tagstring" "1:p	p
2:q	q" "$out"
out=$(crew -k --tag echo ::: a ::: 1 2)
check "--tag with two sources" "a 1	a 1
a 2	a 2" "$out"
out=$(crew --tag --line-buffer 'true {}; echo x; echo y' ::: a)
check "--tag --line-buffer" "a	x
a	y" "$out"

# --results: stdout, stderr, seq and exitval per job; nothing printed.
out=$(crew --results res 'echo out {1} {2}; echo err >&2; exit 3' ::: 'a/b' c ::: 'x y')
check "--results prints nothing" "" "$out"
check "--results tree" "res/1/a\\_b/2/x y/exitval
res/1/a\\_b/2/x y/seq
res/1/a\\_b/2/x y/stderr
res/1/a\\_b/2/x y/stdout
res/1/c/2/x y/exitval
res/1/c/2/x y/seq
res/1/c/2/x y/stderr
res/1/c/2/x y/stdout" "$(find res -type f | sort)"
check "--results stdout" "out c x y" "$(cat 'res/1/c/2/x y/stdout')"
check "--results stderr" "err" "$(cat 'res/1/c/2/x y/stderr')"
check "--results seq" "2" "$(cat 'res/1/c/2/x y/seq')"
check "--results exitval" "3" "$(cat 'res/1/c/2/x y/exitval')"
crew --results r2 echo ::: '' . ..
check "--results: awkward names stay inside" "r2/1/\\.
r2/1/\\.\\.
r2/1/\\e" "$(find r2 -mindepth 2 -maxdepth 2 | sort)"

# -v prints the command with the output; -t prints it on stderr.
out=$(crew -k -v 'echo {}' ::: a b)
check "-v" "echo a
a
echo b
b" "$out"
out=$(crew -t 'echo {}' ::: a 2>&1 >/dev/null)
check "-t" "echo a" "$out"

# A job is over when its process exits, even if it left a process behind
# that holds its output open, or that keeps writing to it.
out=$(timeout 120 "${WRAP[@]}" "$CREW_BIN" 'sleep 42.71 & echo hi {}' ::: 1; echo "rc=$?")
check "background process holding the pipe" "hi 1
rc=0" "$out"
pkill -f '^sleep 42.71'
out=$(timeout 120 "${WRAP[@]}" "$CREW_BIN" 'yes >&2 & echo done {}' ::: 1 2>/dev/null; echo "rc=$?")
check "background process writing on" "done 1
rc=0" "$out"

# --dry-run runs nothing.
out=$(crew --dry-run 'touch {}' ::: made)
check "--dry-run prints" "touch made" "$out"
check "--dry-run runs nothing" "" "$(ls made 2>/dev/null)"
finish
