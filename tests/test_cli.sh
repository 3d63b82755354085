#!/bin/sh
# test_cli.sh - tests of the command-line tools (bpfvm, bpfvm_plugin): exit
# status, stdout and stderr of each subcommand, good and bad input.
# Uses the tools in $BUILD (default build), run through $BPFVM_EXEC when set
# (an emulator for a cross build). Last line: "N passed, N failed".
B=${BUILD:-build}
BPFVM=$B/bpfvm
PLUGIN=$B/bpfvm_plugin
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ -n "${BPFVM_EXEC:-}" ]; then
    for tool in bpfvm bpfvm_plugin; do
        printf '#!/bin/sh\nexec %s %s "$@"\n' "$BPFVM_EXEC" "$(pwd)/$B/$tool" >"$T/$tool"
        chmod +x "$T/$tool"
    done
    BPFVM=$T/bpfvm
    PLUGIN=$T/bpfvm_plugin
fi
pass=0
fail=0
IN=/dev/null

# check NAME STATUS STDOUT_SUBSTRING CMD...: run CMD (stdin from $IN) and
# require the exit status and, when not empty, a substring of stdout.
check() {
    name=$1 want_rc=$2 want_out=$3
    shift 3
    "$@" <"$IN" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        fail=$((fail + 1))
        echo "FAIL $name: exit status $rc, expected $want_rc; stderr: $(head -c 300 "$T/err")"
    elif [ -n "$want_out" ] && ! grep -qF -- "$want_out" "$T/out"; then
        fail=$((fail + 1))
        echo "FAIL $name: stdout lacks '$want_out': $(head -c 300 "$T/out")"
    else
        pass=$((pass + 1))
    fi
}

# expect_err NAME SUBSTRING: the last command wrote exactly one line to
# stderr, containing SUBSTRING.
expect_err() {
    lines=$(wc -l <"$T/err")
    if [ "$lines" -ne 1 ] || ! grep -qF -- "$2" "$T/err"; then
        fail=$((fail + 1))
        echo "FAIL $1: expected one stderr line with '$2', got: $(head -c 300 "$T/err")"
    else
        pass=$((pass + 1))
    fi
}

# expect_true NAME CONDITION...: a shell test.
expect_true() {
    name=$1
    shift
    if "$@"; then pass=$((pass + 1)); else
        fail=$((fail + 1))
        echo "FAIL $name"
    fi
}

cat >"$T/p42.s" <<'EOF'
# returns 42
mov r0, 40
add r0, 2
exit
EOF
cat >"$T/mem.s" <<'EOF'
ldxb r0, [r1+1]
add r0, r2
exit
EOF
cat >"$T/oob.s" <<'EOF'
mov r0, 0
ldxdw r0, [r1+0]
exit
EOF
cat >"$T/bad.s" <<'EOF'
mov r0, 0
ja +5
exit
EOF
cat >"$T/loop.s" <<'EOF'
mov r0, 0
loop:
add r0, 1
ja loop
EOF
cat >"$T/mbuff.s" <<'EOF'
ldxw r0, [r1+0]
exit
EOF
cat >"$T/none.s" <<'EOF'
mov r0, r1
add r0, 5
exit
EOF
cat >"$T/helper.s" <<'EOF'
mov r1, 81
call 1002
exit
EOF
cat >"$T/syntax.s" <<'EOF'
mov r0, 1
bogus r0
exit
EOF

# ---- general ----
check "help" 0 "usage: bpfvm" "$BPFVM" --help
check "no arguments" 2 "" "$BPFVM"
check "version" 0 "bpfvm 0." "$BPFVM" version
check "unknown command" 2 "" "$BPFVM" frobnicate
expect_err "unknown command message" "unknown command"
for c in run bench asm disasm cfg verify ls jit-dump version; do
    check "$c --help" 0 "usage: bpfvm $c" "$BPFVM" "$c" --help
done

