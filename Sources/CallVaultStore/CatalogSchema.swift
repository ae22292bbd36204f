// Catalog migrations. Append-only: a shipped migration is never edited; later changes add a new one.
import GRDB

public enum CatalogSchema {
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
        m.registerMigration("v2: holds, deletion bookkeeping") { db in
            try db.execute(sql: """
                CREATE TABLE holds (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('incident', 'legal')),
                    case_ref TEXT NOT NULL,
                    note TEXT,
                    placed_by TEXT NOT NULL,
                    placed_at TEXT NOT NULL,
                    review_at TEXT,
                    released_at TEXT,
                    released_by TEXT,
                    release_note TEXT
                );
                CREATE TABLE hold_items (
                    hold_id TEXT NOT NULL REFERENCES holds (id),
                    recording_id TEXT NOT NULL,
                    metadata_only INTEGER NOT NULL,
                    PRIMARY KEY (hold_id, recording_id)
                );
                CREATE INDEX hold_items_by_recording ON hold_items (recording_id);
                CREATE INDEX holds_active ON holds (id) WHERE released_at IS NULL;

                -- How the audio went: 'retention' (deleted by the sweeper) or 'found_missing' (already gone on disk).
                ALTER TABLE recordings ADD COLUMN audio_deletion TEXT;
                ALTER TABLE rejections ADD COLUMN deleted_at TEXT;
                """)
        }
        m.registerMigration("v3: indexes for reports") { db in
            try db.execute(sql: """
                CREATE INDEX audit_by_action_at ON audit_events (action, at);
                -- Covering: the per-tenant counts of a month's report read the index only.
                CREATE INDEX recordings_for_report ON recordings (tenant, started_at, announcement_verified, announcement_flag);
                """)
        }
        m.registerMigration("v4: one audit index by action") { db in
            // audit_by_action_at serves every query by action; a second index only slowed each append
            // (the sweeper appends one event per deletion).
            try db.execute(sql: "DROP INDEX audit_by_action")
        }
        m.registerMigration("v5: instants are fixed-width text") { db in
            // The catalog compares instants as text, which is right only when every instant has the one
            // 20-character form YYYY-MM-DDTHH:MM:SSZ. Before this version a period of millennia stored
            // "12025-…", which sorts before "2026-…": due at once. Such expiries become the latest instant
            // the form can hold (kept longer, never shorter), and triggers refuse any other form from now on.
            let form = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'"
            for column in ["audio_expires_at", "metadata_expires_at"] {
                try db.execute(sql: """
                    UPDATE recordings SET \(column) = '9999-12-31T23:59:59Z'
                    WHERE \(column) NOT GLOB \(form) AND length(\(column)) > 20 AND \(column) GLOB '[0-9]*'
                    """)
            }
            func refuse(_ table: String, required: [String], optional: [String]) throws {
                let newValues = required.map { "NEW.\($0) NOT GLOB \(form)" }
                    + optional.map { "(NEW.\($0) IS NOT NULL AND NEW.\($0) NOT GLOB \(form))" }
                // On update only changed columns are checked, so a row from an older version can still be
                // marked deleted or have its expiry fixed.
                let changedValues = (required + optional).map { "(NEW.\($0) IS NOT OLD.\($0) AND NEW.\($0) IS NOT NULL AND NEW.\($0) NOT GLOB \(form))" }
                let message = "'\(table): an instant that is not YYYY-MM-DDTHH:MM:SSZ'"
                try db.execute(sql: """
                    CREATE TRIGGER \(table)_instants_on_insert BEFORE INSERT ON \(table)
                        WHEN \(newValues.joined(separator: " OR "))
                        BEGIN SELECT RAISE(ABORT, \(message)); END;
                    CREATE TRIGGER \(table)_instants_on_update BEFORE UPDATE OF \((required + optional).joined(separator: ", ")) ON \(table)
                        WHEN \(changedValues.joined(separator: " OR "))
                        BEGIN SELECT RAISE(ABORT, \(message)); END;
                    """)
            }
            try refuse("recordings", required: ["started_at", "audio_expires_at", "metadata_expires_at", "ingested_at"],
                       optional: ["ended_at", "audio_deleted_at"])
            try refuse("holds", required: ["placed_at"], optional: ["review_at", "released_at"])
        }
        m.registerMigration("v6: sidecar digest") { db in
            // Only a byte-identical sidecar under a stored call_id is a duplicate; any other is a conflict.
            try db.execute(sql: "ALTER TABLE recordings ADD COLUMN sidecar_sha256 TEXT")
        }
        m.registerMigration("v7: announcement share heard") { db in
            // A recording that started late or ended early holds part of the prompt: which part was heard.
            try db.execute(sql: "ALTER TABLE recordings ADD COLUMN announcement_share REAL")
            try db.execute(sql: "ALTER TABLE recordings ADD COLUMN announcement_prompt_offset_ms INTEGER")
        }
        m.registerMigration("v8: web accounts") { db in
            // Roles stay in callvault.toml; the web login's password (a bcrypt hash, never the password) lives
            // here, with whether it is disabled. A user without a row cannot log in with a password.
            try db.execute(sql: """
                CREATE TABLE accounts (
                    user TEXT PRIMARY KEY,
                    password_hash TEXT,
                    disabled INTEGER NOT NULL DEFAULT 0,
                    changed_at TEXT NOT NULL
                )
                """)
        }
        m.registerMigration("v9: waveform peaks") { db in
            // A call's waveform, computed once from its audio and kept: per channel, `buckets` (min, max) pairs of
            // Int8. Derived from the audio, so it goes when the audio goes (the sweeper deletes it with the file).
            try db.execute(sql: """
                CREATE TABLE waveforms (
                    recording_id TEXT PRIMARY KEY REFERENCES recordings(id) ON DELETE CASCADE,
                    channels INTEGER NOT NULL,
                    buckets INTEGER NOT NULL,
                    peaks BLOB NOT NULL
                )
                """)
        }
        m.registerMigration("v10: data-subject requests") { db in
            // The register of GDPR requests (README: Data-subject requests). A subject's number is never stored:
            // request_subjects keeps a keyed hash of it (the key is a file in the store), and request_items the
            // calls it matched, which stay as tombstones (request, recording id, tenant, when erased) after an
            // erasure. recordings.restricted: 0 none, 1 hidden from coaches, 2 hidden and kept past expiry.
            let instant = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'"
            try db.execute(sql: """
                CREATE TABLE requests (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('access', 'erasure', 'restriction', 'rectification', 'objection')),
                    tenant TEXT,
                    reference TEXT NOT NULL UNIQUE,
                    note TEXT,
                    received_at TEXT NOT NULL CHECK (received_at \(instant)),
                    first_due_at TEXT NOT NULL CHECK (first_due_at \(instant)),
                    due_at TEXT NOT NULL CHECK (due_at \(instant)),
                    extended_by TEXT,
                    extension_reason TEXT,
                    opened_by TEXT NOT NULL,
                    opened_at TEXT NOT NULL CHECK (opened_at \(instant)),
                    closed_at TEXT CHECK (closed_at IS NULL OR closed_at \(instant)),
                    closed_by TEXT,
                    outcome TEXT,
                    restriction_ground TEXT CHECK (restriction_ground IN ('accuracy', 'unlawful', 'legal-claims', 'objection')),
                    restricted_at TEXT,
                    restriction_lifted_at TEXT
                );
                CREATE INDEX requests_open_by_due ON requests (due_at) WHERE closed_at IS NULL;
                CREATE TABLE request_subjects (
                    request_id TEXT NOT NULL REFERENCES requests (id),
                    subject_hash TEXT NOT NULL,
                    PRIMARY KEY (request_id, subject_hash)
                );
                CREATE TABLE request_items (
                    request_id TEXT NOT NULL REFERENCES requests (id),
                    recording_id TEXT NOT NULL,
                    tenant TEXT NOT NULL,
                    erasure_pending INTEGER NOT NULL DEFAULT 0,
                    erased_at TEXT,
                    PRIMARY KEY (request_id, recording_id)
                );
                CREATE INDEX request_items_by_recording ON request_items (recording_id);
                CREATE INDEX request_items_pending ON request_items (recording_id) WHERE erasure_pending = 1;
                -- A subject is found as caller or callee: one index each, so `request open` reads only their calls.
                CREATE INDEX recordings_by_caller ON recordings (caller);
                CREATE INDEX recordings_by_callee ON recordings (callee);
                """)
        }
        m.registerMigration("v11: counts of deleted calls") { db in
            // The compliance report counts the calls stored in a period; it must not lower past figures when a
            // call's metadata is deleted later (by the sweeper, an erasure, or a hold's release that completes
            // one). Each deleted row leaves a count here, never data: tenant, start instant, queue and the
            // announcement outcome the report needs — no id, number, agent or team. A trigger, so every path
            // that deletes a recording counts it, in the deleting statement's own transaction. Rows deleted before
            // this version are not backfilled (they are gone); their periods' figures stay as low as they were.
            try db.execute(sql: """
                CREATE TABLE deleted_call_counts (
                    tenant TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    announcement_flag INTEGER NOT NULL,
                    announcement_verified TEXT NOT NULL,
                    calls INTEGER NOT NULL,
                    PRIMARY KEY (tenant, started_at, queue, announcement_flag, announcement_verified)
                ) WITHOUT ROWID;
                CREATE TRIGGER recordings_deleted_counted AFTER DELETE ON recordings
                BEGIN
                    INSERT INTO deleted_call_counts (tenant, started_at, queue, announcement_flag, announcement_verified, calls)
                    VALUES (OLD.tenant, OLD.started_at, coalesce(OLD.queue, ''), OLD.announcement_flag, OLD.announcement_verified, 1)
                    ON CONFLICT (tenant, started_at, queue, announcement_flag, announcement_verified) DO UPDATE SET calls = calls + 1;
                END;
                """)
        }
        m.registerMigration("v12: ingest workers and claims") { db in
            // Several ingest workers on one catalog (issue 12; SQLite keeps one host, but the tables are the same
            // so the catalog's code is too). A worker says it is alive until an instant and renews it; a pair in a
            // shared inbox is claimed by one worker, and a claim of a worker no longer alive may be taken over.
            // A placement in flight names its worker, so repair undoes only the placements of workers that died.
            try db.execute(sql: """
                CREATE TABLE ingest_workers (
                    worker TEXT PRIMARY KEY,
                    host TEXT NOT NULL,
                    alive_until TEXT NOT NULL
                );
                CREATE TABLE ingest_claims (
                    pair_key TEXT PRIMARY KEY,
                    worker TEXT NOT NULL
                );
                CREATE INDEX ingest_claims_by_worker ON ingest_claims (worker);
                ALTER TABLE pending_placements ADD COLUMN worker TEXT;
                """)
        }
        m.registerMigration("v13: erased calls, audit events by target") { db in
            // A tombstone per erased call, so that a re-delivery (recorders retry, backups are restored into
            // inboxes) is refused instead of stored again. No personal data: keyed hashes (subject.key) of the
            // call id and of the audio, the tenant, when, and which request.
            try db.execute(sql: """
                CREATE TABLE erased_calls (
                    tenant TEXT NOT NULL,
                    call_key TEXT NOT NULL,
                    audio_key TEXT NOT NULL,
                    erased_at TEXT NOT NULL,
                    request_id TEXT
                );
                CREATE INDEX erased_calls_by_call ON erased_calls (tenant, call_key);
                CREATE INDEX erased_calls_by_audio ON erased_calls (tenant, audio_key);
                CREATE INDEX audit_by_action_target ON audit_events (action, target, seq);
                """)
        }
        m.registerMigration("v14: numbers without a trunk zero") { db in
            try db.execute(sql: CatalogSchema.trunkZeroRemoval)
        }
        m.registerMigration("v15: segment digests") { db in
            // SHA-256 of each MiB of the stored audio, taken at ingest: every way out checks what it sends.
            try db.execute(sql: "ALTER TABLE recordings ADD COLUMN segment_sha256 TEXT")
        }
        m.registerMigration("v16: notes") { db in
            // Timestamped notes on a call; `kind` and `form_id` leave room for evaluation forms. They go with the
            // audio (the sweeper) and with the row (cascade).
            try db.execute(sql: CatalogSchema.notesTable(text: "TEXT", bool: "INTEGER"))
        }
        m.registerMigration("v17: announcement review") { db in
            try db.execute(sql: CatalogSchema.announcementReview(text: "TEXT"))
        }
        m.registerMigration("v18: hold music") { db in
            try db.execute(sql: CatalogSchema.holdMusic(text: "TEXT"))
            // A deleted call's seconds on hold stay in the report, as its count does (v11).
            try db.execute(sql: """
                CREATE TRIGGER recordings_deleted_hold_counted AFTER DELETE ON recordings WHEN OLD.hold_policy IS NOT NULL
                BEGIN
                    INSERT INTO deleted_hold_counts (tenant, started_at, queue, checked, calls, hold_ms)
                    VALUES (OLD.tenant, OLD.started_at, coalesce(OLD.queue, ''), 1, CASE WHEN OLD.hold_ms > 0 THEN 1 ELSE 0 END, coalesce(OLD.hold_ms, 0))
                    ON CONFLICT (tenant, started_at, queue) DO UPDATE SET checked = checked + 1, calls = calls + excluded.calls,
                        hold_ms = hold_ms + excluded.hold_ms;
                END;
                """)
        }
        return m
    }

    /// Why the detector sent a call to review, who decided it (`announcement_verified = 'review'`), when, and why, in
    /// either engine's words; the index serves the review list.
    public static func announcementReview(text: String) -> String {
        """
        ALTER TABLE recordings ADD COLUMN announcement_review_reason \(text);
        ALTER TABLE recordings ADD COLUMN announcement_reviewed_by \(text);
        ALTER TABLE recordings ADD COLUMN announcement_reviewed_at \(text);
        ALTER TABLE recordings ADD COLUMN announcement_review_note \(text);
        CREATE INDEX recordings_for_review ON recordings (announcement_verified, started_at)
        """
    }

    /// The hold-music check's results (SPEC §17) in either engine's words. On the row: the policy it ran under
    /// (nil: not checked), the seconds found (ms), and — when `redact` silenced them — the SHA-256 of the bytes
    /// received, `sha256` being that of the bytes stored. Per segment: where, and which track. Segments are call
    /// metadata (when a caller was on hold), not audio: they stay until the row goes. `deleted_hold_counts` keeps
    /// the report's seconds of deleted rows, like `deleted_call_counts`.
    public static func holdMusic(text: String) -> String {
        """
        ALTER TABLE recordings ADD COLUMN hold_policy \(text);
        ALTER TABLE recordings ADD COLUMN hold_ms BIGINT;
        ALTER TABLE recordings ADD COLUMN received_sha256 \(text);
        CREATE TABLE hold_segments (
            recording_id \(text) NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            start_ms BIGINT NOT NULL CHECK (start_ms >= 0),
            end_ms BIGINT NOT NULL CHECK (end_ms > start_ms),
            track TEXT NOT NULL,
            PRIMARY KEY (recording_id, start_ms)
        );
        CREATE TABLE deleted_hold_counts (
            tenant \(text) NOT NULL,
            started_at \(text) NOT NULL,
            queue \(text) NOT NULL,
            checked BIGINT NOT NULL,
            calls BIGINT NOT NULL,
            hold_ms BIGINT NOT NULL,
            PRIMARY KEY (tenant, started_at, queue)
        )
        """
    }

    /// The notes table in either engine's words (the same columns, checks and index).
    public static func notesTable(text: String, bool: String) -> String {
        """
        CREATE TABLE notes (
            id \(text) PRIMARY KEY,
            recording_id \(text) NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            author \(text) NOT NULL,
            at_ms BIGINT NOT NULL CHECK (at_ms >= 0),
            text TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
            shared \(bool) NOT NULL DEFAULT 0 CHECK (shared IN (0, 1)),
            kind \(text) NOT NULL DEFAULT 'note',
            form_id \(text),
            created_at \(text) NOT NULL
        );
        CREATE INDEX notes_by_recording ON notes (recording_id, at_ms)
        """
    }

    /// Numbers stored before ingest normalised them (`+320470…`): written as ingest writes them now
    /// (`+32470…`), so that a request, a hold by caller and `list --caller` find them. The countries whose
    /// national numbers start with a trunk 0 (PhoneNumber.plans, as it was when this was written).
    public static let trunkZeroRemoval: String = ["32", "31", "33", "49"].flatMap { code in
        ["caller", "callee"].map { column in
            "UPDATE recordings SET \(column) = '+\(code)' || substr(\(column), \(code.count + 3)) WHERE \(column) LIKE '+\(code)0%';"
        }
    }.joined(separator: "\n")
}
