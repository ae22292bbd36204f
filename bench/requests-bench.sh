#!/usr/bin/env bash
# Data-subject request benchmark (issue 11), whole process, in one run on this machine: `request open` (which matches
# the subject's calls as caller or callee) and `request find` on a catalog of 7,000,000 metadata rows vs one of 1,000
# (target ≤ 1.5×: both go through the caller/callee indexes, never a scan).
# Each store holds three really ingested calls of the subject; the rest are synthetic rows made with one
# INSERT … SELECT in one transaction, varied callers and callees, 1 in 100,000 of them the subject (as caller or
# callee, alternately). Uses .build/release/callvault if it exists, else .build/debug/callvault, and says which.
# Usage: bench/requests-bench.sh [ROWS=7000000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-7000000}
if [ -x .build/release/callvault ]; then BIN=.build/release/callvault; KIND=release
elif [ -x .build/debug/callvault ]; then BIN=.build/debug/callvault; KIND="debug (no release build found)"
else echo "requests bench: build callvault first (swift build -c release)" >&2; exit 2; fi
BIN=$(realpath "$BIN")
SUBJECT=+32470123456
W=.bench-requests
rm -rf "$W" && mkdir -p "$W"
source bench/lib.sh
echo "== binary: $BIN ($KIND)"

# store DIR ROWS: a store with three ingested calls of the subject, then ROWS synthetic ones.
store() {
  local s=$1 n=$2
  "$BIN" init --store "$s" --tenant acme-energy > /dev/null
  mkdir -p "$W/inbox-$n/acme-energy"
  for k in 1 2 3; do
    cp fixtures/inbox/acme-energy/call-0001.wav "$W/inbox-$n/acme-energy/real-$k.wav"
    printf '{"schema":"callvault.call/1","call_id":"real-%s","tenant":"acme-energy","started_at":"2026-11-0%sT10:00:00+01:00","direction":"inbound","agent":{"id":"a-1","team":"t"},"caller":"%s","announcement":{"played":true}}' \
      "$k" "$k" "$SUBJECT" > "$W/inbox-$n/acme-energy/real-$k.json"
  done
  "$BIN" --store "$s" ingest "$W/inbox-$n" > /dev/null
  # The indexes are dropped for the fill and made again after it (sorting once is much faster than 7 million
  # inserts into each), then ANALYZE, as a catalog that grew over years would have statistics.
  local indexes
  indexes=$(sqlite3 "$s/catalog.sqlite" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND tbl_name = 'recordings' AND sql IS NOT NULL")
  sqlite3 "$s/catalog.sqlite" <<SQL
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
$(sqlite3 "$s/catalog.sqlite" "SELECT 'DROP INDEX ' || name || ';' FROM sqlite_master WHERE type = 'index' AND tbl_name = 'recordings' AND sql IS NOT NULL")
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n)
INSERT INTO recordings (id, tenant, call_id, sha256, started_at, duration_s, direction, agent_id, team, caller, callee, queue,
  announcement_flag, format, sample_rate, channels, frames, audio_bytes, audio_path, audio_expires_at,
  metadata_expires_at, audio_deleted_at, audio_deletion, ingested_at)
SELECT printf('00000000-0000-7000-8000-%012d', i), 'acme-energy', printf('c%09d', i), hex(randomblob(32)),
  strftime('%Y-%m-%dT%H:%M:%SZ', '2026-06-01', '+' || (i % 150) || ' days', '+' || (i % 86400) || ' seconds'),
  60, 'inbound', 'a-' || (i % 100), 'team-' || (i % 10),
  CASE WHEN i % 200000 = 0 THEN '$SUBJECT' ELSE printf('+3248%07d', (i * 7919) % 9999991) END,
  CASE WHEN i % 200000 = 100000 THEN '$SUBJECT' ELSE printf('+3216%06d', i % 999983) END,
  'queue-' || (i % 7), 1, 'wav/ulaw', 8000, 1, 480000, 480000,
  printf('audio/acme-energy/2026/06/%02d/00000000-0000-7000-8000-%012d.wav', 1 + i % 28, i),
  '2030-01-01T00:00:00Z', '2031-01-01T00:00:00Z', '2026-07-01T00:00:00Z', 'retention', '2026-06-01T00:00:00Z'
FROM n;
$indexes
COMMIT;
ANALYZE;
SQL
}

for n in 1000 "$ROWS"; do
  t0=$(now); store "$W/s$n" "$n"; t1=$(now)
  printf "   store of %d metadata rows (+3 ingested) made in %.0f s; the subject's calls: %d\n" "$n" "$(echo "$t1 - $t0" | bc -l)" \
    "$(sqlite3 "$W/s$n/catalog.sqlite" "SELECT count(*) FROM recordings WHERE caller = '$SUBJECT' OR callee = '$SUBJECT'")"
done

# best_open STORE: the best of 5 `request open` (each a new request: the reference must be unique).
best_open() {
  local b=999
  for k in 1 2 3 4 5; do
    local t0 t1; t0=$(now)
    "$BIN" --store "$1" request open --kind access --subject "$SUBJECT" --received 2026-11-20 --reference "BENCH-$k" > /dev/null
    t1=$(now)
    b=$(echo "t=$t1 - $t0; if (t < $b) t else $b" | bc -l)
  done
  echo "$b"
}

echo "== request open (matches the subject's calls as caller or callee) and request find"
for n in 1000 "$ROWS"; do
  eval "OPEN_$n=$(best_open "$W/s$n")"
  REQ=$("$BIN" --store "$W/s$n" --json request list | sed -n 's/.*"request_id" *: *"\([^"]*\)".*/\1/p' | head -1)
  [ -n "$REQ" ] || { echo "requests bench: no request opened in $W/s$n" >&2; exit 1; }
  eval "FIND_$n=$(best --store "$W/s$n" request find "$REQ")"
done
S_OPEN=$(eval echo "\$OPEN_1000"); B_OPEN=$(eval echo "\$OPEN_$ROWS")
S_FIND=$(eval echo "\$FIND_1000"); B_FIND=$(eval echo "\$FIND_$ROWS")
R_OPEN=$(echo "$B_OPEN / $S_OPEN" | bc -l); R_FIND=$(echo "$B_FIND / $S_FIND" | bc -l)
printf "   %-14s 1,000 rows %.4f s, %d rows %.4f s: %.2f×\n" "request open" "$S_OPEN" "$ROWS" "$B_OPEN" "$R_OPEN"
printf "   %-14s 1,000 rows %.4f s, %d rows %.4f s: %.2f×\n" "request find" "$S_FIND" "$ROWS" "$B_FIND" "$R_FIND"
printf "   target ≤ 1.5× (binary: %s)\n" "$KIND"
OK=$(echo "$R_OPEN <= 1.5 && $R_FIND <= 1.5" | bc -l)
rm -rf "$W"
if [ "$OK" = 1 ]; then echo "requests bench: PASS"; else echo "requests bench: FAIL"; exit 1; fi
