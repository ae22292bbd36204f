# Shared by the benchmarks: synthetic catalogs made with the sqlite3 shell.

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

