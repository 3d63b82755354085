#!/bin/sh
# Install test: `make install` into a temporary prefix and into a DESTDIR
# staging area, then build examples/host.c against the installed copy (with
# pkg-config when present) and run it on the example programs.
# Generated into <build>/tests/test_install by mk/install.mk; prints
# "N passed, N failed".
ROOT='@ROOT@'
BUILD='@BUILD@'
CC='@CC@'
HOSTFLAGS='@HOSTFLAGS@'

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# check DESCRIPTION COMMAND...: run it, count it, show its output on failure.
check() {
    desc=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $desc"
        sed 's/^/    /' "$tmp/out" | head -n 20
    fi
}

# expect DESCRIPTION WANTED COMMAND...: the command prints exactly WANTED.
expect() {
    desc=$1
    want=$2
    shift 2
    check "$desc" sh -c 'out=$("$@") && [ "$out" = "$0" ] || { echo "got: $out, want: $0"; exit 1; }' \
        "$want" "$@"
}

P=$tmp/prefix
check "make install PREFIX=$P" make -s -C "$ROOT" BUILD="$BUILD" PREFIX="$P" install
for f in include/bpfvm.h include/bpfvm/insn.h lib/libbpfvm.a lib/libbpfvm.so \
         lib/pkgconfig/bpfvm.pc share/man/man1/bpfvm.1; do
    check "installed $f" test -s "$P/$f"
done
check "lib/libbpfvm.so.0 is a symbolic link" test -L "$P/lib/libbpfvm.so.0"
check "lib/libbpfvm.so.0 resolves" test -f "$P/lib/libbpfvm.so.0"
if [ -f "$ROOT/tools/bpfvm.c" ]; then
    check "installed bin/bpfvm runs" "$P/bin/bpfvm" version
fi

if command -v pkg-config >/dev/null 2>&1; then
    check "pkg-config finds bpfvm" env PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --exists bpfvm
    flags=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs bpfvm)
    version=$(sed -n 's/^#define BPFVM_VERSION "\(.*\)"/\1/p' "$ROOT/include/bpfvm.h")
    expect "pkg-config --modversion" "$version" \
        env PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --modversion bpfvm
else
    echo "pkg-config not found: using the flags bpfvm.pc gives, computed by hand"
    flags="-I$P/include -L$P/lib -lbpfvm"
fi
check "bpfvm.pc names the prefix" grep -qx "prefix=$P" "$P/lib/pkgconfig/bpfvm.pc"

# Shared: the host finds libbpfvm.so.0 in the prefix.
check "host.c builds against the installed shared library" \
    $CC -std=c11 -Wall -Wextra -Werror $HOSTFLAGS -o "$tmp/host" "$ROOT/examples/host.c" $flags
check "host uses the installed libbpfvm.so.0" \
    sh -c "LD_LIBRARY_PATH='$P/lib' ldd '$tmp/host' | grep -q '$P/lib/libbpfvm.so.0'"
# Static: the installed archive alone.
check "host.c builds against the installed libbpfvm.a" \
    $CC -std=c11 -Wall -Wextra -Werror $HOSTFLAGS -o "$tmp/host-static" "$ROOT/examples/host.c" \
    -I"$P/include" "$P/lib/libbpfvm.a" -lm -lpthread

EX=$BUILD/examples
if [ -f "$EX/filter.bpf.o" ] && [ -f "$EX/myhelper.bpf.o" ]; then
    for host in "$tmp/host" "$tmp/host-static"; do
        for mode in mbuff fixed; do
            expect "$(basename "$host") filter.bpf.o ($mode)" 2 \
                env LD_LIBRARY_PATH="$P/lib" "$host" "$EX/filter.bpf.o" "$ROOT/examples/capture.bin" $mode
        done
        expect "$(basename "$host") myhelper.bpf.o" 60388 \
            env LD_LIBRARY_PATH="$P/lib" "$host" "$EX/myhelper.bpf.o" "$ROOT/examples/capture.bin"
    done
else
    echo "skipped: running the host on the examples (not built: clang not found)"
fi

# DESTDIR staging: files under DESTDIR, paths inside naming PREFIX alone.
S=$tmp/stage
check "make install DESTDIR=... PREFIX=/opt/bpfvm" \
    make -s -C "$ROOT" BUILD="$BUILD" DESTDIR="$S" PREFIX=/opt/bpfvm install
check "staged lib/libbpfvm.a" test -s "$S/opt/bpfvm/lib/libbpfvm.a"
check "staged bpfvm.pc names /opt/bpfvm" grep -qx "prefix=/opt/bpfvm" \
    "$S/opt/bpfvm/lib/pkgconfig/bpfvm.pc"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
