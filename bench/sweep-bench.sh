#!/usr/bin/env bash
# Sweep benchmarks (issue: retention), in one run on this machine:
#  1. a sweep with nothing due on a 1,000,000-row catalog vs the same on a 1,000-row catalog (target ≤ 2×:
#     indexed, not a scan);
#  2. deleting 100,000 expired recordings (audio + metadata) vs `find -delete` over the same files plus one
#     `sqlite3 DELETE` of the same rows (target ≤ 1.5×).
# Usage: bench/sweep-bench.sh [BIG_ROWS] [DELETE_ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIG=${1:-1000000}
DEL=${2:-100000}
BIN=$(swift build -c release --show-bin-path)/callvault
W=.bench-sweep
rm -rf "$W" && mkdir -p "$W"
source bench/lib.sh

store() { "$BIN" init --simulation --store "$1" --tenant acme-energy > /dev/null; }

echo "== 1. sweep with nothing due: 1,000 rows vs $BIG rows"
store "$W/small"; fill "$W/small/catalog.sqlite" 1000 "'2030-01-01T00:00:00Z'" "'2030-06-01T00:00:00Z'"
store "$W/big";   fill "$W/big/catalog.sqlite" "$BIG" "'2030-01-01T00:00:00Z'" "'2030-06-01T00:00:00Z'"
S=$(best sweep --store "$W/small" --now 2026-12-01T00:00:00Z); B=$(best sweep --store "$W/big" --now 2026-12-01T00:00:00Z)
R1=$(echo "$B / $S" | bc -l)
printf "   1,000 rows: %.4f s; %d rows: %.4f s: %.2f× (target ≤ 2×)\n" "$S" "$BIG" "$B" "$R1"
OK1=$(echo "$R1 <= 2" | bc -l)
rm -rf "$W/small" "$W/big"

echo "== 2. deleting $DEL expired recordings vs find -delete + sqlite3 DELETE (best of 2 rounds, alternating)"
store "$W/proto"; fill "$W/proto/catalog.sqlite" "$DEL" "'2026-07-01T00:00:00Z'" "'2026-12-01T00:00:00Z'" > /dev/null
python3 - "$W/proto" "$DEL" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in range(1, 29):
    os.makedirs(f"{root}/audio/acme-energy/2026/06/{d:02d}", exist_ok=True)
blob = b"\xff" * 4096
for i in range(1, n + 1):
    with open(f"{root}/audio/acme-energy/2026/06/{1 + i % 28:02d}/00000000-0000-7000-8000-{i:012d}.wav", "wb") as f:
        f.write(blob)
PY
BOUND=999; CV=999
for round in 1 2; do
  cp -a "$W/proto" "$W/bound"; cp -a "$W/proto" "$W/cv"
  # Let the copies' writeback finish before anything is timed.
  sync; sleep 2
  t0=$(now)
  find "$W/bound/audio" -type f -delete
  sqlite3 "$W/bound/catalog.sqlite" "DELETE FROM recordings WHERE metadata_expires_at <= '2027-01-01T00:00:00Z'"
  sync
  t1=$(now)
  BOUND=$(echo "t=$t1 - $t0; if (t < $BOUND) t else $BOUND" | bc -l)
  sync; sleep 2
  t0=$(now)
  "$BIN" sweep --store "$W/cv" --json --now 2027-01-01T00:00:00Z > "$W/sweep.json"
  sync
  t1=$(now)
  CV=$(echo "t=$t1 - $t0; if (t < $CV) t else $CV" | bc -l)
  python3 -c "import json,sys; j=json.load(open('$W/sweep.json')); assert j['metadata_deleted']==$DEL and j['overdue']==0 and not j['errors'], j"
  LEFT=$(find "$W/cv/audio" -type f | wc -l)
  [ "$LEFT" = 0 ] || { echo "FAIL: $LEFT files left"; exit 1; }
  rm -rf "$W/bound" "$W/cv"
done
R2=$(echo "$CV / $BOUND" | bc -l)
printf "   bound %.3f s, callvault sweep %.3f s (%d deleted, audited): %.2f× (target ≤ 1.5×)\n" "$BOUND" "$CV" "$DEL" "$R2"
OK2=$(echo "$R2 <= 1.5" | bc -l)
rm -rf "$W"
if [ "$OK1" = 1 ] && [ "$OK2" = 1 ]; then echo "sweep bench: PASS"; else echo "sweep bench: FAIL"; exit 1; fi
