#!/usr/bin/env bash
# Daemon benchmark (issue: daemon), in one run on this machine:
#  1. latency from a settled pair to its catalog row (p50, p99) under a steady stream of RATE pairs/s;
#  2. sustained pairs/s of the daemon over a burst of N pairs, against the one-shot ingest of the same files.
# Usage: bench/watch-bench.sh [N=500] [RATE=50]   (release build: make bench does it)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
RATE=${2:-50}
BIN=$(swift build -c release --show-bin-path)/callvault
W=.bench-watch
rm -rf "$W" && mkdir -p "$W/stage"
source bench/lib.sh

echo "== $N one-minute 8 kHz µ-law calls"
one_minute_call "$W" "$W/base.wav"
python3 - "$W" "$N" <<'PY'
import json, sys
w, n = sys.argv[1], int(sys.argv[2])
base = open(f"{w}/base.wav", "rb").read()
for i in range(n):
    data = bytearray(base); data[-8:] = i.to_bytes(8, "little")
    open(f"{w}/stage/c-{i:05d}.wav", "wb").write(data)
    json.dump({"schema": "callvault.call/1", "call_id": f"c-{i}", "tenant": "acme-energy",
               "started_at": "2026-11-20T10:00:00+01:00", "direction": "inbound", "agent": {"id": "a-1"},
               "announcement": {"played": True}}, open(f"{w}/stage/c-{i:05d}.json", "w"))
PY

echo "== one-shot ingest of the $N pairs"
"$BIN" init --store "$W/s1" --tenant acme-energy > /dev/null
mkdir -p "$W/in1" && cp "$W"/stage/* "$W/in1/" && sync
t0=$(now); "$BIN" ingest --store "$W/s1" "$W/in1" > /dev/null; t1=$(now)
ONESHOT=$(echo "$N / ($t1 - $t0)" | bc -l)

echo "== daemon, burst: all $N pairs renamed in at once"
"$BIN" init --store "$W/s2" --tenant acme-energy > /dev/null
mkdir -p "$W/in2" "$W/st2" && cp "$W"/stage/* "$W/st2/" && sync
"$BIN" --store "$W/s2" watch "$W/in2" 2> "$W/burst.log" &
pid=$!; sleep 0.5
t0=$(now)
python3 -c "
import os, sys
src, dst = sys.argv[1], sys.argv[2]
for n in sorted(os.listdir(src)): os.rename(os.path.join(src, n), os.path.join(dst, n))
" "$W/st2" "$W/in2"
while [ "$(grep -c ' stored$' "$W/burst.log" || true)" -lt "$N" ]; do sleep 0.02; done
t1=$(now)
kill -TERM $pid; wait $pid
DAEMON=$(echo "$N / ($t1 - $t0)" | bc -l)

echo "== daemon, steady stream of $RATE pairs/s"
"$BIN" init --store "$W/s3" --tenant acme-energy > /dev/null
mkdir -p "$W/in3" "$W/st3" && cp "$W"/stage/* "$W/st3/" && sync
"$BIN" --store "$W/s3" watch "$W/in3" 2> "$W/steady.log" &
pid=$!; sleep 0.5
python3 -c "
import os, sys, time
src, dst, n, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
start = time.monotonic()
for i in range(n):
    for ext in ('wav', 'json'):
        os.rename(f'{src}/c-{i:05d}.{ext}', f'{dst}/c-{i:05d}.{ext}')
    time.sleep(max(0, start + (i + 1) / rate - time.monotonic()))
" "$W/st3" "$W/in3" "$N" "$RATE"
while [ "$(grep -c ' stored$' "$W/steady.log" || true)" -lt "$N" ]; do sleep 0.05; done
kill -TERM $pid; wait $pid
python3 - "$W/steady.log" "$ONESHOT" "$DAEMON" "$RATE" <<'PY'
import re, sys
lat = sorted(int(m.group(1)) for m in re.finditer(r"latency_ms=(\d+)", open(sys.argv[1]).read()))
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
one, dae, rate = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"   settled pair -> catalog row at {rate} pairs/s: p50 {p(0.5)} ms, p99 {p(0.99)} ms, max {lat[-1]} ms ({len(lat)} pairs)")
print(f"   sustained: daemon {dae:.0f} pairs/s, one-shot ingest {one:.0f} pairs/s ({dae / one:.2f}x)")
PY
rm -rf "$W"