# ---- run ----
check "run asm" 0 "0x2a" "$BPFVM" run "$T/p42.s"
check "run unknown option" 2 "" "$BPFVM" run --frob "$T/p42.s"
expect_err "run unknown option message" "--frob"
check "run missing file" 2 "" "$BPFVM" run "$T/nonexistent.bin"
expect_err "run missing file message" "nonexistent.bin"
check "run missing program" 2 "" "$BPFVM" run
check "run option without value" 2 "" "$BPFVM" run "$T/p42.s" --budget
check "run bad budget" 2 "" "$BPFVM" run --budget abc "$T/p42.s"
check "run bad mode" 2 "" "$BPFVM" run --mode bogus "$T/p42.s"
check "run two programs" 2 "" "$BPFVM" run "$T/p42.s" "$T/p42.s"
check "run bad hex" 2 "" "$BPFVM" run --mem-hex "0g" "$T/mem.s"
check "run mem-hex" 0 "0x8" "$BPFVM" run --mem-hex "01 05 00" "$T/mem.s"
check "run mem-hex equals form" 0 "0x8" "$BPFVM" run --mem-hex=010500 "$T/mem.s"
printf '\001\011' >"$T/mem.img"
check "run mem file" 0 "0xb" "$BPFVM" run --mem "$T/mem.img" "$T/mem.s"
check "run fault" 3 "" "$BPFVM" run --mem-hex "01 02" "$T/oob.s"
expect_err "run fault message" "EMEMORY"
check "run verify error" 1 "" "$BPFVM" run "$T/bad.s"
expect_err "run verify error message" "EVERIFY"
check "run asm error" 1 "" "$BPFVM" run "$T/syntax.s"
expect_err "run asm error names the line" ":2:"
check "run budget" 3 "" "$BPFVM" run --budget 100 "$T/loop.s"
expect_err "run budget message" "EBUDGET"
check "run mode none" 0 "0x5" "$BPFVM" run --mode none "$T/none.s"
check "run mode mbuff" 0 "0x4030201" "$BPFVM" run --mode mbuff --mbuff-hex "01 02 03 04" "$T/mbuff.s"
cat >"$T/fixed.s" <<'EOF'
ldxdw r2, [r1+8]
ldxdw r3, [r1+16]
mov r0, r3
sub r0, r2
exit
EOF
check "run fixed-mbuff" 0 "0x3" "$BPFVM" run --fixed-mbuff 24,8,16 --mem-hex "01 02 03" "$T/fixed.s"
check "run bad fixed-mbuff" 2 "" "$BPFVM" run --fixed-mbuff 24,8 "$T/fixed.s"
check "run fixed-mbuff overlap" 2 "" "$BPFVM" run --fixed-mbuff 24,8,12 "$T/fixed.s"
check "bench fixed-mbuff" 0 "0x3" "$BPFVM" bench -n 3 --fixed-mbuff 24,8,16 --mem-hex "01 02 03" "$T/fixed.s"
check "run std helpers" 0 "0x9" "$BPFVM" run "$T/helper.s"
check "run unchecked" 0 "0x2a" "$BPFVM" run --unchecked "$T/p42.s"
check "run stack option" 0 "0x2a" "$BPFVM" run --stack 64 --depth 2 "$T/p42.s"
check "run bad stack" 2 "" "$BPFVM" run --stack 7 "$T/p42.s"

# ---- asm / raw bytecode ----
check "asm -o" 0 "" "$BPFVM" asm "$T/p42.s" -o "$T/p42.bin"
expect_true "asm output size" [ "$(wc -c <"$T/p42.bin")" -eq 24 ]
check "run raw bytecode" 0 "0x2a" "$BPFVM" run "$T/p42.bin"
check "asm default output" 0 "" "$BPFVM" asm "$T/mem.s"
expect_true "asm default output name" [ -s "$T/mem.bin" ]
check "asm error" 1 "" "$BPFVM" asm "$T/syntax.s" -o "$T/x.bin"
expect_err "asm error message" "syntax.s:2:"
printf 'abc' >"$T/short.bin"
check "run truncated bytecode" 1 "" "$BPFVM" run "$T/short.bin"

