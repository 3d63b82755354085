#!/bin/sh
# jit_ratio.sh X86_BPFVM ARM64_BPFVM PROGRAM...: machine instructions the two
# JIT backends generate per BPF instruction, for each program (checked mode,
# the default, and unchecked). x86-64 code is disassembled with objdump
# (instructions have many lengths); arm64 instructions are 4 bytes each.
# "body" leaves out the fixed code every program has (prologue, epilogue,
# error exits: the code of a program that is only `exit`); stubs stay in.
# The arm64 tool runs through $BPFVM_EXEC (an emulator) when set.
# Prints one row per program and mode, then the largest arm64/x86-64 ratio;
# exits 1 if that is above $JIT_RATIO_MAX (default 1.3).
X86=$1
ARM=$2
shift 2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
printf 'mov r0, 0\nexit\n' >"$tmp/empty.s"

x86_count() { # FILE: instructions in raw x86-64 code
    objdump -D -b binary -mi386:x86-64 "$1" | grep -cP '^\s*[0-9a-f]+:\t[0-9a-f ]+\t'
}
arm_count() {
    echo $(($(wc -c <"$1") / 4))
}
dump() { # TOOL OUT MODE PROGRAM
    tool=$1 out=$2 mode=$3 prog=$4
    if [ "$tool" = "$ARM" ]; then
        ${BPFVM_EXEC:-} "$tool" jit-dump $mode "$prog" -o "$out" || exit 1
    else
        "$tool" jit-dump $mode "$prog" -o "$out" || exit 1
    fi
}

worst=0
printf '%-12s %-9s %5s %8s %8s %7s %7s %6s %6s %6s\n' program mode bpf x86 arm64 x86/bpf \
    a64/bpf body86 body64 ratio
for mode in "" --unchecked; do
    dump "$X86" "$tmp/e86" "$mode" "$tmp/empty.s"
    dump "$ARM" "$tmp/e64" "$mode" "$tmp/empty.s"
    base86=$(x86_count "$tmp/e86")
    base64=$(arm_count "$tmp/e64")
    for prog in "$@"; do
        n=$("$X86" disasm "$prog" | wc -l)
        dump "$X86" "$tmp/x86" "$mode" "$prog"
        dump "$ARM" "$tmp/a64" "$mode" "$prog"
        c86=$(x86_count "$tmp/x86")
        c64=$(arm_count "$tmp/a64")
        b86=$((c86 - base86))
        b64=$((c64 - base64))
        row=$(awk -v n="$n" -v c86="$c86" -v c64="$c64" -v b86="$b86" -v b64="$b64" 'BEGIN {
            printf "%8d %8d %7.2f %7.2f %6.2f %6.2f %6.2f", c86, c64, c86 / n, c64 / n,
                b86 / n, b64 / n, b64 / b86 }')
        printf '%-12s %-9s %5d %s\n' "$(basename "$prog" .bpf.o)" "${mode:-checked}" "$n" "$row"
        worst=$(awk -v w="$worst" -v b86="$b86" -v b64="$b64" 'BEGIN {
            r = b64 / b86; print (r > w ? r : w) }')
    done
done
echo "largest arm64/x86-64 body ratio: $worst"
awk -v w="$worst" -v m="${JIT_RATIO_MAX:-1.3}" 'BEGIN { exit !(w <= m) }'
