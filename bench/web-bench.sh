#!/usr/bin/env bash
# Web benchmarks (issue 10), in one run on this machine:
#  1. `wrk` on the first /calls page of a coach (16 connections): requests/s and p99 on a 1,000-row catalog vs a
#     ROWS-row one (target: the big one ≤ 1.5× the small one's p99 and ≥ 1/1.5 of its requests/s), while
#     `callvault watch` ingests a stream of copies of a sample call into the same store;
#  2. peak RSS (VmHWM) of a fresh `serve` process after streaming a 2-hour call vs a 1-minute one (target ±20 %).
# The rows are made in the catalog with sqlite3 from a template row of a real ingested call (the listing reads
# no audio). Usage: bench/web-bench.sh [ROWS=1000000]   BIN=… to bench another binary (default: the release one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
BIN=$(realpath "${BIN:-$(swift build -c release --show-bin-path)/callvault}")
DURATION=${DURATION:-15}
RATE=${RATE:-10}   # pairs/s fed to watch while wrk runs
W=$(realpath -m .bench-web)
rm -rf "$W" && mkdir -p "$W"
source bench/lib.sh
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
YESTERDAY=$(date -u -d yesterday +%F)

# serve STORE → sets SERVE (pid) and PORT; waits for /healthz.
serve() {
  PORT=$(free_port)
  "$BIN" serve --store "$1" --listen "127.0.0.1:$PORT" > "$1.serve.log" 2>&1 &
  SERVE=$!; PIDS+=("$SERVE")
  for _ in $(seq 1 150); do curl -fsS "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && return 0; sleep 0.2; done
  echo "serve did not start" >&2; cat "$1.serve.log" >&2; exit 1
}
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }
# cookie USER → "callvault_session=…" after a form login.
cookie() {
  rm -f "$W/jar"
  curl -fsS -o /dev/null -c "$W/jar" --data-urlencode "user=$1" --data-urlencode "password=pw-$1-bench" "http://127.0.0.1:$PORT/login"
  awk '$6 == "callvault_session" { print $6 "=" $7 }' "$W/jar"
}

# store NAME: a store with the sample calls (dated yesterday), a coach `cora` (billing-nl) and an officer `dana`.
store() {
  local s="$W/$1"
  "$BIN" init --store "$s" --tenant acme-energy --tenant telco-be > /dev/null
  printf '\n[users.cora]\nrole = "coach"\nteams = ["billing-nl"]\n\n[users.dana]\nrole = "compliance"\n' >> "$s/callvault.toml"
  mkdir -p "$W/in-$1"
  for d in fixtures/inbox/*/; do mkdir -p "$W/in-$1/$(basename "$d")"; cp "$d"call-* "$W/in-$1/$(basename "$d")/"; done
  sed -i "s/2026-11-20T/${YESTERDAY}T/g" "$W/in-$1"/*/*.json
  "$BIN" ingest --store "$s" "$W/in-$1" > /dev/null || [ $? -eq 4 ]
  for u in cora dana; do printf 'pw-%s-bench\n' "$u" | "$BIN" user password "$u" --store "$s" > /dev/null; done
}

# grow DB N: N-1 more rows cloned from the newest billing-nl call, one transaction; one in ten in the coach's team,
# spread over the last 20 days, 100 agents.
grow() {
  local db=$1 n=$2 cols exprs=() c
  cols=$(sqlite3 "$db" "SELECT group_concat(name, ',') FROM pragma_table_info('recordings')")
  IFS=, read -ra names <<< "$cols"
  for c in "${names[@]}"; do
    case $c in
      id) exprs+=("printf('00000000-0000-7000-8000-%012d', i)") ;;
      call_id) exprs+=("'bench-' || i") ;;
      sha256) exprs+=("lower(hex(randomblob(32)))") ;;
      started_at) exprs+=("strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || (3600 + (i * 1728000 / $n)) || ' seconds')") ;;
      ended_at) exprs+=("NULL") ;;
      agent_id) exprs+=("'a-' || (i % 100)") ;;
      team) exprs+=("CASE WHEN i % 10 = 0 THEN team ELSE 'team-' || (i % 10) END") ;;
      *) exprs+=("$c") ;;
    esac
  done
  local template
  template=$(sqlite3 "$db" "SELECT id FROM recordings WHERE team = 'billing-nl' ORDER BY started_at DESC LIMIT 1")
  sqlite3 "$db" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((n - 1)))