# ---- disasm / cfg / verify ----
check "disasm classic" 0 "exit" "$BPFVM" disasm "$T/p42.bin"
check "disasm classic mov" 0 "mov" "$BPFVM" disasm "$T/p42.s"
check "disasm llvm" 0 "r0 = 40" "$BPFVM" disasm --syntax llvm "$T/p42.bin"
check "disasm json" 0 "\"mnemonic\"" "$BPFVM" disasm --json "$T/p42.bin"
check "disasm labels" 0 ":" "$BPFVM" disasm --labels "$T/loop.s"
check "disasm bad syntax" 2 "" "$BPFVM" disasm --syntax intel "$T/p42.bin"
check "disasm truncated" 1 "" "$BPFVM" disasm "$T/short.bin"
printf '\377\000\000\000\000\000\000\000\225\000\000\000\000\000\000\000' >"$T/invalid.bin"
check "disasm invalid slot as data" 0 ".8byte" "$BPFVM" disasm "$T/invalid.bin"
check "verify invalid slot" 1 "0xff" "$BPFVM" verify "$T/invalid.bin"
check "run invalid slot" 1 "" "$BPFVM" run "$T/invalid.bin"
expect_err "run invalid slot message" "instruction 0"
"$BPFVM" disasm "$T/p42.bin" >"$T/round.s" 2>/dev/null
check "disasm output reassembles" 0 "" "$BPFVM" asm "$T/round.s" -o "$T/round.bin"
expect_true "disasm round trip bytes" cmp -s "$T/p42.bin" "$T/round.bin"
"$BPFVM" disasm --syntax llvm "$T/p42.bin" >"$T/roundl.s" 2>/dev/null
check "llvm disasm output reassembles" 0 "" "$BPFVM" asm "$T/roundl.s" -o "$T/roundl.bin"
expect_true "llvm round trip bytes" cmp -s "$T/p42.bin" "$T/roundl.bin"
check "cfg" 0 "digraph" "$BPFVM" cfg "$T/loop.s"
if command -v dot >/dev/null 2>&1; then
    "$BPFVM" cfg "$T/loop.s" >"$T/loop.dot" 2>/dev/null
    check "cfg renders with dot" 0 "" dot -Tsvg "$T/loop.dot"
fi
check "verify ok" 0 "ok" "$BPFVM" verify "$T/p42.s"
check "verify bad" 1 "=>" "$BPFVM" verify "$T/bad.s"
check "verify bad shows code" 1 "ja" "$BPFVM" verify "$T/bad.s"
# control flow and data flow: each problem with the code around it
printf 'mov r0, 1\nadd r0, r3\nexit\nmov r0, 1\nexit\n' >"$T/deep.s"
check "verify unset register" 1 "instruction 1: reads r3" "$BPFVM" verify "$T/deep.s"
check "verify unset register code" 1 "=>     1: add64 r0, r3" "$BPFVM" verify "$T/deep.s"
check "verify unreachable" 1 "instruction 3: unreachable instructions (3 to 4)" \
    "$BPFVM" verify "$T/deep.s"
printf 'mov r0, 0\nldxb r0, [r10-513]\ncall 4242\nexit\n' >"$T/deep2.s"
check "verify outside the frame" 1 "instruction 1: stack access at r10-513" \
    "$BPFVM" verify "$T/deep2.s"
check "verify unknown helper" 1 "instruction 2: unknown helper 4242" "$BPFVM" verify "$T/deep2.s"
check "verify every problem" 1 "" "$BPFVM" verify "$T/deep2.s"
expect_true "verify prints two problems" [ "$(grep -c '^instruction' "$T/out")" -eq 2 ]
check "run refuses an unset register" 1 "" "$BPFVM" run "$T/deep.s"
expect_err "run unset register message" "reads r3"

# ---- ELF objects ----
check "ls non-ELF" 1 "" "$BPFVM" ls "$T/p42.bin"
expect_err "ls non-ELF message" "EELF"
if command -v clang >/dev/null 2>&1; then
    cat >"$T/prog.c" <<'EOF'
