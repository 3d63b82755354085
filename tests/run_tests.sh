#!/bin/sh
# Run each test binary given, echo its output, and sum the "N passed, N failed"
# lines into one total. A binary that crashes or prints no summary counts as
# one failure. $BPFVM_EXEC, if set, runs the binaries that are not scripts
# (an emulator: "qemu-aarch64 -L /usr/aarch64-linux-gnu"); scripts read it
# themselves.
total_pass=0
total_fail=0
for t in "$@"; do
    name=$(basename "$t")
    case $(head -c 2 "$t") in
    '#!') out=$("$t" 2>&1) ;;
    *) out=$(${BPFVM_EXEC:-} "$t" 2>&1) ;;
    esac
    rc=$?
    printf '%s\n' "$out" | grep -v ' passed, .* failed$' | sed "s|^|[$name] |"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        echo "[$name] no summary (exit $rc)"
        total_fail=$((total_fail + 1))
        continue
    fi
    p=${line%% passed*}
    f=${line#*, }; f=${f%% failed*}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "[$name] exit status $rc"
        f=1
    fi
    echo "[$name] $p passed, $f failed"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
