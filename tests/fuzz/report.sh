#!/bin/sh
# report.sh LOG PREFIX - what a fuzzer's finding needs to be reproduced
# elsewhere, most important last (CI may show only the end of the output):
# the sanitizer's report from its first line to its summary, without the
# fuzzer's and libc's own frames and the shadow-memory dump; the reproducer
# (compressed: `base64 -d | xz -d > unit`, then run the harness on unit);
# the summary line again.
log=$1
prefix=$2
sed -n '/ERROR: \|runtime error\|deadly signal\|out-of-memory\|timeout after/,/^SUMMARY/p' "$log" \
    | grep -v 'fuzzer::\|libc_start\| in _start \| in main \|^ *$' | cut -c 1-200 | head -n 30
for a in "$prefix"*; do
    [ -f "$a" ] || continue
    echo "fuzz: reproducer $a ($(wc -c < "$a") bytes), xz | base64:"
    if command -v xz >/dev/null 2>&1; then
        xz -9c "$a" | base64 -w 0
    else
        echo "(gzip, not xz)"; gzip -9c "$a" | base64 -w 0
    fi
    echo
done
grep -m 1 '^SUMMARY' "$log"
