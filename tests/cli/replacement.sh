#!/usr/bin/env bash
# Every replacement string, the input sources (:::, several ::: as a
# cartesian product, :::: files, -a, stdin, -0, -d, --colsep, -N) and the
# way values are appended when the command has no replacement string.
. "$(dirname "$0")/lib.sh"

out=$(crew -k echo '{}:{.}:{/}:{//}:{/.}' ::: /a/b.c/d.tar.gz x.y ./z .bashrc a/b/ / '' a..b x.)
check "path forms" "/a/b.c/d.tar.gz:/a/b.c/d.tar:d.tar.gz:/a/b.c:d.tar
x.y:x:x.y:.:x
./z:./z:z:.:z
.bashrc::.bashrc:.:
a/b/:a/b/::a:
/:/::/:
:::.:
a..b:a.:a..b:.:a.
x.:x:x.:.:x" "$out"

out=$(crew -k -j1 echo '{#}' '{%}' ::: a b c)
check "{#} and {%} with one slot" "1 1
2 1
3 1" "$out"

# {%} is a slot number between 1 and -j, never two running jobs at once.
out=$(crew -j3 'echo {%}; sleep 0.2' ::: 1 2 3 4 5 6 | sort -u | tr '\n' ' ')
check "{%} in 1..3" "1 2 3 " "$out"

out=$(crew -k echo '{1}-{2}' '{1.}' '{2/}' '{1//}' '{2/.}' ::: a/b.c ::: d/e.f g)
check "positional {n} and their forms" "a/b.c-d/e.f a/b e.f a e
a/b.c-g a/b g a g" "$out"

out=$(crew -k echo '[{3}]' ::: a ::: b)
check "{n} past the last value is empty" "[]" "$out"

out=$(crew -k echo ::: a b ::: 1 2 ::: x)
check "cartesian product, first source slowest" "a 1 x
a 2 x
b 1 x
b 2 x" "$out"

printf '1\n2\n' >f1
printf 'x\ny\n' >f2
out=$(crew -k echo :::: f1 f2)
check ":::: files" "1 x
1 y
2 x
2 y" "$out"
out=$(crew -k -a f1 echo ::: p)
check "-a file and :::" "1 p
2 p" "$out"
out=$(printf 'in1\nin2' | crew -k args)
check "stdin, last line without newline" "<in1>
<in2>" "$out"
out=$(printf 'in1\n' | crew -k echo :::: - ::: q)
check ":::: - is stdin" "in1 q" "$out"
out=$(printf '' | crew echo never; echo "rc=$?")
check "empty stdin runs nothing" "rc=0" "$out"

out=$(printf 'a b\0c\nd\0' | crew -0 -k args)
check "-0" "<a b>
<c
d>" "$out"
out=$(printf 'a,b,c' | crew -d , -k echo '[{}]')
check "-d ," "[a]
[b]
[c]" "$out"

out=$(printf 'a,b,\n,x\n' | crew --colsep , -k args '{1}' '{2}' '{3}' | tr -d '\n')
check "--colsep columns, empty ones kept, missing ones dropped" "<a><b><><><x>" "$out"
out=$(crew -k --colsep '-' echo '{4}{3}{2}{1}' ::: A-B C-D ::: e-f)
check "--colsep over two sources" "feBA
feDC" "$out"
out=$(printf 'a\tb\n' | crew --colsep '\t' echo '{2}{1}')
check "--colsep \\t" "ba" "$out"

out=$(crew -k -N2 echo '[{1}]' '[{2}]' '{}' ::: a b c)
check "-N2" "[a] [b] a b
[c] [] c" "$out"
out=$(crew -k -N2 args 'x{}y' ::: a 'b c' d)
check "-N2 repeats a word with {} per value" "<xay>
<xb cy>
<xdy>" "$out"
out=$(crew -k -N0 echo hi ::: a b)
check "-N0 reads one value, passes none" "hi
hi" "$out"

out=$(crew -k args ::: a ::: 'b c')
check "no {}: values appended as separate words" "<a>
<b c>" "$out"
out=$(crew -k args '[{}]' ::: a ::: 'b c')
check "{} over two sources: separate words" "<[a>
<b c]>" "$out"
out=$(crew -k -I XX echo XX '{}' ::: a)
check "-I" "a {}" "$out"
out=$(crew -k echo '{ }' '{1}{2}' '{x}' ::: a ::: b)
check "not replacement strings" "{ } ab {x}" "$out"
out=$(crew -k 'echo {}; echo {}' ::: a)
check "several {} in a shell command" "a
a" "$out"
out=$(crew -k ::: 'echo one' 'echo two  three')
check "no command: the input is the command" "one
two three" "$out"
out=$(printf 'a\n\n  \nb\n' | crew -r -k echo '[{}]')
check "-r skips blank inputs" "[a]
[b]" "$out"
out=$(crew -k -j1 'echo $PARALLEL_SEQ $PARALLEL_JOBSLOT {}' ::: a b)
check "PARALLEL_SEQ and PARALLEL_JOBSLOT" "1 1 a
2 1 b" "$out"
finish
