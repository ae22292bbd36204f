// `callvault audio check AUDIO --tenant T`: both audio checks on one file — the announcement and hold music —
// storing nothing (SPEC §17).
import ArgumentParser
import CallVault
import CallVaultAudio
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct AudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audio", abstract: "The audio checks: the announcement and hold music.",
                                                    subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Run both audio checks on one file with a tenant's prompts and hold-music tracks; store nothing.",
            discussion: """
                The announcement check hears the tenant's prompts at the start (as `announcement check`); the hold check \\
                finds every stretch where one of the tenant's registered hold-music tracks plays (tenants.T.hold_music.tracks), \\
                wherever in the track it starts and however often it loops. Music that is not registered is not hold music.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An audio file (any format libsndfile reads).") var audio: String
        @Option(help: "The tenant whose prompts and hold-music tracks apply.") var tenant: String

        func run() throws {
            let vault = try global.openVault()
            try vault.require(Role.officers, to: "audio check")
            guard let t = vault.configuration.tenants[tenant] else { throw VaultError(.usage, "--tenant \(tenant): not configured") }
            let prompts = !vault.prompts.prompts(for: tenant).isEmpty
            guard prompts || !t.holdMusic.tracks.isEmpty else {
                throw VaultError(.usage, "--tenant \(tenant): neither announcement prompts (tenants.\(tenant).announcement.prompts) nor hold-music tracks (tenants.\(tenant).hold_music.tracks) are configured")
            }
            func opened() throws -> Int32 {
                let fd = open(audio, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw VaultError(.usage, "\(audio): \(String(cString: strerror(errno)))") }
                return fd
            }
            var announcement: (AnnouncementFinding, Double)?
            if prompts {
                let fd = try opened()
                defer { close(fd) }
                let t0 = DispatchTime.now().uptimeNanoseconds
                do { announcement = (try vault.prompts.check(fd: fd, tenant: t), Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6) } catch let e as VaultError {
                    throw VaultError(.usage, "\(audio): \(e.message)")
                }
            }
            var hold: ([HoldSegment], Double)?
            if !t.holdMusic.tracks.isEmpty {
                let tracks = try vault.holdMusic.tracks(for: t, root: vault.root)
                let fd = try opened()
                defer { close(fd) }
                let t0 = DispatchTime.now().uptimeNanoseconds
                do { hold = (try HoldMusicScan.find(fd: fd, tracks: tracks), Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6) } catch let e as VaultError {
                    throw VaultError(.usage, "\(audio): \(e.message)")
                }
            }
            if global.json {
                var out: [String: Any] = ["announcement": NSNull(), "on_hold": NSNull(), "on_hold_analysis_ms": NSNull()]
                if let (v, ms) = announcement { out["announcement"] = AnnouncementCommand.Check.json(v, analysisMs: ms) }
                if let (segments, ms) = hold {
                    out["on_hold"] = segments.map { s -> [String: Any] in ["start_s": s.startS, "end_s": s.endS, "track": s.track] }
                    out["on_hold_analysis_ms"] = (ms * 100).rounded() / 100
                }
                printJSON(out)
                return
            }
            if let (v, _) = announcement {
                printLine("announcement: \(v.outcome.rawValue)" + (v.prompt.map { " (\($0), score \(String(format: "%.2f", v.score)))" } ?? ""))
            } else {
                printLine("announcement: not checked (no prompts configured)")
            }
            if let (segments, _) = hold {
                if segments.isEmpty { printLine("on hold: no registered hold music heard") }
                for s in segments {
                    printLine(String(format: "on hold: %.1f s – %.1f s (%.0f s), %@", s.startS, s.endS, s.endS - s.startS, escapedForTerminal(s.track)))
                }
            } else {
                printLine("on hold: not checked (no hold-music tracks configured)")
            }
        }
    }
}
