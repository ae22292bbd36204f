# Shared by the benchmarks: timing, synthetic calls, synthetic catalogs made with the sqlite3 shell.
# Expects $BIN (the release callvault) to be set by the sourcing script.

now() { date +%s.%N; }

# best ARGS…: the best wall time of 5 runs of `callvault ARGS…`, in seconds (whole process).
best() {
  local b=999
  for _ in 1 2 3 4 5; do
    local t0 t1; t0=$(now); "$BIN" "$@" > /dev/null; t1=$(now)
    b=$(echo "t=$t1 - $t0; if (t < $b) t else $b" | bc -l)
  done
  echo "$b"
}

# one_minute_call WORKDIR OUT.wav: a minute of espeak-ng speech as 8 kHz µ-law WAV, what PBXs write.
one_minute_call() {
  espeak-ng -v nl -s 160 -w "$1/speech.wav" "Goedemiddag, u spreekt met de klantendienst van Acme Energie. Waarmee kan ik u vandaag helpen? Ik heb een vraag over mijn laatste factuur en de meterstand die daarop vermeld staat."
  sox "$1/speech.wav" -r 8000 -c 1 -b 16 "$1/s8k.wav"
  sox "$1/s8k.wav" "$1/s8k.wav" "$1/s8k.wav" "$1/s8k.wav" "$1/s8k.wav" "$1/s8k.wav" "$1/long.wav"
  sox "$1/long.wav" -e u-law -b 8 "$2" trim 0 60
}

# synthetic_calls DIR N START: N pairs in DIR/inbox/acme-energy made from DIR/base.wav (one_minute_call), every
# call's bytes different, two minutes apart from START (ISO 8601 with offset), each a minute long.
synthetic_calls() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys, datetime
w, n, start = sys.argv[1], int(sys.argv[2]), datetime.datetime.fromisoformat(sys.argv[3])
base = open(f"{w}/base.wav", "rb").read()
for i in range(n):
    data = bytearray(base)
    data[-8:] = i.to_bytes(8, "little")            # every call's bytes differ
    name = f"{w}/inbox/acme-energy/call-{i:05d}"
    open(name + ".wav", "wb").write(data)
    t = start + datetime.timedelta(minutes=2 * i)
    json.dump({"schema": "callvault.call/1", "call_id": f"bench-{i}", "started_at": t.isoformat(),
               "ended_at": (t + datetime.timedelta(seconds=60)).isoformat(), "direction": "inbound",
               "agent": {"id": f"a-{i % 40}", "team": "billing-nl"}, "caller": "+32470123456",
               "announcement": {"played": True}}, open(name + ".json", "w"))
PY
}

# fill DB N AUDIO_EXPIRES METADATA_EXPIRES [DAYS=150]: N synthetic recordings spread over DAYS days from
# 2026-06-01, all with the given expiry instants (SQL expressions); 100 agents, 10 teams.
fill() {
  sqlite3 "$1" <<SQL
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO recordings (id, tenant, call_id, sha256, started_at, duration_s, direction, agent_id, team,
  announcement_flag, format, sample_rate, channels, frames, audio_bytes, audio_path, audio_expires_at,
  metadata_expires_at, ingested_at)
SELECT printf('00000000-0000-7000-8000-%012d', i), 'acme-energy', 'c' || i, hex(randomblob(32)),
  strftime('%Y-%m-%dT%H:%M:%SZ', '2026-06-01', '+' || (i % ${5:-150}) || ' days', '+' || (i % 86400) || ' seconds'),
  60, 'inbound', 'a-' || (i % 100), 'team-' || (i % 10), 1, 'wav/ulaw', 8000, 1, 480000, 480000,
  printf('audio/acme-energy/2026/06/%02d/00000000-0000-7000-8000-%012d.wav', 1 + i % 28, i), $3, $4, '2026-06-01T00:00:00Z'
FROM n;
SQL
}

