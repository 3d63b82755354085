#!/bin/sh
# test_debug.sh - the command's views inside a run: run --trace, --profile,
# --profile-annotate, disasm --source, source lines in error messages, and
# the debugger driven by the scripts tests/debug/*.cmd (each with the
# expected output beside it as NAME.out; the first line of a script,
# "# args: ...", gives the debugger's arguments). Uses the tools in $BUILD.
# Last line: "N passed, N failed".
B=${BUILD:-build}
BPFVM="${BPFVM_EXEC:+$BPFVM_EXEC }$B/bpfvm" # through the emulator of a cross build, if any
D=tests/debug
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# same NAME EXPECTED ACTUAL
same() {
    if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi
}

# ---- run --trace: one line per executed instruction ---------------------------
$BPFVM run --trace $D/loop.s >"$T/trace" 2>"$T/err"
same "trace status" 0 $?
same "trace lines (23 executed)" 23 "$(grep -c '^ *[0-9]*: ' "$T/trace")"
same "trace result" 0xf "$(tail -n 1 "$T/trace")"
same "trace changed register" "     2: add64 r0, r1                   r0=0x5" "$(sed -n 3p "$T/trace")"
same "trace store address" "     3: stxdw [r10-8], r0              [store fp-8 8]" "$(sed -n 4p "$T/trace")"
same "trace last" "     6: exit" "$(sed -n 23p "$T/trace")"
# the JIT hands a traced run to the interpreter: same trace
$BPFVM run --jit --trace $D/loop.s >"$T/trace-jit" 2>&1
if cmp -s "$T/trace" "$T/trace-jit"; then ok; else bad "trace with --jit differs"; fi

# a fault: the faulting instruction is the last line, the error names it
printf 'mov r1, 0\nldxw r0, [r1+4]\nexit\n' >"$T/fault.s"
$BPFVM run --trace "$T/fault.s" >"$T/out" 2>"$T/err"
same "fault status" 3 $?
same "fault trace" "     1: ldxw r0, [r1+4]                [load 0x4 4]" "$(tail -n 1 "$T/out")"
grep -q "instruction 1" "$T/err" && ok || bad "fault message: $(cat "$T/err")"
# its profile counts the faulting instruction, in the function's counts too
$BPFVM run --profile --json "$T/fault.s" >"$T/out" 2>"$T/err"
same "fault profile status" 3 $?
grep -q '^{"executed": 2, "error": "instruction 1: out-of-bounds read' "$T/out" &&
    grep -q '"exclusive": 2, "inclusive": 2' "$T/out" && ok || bad "fault profile: $(cat "$T/out")"

# ---- run --profile ---------------------------------------------------------------
$BPFVM run --profile --json $D/loop.s >"$T/prof" 2>"$T/err"
same "profile status" 0 $?
grep -q '"executed": 23, "r0": "0xf"' "$T/prof" && ok || bad "profile json: $(cat "$T/prof")"
grep -q '{"insn": 2, "count": 5}' "$T/prof" && ok || bad "profile count of the loop body"
grep -q '"exclusive": 23, "inclusive": 23' "$T/prof" && ok || bad "profile function"
$BPFVM run --profile $D/loop.s >"$T/prof" 2>&1
grep -q "^profile: 23 instructions executed" "$T/prof" && ok || bad "profile text: $(head -3 "$T/prof")"
same "profile text result" 0xf "$(tail -n 1 "$T/prof")"

