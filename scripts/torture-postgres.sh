#!/usr/bin/env bash
# Kill -9 torture of several ingest workers on one PostgreSQL catalog (issue 12). WORKERS `watch` daemons
# share one store (the audio root) and one catalog; each watches an inbox of its own and one inbox shared by
# all. While PAIRS pairs arrive (every 10th one bad, half of them in the shared inbox), random workers are
# killed with SIGKILL and restarted KILLS times, and the PostgreSQL server itself is restarted once mid-run.
# Then the workers run until every inbox is empty. Afterwards: every good pair stored exactly once, every bad
# pair rejected once, no orphan audio, no staged or temporary file, no placement in flight, audit chain intact.
# Starts its own throwaway cluster (scripts/pg-cluster.sh). Usage:
#   scripts/torture-postgres.sh [WORKERS=3] [PAIRS=1000] [KILLS=30] [BIN=.build/debug/callvault]
set -euo pipefail
WORKERS=${1:-3}
PAIRS=${2:-1000}
KILLS=${3:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${4:-$ROOT/.build/debug/callvault}
W=$(mktemp -d /tmp/callvault-pgtorture.XXXXXX)
PG=$(mktemp -d /tmp/callvault-pgtorture-db.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
declare -a PIDS
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  "$ROOT/scripts/pg-cluster.sh" stop "$PG" || true
  rm -rf "$W" "$PG"
}
trap cleanup EXIT
eval "$("$ROOT/scripts/pg-cluster.sh" start "$PG" "$PORT")"
export CALLVAULT_CATALOG_PASSWORD=$CALLVAULT_TEST_PG_PASSWORD
PGPASSWORD=$CALLVAULT_TEST_PG_PASSWORD psql -q "$CALLVAULT_TEST_PG/postgres" -c "CREATE DATABASE torture"
URL=$CALLVAULT_TEST_PG/torture
STORE=$W/store SHARED=$W/shared STAGE=$W/stage
mkdir -p "$SHARED" "$STAGE"
for i in $(seq 1 "$WORKERS"); do mkdir -p "$W/inbox-$i"; done
CALLVAULT_CATALOG_URL=$URL "$BIN" init --store "$STORE" --tenant acme-energy > /dev/null
sed -i -e 's/^pair_timeout = .*/pair_timeout = "PT2S"/' -e 's/^settle = .*/settle = "PT1S"/' \
       -e 's/^\[inbox\]$/[inbox]\nclaim_lease = "PT10S"/' "$STORE/callvault.toml"
WAV=$ROOT/fixtures/inbox/acme-energy/call-0001.wav
STARTED=$(date -u -d '-1 hour' +%FT%TZ)

# The recorders: each pair written in the staging folder, then renamed in (audio, then sidecar), half of them
# into the shared inbox, the rest into the workers' own. Paced so that arrivals span the kill cycles.
PACE=$(echo "scale=4; $KILLS * 0.5 / $PAIRS" | bc)
recorder() {
  for i in $(seq 1 "$PAIRS"); do
    played=true; [ $((i % 10)) -eq 0 ] && played=false
    if [ $((i % 2)) -eq 0 ]; then dest=$SHARED; else dest=$W/inbox-$(( (i / 2) % WORKERS + 1 )); fi
    cp "$WAV" "$STAGE/t-$i.wav"
    printf '{"schema":"callvault.call/1","call_id":"t-%d","tenant":"acme-energy","started_at":"%s","direction":"inbound","agent":{"id":"a-1"},"announcement":{"played":%s}}' "$i" "$STARTED" "$played" > "$STAGE/t-$i.json"
    mv "$STAGE/t-$i.wav" "$dest/"
    mv "$STAGE/t-$i.json" "$dest/"
    sleep "$PACE"
  done
}
start_worker() {
  "$BIN" --store "$STORE" watch "$W/inbox-$1" "$SHARED" 2>> "$W/worker-$1.log" &
  PIDS[$1]=$!
}
for i in $(seq 1 "$WORKERS"); do start_worker "$i"; done
recorder &
REC=$!

kills=0 restarted_server=0
for k in $(seq 1 "$KILLS"); do
  sleep "0.$(( (RANDOM % 8) + 2 ))"
  i=$(( RANDOM % WORKERS + 1 ))
  kill -9 "${PIDS[$i]}" 2>/dev/null && kills=$((kills + 1))
  wait "${PIDS[$i]}" 2>/dev/null || true
  if [ "$k" -eq $((KILLS / 2)) ]; then
    "$ROOT/scripts/pg-cluster.sh" restart "$PG" && restarted_server=1
  fi
  sleep "0.$(( RANDOM % 5 ))"
  start_worker "$i"
done
wait "$REC"

# Let them finish: every inbox empty (a dead worker's claims lapse after the lease, then others take them).
empty() { [ -z "$(find "$SHARED" "$W"/inbox-* -type f | head -1)" ]; }
for _ in $(seq 1 1200); do empty && break; sleep 0.25; done
# What killed workers left in flight is undone once their lease has run out: one more repair after it.
sleep 12
mkdir -p "$W/empty"
"$BIN" --store "$STORE" ingest "$W/empty" > /dev/null
rc=0
for i in $(seq 1 "$WORKERS"); do
  kill -TERM "${PIDS[$i]}"
  wait "${PIDS[$i]}" || rc=$?
  PIDS[$i]=""
done

BAD=$((PAIRS / 10)); GOOD=$((PAIRS - BAD))
q() { PGPASSWORD=$CALLVAULT_TEST_PG_PASSWORD psql -qAt "$URL" -c "$1"; }
fail=0
check() { if [ "$2" = "$3" ]; then printf '  ok    %-40s %s\n' "$1" "$2"; else printf '  FAIL  %-40s got %s, want %s\n' "$1" "$2" "$3"; fail=1; fi; }
echo "postgres torture: $WORKERS workers, $kills kill -9, server restarted $restarted_server time(s), $PAIRS pairs ($GOOD good, $BAD bad)"
check "workers' exit status after SIGTERM" "$rc" 0
check "inbox files left" "$(find "$SHARED" "$W"/inbox-* -type f | wc -l)" 0
check "recordings stored" "$(q 'SELECT count(*) FROM recordings')" "$GOOD"
check "distinct calls stored" "$(q 'SELECT count(DISTINCT call_id) FROM recordings')" "$GOOD"
check "rejections (announcement_missing)" "$(q "SELECT count(*) FROM rejections WHERE reason = 'announcement_missing'")" "$BAD"
check "other rejections" "$(q "SELECT count(*) FROM rejections WHERE reason != 'announcement_missing'")" 0
check "pending placements" "$(q 'SELECT count(*) FROM pending_placements')" 0
check "claims left" "$(q 'SELECT count(*) FROM ingest_claims')" 0
check "audio files = rows" "$(find "$STORE/audio" -type f | wc -l)" "$GOOD"
check "staged or temporary files in store" "$(find "$STORE/staging" "$STORE/audio" "$STORE/quarantine" -name '*.tmp' -o -name '*.part' | wc -l)" 0
check "staging folder" "$(find "$STORE/staging" -type f 2>/dev/null | wc -l)" 0
check "quarantined files (3 per bad pair)" "$(find "$STORE/quarantine" -type f | wc -l)" $((BAD * 3))
missing=0
while read -r p; do [ -f "$STORE/$p" ] || missing=$((missing + 1)); done < <(q 'SELECT audio_path FROM recordings')
check "rows whose audio is missing" "$missing" 0
check "audit verify" "$("$BIN" --store "$STORE" audit verify > /dev/null 2>&1 && echo ok || echo broken)" ok
printf '  info  %-40s %s\n' "vault failures logged, then recovered" "$(cat "$W"/worker-*.log | grep -c 'vault failure' || true)"
exit $fail
