// `callvault quarantine retry ID… | --reason R`: quarantined pairs back through ingest (audited).
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

extension QuarantineCommand {
    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
            abstract: "Put quarantined pairs back through ingest (after fixing what rejected them, e.g. a missing tenant).",
            discussion: "A pair that is now stored (or already was) leaves quarantine; one rejected again stays, with its reason shown. Admins only; every retry is audited.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Quarantine entry ids (as shown by `quarantine list`).")
        var ids: [String] = []

        @Option(help: "Retry every entry still in quarantine with this reason code (e.g. tenant_unknown).")
        var reason: String?

        func validate() throws {
            if ids.isEmpty == (reason == nil) { throw ValidationError("give quarantine ids or --reason CODE (not both)") }
            if let reason, ReasonCode(rawValue: reason) == nil {
                throw ValidationError("--reason \(reason): not a reason code (\(ReasonCode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }

        func run() throws {
            let vault = try global.openVault()
            let retry = QuarantineRetry(vault: vault)
            let results = try reason.flatMap(ReasonCode.init(rawValue:)).map { try retry.retry(reason: $0) } ?? retry.retry(ids: ids)
            func describe(_ o: QuarantineRetry.Outcome) -> (String, [String: Any]) {
                switch o {
                case .stored(let id): return ("stored as \(id)", ["outcome": "stored", "recording_id": id])
                case .duplicate(let id): return ("already stored as \(id) (removed from quarantine)", ["outcome": "duplicate", "recording_id": id])
                case .rejected(let code, let detail): return ("rejected again: \(code.rawValue): \(detail)", ["outcome": "rejected", "reason": code.rawValue, "detail": detail])
                case .incomplete(let why): return ("not retried: \(why)", ["outcome": "incomplete", "detail": why])
                case .unreadable(let why): return ("not retried: \(why)", ["outcome": "unreadable", "detail": why])
                case .erased(let request):
                    return ("not stored: this call was erased at a data subject's request\(request.isEmpty ? "" : " (request \(request))"); its copies are deleted",
                            ["outcome": "erased", "reason": "erased", "request": request.isEmpty ? NSNull() : request])
                }
            }
            if global.json {
                printJSON(["retried": results.map { r -> [String: Any] in
                    var o = describe(r.outcome).1
                    o["id"] = r.id
                    return o
                }])
            } else {
                for r in results { printLine("\(r.id)  \(describe(r.outcome).0)") }
                let stored = results.filter { if case .stored = $0.outcome { return true } else { return false } }.count
                printLine("\(results.count) retried, \(stored) stored")
            }
            // Like ingest: 4 when something could not be stored.
            if results.contains(where: { switch $0.outcome { case .stored, .duplicate, .erased: return false; default: return true } }) {
                throw ExitCode(4)
            }
        }
    }
}
