// The last `callvault fixity` result as Prometheus gauges, read from the catalog at each scrape.
import CallVaultCore
import CallVaultStore
import Foundation

/// Gauges appended to `/metrics`. The fixity run is a separate process (a timer), so the daemon does not
/// hold the numbers: it reads the summary the run left in the catalog, one short read per scrape.
public enum FixityMetrics {
    /// Prometheus text exposition of the last run; empty when no run was recorded or the catalog cannot be read
    /// (the scrape of the other metrics must not fail because of it).
    public static func text(_ catalog: Catalog) -> String {
        guard let s = try? catalog.lastFixity(), let at = Timestamp.parse(s.at)?.timeIntervalSince1970 else { return "" }
        let gauges: [(String, String, String)] = [
            ("callvault_fixity_last_run_timestamp_seconds", "When the last fixity run finished (Unix time).", String(Int64(at))),
            ("callvault_fixity_ok", "1 when the last fixity run found every stored file as catalogued, else 0.", s.ok ? "1" : "0"),
            ("callvault_fixity_checked", "Stored audio files checked by the last fixity run.", String(s.checked)),
            ("callvault_fixity_bytes", "Bytes read by the last fixity run.", String(s.bytes)),
            ("callvault_fixity_modified", "Recordings whose stored bytes no longer match the catalog.", String(s.modified)),
            ("callvault_fixity_missing", "Recordings whose audio file is gone although the catalog says present.", String(s.missing)),
            ("callvault_fixity_unexpected", "Files under audio/ the catalog does not know.", String(s.unexpected)),
        ]
        return gauges.map { "# HELP \($0.0) \($0.1)\n# TYPE \($0.0) gauge\n\($0.0) \($0.2)\n" }.joined()
    }
}
