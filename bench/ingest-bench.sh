#!/usr/bin/env bash
# Ingest benchmark (issue: vault core). Measures, in one run on this machine:
#  1. 500 one-minute 8 kHz µ-law calls: `callvault ingest` vs the I/O bound of the same bytes
#     (openssl dgst -sha256 + cp + one sync), inbox and store on the same file system. Target ≤ 2× the bound.
#  2. Peak RSS of ingesting a 1-minute and a 2-hour 48 kHz stereo WAV (target: equal within ±20 %).
# Usage: bench/ingest-bench.sh [N_CALLS]   (needs a release build: make bench does it)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
BIN=$(swift build -c release --show-bin-path)/callvault
W=.bench
rm -rf "$W" && mkdir -p "$W/inbox/acme-energy"
source bench/lib.sh

echo "== generating $N one-minute 8 kHz µ-law calls"
one_minute_call "$W" "$W/base.wav"
synthetic_calls "$W" "$N" 2026-11-20T08:00:00+00:00
BYTES=$(du -cb "$W"/inbox/acme-energy/*.wav | tail -1 | cut -f1)
echo "   $N calls, $((BYTES / 1000000)) MB of audio"
sync

echo "== bound: openssl dgst -sha256 + cp + one sync over the same bytes"
mkdir -p "$W/copy"
t0=$(now)
openssl dgst -sha256 "$W"/inbox/acme-energy/*.wav > /dev/null
cp "$W"/inbox/acme-energy/* "$W/copy/"
sync
t1=$(now)
BOUND=$(echo "$t1 - $t0" | bc -l)
# Ingest must also remove each input once it is stored; with independent copies that frees the input's
# blocks (a hard link only dropped a name). Timed apart, on a copy of the inbox, as a second peer.
cp -r "$W/inbox" "$W/inbox-rm"; sync
t0=$(now); rm -f "$W"/inbox-rm/acme-energy/*; sync; t1=$(now)
REMOVE=$(echo "$t1 - $t0" | bc -l)
rm -rf "$W/copy" "$W/inbox-rm"; sync

echo "== callvault ingest (release build)"
"$BIN" init --store "$W/store" --tenant acme-energy > /dev/null
t0=$(now)
"$BIN" ingest --store "$W/store" --json "$W/inbox" > "$W/ingest.json"
t1=$(now)
CV=$(echo "$t1 - $t0" | bc -l)
STORED=$(python3 -c "import json;print(len(json.load(open('$W/ingest.json'))['stored']))")
[ "$STORED" = "$N" ] || { echo "FAIL: stored $STORED of $N"; exit 1; }
RATIO=$(echo "$CV / $BOUND" | bc -l)
printf "   bound %.3f s, callvault %.3f s (%d stored, %.1f calls/s): %.2f× the bound (target ≤ 2×)\n" "$BOUND" "$CV" "$STORED" "$(echo "$N / $CV" | bc -l)" "$RATIO"
printf "   removing the inputs alone: %.3f s; bound + removal %.3f s: callvault at %.2f× that\n" "$REMOVE" "$(echo "$BOUND + $REMOVE" | bc -l)" "$(echo "$CV / ($BOUND + $REMOVE)" | bc -l)"
OK1=$(echo "$RATIO <= 2" | bc -l)

echo "== peak RSS: 1-minute vs 2-hour 48 kHz stereo WAV"
rss() { # rss SECONDS -> peak RSS in KiB of ingesting one call of that length
  local d="$W/rss-$1"; rm -rf "$d"; mkdir -p "$d/inbox"
  sox -n -r 48000 -c 2 -b 16 "$d/inbox/long.wav" synth "$1" pinknoise vol 0.3
  python3 - "$d/inbox/long.json" "$1" <<'PY'
import json, sys, datetime
t = datetime.datetime(2026, 11, 20, 8, 0, 0, tzinfo=datetime.timezone.utc)
json.dump({"schema": "callvault.call/1", "call_id": "long", "tenant": "acme-energy", "started_at": t.isoformat(),
           "ended_at": (t + datetime.timedelta(seconds=int(sys.argv[2]))).isoformat(), "direction": "inbound",
           "agent": {"id": "a-1"}, "announcement": {"played": True}}, open(sys.argv[1], "w"))
PY
  "$BIN" init --store "$d/store" --tenant acme-energy > /dev/null
  /usr/bin/time -f %M -o "$d/rss" "$BIN" ingest --store "$d/store" "$d/inbox" > /dev/null
  local size; size=$(du -b "$d/store/audio" -s | cut -f1)
  cat "$d/rss"; rm -rf "$d"
}
R1=$(rss 60)
R2=$(rss 7200)
DRIFT=$(echo "($R2 - $R1) * 100 / $R1" | bc -l)
printf "   1 min: %d KiB, 2 h (1.38 GB): %d KiB peak RSS: %+.1f %% (target within ±20 %%)\n" "$R1" "$R2" "$DRIFT"
OK2=$(echo "$DRIFT <= 20 && $DRIFT >= -20" | bc -l)

[ -n "${KEEP:-}" ] || rm -rf "$W"
if [ "$OK1" = 1 ] && [ "$OK2" = 1 ]; then echo "bench: PASS"; else echo "bench: FAIL"; exit 1; fi
