// `callvault ingest PATH…`: one-shot ingest, reported per input (SPEC §3, §11).
import ArgumentParser
import CallVault
import CallVaultCore
import Foundation

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Ingest recordings (audio + NAME.json sidecar) from files or folders.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Files or folders (tenant sub-folders included).")
    var paths: [String]

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one file or folder to ingest") }
    }

    func run() throws {
        let vault = try global.openVault()
        // A large backlog takes minutes: show pairs, bytes, rate and time left on a terminal (never in --json).
        let meter = ProgressMeter(label: "ingest", enabled: !global.json)
        var done = (pairs: 0, bytes: Int64(0))
        let report: IngestReport
        do {
            defer { meter.finish(); IngestWorker.retireIfRegistered() }
            report = try Ingestor(vault: vault).ingest(paths: paths, scanned: { found in
                let complete = found.pairs.filter { $0.audio != nil && $0.sidecar != nil }
                meter.setTotals(files: complete.count, bytes: complete.reduce(0) { $0 + $1.audioSize })
            }, progress: { pairs, bytes in
                meter.advance(files: pairs - done.pairs, bytes: bytes - done.bytes)
                done = (pairs, bytes)
            })
        }
        if global.json {
            printJSON([
                "stored": report.stored.map {
                    ["input": $0.input, "recording_id": $0.recordingID, "call_id": $0.callID, "tenant": $0.tenant,
                     "audio_expires_at": $0.audioExpiresAt, "metadata_expires_at": $0.metadataExpiresAt,
                     "already_expired": $0.alreadyExpired] as [String: Any]
                },
                "duplicates": report.duplicates.map { ["input": $0.input, "recording_id": $0.recordingID] },
                "erased": report.erased.map { ["input": $0.input, "reason": "erased", "request": $0.request.isEmpty ? NSNull() : $0.request] as [String: Any] },
                "rejected": report.rejected.map { r -> [String: Any] in
                    var o: [String: Any] = ["input": r.input, "reason": r.reason.rawValue, "detail": r.detail]
                    o["quarantine"] = r.quarantinePath ?? NSNull()
                    return o
                },
                "unreadable": report.unreadable.map { ["input": $0.input, "detail": $0.detail] },
            ])
        } else {
            for s in report.stored {
                printLine("stored     \(s.input)  \(s.recordingID)  \(s.tenant)/\(s.callID)\(s.alreadyExpired ? "  (already past audio expiry: deleted at the next sweep)" : "")")
            }
            for d in report.duplicates { printLine("duplicate  \(d.input)  \(d.recordingID)") }
            for e in report.erased {
                printLine("erased     \(e.input)  erased: this call was erased at a data subject's request\(e.request.isEmpty ? "" : " (request \(e.request))"); not stored, inputs removed")
            }
            for r in report.rejected {
                let place = r.quarantinePath.map { "-> \($0)" } ?? "(left in place)"
                printLine("rejected   \(r.input)  \(r.reason.rawValue): \(r.detail)  \(place)")
            }
            for u in report.unreadable {
                printLine("unreadable \(u.input)  \(u.detail)  (left in place)")
            }
            printLine("\(report.stored.count) stored, \(report.duplicates.count) duplicate(s), \(report.rejected.count) rejected"
                      + (report.erased.isEmpty ? "" : ", \(report.erased.count) erased call(s) refused")
                      + (report.unreadable.isEmpty ? "" : ", \(report.unreadable.count) unreadable (left in place)"))
        }
        // Every input is accounted for; some were not stored (rejected, or left in place to be tried again).
        if !report.rejected.isEmpty || !report.unreadable.isEmpty { throw ExitCode(4) }
    }
}
