// PostgreSQL catalog migrations. Append-only, like SQLite's (CatalogSchema): a shipped migration is never
// edited; a later change adds one. v1 is the SQLite schema as of its v11, in PostgreSQL's terms: instants are
// fixed-width text compared bytewise (COLLATE "C"), flags are integers 0/1, `rowid` is an identity column (the
// sweeper's and the fixity check's keyset order), and the append-only audit log and the counts of deleted calls
// are kept by triggers, as in SQLite.
import CallVaultCore
import CallVaultStore
import Foundation

enum PostgresSchema {
    static let instant = #"~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'"#

    /// Text compared bytewise whatever the database's locale: RFC 3339 instants and ids sort as in SQLite.
    static let text = #"TEXT COLLATE "C""#

    static let migrations: [(id: String, sql: String)] = [
        ("v1: the catalog as of SQLite v11", """
        CREATE TABLE store_meta (key \(text) PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE recordings (
            rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            id \(text) PRIMARY KEY,
            tenant \(text) NOT NULL,
            call_id \(text) NOT NULL,
            sha256 \(text) NOT NULL,
            started_at \(text) NOT NULL CHECK (started_at \(instant)),
            ended_at \(text) CHECK (ended_at IS NULL OR ended_at \(instant)),
            duration_s DOUBLE PRECISION NOT NULL,
            direction \(text) NOT NULL,
            agent_id \(text) NOT NULL,
            team \(text),
            caller \(text),
            callee \(text),
            queue \(text),
            site \(text),
            announcement_flag BIGINT NOT NULL,
            announcement_prompt \(text),
            announcement_at_ms BIGINT,
            announcement_verified \(text) NOT NULL DEFAULT 'not_checked',
            announcement_match \(text),
            announcement_offset_ms BIGINT,
            announcement_score DOUBLE PRECISION,
            labels TEXT NOT NULL DEFAULT '{}',
            extra TEXT NOT NULL DEFAULT '{}',
            format \(text) NOT NULL,
            sample_rate BIGINT NOT NULL,
            channels BIGINT NOT NULL,
            frames BIGINT NOT NULL,
            audio_bytes BIGINT NOT NULL,
            audio_path \(text) NOT NULL,
            audio_expires_at \(text) NOT NULL CHECK (audio_expires_at \(instant)),
            metadata_expires_at \(text) NOT NULL CHECK (metadata_expires_at \(instant)),
            audio_deleted_at \(text) CHECK (audio_deleted_at IS NULL OR audio_deleted_at \(instant)),
            restricted BIGINT NOT NULL DEFAULT 0,
            ingested_at \(text) NOT NULL CHECK (ingested_at \(instant)),
            audio_deletion \(text),
            sidecar_sha256 \(text),
            announcement_share DOUBLE PRECISION,
            announcement_prompt_offset_ms BIGINT,
            UNIQUE (tenant, call_id)
        );
        CREATE INDEX recordings_by_tenant_started ON recordings (tenant, started_at);
        CREATE INDEX recordings_by_agent ON recordings (agent_id, started_at);
        CREATE INDEX recordings_by_team ON recordings (team, started_at);
        CREATE INDEX recordings_by_started ON recordings (started_at, id);
        CREATE INDEX recordings_by_audio_expiry ON recordings (audio_expires_at, rowid) WHERE audio_deleted_at IS NULL;
        CREATE INDEX recordings_by_metadata_expiry ON recordings (metadata_expires_at, rowid);
        CREATE INDEX recordings_for_report ON recordings (tenant, started_at, announcement_verified, announcement_flag);
        CREATE INDEX recordings_by_caller ON recordings (caller);
        CREATE INDEX recordings_by_callee ON recordings (callee);

        CREATE TABLE pending_placements (
            recording_id \(text) PRIMARY KEY,
            audio_path \(text) NOT NULL,
            temp_path \(text) NOT NULL
        );

        CREATE TABLE rejections (
            id \(text) PRIMARY KEY,
            at \(text) NOT NULL,
            tenant \(text),
            reason \(text) NOT NULL,
            detail TEXT NOT NULL,
            quarantine_path \(text) NOT NULL,
            deleted_at \(text)
        );
        CREATE INDEX rejections_by_at ON rejections (at);

        CREATE TABLE audit_events (
            seq BIGINT PRIMARY KEY,
            at \(text) NOT NULL,
            actor \(text) NOT NULL,
            principal \(text),
            action \(text) NOT NULL,
            target \(text),
            details TEXT NOT NULL,
            prev_hash \(text) NOT NULL,
            hash \(text) NOT NULL
        );
        CREATE INDEX audit_by_action_at ON audit_events (action, at);
        CREATE FUNCTION callvault_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$;
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION callvault_audit_append_only();
        CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION callvault_audit_append_only();

        CREATE TABLE holds (
            id \(text) PRIMARY KEY,
            kind \(text) NOT NULL CHECK (kind IN ('incident', 'legal')),
            case_ref TEXT NOT NULL,
            note TEXT,
            placed_by \(text) NOT NULL,
            placed_at \(text) NOT NULL CHECK (placed_at \(instant)),
            review_at \(text) CHECK (review_at IS NULL OR review_at \(instant)),
            released_at \(text) CHECK (released_at IS NULL OR released_at \(instant)),
            released_by \(text),
            release_note TEXT
        );
        CREATE TABLE hold_items (
            hold_id \(text) NOT NULL REFERENCES holds (id),
            recording_id \(text) NOT NULL,
            metadata_only BIGINT NOT NULL,
            PRIMARY KEY (hold_id, recording_id)
        );
        CREATE INDEX hold_items_by_recording ON hold_items (recording_id);
        CREATE INDEX holds_active ON holds (id) WHERE released_at IS NULL;

        CREATE TABLE accounts (
            "user" \(text) PRIMARY KEY,
            password_hash TEXT,
            disabled BIGINT NOT NULL DEFAULT 0,
            changed_at \(text) NOT NULL
        );

        CREATE TABLE waveforms (
            recording_id \(text) PRIMARY KEY REFERENCES recordings (id) ON DELETE CASCADE,
            channels BIGINT NOT NULL,
            buckets BIGINT NOT NULL,
            peaks BYTEA NOT NULL
        );

        CREATE TABLE requests (
            id \(text) PRIMARY KEY,
            kind \(text) NOT NULL CHECK (kind IN ('access', 'erasure', 'restriction', 'rectification', 'objection')),
            tenant \(text),
            reference \(text) NOT NULL UNIQUE,
            note TEXT,
            received_at \(text) NOT NULL CHECK (received_at \(instant)),
            first_due_at \(text) NOT NULL CHECK (first_due_at \(instant)),
            due_at \(text) NOT NULL CHECK (due_at \(instant)),
            extended_by \(text),
            extension_reason TEXT,
            opened_by \(text) NOT NULL,
            opened_at \(text) NOT NULL CHECK (opened_at \(instant)),
            closed_at \(text) CHECK (closed_at IS NULL OR closed_at \(instant)),
            closed_by \(text),
            outcome \(text),
            restriction_ground \(text) CHECK (restriction_ground IN ('accuracy', 'unlawful', 'legal-claims', 'objection')),
            restricted_at \(text),
            restriction_lifted_at \(text)
        );
        CREATE INDEX requests_open_by_due ON requests (due_at) WHERE closed_at IS NULL;
        CREATE TABLE request_subjects (
            request_id \(text) NOT NULL REFERENCES requests (id),
            subject_hash \(text) NOT NULL,
            PRIMARY KEY (request_id, subject_hash)
        );
        CREATE TABLE request_items (
            request_id \(text) NOT NULL REFERENCES requests (id),
            recording_id \(text) NOT NULL,
            tenant \(text) NOT NULL,
            erasure_pending BIGINT NOT NULL DEFAULT 0,
            erased_at \(text),
            PRIMARY KEY (request_id, recording_id)
        );
        CREATE INDEX request_items_by_recording ON request_items (recording_id);
        CREATE INDEX request_items_pending ON request_items (recording_id) WHERE erasure_pending = 1;

        CREATE TABLE deleted_call_counts (
            tenant \(text) NOT NULL,
            started_at \(text) NOT NULL,
            queue \(text) NOT NULL,
            announcement_flag BIGINT NOT NULL,
            announcement_verified \(text) NOT NULL,
            calls BIGINT NOT NULL,
            PRIMARY KEY (tenant, started_at, queue, announcement_flag, announcement_verified)
        );
        CREATE FUNCTION callvault_count_deleted_call() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO deleted_call_counts (tenant, started_at, queue, announcement_flag, announcement_verified, calls)
            VALUES (OLD.tenant, OLD.started_at, coalesce(OLD.queue, ''), OLD.announcement_flag, OLD.announcement_verified, 1)
            ON CONFLICT (tenant, started_at, queue, announcement_flag, announcement_verified)
            DO UPDATE SET calls = deleted_call_counts.calls + 1;
            RETURN OLD;
        END $$;
        CREATE TRIGGER recordings_deleted_counted AFTER DELETE ON recordings
            FOR EACH ROW EXECUTE FUNCTION callvault_count_deleted_call();
        """),
        ("v2: ingest workers and claims (SQLite v12)", """
        CREATE TABLE ingest_workers (
            worker \(text) PRIMARY KEY,
            host \(text) NOT NULL,
            alive_until \(text) NOT NULL
        );
        CREATE TABLE ingest_claims (
            pair_key \(text) PRIMARY KEY,
            worker \(text) NOT NULL
        );
        CREATE INDEX ingest_claims_by_worker ON ingest_claims (worker);
        ALTER TABLE pending_placements ADD COLUMN worker \(text);
        """),
        ("v3: erased calls, audit events by target (SQLite v13)", """
        CREATE TABLE erased_calls (
            tenant \(text) NOT NULL,
            call_key \(text) NOT NULL,
            audio_key \(text) NOT NULL,
            erased_at \(text) NOT NULL,
            request_id \(text)
        );
        CREATE INDEX erased_calls_by_call ON erased_calls (tenant, call_key);
        CREATE INDEX erased_calls_by_audio ON erased_calls (tenant, audio_key);
        CREATE INDEX audit_by_action_target ON audit_events (action, target, seq);
        """),
        ("v4: numbers without a trunk zero (SQLite v14)", CatalogSchema.trunkZeroRemoval),
        ("v5: segment digests (SQLite v15)", "ALTER TABLE recordings ADD COLUMN segment_sha256 \(text)"),
        ("v6: notes (SQLite v16)", CatalogSchema.notesTable(text: text, bool: "BIGINT")),
        ("v7: announcement review (SQLite v17)", CatalogSchema.announcementReview(text: text)),
        ("v8: hold music (SQLite v18)", CatalogSchema.holdMusic(text: text) + """
        ;
        CREATE FUNCTION callvault_count_deleted_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO deleted_hold_counts (tenant, started_at, queue, checked, calls, hold_ms)
            VALUES (OLD.tenant, OLD.started_at, coalesce(OLD.queue, ''), 1, CASE WHEN OLD.hold_ms > 0 THEN 1 ELSE 0 END, coalesce(OLD.hold_ms, 0))
            ON CONFLICT (tenant, started_at, queue)
            DO UPDATE SET checked = deleted_hold_counts.checked + 1, calls = deleted_hold_counts.calls + excluded.calls,
                hold_ms = deleted_hold_counts.hold_ms + excluded.hold_ms;
            RETURN OLD;
        END $$;
        CREATE TRIGGER recordings_deleted_hold_counted AFTER DELETE ON recordings
            FOR EACH ROW WHEN (OLD.hold_policy IS NOT NULL) EXECUTE FUNCTION callvault_count_deleted_hold();
        """),
    ]