INSERT INTO recordings ($cols) SELECT $(IFS=,; echo "${exprs[*]}") FROM n, (SELECT * FROM recordings WHERE id = '$template');
COMMIT;
ANALYZE;
SQL
}

# stream INBOX: copies of a sample call (distinct audio bytes, own call_id) renamed into INBOX at $RATE/s.
stream() {
  python3 - "$1" "$RATE" "$YESTERDAY" <<'PY' &
import json, os, sys, time
inbox, rate, day = sys.argv[1], float(sys.argv[2]), sys.argv[3]
wav = open("fixtures/inbox/acme-energy/call-0001.wav", "rb").read()
side = json.load(open("fixtures/inbox/acme-energy/call-0001.json"))
for k in ("started_at", "ended_at"):
    side[k] = side[k].replace("2026-11-20T", day + "T")
stage = inbox + ".stage"; os.makedirs(stage, exist_ok=True)
start, i = time.monotonic(), 0
while True:
    data = bytearray(wav); data[-8:] = i.to_bytes(8, "little")
    side["call_id"] = f"stream-{os.getpid()}-{i}"
    open(f"{stage}/s-{i}.wav", "wb").write(data); json.dump(side, open(f"{stage}/s-{i}.json", "w"))
    for ext in ("wav", "json"):
        os.rename(f"{stage}/s-{i}.{ext}", f"{inbox}/s-{i}.{ext}")
    i += 1
    time.sleep(max(0, start + i / rate - time.monotonic()))
PY
  PIDS+=($!); STREAM=$!
}

# ms TEXT: a wrk latency ("850.00us", "12.34ms", "1.02s") in milliseconds.
ms() { python3 -c "import sys,re; v,u=re.fullmatch(r'([0-9.]+)(us|ms|s|m)',sys.argv[1]).groups(); print(float(v)*{'us':1e-3,'ms':1,'s':1e3,'m':6e4}[u])" "$1"; }

echo "== 1. wrk, first /calls page of a coach, 16 connections, ${DURATION} s, while watch ingests $RATE pairs/s"
declare -A RPS P99 STORED
for n in 1000 "$ROWS"; do
  store "s$n"
  grow "$W/s$n/catalog.sqlite" "$n" > /dev/null
  echo "   $n rows: $(sqlite3 "$W/s$n/catalog.sqlite" 'SELECT count(*) FROM recordings') in the catalog"
  serve "$W/s$n"
  C=$(cookie cora)
  [ -n "$C" ] || { echo "login failed" >&2; exit 1; }
  curl -fsS -o /dev/null -H "Cookie: $C" "http://127.0.0.1:$PORT/calls"
  mkdir -p "$W/watch-in$n"
  "$BIN" --store "$W/s$n" watch "$W/watch-in$n" 2> "$W/watch$n.log" &
  WATCH=$!; PIDS+=("$WATCH")
  sleep 0.5
  stream "$W/watch-in$n"
  wrk -t2 -c16 -d"${DURATION}s" --latency -H "Cookie: $C" -H "Accept: text/html" "http://127.0.0.1:$PORT/calls" > "$W/wrk$n.txt"
  kill "$STREAM"; wait "$STREAM" 2>/dev/null || true
  sleep 1; stop "$WATCH"
  RPS[$n]=$(awk '/^Requests\/sec:/ { print $2 }' "$W/wrk$n.txt")
  P99[$n]=$(ms "$(awk '$1 == "99%" { print $2 }' "$W/wrk$n.txt")")
  STORED[$n]=$(grep -c ' stored$' "$W/watch$n.log" || true)
  NON2XX=$(awk '/Non-2xx/ { print $NF }' "$W/wrk$n.txt"); ERRS=$(awk '/Socket errors/' "$W/wrk$n.txt")
  echo "   $n rows: ${RPS[$n]} req/s, p99 ${P99[$n]} ms, watch stored ${STORED[$n]} pairs meanwhile${NON2XX:+, NON-2XX: $NON2XX}${ERRS:+, $ERRS}"
  stop "$SERVE"
