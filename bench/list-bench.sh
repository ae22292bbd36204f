#!/usr/bin/env bash
# Listing and report benchmarks (issue: listing), whole process, in one run on this machine:
#  1. the first page of a coach's filtered listing on a 1,000,000-row catalog vs a 1,000-row one (target ≤ 1.5×);
#  2. the compliance report over a month of 1,000,000 rows (target < 2 s).
# Usage: bench/list-bench.sh [ROWS=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
BIN=$(swift build -c release --show-bin-path)/callvault
W=.bench-list
rm -rf "$W" && mkdir -p "$W"
source bench/lib.sh
users() { printf '\n[users.coach-an]\nrole = "coach"\nteams = ["team-3"]\n\n[users.dpo]\nrole = "compliance"\n' >> "$1/callvault.toml"; }

for n in 1000 "$ROWS"; do
  "$BIN" init --store "$W/s$n" --tenant acme-energy > /dev/null; users "$W/s$n"
  fill "$W/s$n/catalog.sqlite" "$n" "'2030-01-01T00:00:00Z'" "'2030-06-01T00:00:00Z'" 30 > /dev/null
  sqlite3 "$W/s$n/catalog.sqlite" "ANALYZE" > /dev/null
done
echo "== 1. first page (50 rows) of a coach's listing (scope: one team of 10), filtered"
for args in "list" "list --agent a-3" "list --from 2026-06-10 --to 2026-06-20" "list --direction inbound --min-duration 30"; do
  S=$(best --store "$W/s1000" --as coach-an $args)
  B=$(best --store "$W/s$ROWS" --as coach-an $args)
  printf "   %-45s 1,000 rows %.4f s, %d rows %.4f s: %.2f×\n" "$args" "$S" "$ROWS" "$B" "$(echo "$B / $S" | bc -l)"
  echo "$B / $S" | bc -l >> "$W/ratios"
done
WORST=$(sort -g "$W/ratios" | tail -1)
printf "   worst ratio %.2f× (target ≤ 1.5×)\n" "$WORST"
OK1=$(echo "$WORST <= 1.5" | bc -l)

echo "== 2. report over a month of $ROWS rows"
R=$(best --store "$W/s$ROWS" --as dpo report --from 2026-06-01 --to 2026-07-01)
printf "   %.3f s (target < 2 s)\n" "$R"
OK2=$(echo "$R < 2" | bc -l)
rm -rf "$W"
if [ "$OK1" = 1 ] && [ "$OK2" = 1 ]; then echo "list bench: PASS"; else echo "list bench: FAIL"; exit 1; fi
