#!/bin/sh
# Run each test binary given, echo its output, and sum the "N passed, N failed"
# lines into one total. A binary that crashes or prints no summary counts as
# one failure. $BPFVM_EXEC, if set, runs the binaries that are not scripts
# (an emulator: "qemu-aarch64 -L /usr/aarch64-linux-gnu"); scripts read it
# themselves. $RUN_JOBS > 1 runs that many tests at a time (only for tests
# that share no files); the output is still printed in the order given.
total_pass=0
total_fail=0
jobs=${RUN_JOBS:-1}

run_one() {
    case $(head -c 2 "$1") in
    '#!') "$1" 2>&1 ;;
    *) ${BPFVM_EXEC:-} "$1" 2>&1 ;;
    esac
}

# With several jobs, each lane takes the next test not yet taken (mkdir is
# atomic) and leaves its output and exit status in $tmp/N.out, $tmp/N.rc.
if [ "$jobs" -gt 1 ]; then
    tmp=$(mktemp -d) || exit 1
    trap 'rm -rf "$tmp"' EXIT
    lane=0
    while [ "$lane" -lt "$jobs" ]; do
        (
            i=0
            for t in "$@"; do
                i=$((i + 1))
                mkdir "$tmp/taken.$i" 2>/dev/null || continue
                run_one "$t" > "$tmp/$i.out"
                echo $? > "$tmp/$i.rc"
            done
        ) &
        lane=$((lane + 1))
    done
    wait
fi

i=0
for t in "$@"; do
    i=$((i + 1))
    name=$(basename "$t")
    if [ "$jobs" -gt 1 ]; then
        out=$(cat "$tmp/$i.out")
        rc=$(cat "$tmp/$i.rc" 2>/dev/null || echo 1)
    else
        out=$(run_one "$t")
        rc=$?
    fi
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
