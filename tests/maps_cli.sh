#!/bin/sh
# The command line with maps: `bpfvm ls` lists an object's maps, `bpfvm
# disasm` names the map at each lddw, `bpfvm test-run --json` dumps every
# map after the runs and `--map NAME=FILE` fills one before, with clear
# errors for bad fills. Generated into <build>/tests/test_maps_cli by
# mk/maps.mk; prints "N passed, N failed".
ROOT='@ROOT@'
BUILD='@BUILD@'

cd "$ROOT" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
obj=$BUILD/kernel/maps/counters.bpf.o
if [ ! -x "$BUILD/bpfvm" ] || [ ! -f "$obj" ]; then
    echo "skipped: bpfvm or the map test objects not built (clang or libbpf-dev missing?)"
    echo "0 passed, 0 failed"
    exit 0
fi

# check NAME STATUS WANT-STATUS TEXT PATTERN: the status and a fixed string in the text
check() {
    if [ "$2" -eq "$3" ] && printf '%s\n' "$4" | grep -qF -- "$5"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $1: status $2 (want $3), no '$5' in:"
        printf '%s\n' "$4" | head -5
    fi
}

out=$("$BUILD/bpfvm" ls "$obj" 2>&1)
check "ls maps" $? 0 "$out" "by_proto                 hash                 4      8          16 0x0"
check "ls globals" 0 0 "$out" ".bss                     array                4      8           1 0x0"

out=$("$BUILD/bpfvm" disasm "$obj" 2>&1)
check "disasm names maps" $? 0 "$out" "; map by_proto"
out=$("$BUILD/bpfvm" disasm --syntax llvm "$BUILD/maps/objects.bpf.o" --entry add 2>&1)
check "disasm names globals" $? 0 "$out" "ll ; .data+0"

head -c 64 /dev/zero > "$tmp/pkt"
# input: a = 3 (protocol 3), b = 1 (a byte), c, d
cat > "$tmp/in.json" <<'JSON'
{"type": "array", "key_size": 4, "value_size": 32, "max_entries": 1,
 "entries": [{"key": "00000000",
              "value": "03000000000000000100000000000000dc05000000000000ffffffffffffffff"}]}
JSON
for jit in "" --jit; do
    out=$("$BUILD/bpfvm" test-run $jit --json --cpu 0 --repeat 3 --data-in "$tmp/pkt" \
          --map input="$tmp/in.json" "$obj" 2>&1)
    check "test-run$jit retval" $? 0 "$out" '"retval": 3,'
    check "test-run$jit hash" 0 0 "$out" '"by_proto": {"type": "hash", "key_size": 4, "value_size": 8, "max_entries": 16, "entries": [{"key": "03000000", "value": "0300000000000000"}]}'
    check "test-run$jit array" 0 0 "$out" '{"key": "03000000", "value": "0300000000000000"}, {"key": "04000000"'
    check "test-run$jit percpu" 0 0 "$out" '"total": {"type": "percpu_array", "key_size": 4, "value_size": 8, "max_entries": 1, "entries": [{"key": "00000000", "values": ["0300000000000000"'
    check "test-run$jit internal" 0 0 "$out" '"internal": {".bss": {"type": "array", "key_size": 4, "value_size": 8, "max_entries": 1, "entries": [{"key": "00000000", "value": "0300000000000000"}]}}'
done

# queues pop in order; ring buffers list their records
cat > "$tmp/q.json" <<'JSON'
{"entries": [{"key": "00000000", "value": "0500000000000000000000000000000000000000000000000000000000000000"}]}
JSON
out=$("$BUILD/bpfvm" test-run --json --data-in "$tmp/pkt" --map input="$tmp/q.json" \
      "$BUILD/kernel/maps/queues.bpf.o" 2>&1)
check "queue dump" $? 0 "$out" '"s": {"type": "stack", "key_size": 0, "value_size": 4, "max_entries": 5, "entries": []}'
out=$("$BUILD/bpfvm" test-run --json --data-in "$tmp/pkt" --map input="$tmp/in.json" \
      "$BUILD/kernel/maps/ringbuf.bpf.o" 2>&1)
check "ringbuf records" $? 0 "$out" '"events": {"type": "ringbuf", "key_size": 0, "value_size": 0, "max_entries": 4096, "records": ["01000000000000000300000000000000'

