#!/usr/bin/env bash
# Kill -9 torture of the ingest daemon (issue: daemon). While PAIRS pairs arrive (every 10th one bad),
# the daemon is killed with SIGKILL at random moments and restarted, CYCLES times; then it runs until the
# inbox is empty. Afterwards: every good pair stored exactly once, every bad pair rejected once with its
# reason, no orphan audio, no temporary file, no pending placement, PRAGMA integrity_check ok.
# Usage: scripts/torture-watch.sh [CYCLES=50] [PAIRS=1000] [BIN=.build/debug/callvault]
# The test suite runs a short form (Tests/CLITests/TortureTests.swift); run the long form by hand.
set -euo pipefail
CYCLES=${1:-50}
PAIRS=${2:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${3:-$ROOT/.build/debug/callvault}
W=$(mktemp -d /tmp/callvault-torture.XXXXXX)
trap 'pkill -9 -f "$W/store" 2>/dev/null || true; rm -rf "$W"' EXIT
STORE=$W/store INBOX=$W/inbox STAGE=$W/stage
mkdir -p "$INBOX" "$STAGE"
"$BIN" init --store "$STORE" --tenant acme-energy > /dev/null
sed -i 's/^pair_timeout = .*/pair_timeout = "PT2S"/' "$STORE/callvault.toml"
WAV=$ROOT/fixtures/inbox/acme-energy/call-0001.wav

# The recorder: writes each pair in the staging folder, then renames it in (audio, then sidecar).
# Paced so that arrivals span all the kill cycles (~0.5 s each).
PACE=$(echo "scale=4; $CYCLES * 0.5 / $PAIRS" | bc)
recorder() {
  for i in $(seq 1 "$PAIRS"); do
    played=true; [ $((i % 10)) -eq 0 ] && played=false
    cp "$WAV" "$STAGE/t-$i.wav"
    printf '{"schema":"callvault.call/1","call_id":"t-%d","tenant":"acme-energy","started_at":"2026-11-20T10:00:00+01:00","direction":"inbound","agent":{"id":"a-1"},"announcement":{"played":%s}}' "$i" "$played" > "$STAGE/t-$i.json"
    mv "$STAGE/t-$i.wav" "$INBOX/"
    mv "$STAGE/t-$i.json" "$INBOX/"
    sleep "$PACE"
  done
}
recorder &
REC=$!

kills=0
for c in $(seq 1 "$CYCLES"); do
  "$BIN" --store "$STORE" watch "$INBOX" 2>> "$W/daemon.log" &
  pid=$!
  sleep "0.$(( (RANDOM % 8) + 1 ))"
  kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  wait "$pid" 2>/dev/null || true
done
wait "$REC"

# Let it finish: run until the inbox is empty, then stop with SIGTERM.
"$BIN" --store "$STORE" watch "$INBOX" 2> "$W/final.log" &
pid=$!
# Signal it only once it is watching (a SIGTERM before its handlers exist ends it by the default action).
for _ in $(seq 1 200); do grep -q watching "$W/final.log" && break; sleep 0.05; done
for _ in $(seq 1 600); do
  [ -z "$(find "$INBOX" -type f | head -1)" ] && break
  sleep 0.1
done
kill -TERM "$pid"; wait "$pid"; rc=$?

BAD=$((PAIRS / 10)); GOOD=$((PAIRS - BAD))
q() { sqlite3 "$STORE/catalog.sqlite" "$1"; }
fail=0
check() { if [ "$2" = "$3" ]; then printf '  ok    %-40s %s\n' "$1" "$2"; else printf '  FAIL  %-40s got %s, want %s\n' "$1" "$2" "$3"; fail=1; fi; }
echo "torture: $CYCLES cycles, $kills kill -9, $PAIRS pairs ($GOOD good, $BAD bad)"
check "daemon exit status after SIGTERM" "$rc" 0
check "inbox files left" "$(find "$INBOX" -type f | wc -l)" 0
check "recordings stored" "$(q 'SELECT count(*) FROM recordings')" "$GOOD"
check "distinct calls stored" "$(q 'SELECT count(DISTINCT call_id) FROM recordings')" "$GOOD"
check "rejections (announcement_missing)" "$(q "SELECT count(*) FROM rejections WHERE reason = 'announcement_missing'")" "$BAD"
check "other rejections" "$(q "SELECT count(*) FROM rejections WHERE reason != 'announcement_missing'")" 0
check "pending placements" "$(q 'SELECT count(*) FROM pending_placements')" 0
check "audio files = rows" "$(find "$STORE/audio" -type f | wc -l)" "$GOOD"
check "temporary files in store" "$(find "$STORE" -name '*.tmp' | wc -l)" 0
check "quarantined files (3 per bad pair)" "$(find "$STORE/quarantine" -type f | wc -l)" $((BAD * 3))
check "integrity_check" "$(q 'PRAGMA integrity_check')" ok
missing=0
while read -r p; do [ -f "$STORE/$p" ] || missing=$((missing + 1)); done < <(q 'SELECT audio_path FROM recordings')
check "rows whose audio is missing" "$missing" 0
exit $fail
