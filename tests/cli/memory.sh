#!/usr/bin/env bash
# Memory stays flat whatever the number of inputs: 200,000 inputs through
# crew (--dry-run, so no process per input: the reader, the input queue, the
# loop and the writer all run, at full speed, with a slow reader of crew's
# stdout) peak no higher than twice the run with 2,000.  Real jobs are
# measured by bench/c1 (C1-mem).  RSS under a sanitizer is the sanitizer's
# (ASan keeps freed memory in quarantine), so then only the output is checked.
. "$(dirname "$0")/lib.sh"

seq 200000 >big
head -2000 big >small
rss() { # inputs-file: runs crew behind a slow pipe, prints peak RSS in kB
    /usr/bin/time -o rss.txt -f %M "${WRAP[@]}" "$CREW_BIN" --dry-run -k echo <"$1" |
        { sleep 1; wc -l >count.txt; }
    tail -1 rss.txt
}
small_kb=$(rss small)
check "2,000 inputs all printed" "2000" "$(tr -d ' ' <count.txt)"
big_kb=$(rss big)
check "200,000 inputs all printed" "200000" "$(tr -d ' ' <count.txt)"
if [ -z "${CREW_SANITIZE:-}" ]; then
    check "peak RSS flat ($small_kb kB for 2,000, $big_kb kB for 200,000)" "yes" \
        "$([ "$big_kb" -le $((2 * small_kb)) ] && echo yes || echo no)"
fi

# The same for job output held for -k behind a slow first job: the output
# of the jobs after it is spilled, not kept in memory without bound.
if [ -z "${CREW_SANITIZE:-}" ]; then
    mkdir tmp
    /usr/bin/time -o rss2.txt -f %M "${WRAP[@]}" "$CREW_BIN" -k -j4 --tmpdir tmp \
        'if [ {} = 1 ]; then sleep 1; fi; head -c 3000000 /dev/zero' ::: 1 2 3 4 5 6 7 8 >/dev/null
    kb=$(tail -1 rss2.txt)
    check "24 MB of -k output, 1 MiB per job in memory ($kb kB peak)" "yes" \
        "$([ "$kb" -le 20000 ] && echo yes || echo no)"
fi
finish