# program arrays name the program in each filled slot, maps of maps the inner map
out=$("$BUILD/bpfvm" test-run --json --entry pick --data-in "$tmp/pkt" \
      "$BUILD/kernel/maps/lbinit.bpf.o" 2>&1)
check "prog_array slots" $? 0 "$out" '"table": {"type": "prog_array", "key_size": 4, "value_size": 4, "max_entries": 4, "entries": [{"key": "00000000", "prog": "first"}, {"key": "02000000", "prog": "third"}, {"key": "03000000", "prog": "fourth"}]}'
# input: a = 3, b = 1, c = 1501, d = 7
cat > "$tmp/mim.json" <<'JSON'
{"entries": [{"key": "00000000",
              "value": "03000000000000000100000000000000dd050000000000000700000000000000"}]}
JSON
for jit in "" --jit; do
    out=$("$BUILD/bpfvm" test-run $jit --json --data-in "$tmp/pkt" --map input="$tmp/mim.json" \
          "$BUILD/kernel/maps/mapinmap.bpf.o" 2>&1)
    check "array of maps$jit" $? 0 "$out" '"by_index": {"type": "array_of_maps", "key_size": 4, "value_size": 4, "max_entries": 4, "entries": [{"key": "00000000", "inner": "arr0"}, {"key": "02000000", "inner": "arr1"}, {"key": "03000000", "inner": "arr2"}]}'
    check "hash of maps$jit" 0 0 "$out" '"by_key": {"type": "hash_of_maps"'
    check "hash of maps entries$jit" 0 0 "$out" '{"key": "01000000", "inner": "h0"}'
    # slot a % 4 = 3 (arr2): element b % 5 = 1 gets c % 100 = 1 added (1);
    # by_key[b % 4 = 1] = h0 gets key c % 12 = 1 = d inserted (8)
    check "map of maps run$jit" 0 0 "$out" '"retval": 9,'
    check "inner array updated$jit" 0 0 "$out" '"arr2": {"type": "array", "key_size": 4, "value_size": 8, "max_entries": 4, "entries": [{"key": "00000000", "value": "0000000000000000"}, {"key": "01000000", "value": "0100000000000000"}'
    check "inner hash updated$jit" 0 0 "$out" '"h0": {"type": "hash", "key_size": 4, "value_size": 8, "max_entries": 8, "entries": [{"key": "01000000", "value": "0700000000000000"}]}'
done
out=$("$BUILD/bpfvm" test-run --data-in "$tmp/pkt" --map by_index="$tmp/in.json" \
      "$BUILD/kernel/maps/mapinmap.bpf.o" 2>&1)
check "no JSON fill for maps of maps" $? 2 "$out" "maps of maps hold maps: they are not filled from JSON"

# bad fills
out=$("$BUILD/bpfvm" test-run --data-in "$tmp/pkt" --map nope="$tmp/in.json" "$obj" 2>&1)
check "unknown map" $? 2 "$out" "has no map named 'nope'"
printf '{"entries": [{"key": "0000", "value": "00"}]}' > "$tmp/bad.json"
out=$("$BUILD/bpfvm" test-run --data-in "$tmp/pkt" --map input="$tmp/bad.json" "$obj" 2>&1)
check "short key" $? 2 "$out" "offset 27: a key of key_size bytes (map input)"
printf '{"entries": [{"key": "00000000", "value": "00"' > "$tmp/bad.json"
out=$("$BUILD/bpfvm" test-run --data-in "$tmp/pkt" --map input="$tmp/bad.json" "$obj" 2>&1)
check "truncated" $? 2 "$out" "a value of value_size bytes"
printf '{"entries": [{"key": "09000000", "value": "0000000000000000"}]}' > "$tmp/bad.json"
out=$("$BUILD/bpfvm" test-run --data-in "$tmp/pkt" --map bytes="$tmp/bad.json" "$obj" 2>&1)
check "index past the end" $? 2 "$out" "the map refused the entry"
out=$("$BUILD/bpfvm" test-run --data-in "$tmp/pkt" --map input "$obj" 2>&1)
check "no file" $? 2 "$out" "--map needs NAME=FILE"
out=$("$BUILD/bpfvm" test-run --data-in "$tmp/pkt" --cpu 99 "$obj" 2>&1)
check "cpu" $? 2 "$out" "--cpu must be below"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