__attribute__((section("xdp"), used)) int prog(void *ctx)
{
    (void)ctx;
    return 42;
}
EOF
    if clang -O2 -target bpf -c "$T/prog.c" -o "$T/prog.o" 2>/dev/null; then
        check "ls ELF" 0 "xdp" "$BPFVM" ls "$T/prog.o"
        check "run ELF" 0 "0x2a" "$BPFVM" run "$T/prog.o"
        check "run ELF section" 0 "0x2a" "$BPFVM" run --section xdp "$T/prog.o"
        check "run ELF missing section" 1 "" "$BPFVM" run --section nope "$T/prog.o"
        check "disasm ELF" 0 "exit" "$BPFVM" disasm "$T/prog.o"
        check "verify ELF" 0 "ok" "$BPFVM" verify "$T/prog.o"
        od -An -tx1 -v "$T/prog.o" | tr -s ' \n' '  ' >"$T/prog.hex"
        IN=$T/prog.hex
        check "plugin --elf" 0 "2a" "$PLUGIN" --elf
        IN=/dev/null
    fi
fi
# verify: every program of an object, one verdict line each
if command -v clang >/dev/null 2>&1; then
    cat >"$T/several.c" <<'EOF'
#define SEC(name) __attribute__((section(name), used))
static __attribute__((noinline)) void clear(int *p) { if (p) *p = 0; }
SEC("xdp") int stage_one(int *ctx) { clear(ctx); return 1; }
SEC("xdp") int stage_two(int *ctx) { (void)ctx; return 2; }
SEC("kprobe/x") int probe(void) { return 3; }
__attribute__((noinline)) int global_helper(int x) { return x + 1; }
EOF
    cat >"$T/onebad.c" <<'EOF'
#define SEC(name) __attribute__((section(name), used))
SEC("good") int fine(void) { return 0; }
SEC("bad") int unset(void) { long r; asm volatile("%0 = 1; %0 += r9" : "=r"(r)); return (int)r; }
EOF
    if clang -O2 -target bpf -c "$T/several.c" -o "$T/several.o" 2>/dev/null &&
        clang -O2 -target bpf -c "$T/onebad.c" -o "$T/onebad.o" 2>/dev/null; then
        check "verify every program" 0 "xdp stage_one: ok" "$BPFVM" verify "$T/several.o"
        expect_true "verify: one verdict per program" [ "$(grep -c ': ok$' "$T/out")" -eq 4 ]
        for p in "xdp stage_two: ok" "kprobe/x probe: ok" ".text global_helper: ok"; do
            expect_true "verify lists $p" grep -qxF "$p" "$T/out"
        done
        expect_true "verify skips static helpers" sh -c "! grep -q clear '$T/out'"
        check "verify --section still selects one" 0 "ok" "$BPFVM" verify --section kprobe/x "$T/several.o"
        expect_true "verify --section: one line" [ "$(wc -l <"$T/out")" -eq 1 ]
        check "verify --entry still selects one" 0 "ok" "$BPFVM" verify --entry stage_two "$T/several.o"
        check "verify --section with several functions" 1 "" "$BPFVM" verify --section xdp "$T/several.o"
        expect_err "verify ambiguous section message" "choose one by its entry name"
        check "verify: one program rejected" 1 "bad unset: rejected" "$BPFVM" verify "$T/onebad.o"
        expect_true "verify: the good one still passes" grep -qxF "good fine: ok" "$T/out"
        expect_true "verify: the problem follows its verdict" \
            sh -c "grep -A1 'bad unset: rejected' '$T/out' | grep -q 'instruction 1: reads r9'"
        check "verify the rejected one alone" 1 "instruction 1: reads r9" \
            "$BPFVM" verify --section bad "$T/onebad.o"
        printf 'static __attribute__((used)) int only(void) { return 3; }\n' >"$T/static.c"
        if clang -O2 -target bpf -c "$T/static.c" -o "$T/static.o" 2>/dev/null; then
            check "verify an object of static functions: the default program" 0 "ok" \
                "$BPFVM" verify "$T/static.o"
        fi
    fi
