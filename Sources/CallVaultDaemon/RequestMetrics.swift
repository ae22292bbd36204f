// The deadlines of open data-subject requests as Prometheus gauges, read from the catalog at each scrape.
import CallVault
import Foundation

/// Gauges appended to `/metrics`, so an alert can fire before a request misses its month (GDPR art. 12(3)).
/// Counts only, read without an audit event (a scrape every 15 s would flood the log) and without any request's
/// reference or subject.
public enum RequestMetrics {
    /// Prometheus text exposition; empty when the catalog cannot be read (the other metrics must still scrape).
    public static func text(_ vault: Vault) -> String {
        guard let d = try? Requests(vault: vault).deadlines() else { return "" }
        let gauges: [(String, String, Int)] = [
            ("callvault_requests_open", "Data-subject requests not yet closed.", d.open),
            ("callvault_requests_due_soon", "Open data-subject requests due within 7 days, not yet overdue.", d.dueSoon),
            ("callvault_requests_overdue", "Open data-subject requests past their deadline.", d.overdue),
        ]
        return gauges.map { "# HELP \($0.0) \($0.1)\n# TYPE \($0.0) gauge\n\($0.0) \($0.2)\n" }.joined()
    }
}
