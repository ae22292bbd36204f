// `callvault announcement check AUDIO --tenant T`: hear a tenant's prompts in one file; store nothing (SPEC §5, §11).
import ArgumentParser
import CallVault
import CallVaultAudio
import CallVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct AnnouncementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "announcement", abstract: "Announcement verification in the audio.",
                                                    subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check", abstract: "Run the detector on one file with a tenant's prompts; store nothing.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An audio file (any format libsndfile reads).") var audio: String
        @Option(help: "The tenant whose prompts, window and threshold apply.") var tenant: String

        func run() throws {
            let vault = try global.openVault()
            try vault.require([.admin, .compliance], to: "announcement check")
            guard let t = vault.configuration.tenants[tenant] else { throw VaultError(.usage, "--tenant \(tenant): not configured") }
            guard !vault.prompts.prompts(for: tenant).isEmpty else {
                throw VaultError(.usage, "--tenant \(tenant): no announcement prompts configured (tenants.\(tenant).announcement.prompts)")
            }
            let fd = open(audio, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw VaultError(.usage, "\(audio): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let v: AnnouncementVerdict
            do { v = try vault.prompts.check(fd: fd, tenant: t) } catch let e as VaultError {
                throw VaultError(.usage, "\(audio): \(e.message)")
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            let score = (v.score * 1000).rounded() / 1000
            if global.json {
                printJSON(["detected": v.detected, "prompt": orNull(v.detected ? v.prompt : nil), "offset_ms": orNull(v.offsetMs),
                           "score": score, "channel": orNull(v.channel), "best_prompt": orNull(v.prompt), "analysis_ms": (ms * 100).rounded() / 100,
                           "matched_share": orNull(v.matchedShare), "prompt_offset_ms": orNull(v.promptOffsetMs)])
            } else if v.detected {
                let part = v.matchedShare.map { $0 < 1 ? String(format: ", %.0f %% of it from %.2f s into it", $0 * 100, Double(v.promptOffsetMs ?? 0) / 1000) : "" } ?? ""
                printLine("announcement heard: \(v.prompt!) at \(Double(v.offsetMs!) / 1000) s on channel \(v.channel!) (score \(score)\(part))")
            } else {
                printLine("no announcement heard in the first \(t.announcement.window) (best: \(v.prompt ?? "-"), score \(score); threshold \(t.announcement.threshold))")
            }
        }
    }
}