fi
# verify names the source line of each problem when the object has line
# info (clang -g), in the form of run's errors, in linked callees too
if command -v clang >/dev/null 2>&1; then
    cat >"$T/badlines.c" <<'EOF'
#define SEC(name) __attribute__((section(name), used))
static __attribute__((noinline)) long callee(long x)
{
    long r;
    asm volatile("%0 = r8" : "=r"(r));
    return r + x;
}
SEC("good") int fine(void) { return 0; }
SEC("bad") int unset(void)
{
    long r;
    asm volatile("%0 = 1; %0 += r9" : "=r"(r));
    return (int)(r + callee(r));
}
EOF
    if clang -g -O2 -target bpf -c "$T/badlines.c" -o "$T/badlines.o" 2>/dev/null; then
        check "verify -g names the line" 1 "instruction 1 (badlines.c:12): reads r9" \
            "$BPFVM" verify "$T/badlines.o"
        expect_true "verify -g: the callee's line" grep -qE '^instruction [0-9]+ \(badlines\.c:[56]\): ' "$T/out"
        expect_true "verify -g: the good one passes" grep -qxF "good fine: ok" "$T/out"
        check "verify -g --section names the line" 1 "instruction 1 (badlines.c:12): reads r9" \
            "$BPFVM" verify --section bad "$T/badlines.o"
        expect_true "verify -g --section: the callee's line" \
            grep -qE '^instruction [0-9]+ \(badlines\.c:[56]\): ' "$T/out"
        check "run -g: the same line" 1 "" "$BPFVM" run --section bad "$T/badlines.o"
        expect_err "run -g: the same line message" "instruction 1 (badlines.c:12): reads r9"
    fi
fi
printf '\177ELF\002\001\001' >"$T/trunc.o"
check "run truncated ELF" 1 "" "$BPFVM" run "$T/trunc.o"

# ---- bench ----
check "bench" 0 "median" "$BPFVM" bench -n 5 "$T/p42.s"
check "bench json" 0 "\"result\": \"0x2a\"" "$BPFVM" bench -n 5 --json "$T/p42.s"
for key in runs median_ns min_ns max_ns load_ns compile_ns; do
    expect_true "bench json $key" grep -q "\"$key\": " "$T/out"
done
check "bench cputime" 0 "\"clock\": \"thread-cputime\"" "$BPFVM" bench -n 3 --cputime --json "$T/p42.s"
check "bench mem" 0 "0x8" "$BPFVM" bench -n 3 --mem-hex "01 05 00" "$T/mem.s"
check "bench mode mbuff" 0 "0x4030201" "$BPFVM" bench -n 3 --mode mbuff --mbuff-hex "01 02 03 04" "$T/mbuff.s"
check "bench fault" 3 "" "$BPFVM" bench -n 3 --mem-hex "01" "$T/oob.s"
check "bench bad runs" 2 "" "$BPFVM" bench -n 0 "$T/p42.s"

# ---- JIT (when this build has one) ----
if "$BPFVM" run --jit "$T/p42.s" >/dev/null 2>&1; then
    check "run jit" 0 "0x2a" "$BPFVM" run --jit "$T/p42.s"
    check "run jit fault" 3 "" "$BPFVM" run --jit --mem-hex "01 02" "$T/oob.s"
    check "run jit budget" 3 "" "$BPFVM" run --jit --budget 100 "$T/loop.s"
    check "bench jit json" 0 "\"result\": \"0x2a\"" "$BPFVM" bench --jit -n 5 --json "$T/p42.s"
    check "jit-dump -o" 0 "" "$BPFVM" jit-dump "$T/p42.s" -o "$T/code.bin"
    expect_true "jit-dump wrote code" [ -s "$T/code.bin" ]
    if command -v objdump >/dev/null 2>&1; then
        check "jit-dump objdump" 0 "ret" "$BPFVM" jit-dump "$T/p42.s"
    fi
    check "plugin jit" 0 "2a" "$PLUGIN" --jit --program "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00"
