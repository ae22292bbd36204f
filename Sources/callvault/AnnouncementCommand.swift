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
                                                    subcommands: [Check.self, Review.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check", abstract: "Run the detector on one file with a tenant's prompts; store nothing.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An audio file (any format libsndfile reads).") var audio: String
        @Option(help: "The tenant whose prompts, window and threshold apply.") var tenant: String

        func run() throws {
            let vault = try global.openVault()
            try vault.require(Role.officers, to: "announcement check")
            guard let t = vault.configuration.tenants[tenant] else { throw VaultError(.usage, "--tenant \(tenant): not configured") }
            guard !vault.prompts.prompts(for: tenant).isEmpty else {
                throw VaultError(.usage, "--tenant \(tenant): no announcement prompts configured (tenants.\(tenant).announcement.prompts)")
            }
            let fd = open(audio, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw VaultError(.usage, "\(audio): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let v: AnnouncementFinding
            do { v = try vault.prompts.check(fd: fd, tenant: t) } catch let e as VaultError {
                throw VaultError(.usage, "\(audio): \(e.message)")
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            let score = (v.score * 1000).rounded() / 1000
            if global.json {
                printJSON(Self.json(v, analysisMs: ms))
            } else if v.detected {
                let part = v.matchedShare.map { $0 < 1 ? String(format: ", %.0f %% of it from %.2f s into it", $0 * 100, Double(v.promptOffsetMs ?? 0) / 1000) : "" } ?? ""
                printLine("announcement heard: \(v.prompt!) at \(Double(v.offsetMs!) / 1000) s on channel \(v.channel!) (score \(score)\(part))")
            } else if v.outcome == .review {
                let why = v.reviewReason == "partial"
                    ? String(format: "only %.0f %% of it matched and it stops in mid-call", (v.matchedShare ?? 0) * 100)
                    : AnnouncementReview.reasonWords(v.reviewReason) + (v.reviewReason == "borderline" ? " (\(t.announcement.threshold))" : "")
                printLine("announcement to review: \(v.prompt ?? "-") at \(Double(v.offsetMs ?? 0) / 1000) s on channel \(v.channel ?? 0) (score \(score)): \(why)")
            } else {
                printLine("no announcement heard in the first \(t.announcement.window) (best: \(v.prompt ?? "-"), score \(score); threshold \(t.announcement.threshold))")
            }
        }
    }

}

extension AnnouncementCommand.Check {
    /// The check's JSON object (SPEC §11, with the additions the README lists); also `audio check`'s `announcement`.
    static func json(_ v: AnnouncementFinding, analysisMs ms: Double) -> [String: Any] {
        ["verdict": v.outcome.rawValue, "review_reason": orNull(v.reviewReason),
         "detected": v.detected, "prompt": orNull(v.detected ? v.prompt : nil), "offset_ms": orNull(v.offsetMs),
         "score": (v.score * 1000).rounded() / 1000, "channel": orNull(v.channel), "best_prompt": orNull(v.prompt), "analysis_ms": (ms * 100).rounded() / 100,
         "matched_share": orNull(v.matchedShare), "prompt_offset_ms": orNull(v.promptOffsetMs),
         "weakest_block": orNull(v.weakestBlock), "aligned_share": orNull(v.alignedShare)]
    }
}

extension AnnouncementCommand {
    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "review", abstract: "Calls the check sent to review: listen, then decide heard or not heard.",
            discussion: """
                A call whose prompt matched only in part and stops in mid-call (a barge-in, or another sentence that \
                shares the prompt's first words), a part of whose match does not agree (another sentence sharing most \
                of its words, or another voice), or whose score is just under the threshold, is stored flagged and \
                hidden from coaches until a compliance officer decides.
                """,
            subcommands: [ReviewList.self, ReviewDecide.self])
    }

    struct ReviewList: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The calls awaiting review, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this tenant's calls.") var tenant: String?
        @Option(help: "At most this many calls, the oldest (1-500).") var limit = 500

        func validate() throws {
            if !(1...500).contains(limit) { throw ValidationError("--limit: 1 to 500") }
        }

        func run() throws {
            let vault = try global.openVault()
            let (items, more) = try AnnouncementReview(vault: vault).list(tenant: tenant, limit: limit)
            if global.json {
                printJSON(["calls": items.map(reviewItemJSON), "more": more])
            } else if items.isEmpty {
                printLine("no calls awaiting review")
            } else {
                printText(table(["recording", "tenant", "queue", "started", "listen from", "prompt", "score", "matched", "why"], items.map { i in
                    [i.id, i.tenant, escapedForTerminal(i.queue ?? "-"), i.startedAt, i.offsetMs.map { String(format: "%.1f s", Double($0) / 1000) } ?? "-",
                     i.prompt ?? "-", i.score.map { String(format: "%.2f", $0) } ?? "-", i.matchedShare.map { String(format: "%.0f %%", $0 * 100) } ?? "-", i.reason]
                }))
                if more { printLine("more calls await review than are listed: the oldest \(items.count) first; decide them and list again") }
                printLine("listen from the offset (web: the call page), then: callvault announcement review decide ID heard|not_heard --note TEXT")
            }
        }
    }

    struct ReviewDecide: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decide", abstract: "Decide a call awaiting review: heard (coaches may use it) or not_heard (it stays hidden).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The recording id.") var id: String
        @Argument(help: "heard or not_heard.") var decision: String
        @Option(help: "Why (1–2000 characters; kept with the call, not in the audit).") var note: String

        func run() throws {
            guard let outcome = AnnouncementOutcome(rawValue: decision), outcome != .review else {
                throw ValidationError("the decision is heard or not_heard, not '\(escapedForTerminal(decision))'")
            }
            let vault = try global.openVault()
            let item = try AnnouncementReview(vault: vault).decide(id: id, outcome: outcome, note: note)
            if global.json {
                printJSON(["recording_id": item.id, "verdict": outcome.rawValue])
            } else {
                printLine("\(item.id): \(outcome == .heard ? "heard — coaches may now use it" : "not heard — it stays hidden from coaches")")
            }
        }
    }
}