    /// A migration's statements: split at `;` outside quotes and `$$` function bodies (the extended protocol
    /// takes one statement at a time).
    static func statements(_ sql: String) -> [String] {
        var out: [String] = [], current = ""
        var inBody = false, quote = false
        var previous: Character = " "
        for ch in sql {
            if ch == "'" && !inBody { quote.toggle() }
            if ch == "$" && previous == "$" && !quote { inBody.toggle() }
            if ch == ";" && !inBody && !quote {
                let t = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !t.isEmpty { out.append(t) }
                current = ""
            } else {
                current.append(ch)
            }
            previous = ch
        }
        let t = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !t.isEmpty { out.append(t) }
        return out
    }

    /// Applies the migrations this database lacks, each in its own transaction, one process at a time (a
    /// session-level advisory lock: several workers starting together migrate once).
    static func migrate(_ engine: PostgresEngine) throws {
        try engine.withConnection { s in
            try s.execute(sql: "SELECT pg_advisory_lock(?)", arguments: [PostgresEngine.migrateLockKey], cached: false)
            defer { _ = try? s.execute(sql: "SELECT pg_advisory_unlock(?)", arguments: [PostgresEngine.migrateLockKey], cached: false) }
            try s.execute(sql: "CREATE TABLE IF NOT EXISTS callvault_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
                          arguments: [], cached: false)
            let applied = Set(try String.fetchAll(s, sql: "SELECT id FROM callvault_migrations"))
            let known = Set(migrations.map(\.id))
            if let unknown = applied.subtracting(known).sorted().first {
                throw SQLEngineError("the catalog was migrated by a newer callvault (\(unknown)): upgrade this host first")
            }
            for m in migrations where !applied.contains(m.id) {
                try s.execute(sql: "BEGIN", arguments: [], cached: false)
                do {
                    for statement in statements(m.sql) { try s.execute(sql: statement, arguments: [], cached: false) }
                    try s.execute(sql: "INSERT INTO callvault_migrations (id, applied_at) VALUES (?, ?)",
                                  arguments: [m.id, Timestamp.utc(Date())], cached: false)
                    try s.execute(sql: "COMMIT", arguments: [], cached: false)
                } catch {
                    _ = try? s.execute(sql: "ROLLBACK", arguments: [], cached: false)
                    throw error
                }
            }
        }
    }
}
