#!/bin/sh
# Runs every command of the table in docs/examples.md (with build/ meaning
# this build's directory) and compares its output with the documented
# result. Generated into <build>/tests/test_examples by mk/elf.mk; prints
# "N passed, N failed".
ROOT='@ROOT@'
BUILD='@BUILD@'

cd "$ROOT" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
found=0
if [ ! -x "$BUILD/bpfvm" ] || [ ! -f "$BUILD/examples/filter.bpf.o" ]; then
    echo "skipped: examples or bpfvm not built (clang not found?)"
    echo "0 passed, 0 failed"
    exit 0
fi
# Table rows: | example | what | `command` | `result` ... |
grep -E '^[|] .* [|] `' docs/examples.md > "$tmp/rows"
while IFS= read -r row; do
    cmd=$(printf '%s\n' "$row" | awk -F' [|] ' '{ print $3 }' | sed -n 's/^`\(.*\)`$/\1/p')
    cmd=$(printf '%s\n' "$cmd" | sed 's/\\|/|/g') # a table cell's \| is a pipe
    want=$(printf '%s\n' "$row" | awk -F' [|] ' '{ print $4 }' | sed -n 's/^`\([^`]*\)`.*/\1/p')
    case $cmd in
    ''|*PROG.o*) continue ;;
    esac
    found=$((found + 1))
    run=$(printf '%s\n' "$cmd" | sed -e "s| build/| $BUILD/|g" -e "s|^build/|$BUILD/|" \
        -e "s|^bpfvm |$BUILD/bpfvm |")
    got=$(sh -c "$run" 2>"$tmp/err")
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $cmd"
        echo "    got '$got', documented '$want'"
        sed 's/^/    /' "$tmp/err" | head -n 5
    fi
done < "$tmp/rows"
[ "$found" -ge 6 ] || { fail=$((fail + 1)); echo "FAIL: only $found commands found in docs/examples.md"; }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