else
    echo "note: no JIT in this build; JIT command tests skipped"
fi

# ---- bpfvm test-run ----
# an XDP program returning data_end - data; a tc program setting mark = 7
printf 'ldxw r2, [r1+0]\nldxw r3, [r1+4]\nmov64 r0, r3\nsub64 r0, r2\nexit\n' >"$T/xdplen.s"
printf 'mov64 r2, 7\nstxw [r1+8], r2\nldxw r0, [r1+0]\nexit\n' >"$T/tcmark.s"
printf 'mov64 r2, 1\nstxw [r1+0], r2\nmov64 r0, 0\nexit\n' >"$T/xdpwrite.s"
printf 'ldxw r1, [r1+0]\nldxb r0, [r1+20]\nexit\n' >"$T/xdppast.s"
head -c 20 /dev/zero >"$T/pkt20"
head -c 10 /dev/zero >"$T/pkt10"
check "test-run xdp" 0 "Return value: 20, duration: " "$BPFVM" test-run --type xdp --data-in "$T/pkt20" "$T/xdplen.s"
check "test-run jit repeat" 0 "Return value: 20, duration (average): " "$BPFVM" test-run --jit --repeat 5 --type xdp --data-in "$T/pkt20" "$T/xdplen.s"
check "test-run json" 0 '{"retval": 20, "duration_ns": ' "$BPFVM" test-run --json --type xdp --data-in "$T/pkt20" "$T/xdplen.s"
expect_true "test-run json data_out" grep -qF '"data_out": "0000000000000000000000000000000000000000", "ctx_out": ""}' "$T/out"
check "test-run data-out" 0 "Return value: 20" "$BPFVM" test-run --type xdp --data-in "$T/pkt20" --data-out "$T/pkt20.out" "$T/xdplen.s"
expect_true "test-run data-out file" cmp -s "$T/pkt20" "$T/pkt20.out"
check "test-run tc ctx-out" 0 "Return value: 20" "$BPFVM" test-run --type tc --data-in "$T/pkt20" --ctx-out "$T/skb.out" "$T/tcmark.s"
expect_true "test-run tc mark in ctx-out" [ "$(od -An -tu1 -j8 -N1 "$T/skb.out" | tr -d ' ')" = 7 ]
check "test-run unknown type" 2 "" "$BPFVM" test-run --type frob --data-in "$T/pkt20" "$T/xdplen.s"
expect_err "test-run unknown type message" "unknown program type 'frob'"
check "test-run read-only field" 1 "" "$BPFVM" test-run --type xdp --data-in "$T/pkt20" "$T/xdpwrite.s"
expect_err "test-run read-only field message" "instruction 1: write to read-only field xdp_md.data"
check "test-run short packet" 2 "" "$BPFVM" test-run --type xdp --data-in "$T/pkt10" "$T/xdplen.s"
expect_err "test-run short packet message" "data_in: 10 bytes"
check "test-run past data_end" 3 "" "$BPFVM" test-run --type xdp --data-in "$T/pkt20" "$T/xdppast.s"
expect_err "test-run past data_end message" "EMEMORY"
# --profile --json: one object, test-run's fields and "profile" as run gives it
check "test-run profile json" 0 '{"retval": 20, "duration_ns": ' \
    "$BPFVM" test-run --profile --json --repeat 3 --type xdp --data-in "$T/pkt20" "$T/xdplen.s"
expect_true "test-run profile json: the profile of 3 runs" \
    grep -qF '"profile": {"executed": 15, "r0": "0x14", "functions": ' "$T/out"
expect_true "test-run profile json: one line" [ "$(wc -l <"$T/out")" -eq 1 ]
cp "$T/out" "$T/tr.json"
"$BPFVM" run --profile --json "$T/p42.s" >"$T/run.json"
check "test-run profile json fault" 3 '{"error": "instruction 1: out-of-bounds read' \
    "$BPFVM" test-run --profile --json --type xdp --data-in "$T/pkt20" "$T/xdppast.s"
