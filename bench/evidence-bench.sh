#!/usr/bin/env bash
# Evidence export benchmark (issue 21), in one run on this machine: `callvault evidence export` of a hold of
# N one-minute 8 kHz µ-law calls vs its peer, `cp` + `sha256sum` of the same stored bytes plus one sync
# (target ≤ 1.5×). No time-stamp request is made (no tsa_url): the figure is the bag itself.
# Usage: bench/evidence-bench.sh [N_CALLS=1000]   (needs a release build: make bench does it)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
BIN=$(swift build -c release --show-bin-path)/callvault
W=.bench-evidence
rm -rf "$W" && mkdir -p "$W/inbox/acme-energy"
source bench/lib.sh

echo "== generating $N one-minute 8 kHz µ-law calls"
one_minute_call "$W" "$W/base.wav"
synthetic_calls "$W" "$N" "$(date -u -d '3 days ago' +%Y-%m-%dT%H:%M:%S+00:00)"
"$BIN" init --store "$W/store" --tenant acme-energy > /dev/null
"$BIN" --store "$W/store" ingest "$W/inbox" > /dev/null
HOLD=$("$BIN" --store "$W/store" hold place --kind legal --case BENCH --tenant acme-energy --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["hold_id"])')
BYTES=$(du -cb "$W"/store/audio | tail -1 | cut -f1)
echo "   $N calls held, $((BYTES / 1000000)) MB of stored audio"
sync

best_of() {  # best_of N CMD…: the best wall time of N runs (each into a fresh folder)
  local b=999 k
  for k in $(seq 1 "$1"); do
    rm -rf "$W/out"; mkdir -p "$W/out"; sync
    local t0 t1; t0=$(now); "${@:2}" > /dev/null; t1=$(now)
    b=$(echo "t=$t1 - $t0; if (t < $b) t else $b" | bc -l)
  done
  echo "$b"
}
peer() { find "$W/store/audio" -type f -exec cp -t "$W/out" {} + && find "$W/out" -type f -exec sha256sum {} + > /dev/null && sync; }
PEER=$(best_of 3 peer)
EXPORT=$(best_of 3 sh -c "'$BIN' --store '$W/store' evidence export '$HOLD' --to '$W/out' 2>/dev/null && sync")
printf '%-48s %8.2f s\n' "cp + sha256sum + sync of the same bytes" "$PEER"
printf '%-48s %8.2f s   (%.2fx, target <= 1.5x)\n' "callvault evidence export ($N calls)" "$EXPORT" "$(echo "$EXPORT / $PEER" | bc -l)"
"$BIN" evidence verify "$W"/out/callvault-evidence-* | tail -1
