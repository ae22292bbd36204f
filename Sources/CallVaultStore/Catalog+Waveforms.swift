// Waveform peaks kept with a recording (table `waveforms`, v9): written at ingest in the recording's own
// transaction, or on first view for older recordings; deleted with the audio they were computed from.
import CallVaultCore
import Foundation

/// A recording's waveform as the catalog keeps it: `peaks` holds `channels * buckets` (min, max) pairs of
/// signed bytes, channel-major (the layout of `WaveformPeaks.peaks`).
public struct WaveformRow: Sendable, Equatable {
    public var recordingID: String
    public var channels: Int
    public var buckets: Int
    public var peaks: Data

    public init(recordingID: String, channels: Int, buckets: Int, peaks: Data) {
        self.recordingID = recordingID
        self.channels = channels
        self.buckets = buckets
        self.peaks = peaks
    }
}

extension Catalog {

    /// Inserts waveforms inside a caller's transaction (ingest's commit); one already kept is left as it is.
    static func insertWaveforms(_ rows: [WaveformRow], in db: any SQLSession) throws {
        for run in rows.runs(of: 500) {
            var args = SQLArguments()
            for w in run { args.append(contentsOf: [w.recordingID, w.channels, w.buckets, w.peaks]) }
            try db.execute(cached: "INSERT INTO waveforms (recording_id, channels, buckets, peaks) VALUES "
                           + Array(repeating: "(?, ?, ?, ?)", count: run.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING", arguments: args)
        }
    }

    /// Deletes a recording's waveform inside a caller's transaction: whatever deletes audio (the sweeper, an
    /// erasure) deletes the waveform computed from it in the same transaction.
    static func deleteWaveform(recordingID: String, in db: any SQLSession) throws {
        try db.execute(cached: "DELETE FROM waveforms WHERE recording_id = ?", arguments: [recordingID])
    }

    /// The kept waveform of a recording, nil when none is kept (stored before waveforms were, or audio deleted).
    public func waveform(recordingID: String) throws -> WaveformRow? {
        try wrap("read waveform") {
            try db.read { db in
                try SQLRow.fetchOne(db, sql: "SELECT channels, buckets, peaks FROM waveforms WHERE recording_id = ?", arguments: [recordingID])
                    .map { WaveformRow(recordingID: recordingID, channels: $0["channels"], buckets: $0["buckets"], peaks: $0["peaks"]) }
            }
        }
    }

    /// Keeps a waveform computed after ingest, only while the recording's audio is still present: a sweep that
    /// deleted the audio meanwhile wins (no waveform outlives its audio). Returns whether it was kept now (false
    /// also when another reader kept one first).
    @discardableResult
    public func saveWaveform(_ w: WaveformRow) throws -> Bool {
        try wrap("keep waveform") {
            try db.write { db in
                try db.execute(sql: """
                    INSERT INTO waveforms (recording_id, channels, buckets, peaks)
                    SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM recordings WHERE id = ? AND audio_deleted_at IS NULL)
                    ON CONFLICT DO NOTHING
                    """, arguments: [w.recordingID, w.channels, w.buckets, w.peaks, w.recordingID])
                return db.changesCount > 0
            }
        }
    }
}