expect_err "test-run profile json fault message" "EMEMORY"
if command -v python3 >/dev/null 2>&1; then
    expect_true "test-run profile json is one object" python3 -c '
import json, sys
t, r, f = (json.load(open(p)) for p in sys.argv[1:4])
assert t["retval"] == 20 and t["data_out"] == "00" * 20, t
assert t["profile"]["executed"] == 15 and t["profile"]["instructions"][4] == {"insn": 4, "count": 3}
assert sorted(t["profile"]) == sorted(r), (sorted(t["profile"]), sorted(r))
assert f["profile"]["executed"] == 2 and f["error"] == f["profile"]["error"], f
' "$T/tr.json" "$T/run.json" "$T/out"
fi
check "test-run trace json" 2 "" "$BPFVM" test-run --trace --json --type xdp --data-in "$T/pkt20" "$T/xdplen.s"
expect_err "test-run trace json message" "--json prints one object"
check "test-run annotate json" 2 "" \
    "$BPFVM" test-run --profile-annotate --json --type xdp --data-in "$T/pkt20" "$T/xdplen.s"
check "test-run bad repeat" 2 "" "$BPFVM" test-run --repeat 0 --type xdp "$T/xdplen.s"
# a tc object: its type from the section name; the wrong context type is a load error
if [ -f "$B/kernel/tc_parse-v3.o" ]; then
    head -c 60 /dev/zero >"$T/pkt60"
    check "test-run tc object" 0 "Return value: " "$BPFVM" test-run --data-in "$T/pkt60" "$B/kernel/tc_parse-v3.o"
    check "test-run wrong type" 1 "" "$BPFVM" test-run --type xdp --data-in "$T/pkt60" "$B/kernel/tc_parse-v3.o"
    expect_err "test-run wrong type message" "read of xdp_md+76 (4 bytes): no field of the context"
    check "test-run socket type" 1 "" "$BPFVM" test-run --type socket --data-in "$T/pkt60" "$B/kernel/tc_parse-v3.o"
    expect_err "test-run socket type message" "__sk_buff.data (4 bytes at offset 76) in a program of type socket"
fi

# ---- bpfvm_plugin ----
P42="b7  00  00  00  2a  00  00  00  95  00  00  00  00  00  00  00  "
printf '%s\n' "$P42" >"$T/p42.hex"
IN=$T/p42.hex
check "plugin stdin" 0 "2a" "$PLUGIN"
check "plugin old protocol (empty memory and options)" 0 "2a" "$PLUGIN" "" ""
IN=/dev/null
check "plugin --program" 0 "2a" "$PLUGIN" --program "$P42"
# ldxb r0, [r1+1]; add r0, r2; exit
check "plugin memory" 0 "8" "$PLUGIN" "01 05 00" --program "71 10 01 00 00 00 00 00 0f 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00"
# mov r1, 0x77; call 5; exit
check "plugin helper 5" 0 "77" "$PLUGIN" --program "b7 01 00 00 77 00 00 00 85 00 00 00 05 00 00 00 95 00 00 00 00 00 00 00"
# lddw r0, -1; exit: full 64-bit value, no prefix
check "plugin 64-bit" 0 "ffffffffffffffff" "$PLUGIN" --program "18 00 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff 95 00 00 00 00 00 00 00"
check "plugin stack 512" 0 "5" "$PLUGIN" --program "7a 0a 00 fe 05 00 00 00 79 a0 00 fe 00 00 00 00 95 00 00 00 00 00 00 00"
check "plugin verify error" 1 "" "$PLUGIN" --program "ff 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00"
expect_true "plugin error printed" [ -s "$T/out" ]
check "plugin fault" 1 "" "$PLUGIN" "01" --program "79 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00"
check "plugin bad hex" 1 "" "$PLUGIN" --program "zz"
check "plugin unknown option" 2 "" "$PLUGIN" --frob
check "plugin options in one argument" 0 "2a" "$PLUGIN" "" "--budget 100" --program "$P42"
check "plugin help" 0 "usage: bpfvm_plugin" "$PLUGIN" --help

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
