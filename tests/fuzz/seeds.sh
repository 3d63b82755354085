#!/bin/sh
# Seed corpora for the fuzzers from the test suite: the assembly of every data
# test (asm harness), its bytecode (bytecode, diff, disasm harnesses) and the
# ELF objects the build compiled (elf harness).
build=${1:-build}
seeds=$build/fuzz/seeds
rm -rf "$seeds"
mkdir -p "$seeds/asm" "$seeds/bytecode" "$seeds/diff" "$seeds/disasm" "$seeds/elf" "$seeds/progtype" \
    "$seeds/lineinfo" "$seeds/btf"
n=0
for f in $(find tests/data -type f 2>/dev/null | sort); do
    n=$((n + 1))
    # the text between "-- asm" and the next "-- " line
    awk '/^-- /{on=($0=="-- asm"); next} on' "$f" > "$seeds/asm/$n.s"
    if "$build/bpfvm" asm "$seeds/asm/$n.s" -o "$seeds/disasm/$n.bin" >/dev/null 2>&1; then
        # the diff and bytecode harnesses read an option byte first: cycle
        # through them
        opt="\\$(printf %03o $((n % 16)))"
        { printf "$opt"; cat "$seeds/disasm/$n.bin"; } > "$seeds/diff/$n.bin"
        { printf "$opt"; cat "$seeds/disasm/$n.bin"; } > "$seeds/bytecode/$n.bin"
    fi
done
for o in $(find "$build" -name '*.o' -path '*elf*' 2>/dev/null; find "$build" -name '*.bpf.o' 2>/dev/null); do
    cp "$o" "$seeds/elf/" 2>/dev/null
    # the btf harness: the object's .BTF section, where it has one
    llvm-objcopy --dump-section .BTF="$seeds/btf/$(basename "$o").btf" "$o" /dev/null \
        2>/dev/null || true
done
# progtype: the kernel oracle's programs (their code section) behind a
# header picking the type and a 60-byte packet of zeros.
k=0
for o in "$build"/kernel/*-v3.o; do
    [ -e "$o" ] || continue
    sec=$(llvm-objdump -h "$o" 2>/dev/null | awk '$2 ~ /^(xdp|tc|socket|cgroup_skb)/ {print $2; exit}')
    [ -n "$sec" ] || continue
    case $sec in xdp*) t=0 ;; tc*) t=1 ;; socket*) t=2 ;; *) t=3 ;; esac
    k=$((k + 1))
    llvm-objcopy -O binary --only-section="$sec" "$o" "$seeds/progtype/code" 2>/dev/null || continue
    { printf "\\$(printf %03o $t)\\074\\000"; head -c 60 /dev/zero; cat "$seeds/progtype/code"; } \
        > "$seeds/progtype/$k.bin"
    rm -f "$seeds/progtype/code"
done
# lineinfo: the .BTF size (16 bits, little-endian), .BTF, .BTF.ext of each -g object
for o in $(find "$build" -name '*-g.o' -path '*elf*' 2>/dev/null); do
    t=$seeds/lineinfo/$(basename "$o" .o)
    if llvm-objcopy --dump-section .BTF="$t.btf" --dump-section .BTF.ext="$t.ext" "$o" /dev/null 2>/dev/null; then
        n=$(wc -c < "$t.btf")
        { printf "\\$(printf %03o $((n % 256)))\\$(printf %03o $((n / 256)))"; cat "$t.btf" "$t.ext"; } > "$t"
    fi
    # and its DWARF line table (the length's top bit set), then .debug_line_str
    if llvm-objcopy --dump-section .debug_line="$t.line" --dump-section .debug_line_str="$t.str" "$o" /dev/null 2>/dev/null; then
        n=$(($(wc -c < "$t.line") | 32768))
        { printf "\\$(printf %03o $((n % 256)))\\$(printf %03o $((n / 256)))"; cat "$t.line" "$t.str"; } > "$t-dwarf"
    fi
    rm -f "$t.btf" "$t.ext" "$t.line" "$t.str"
done
echo "seeds: $(ls "$seeds/asm" | wc -l) asm, $(ls "$seeds/bytecode" | wc -l) bytecode, $(ls "$seeds/elf" | wc -l) elf, $(ls "$seeds/progtype" | wc -l) progtype, $(ls "$seeds/lineinfo" | wc -l) lineinfo, $(ls "$seeds/btf" | wc -l) btf"
