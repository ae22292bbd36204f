#!/usr/bin/env bash
# The shared catalog's benchmark (issue 12), in one run on this machine, against a throwaway PostgreSQL
# cluster of its own (scripts/pg-cluster.sh):
#  1. ingest throughput of 1, 2 and 3 workers on PostgreSQL vs one worker on SQLite: the same N one-minute calls,
#     split evenly among the workers (each a `callvault ingest` of its own share, all started together);
#  2. the first listing page at 1,000 vs 1,000,000 rows on PostgreSQL (target ≤ 1.5×), SQLite's figure beside it;
#  3. a sweep of 100,000 expired rows (audio files and rows, audited) on PostgreSQL, SQLite's beside it.
# Usage: bench/postgres-bench.sh [N_CALLS=300] [BIG_ROWS=1000000] [SWEEP_ROWS=100000]   (make bench builds release)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300}
BIG=${2:-1000000}
DEL=${3:-100000}
BIN=$(swift build -c release --show-bin-path)/callvault
W=$(pwd)/.bench-pg
PG=$(mktemp -d /tmp/callvault-pgbench.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
rm -rf "$W" && mkdir -p "$W"
trap 'scripts/pg-cluster.sh stop "$PG" || true; rm -rf "$PG"' EXIT
source bench/lib.sh
eval "$(scripts/pg-cluster.sh start "$PG" "$PORT")"
export CALLVAULT_CATALOG_PASSWORD=$CALLVAULT_TEST_PG_PASSWORD
psqlq() { PGPASSWORD=$CALLVAULT_TEST_PG_PASSWORD psql -qAt -v ON_ERROR_STOP=1 "$@"; }
newdb() { psqlq "$CALLVAULT_TEST_PG/postgres" -c "CREATE DATABASE $1"; echo "$CALLVAULT_TEST_PG/$1"; }
pgstore() { CALLVAULT_CATALOG_URL=$(newdb "$2") "$BIN" init --store "$1" --tenant acme-energy > /dev/null; }

echo "== 1. ingest: $N one-minute 8 kHz µ-law calls, 1 worker on SQLite vs 1, 2, 3 workers on PostgreSQL"
mkdir -p "$W/gen"
one_minute_call "$W/gen" "$W/gen/base.wav"
python3 - "$W" "$N" <<'PY'
import json, sys, os, datetime
w, n = sys.argv[1], int(sys.argv[2])
base = open(f"{w}/gen/base.wav", "rb").read()
start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(days=2)
# One copy of the calls per configuration (ingest removes what it stored): calls-s for SQLite, calls-K for K workers.
for k in ("s", 1, 2, 3):
    for j in range(1 if k == "s" else k):
        os.makedirs(f"{w}/calls-{k}/{j}/acme-energy", exist_ok=True)
for i in range(n):
    data = bytearray(base)
    data[-8:] = i.to_bytes(8, "little")
    t = start + datetime.timedelta(minutes=2 * i)
    side = {"schema": "callvault.call/1", "call_id": f"bench-{i}", "started_at": t.isoformat(),
            "ended_at": (t + datetime.timedelta(seconds=60)).isoformat(), "direction": "inbound",
            "agent": {"id": f"a-{i % 40}", "team": "billing-nl"}, "caller": "+32470123456", "announcement": {"played": True}}
    for k in ("s", 1, 2, 3):
        name = f"{w}/calls-{k}/{0 if k == 's' else i % k}/acme-energy/call-{i:05d}"
        open(name + ".wav", "wb").write(data)
        json.dump(side, open(name + ".json", "w"))
PY
sync
# run_workers STORE SET K [env…]: K ingest processes on the K shares of calls-SET, started together; prints the wall time.
run_workers() {
  local store=$1 set=$2 k=$3; shift 3
  local t0 t1 pids=()
  t0=$(now)
  for j in $(seq 0 $((k - 1))); do env "$@" "$BIN" ingest --store "$store" --json "$W/calls-$set/$j" > "$W/ingest-$set-$j.json" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
"$BIN" init --store "$W/sqlite" --tenant acme-energy > /dev/null
T_SQLITE=$(run_workers "$W/sqlite" s 1 CALLVAULT_CATALOG_URL=)
declare -A T_PG
for k in 1 2 3; do
  pgstore "$W/pg-$k" "ingest$k"
  T_PG[$k]=$(run_workers "$W/pg-$k" "$k" "$k")
  stored=$(psqlq "$CALLVAULT_TEST_PG/ingest$k" -c "SELECT count(*) FROM recordings")
  [ "$stored" = "$N" ] || { echo "FAIL: $k worker(s) stored $stored of $N"; exit 1; }
done
printf "   SQLite, 1 worker:      %6.2f s  %6.1f calls/s\n" "$T_SQLITE" "$(echo "$N / $T_SQLITE" | bc -l)"
for k in 1 2 3; do
  printf "   PostgreSQL, %d worker%s: %6.2f s  %6.1f calls/s  (%.2f× SQLite's rate)\n" "$k" "$([ $k = 1 ] && echo ' ' || echo s)" "${T_PG[$k]}" \
    "$(echo "$N / ${T_PG[$k]}" | bc -l)" "$(echo "$T_SQLITE / ${T_PG[$k]}" | bc -l)"
done

echo "== 2. first listing page: 1,000 vs $BIG rows on PostgreSQL (SQLite beside it)"
# fill_pg URL N AUDIO_EXPIRES METADATA_EXPIRES: what bench/lib.sh's fill makes for SQLite, in PostgreSQL.
fill_pg() {
  psqlq "$1" <<SQL
INSERT INTO recordings (id, tenant, call_id, sha256, started_at, duration_s, direction, agent_id, team,
  announcement_flag, format, sample_rate, channels, frames, audio_bytes, audio_path, audio_expires_at,
  metadata_expires_at, ingested_at)
SELECT '00000000-0000-7000-8000-' || lpad(i::text, 12, '0'), 'acme-energy', 'c' || i, md5(i::text) || md5((i + 1)::text),
  to_char(timestamp '2026-06-01' + (i % 150) * interval '1 day' + (i % 86400) * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  60, 'inbound', 'a-' || (i % 100), 'team-' || (i % 10), 1, 'wav/ulaw', 8000, 1, 480000, 480000,
  'audio/acme-energy/2026/06/' || lpad((1 + i % 28)::text, 2, '0') || '/00000000-0000-7000-8000-' || lpad(i::text, 12, '0') || '.wav',
  $3, $4, '2026-06-01T00:00:00Z'
FROM generate_series(1, $2) AS i;
ANALYZE recordings;
SQL
}
pgstore "$W/list-small" listsmall
fill_pg "$CALLVAULT_TEST_PG/listsmall" 1000 "'2099-01-01T00:00:00Z'" "'2099-01-01T00:00:00Z'"
pgstore "$W/list-big" listbig
t0=$(now); fill_pg "$CALLVAULT_TEST_PG/listbig" "$BIG" "'2099-01-01T00:00:00Z'" "'2099-01-01T00:00:00Z'"; t1=$(now)
printf "   (filled %d rows in %.0f s)\n" "$BIG" "$(echo "$t1 - $t0" | bc -l)"
LS=$(best list --store "$W/list-small"); LB=$(best list --store "$W/list-big")
"$BIN" init --store "$W/sl-big" --tenant acme-energy > /dev/null
fill "$W/sl-big/catalog.sqlite" "$BIG" "'2099-01-01T00:00:00Z'" "'2099-01-01T00:00:00Z'"
SB=$(CALLVAULT_CATALOG_URL= best list --store "$W/sl-big")
R_LIST=$(echo "$LB / $LS" | bc -l)
printf "   PostgreSQL: 1,000 rows %.3f s, %d rows %.3f s: %.2f× (target ≤ 1.5×); SQLite at %d rows: %.3f s\n" "$LS" "$BIG" "$LB" "$R_LIST" "$BIG" "$SB"
OK_LIST=$(echo "$R_LIST <= 1.5" | bc -l)

echo "== 2b. catalog migrate of the $BIG-row SQLite catalog into an empty database (copy, count, verify)"
MIG_URL=$(newdb migrated)
t0=$(now); "$BIN" catalog migrate --store "$W/sl-big" --json --to "$MIG_URL" > "$W/migrate.json"; t1=$(now)
T_MIG=$(echo "$t1 - $t0" | bc -l)
python3 -c "import json; j=json.load(open('$W/migrate.json')); assert j['rows']['recordings']==$BIG, j"
printf "   %d rows in %.1f s: %.0f rows/s (7 million rows: about %.0f min)\n" "$BIG" "$T_MIG" "$(echo "$BIG / $T_MIG" | bc -l)" "$(echo "7000000 / ($BIG / $T_MIG) / 60" | bc -l)"

echo "== 3. sweep of $DEL expired rows (audio files, rows, one audit event each)"
sweep_one() {   # sweep_one STORE [env…]: creates the audio files of the rows, sweeps, prints the wall time
  local store=$1; shift
  python3 - "$store" "$DEL" <<'PY'
import os, sys
store, n = sys.argv[1], int(sys.argv[2])
for d in range(1, 29):
    os.makedirs(f"{store}/audio/acme-energy/2026/06/{d:02d}", exist_ok=True)
for i in range(1, n + 1):
    open(f"{store}/audio/acme-energy/2026/06/{1 + i % 28:02d}/00000000-0000-7000-8000-{i:012d}.wav", "wb").close()
PY
  sync
  local t0 t1
  t0=$(now); env "$@" "$BIN" sweep --store "$store" --json --now 2027-01-01T00:00:00Z > "$store.sweep.json"; t1=$(now)
  python3 -c "import json; j=json.load(open('$store.sweep.json')); assert j['metadata_deleted']==$DEL and j['overdue']==0 and not j['errors'], j"
  echo "$t1 - $t0" | bc -l
}
CALLVAULT_CATALOG_URL=$(newdb sweep) "$BIN" init --simulation --store "$W/sweep-pg" --tenant acme-energy > /dev/null
fill_pg "$CALLVAULT_TEST_PG/sweep" "$DEL" "'2026-07-01T00:00:00Z'" "'2026-12-01T00:00:00Z'"
T_SWEEP_PG=$(sweep_one "$W/sweep-pg")
"$BIN" init --simulation --store "$W/sweep-sl" --tenant acme-energy > /dev/null
fill "$W/sweep-sl/catalog.sqlite" "$DEL" "'2026-07-01T00:00:00Z'" "'2026-12-01T00:00:00Z'"
T_SWEEP_SL=$(sweep_one "$W/sweep-sl" CALLVAULT_CATALOG_URL=)
printf "   PostgreSQL %.2f s (%.0f rows/s), SQLite %.2f s (%.0f rows/s): %.2f× SQLite's time\n" "$T_SWEEP_PG" "$(echo "$DEL / $T_SWEEP_PG" | bc -l)" \
  "$T_SWEEP_SL" "$(echo "$DEL / $T_SWEEP_SL" | bc -l)" "$(echo "$T_SWEEP_PG / $T_SWEEP_SL" | bc -l)"

rm -rf "$W"
if [ "$OK_LIST" = 1 ]; then echo "postgres bench: PASS"; else echo "postgres bench: FAIL (listing)"; exit 1; fi