done
S=1000; B=$ROWS
P99RATIO=$(echo "${P99[$B]} / ${P99[$S]}" | bc -l)
RPSRATIO=$(echo "${RPS[$S]} / ${RPS[$B]}" | bc -l)
OK1=$(echo "$P99RATIO <= 1.5 && $RPSRATIO <= 1.5" | bc -l)

echo "== 2. peak RSS of serve streaming a 2-hour call vs a 1-minute one (8 kHz µ-law)"
mkdir -p "$W/long/acme-energy"
sox -n -r 8000 -c 1 -e u-law "$W/long/acme-energy/long-2h.wav" synth 7200 sine 440
sox -n -r 8000 -c 1 -e u-law "$W/long/acme-energy/long-1m.wav" synth 60 sine 440
for f in 2h:7200 1m:60; do
  name=${f%%:*}; secs=${f##*:}
  python3 - "$W/long/acme-energy/long-$name.json" "$name" "$secs" "$YESTERDAY" <<'PY'
import json, sys, datetime
path, name, secs, day = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
start = datetime.datetime.fromisoformat(day + "T08:00:00+00:00")
json.dump({"schema": "callvault.call/1", "call_id": "long-" + name, "tenant": "acme-energy",
           "started_at": start.isoformat(), "ended_at": (start + datetime.timedelta(seconds=secs)).isoformat(),
           "direction": "inbound", "agent": {"id": "a-1042", "team": "billing-nl"}, "queue": "billing",
           "announcement": {"played": True}}, open(path, "w"))
PY
done
"$BIN" ingest --store "$W/s1000" "$W/long" > /dev/null || [ $? -eq 4 ]
declare -A HWM BASE BYTES
for name in 1m 2h; do
  id=$(sqlite3 "$W/s1000/catalog.sqlite" "SELECT id FROM recordings WHERE call_id = 'long-$name'")
  serve "$W/s1000"
  C=$(cookie dana)
  curl -fsS -o /dev/null -H "Cookie: $C" "http://127.0.0.1:$PORT/calls/$id"
  BASE[$name]=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVE/status")
  BYTES[$name]=$(curl -fsS -o /dev/null -w '%{size_download}' -H "Cookie: $C" "http://127.0.0.1:$PORT/calls/$id/audio")
  HWM[$name]=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVE/status")
  stop "$SERVE"
done
RSSRATIO=$(echo "${HWM[2h]} / ${HWM[1m]}" | bc -l)
OK2=$(echo "$RSSRATIO >= 0.8 && $RSSRATIO <= 1.2" | bc -l)

echo
echo "binary: $BIN"
echo "| measure | 1,000 rows / 1-min call | $ROWS rows / 2-h call | ratio | target |"
echo "|---|---|---|---|---|"
printf "| /calls as coach, requests/s (16 conn.)     | %.0f | %.0f | %.2f× slower | ≤ 1.5× |\n" "${RPS[$S]}" "${RPS[$B]}" "$RPSRATIO"
printf "| /calls as coach, p99 latency               | %.1f ms | %.1f ms | %.2f× | ≤ 1.5× |\n" "${P99[$S]}" "${P99[$B]}" "$P99RATIO"
printf "| pairs stored by watch meanwhile            | %d | %d | | |\n" "${STORED[$S]}" "${STORED[$B]}"
printf "| serve peak RSS (VmHWM) streaming the audio | %d MiB (%.1f MB sent; %d MiB before) | %d MiB (%.1f MB sent; %d MiB before) | %.2f× | ±20 %% |\n" \
  $((HWM[1m] / 1024)) "$(echo "${BYTES[1m]} / 1000000" | bc -l)" $((BASE[1m] / 1024)) \
  $((HWM[2h] / 1024)) "$(echo "${BYTES[2h]} / 1000000" | bc -l)" $((BASE[2h] / 1024)) "$RSSRATIO"
[ -n "${KEEP:-}" ] || rm -rf "$W"
if [ "$OK1" = 1 ] && [ "$OK2" = 1 ]; then echo "web bench: PASS"; else echo "web bench: FAIL"; exit 1; fi