if [ -f "$B/elf/calls-g.o" ]; then
    MEM="0100000000000000 0200000000000000"
    want=$($BPFVM run --mem-hex "$MEM" "$B/elf/calls-g.o")
    steps=$($BPFVM run --trace --mem-hex "$MEM" "$B/elf/calls-g.o" | grep -c '^ *[0-9]*: ')
    $BPFVM run --profile --json --mem-hex "$MEM" "$B/elf/calls-g.o" >"$T/prof"
    grep -q "\"executed\": $steps, \"r0\": \"$want\"" "$T/prof" && ok ||
        bad "calls profile: $steps traced, $(head -c 200 "$T/prof")"
    # the entry function includes everything; exclusive counts add up to the total
    grep -q "\"name\": \"calls_main\", \"start\": 0, \"exclusive\": [0-9]*, \"inclusive\": $steps}" "$T/prof" &&
        ok || bad "calls inclusive: $(head -c 300 "$T/prof")"
    sum=$(grep -o '"exclusive": [0-9]*' "$T/prof" | awk '{s += $2} END {print s}')
    same "exclusive counts add up" "$steps" "$sum"
    # twice_gcd12 calls calc_gcd: its inclusive count is its own plus calc_gcd's run
    $BPFVM run --profile --mem-hex "$MEM" "$B/elf/calls-g.o" >"$T/prof"
    grep -q "calc.h:34  if (x >= r + bit) {" "$T/prof" && ok || bad "profile per line"
    $BPFVM run --profile-annotate --mem-hex "$MEM" "$B/elf/calls-g.o" >"$T/ann"
    grep -q "; /.*calc.h:34" "$T/ann" && grep -q "^ *32  *4.49%  *69: rsh64 r2, 1" "$T/ann" && ok ||
        bad "annotate: $(grep -n ' 69:' "$T/ann")"

    # ---- disasm --source -----------------------------------------------------------
    $BPFVM disasm --source "$B/elf/calls-g.o" >"$T/src"
    same "disasm --source status" 0 $?
    grep -q "^<calc_gcd>:" "$T/src" && grep -q "^; while (b) {" "$T/src" && ok ||
        bad "disasm --source: $(head -5 "$T/src")"
    $BPFVM disasm --source $D/loop.s >"$T/out" 2>"$T/err"
    same "disasm --source of assembly" 2 $?
    # ---- errors name the source line ----------------------------------------------
    $BPFVM run --section badwrite "$B/elf/data-g.o" >"$T/out" 2>"$T/err"
    grep -q "instruction [0-9]* (data.c:40): " "$T/err" && ok || bad "error source: $(cat "$T/err")"
fi

# ---- test-run --trace / --profile (kernel-style programs) ----------------------------
K=$B/kernel/xdp_calls-v3.o
if [ -f "$K" ]; then
    head -c 64 /dev/zero >"$T/pkt"
    want=$($BPFVM test-run --data-in "$T/pkt" "$K" | sed 's/, duration.*//')
    $BPFVM test-run --trace --data-in "$T/pkt" "$K" >"$T/trace" 2>"$T/err"
    same "test-run --trace status" 0 $?
    steps=$(grep -c '^ *[0-9]*: ' "$T/trace")
    same "test-run --trace result" "$want" "$(tail -n 1 "$T/trace" | sed 's/, duration.*//')"
    $BPFVM test-run --profile --json --repeat 3 --data-in "$T/pkt" "$K" >"$T/prof" 2>"$T/err"
    grep -q "^{\"retval\": .*, \"profile\": {\"executed\": $((3 * steps)), \"r0\"" "$T/prof" && ok ||
        bad "test-run profile of 3 runs of $steps: $(head -c 200 "$T/prof") $(cat "$T/err")"
    $BPFVM test-run --profile --data-in "$T/pkt" "$K" >"$T/prof"
    grep -q "^profile: $steps instructions executed" "$T/prof" &&
        same "test-run --profile result" "$want" "$(tail -n 1 "$T/prof" | sed 's/, duration.*//')" ||
        bad "test-run --profile: $(head -3 "$T/prof")"
fi

# ---- the debugger: scripted sessions against their transcripts -------------------
# (r10 holds a host address: its line is normalised)
for c in $D/*.cmd; do
    args=$(head -n 1 "$c" | sed -e 's/^# args: //' -e "s|@BUILD@|$B|g")
    case $args in *"$B/elf/"*) [ -f "$B/elf/calls-g.o" ] || continue ;; esac
    eval "\$BPFVM debug -x \"\$c\" $args" 2>&1 | sed -E 's/^(r10 ).*/\1<fp>/' >"$T/session"
    if diff -u "${c%.cmd}.out" "$T/session" >"$T/diff"; then ok; else
        bad "debug session $c:"; head -n 30 "$T/diff"
    fi
done
# commands from stdin give the same session
eval "\$BPFVM debug $D/loop.s" <$D/loop.cmd 2>&1 | sed -E 's/^(r10 ).*/\1<fp>/' >"$T/session"
if cmp -s $D/loop.out "$T/session"; then ok; else bad "debug from stdin differs"; fi
# usage errors
$BPFVM debug -x /nonexistent $D/loop.s >"$T/out" 2>"$T/err"
same "debug: unreadable script" 2 $?
printf 'run\n' | $BPFVM debug >"$T/out" 2>"$T/err"
same "debug: no program" 2 $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
