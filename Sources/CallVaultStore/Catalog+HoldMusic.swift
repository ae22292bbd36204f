// Hold-music segments kept with a recording (table `hold_segments`, v18): written at ingest in the recording's
// own transaction; metadata about the call (when the caller was on hold), so they go with the row, not the audio.
import CallVaultCore
import Foundation

/// One stretch of a call where a registered hold-music track played, in ms from the start.
public struct HoldSegmentRow: Sendable, Equatable {
    public var recordingID: String
    public var startMs: Int64
    public var endMs: Int64
    public var track: String

    public init(recordingID: String, startMs: Int64, endMs: Int64, track: String) {
        self.recordingID = recordingID; self.startMs = startMs; self.endMs = endMs; self.track = track
    }
}

extension Catalog {
    static func insertHoldSegments(_ rows: [HoldSegmentRow], in db: any SQLSession) throws {
        for run in rows.runs(of: 250) {
            var args = SQLArguments()
            for s in run { args.append(contentsOf: [s.recordingID, s.startMs, s.endMs, s.track]) }
            try db.execute(cached: "INSERT INTO hold_segments (recording_id, start_ms, end_ms, track) VALUES "
                           + Array(repeating: "(?, ?, ?, ?)", count: run.count).joined(separator: ", "), arguments: args)
        }
    }

    /// The hold-music segments found in a recording, in time order.
    public func holdSegments(recordingID: String) throws -> [HoldSegmentRow] {
        try wrap("read hold segments") {
            try db.read { db in
                try SQLRow.fetchAll(db, sql: "SELECT start_ms, end_ms, track FROM hold_segments WHERE recording_id = ? ORDER BY start_ms",
                                    arguments: [recordingID])
                    .map { HoldSegmentRow(recordingID: recordingID, startMs: $0["start_ms"], endMs: $0["end_ms"], track: $0["track"]) }
            }
        }
    }

    /// Per tenant (and per queue when asked) for calls started in [from, to): calls checked for hold music, calls
    /// found on hold, seconds on hold — live rows plus what deleted rows left (`deleted_hold_counts`).
    static func onHoldFigures(_ db: any SQLSession, tenant: String, from f: String, to t: String, byQueue: Bool) throws -> [String: OnHoldFigures] {
        let group = byQueue ? "coalesce(queue, '')" : "''"
        var out: [String: OnHoldFigures] = [:]
        for r in try SQLRow.fetchAll(db, sql: """
            SELECT queue, sum(checked) AS checked, sum(calls) AS calls, sum(hold_ms) AS hold_ms FROM (
                SELECT \(group) AS queue, count(*) AS checked, sum(CASE WHEN hold_ms > 0 THEN 1 ELSE 0 END) AS calls, sum(hold_ms) AS hold_ms
                FROM recordings WHERE tenant = ? AND started_at >= ? AND started_at < ? AND hold_policy IS NOT NULL GROUP BY 1
                UNION ALL
                SELECT \(byQueue ? "queue" : "''") AS queue, sum(checked), sum(calls), sum(hold_ms)
                FROM deleted_hold_counts WHERE tenant = ? AND started_at >= ? AND started_at < ? GROUP BY 1) AS on_hold
            GROUP BY 1 ORDER BY 1
            """, arguments: [tenant, f, t, tenant, f, t]) {
            let ms: Int64 = r["hold_ms"] ?? 0
            out[r["queue"]] = OnHoldFigures(checked: r["checked"] ?? 0, calls: r["calls"] ?? 0, seconds: (Double(ms) / 100).rounded() / 10)
        }
        return out
    }
}
