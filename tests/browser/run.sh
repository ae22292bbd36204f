#!/usr/bin/env bash
# The real-browser test of `callvault serve` (issue 10): a throwaway store with the sample calls, a coach
# and a compliance officer with passwords, the server on a free loopback port, then headless Chromium driven
# by Selenium (tests/browser/web_test.py). Builds nothing: give the built binary.
# Usage: tests/browser/run.sh [BINARY=.build/debug/callvault]
# Screenshots go to $SCREENSHOTS (default docs/screenshots).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-.build/debug/callvault}")
[ -x "$BIN" ] || { echo "browser test: no binary at $BIN (build first)" >&2; exit 2; }

# Debian's python3-selenium lives under /usr/bin/python3; another python3 first on PATH may lack it.
PY=""
for p in "${PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$p" ] && "$p" -c "import selenium" 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { echo "browser test: no python3 with selenium (scripts/setup.sh python3-selenium)" >&2; exit 2; }

W=$(mktemp -d "${TMPDIR:-/tmp}/callvault-browser.XXXXXX")
S="$W/store"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$W"; else echo "browser test: kept $W"; fi
}
trap cleanup EXIT

"$BIN" init --store "$S" --tenant acme-energy --tenant telco-be > /dev/null
ADMIN=$(id -un)   # init made the OS user who ran it an admin
cat >> "$S/callvault.toml" <<'TOML'

[users.cora]
role = "coach"
teams = ["billing-nl"]

[users.dana]
role = "compliance"
TOML
# telco-be's recorder writes the agent on the left channel, the caller on the right.
sed -i 's/^\[tenants.telco-be\]$/[tenants.telco-be]\nchannels = ["agent", "caller"]/' "$S/callvault.toml"

# The sample calls only (not the bad-* pairs), dated yesterday: never already past their one-month expiry.
mkdir -p "$W/inbox"
for d in fixtures/inbox/*/; do
  t=$(basename "$d"); mkdir -p "$W/inbox/$t"
  cp "$d"call-*.json "$W/inbox/$t/" 2>/dev/null || true
  cp "$d"call-*.wav "$d"call-*.flac "$W/inbox/$t/" 2>/dev/null || true
done
# acme-energy hears its prompt in the audio (warn: everything is stored), and one of its calls is a barge-in — the
# prompt stops in mid-call — which the check sends to the announcement review.
mkdir -p "$S/prompts" && cp fixtures/prompts/rec-notice-nl-v3.wav "$S/prompts/"
sed -i 's|^\[tenants.acme-energy\]$|[tenants.acme-energy]\nannouncement = { verify = "warn", prompts = ["prompts/rec-notice-nl-v3.wav"] }|' "$S/callvault.toml"
cp fixtures/announcement/barge-in.wav "$W/inbox/acme-energy/call-0009.wav"
"$PY" - "$W/inbox/acme-energy" "$(soxi -D fixtures/announcement/barge-in.wav)" <<'PY'
import json, sys, datetime
folder, seconds = sys.argv[1], float(sys.argv[2])
s = json.load(open(folder + "/call-0001.json"))
start = datetime.datetime.fromisoformat("2026-11-20T11:40:00+01:00")
s.update(call_id="pbx1-1732181999.4799", started_at=start.isoformat(), ended_at=(start + datetime.timedelta(seconds=round(seconds))).isoformat())
json.dump(s, open(folder + "/call-0009.json", "w"))
PY
# telco-be registers its hold music (report: kept as received, the stretches listed and marked); one of its calls
# holds the caller for 30 s: the agent on the left, the caller and the music on the right.
mkdir -p "$S/moh" && cp fixtures/moh/acme-loop.wav "$S/moh/"
sed -i 's|^\[tenants.telco-be\]$|[tenants.telco-be]\nhold_music = { tracks = ["moh/acme-loop.wav"], policy = "report" }|' "$S/callvault.toml"
T=fixtures/inbox/acme-energy/call-0001.wav
sox fixtures/moh/acme-loop.wav fixtures/moh/acme-loop.wav fixtures/moh/acme-loop.wav "$W/loop.wav"
sox "$W/loop.wav" "$W/held.wav" trim 11 30 vol 0.7
sox "$T" "$W/rev.wav" reverse
sox -n -r 8000 -c 1 "$W/quiet.wav" trim 0 30
sox "$W/rev.wav" "$W/quiet.wav" "$W/rev.wav" "$W/left.wav"
sox "$T" "$W/held.wav" "$T" "$W/right.wav"
sox -M "$W/left.wav" "$W/right.wav" -b 16 "$W/inbox/telco-be/call-1010.wav"
"$PY" - "$W/inbox/telco-be" "$(soxi -D "$W/inbox/telco-be/call-1010.wav")" <<'PY'
import json, sys, datetime
folder, seconds = sys.argv[1], float(sys.argv[2])
s = json.load(open(folder + "/call-1001.json"))
start = datetime.datetime.fromisoformat("2026-11-20T15:10:00+01:00")
s.update(call_id="sbc7-20261120-0010", caller="+32478555010", started_at=start.isoformat(), ended_at=(start + datetime.timedelta(seconds=round(seconds))).isoformat())
json.dump(s, open(folder + "/call-1010.json", "w"))
PY
sed -i "s/2026-11-20T/$(date -u -d yesterday +%F)T/g" "$W"/inbox/*/*.json
# A rejected pair too, so the quarantine page has something to show.
cp fixtures/inbox/acme-energy/bad-duration-mismatch.* "$W/inbox/acme-energy/"
sed -i "s/2026-11-20T/$(date -u -d yesterday +%F)T/g" "$W"/inbox/acme-energy/bad-*.json
rc=0; "$BIN" ingest --store "$S" "$W/inbox" > "$W/ingest.log" 2>&1 || rc=$?
# 4: some pairs were rejected or incomplete (the bad one, the sidecar without a tenant): expected here.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ]; then cat "$W/ingest.log" >&2; echo "browser test: ingest failed ($rc)" >&2; exit 1; fi

for u in cora dana "$ADMIN"; do
  printf '%s\n' "pw-$u-Browser-1" | "$BIN" user password "$u" --store "$S" > /dev/null
done

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --store "$S" --listen "127.0.0.1:$PORT" > "$W/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$W/serve.log" >&2; echo "browser test: serve died" >&2; SERVER=""; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/healthz" > /dev/null || { echo "browser test: /healthz never answered" >&2; exit 1; }

rc=0
CALLVAULT_URL="http://127.0.0.1:$PORT" CALLVAULT_ADMIN="$ADMIN" CALLVAULT_WORK="$W" CALLVAULT_BIN="$BIN" CALLVAULT_STORE="$S" \
  SCREENSHOTS="${SCREENSHOTS:-docs/screenshots}" "$PY" tests/browser/web_test.py || rc=$?
if [ "$rc" -ne 0 ]; then echo "--- serve log (last 40 lines)"; tail -40 "$W/serve.log"; fi
exit "$rc"
