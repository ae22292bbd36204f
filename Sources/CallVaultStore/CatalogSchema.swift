// Catalog migrations. Append-only: a shipped migration is never edited; later changes add a new one.
import GRDB

enum CatalogSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: recordings, placements, rejections, audit") { db in
            try db.execute(sql: """
                CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

                CREATE TABLE recordings (
                    id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    call_id TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    ended_at TEXT,
                    duration_s REAL NOT NULL,
                    direction TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    team TEXT,
                    caller TEXT,
                    callee TEXT,
                    queue TEXT,
                    site TEXT,
                    announcement_flag INTEGER NOT NULL,
                    announcement_prompt TEXT,
                    announcement_at_ms INTEGER,
                    announcement_verified TEXT NOT NULL DEFAULT 'not_checked',
                    announcement_match TEXT,
                    announcement_offset_ms INTEGER,
                    announcement_score REAL,
                    labels TEXT NOT NULL DEFAULT '{}',
                    extra TEXT NOT NULL DEFAULT '{}',
                    format TEXT NOT NULL,
                    sample_rate INTEGER NOT NULL,
                    channels INTEGER NOT NULL,
                    frames INTEGER NOT NULL,
                    audio_bytes INTEGER NOT NULL,
                    audio_path TEXT NOT NULL,
                    audio_expires_at TEXT NOT NULL,
                    metadata_expires_at TEXT NOT NULL,
                    audio_deleted_at TEXT,
                    restricted INTEGER NOT NULL DEFAULT 0,
                    ingested_at TEXT NOT NULL,
                    UNIQUE (tenant, call_id)
                );
                CREATE INDEX recordings_by_tenant_started ON recordings (tenant, started_at);
                CREATE INDEX recordings_by_agent ON recordings (agent_id, started_at);
                CREATE INDEX recordings_by_team ON recordings (team, started_at);
                CREATE INDEX recordings_by_started ON recordings (started_at);
                CREATE INDEX recordings_by_audio_expiry ON recordings (audio_expires_at) WHERE audio_deleted_at IS NULL;
                CREATE INDEX recordings_by_metadata_expiry ON recordings (metadata_expires_at);

                -- Intent log of ingest: a row exists from before the audio is placed until the recording row
                -- is committed, so start-up repair knows exactly which placed files may be orphans.
                CREATE TABLE pending_placements (
                    recording_id TEXT PRIMARY KEY,
                    audio_path TEXT NOT NULL,
                    temp_path TEXT NOT NULL
                );

                CREATE TABLE rejections (
                    id TEXT PRIMARY KEY,
                    at TEXT NOT NULL,
                    tenant TEXT,
                    reason TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    quarantine_path TEXT NOT NULL
                );
                CREATE INDEX rejections_by_at ON rejections (at);

                CREATE TABLE audit_events (
                    seq INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    principal TEXT,
                    action TEXT NOT NULL,
                    target TEXT,
                    details TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE INDEX audit_by_action ON audit_events (action, seq);
                CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
                    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
                CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
                    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
                """)
        }
        return m
    }
}
