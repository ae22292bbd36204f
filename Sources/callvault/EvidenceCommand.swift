// `callvault evidence export|key|verify`: sealed BagIt bags of a hold's calls, and their check by anyone.
import ArgumentParser
import CallVault
import CallVaultCore
import CallVaultEvidence
import Foundation

struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence", abstract: "Evidence bags of a hold's calls (BagIt, signed) and their verification.",
        subcommands: [Export.self, Key.self, Verify.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export", abstract: "Write one signed BagIt bag of a hold's calls into DIR (compliance and admin; audited).",
            discussion: "The bag holds each call's original bytes as checked at ingest, the sidecar as the recorder wrote it, its record, the chain of custody, the hold and the audit head; its tag manifest is signed with the store's Ed25519 evidence key, time-stamped when [evidence] tsa_url is set, and sealed in CMS with the organisation's certificate when [evidence] seal_certificate and seal_key are set. A call whose bytes fail their check stops the export.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The hold id.") var hold: String
        @Option(help: "The folder to write the bag into (created if missing; the bag's own folder must not exist).") var to: String

        func run() throws {
            let vault = try global.openVault()
            // Progress on a terminal only (stderr), so a big hold is not a silent wait; never in --json or logs.
            let meter = ProgressMeter(label: "evidence export", enabled: !global.json)
            let bag: EvidenceBagSummary
            do {
                defer { meter.finish() }
                bag = try EvidenceExport(vault: vault).write(hold: hold, into: to, progress: meter.enabled ? meter : nil)
            }
            if global.json {
                printJSON(["folder": bag.folder, "recordings": bag.recordings, "metadata_only": bag.metadataOnly,
                           "tagmanifest_sha256": bag.tagManifestSHA256, "time_stamp": orNull(bag.timeStamp), "sealed_by": orNull(bag.sealedBy),
                           "warnings": bag.warnings])
            } else {
                printLine("wrote \(bag.folder): \(bag.recordings) recording(s), \(bag.metadataOnly) metadata only; tag manifest SHA-256 \(bag.tagManifestSHA256)"
                          + (bag.timeStamp.map { "; time-stamped \($0)" } ?? "") + (bag.sealedBy.map { "; sealed by \(escapedForTerminal($0))" } ?? ""))
                for w in bag.warnings { FileHandle.standardError.write(Data("callvault: warning: \(w)\n".utf8)) }
            }
        }
    }

    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key", abstract: "Print the store's evidence public key (PEM) to give to whoever receives a bag.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let vault = try global.openVault()
            let (pem, fingerprint) = try EvidenceExport(vault: vault).publicKey()
            if global.json { printJSON(["public_key_pem": pem, "fingerprint_sha256": fingerprint]) } else {
                printText(pem)
                FileHandle.standardError.write(Data("callvault: fingerprint (SHA-256 of the key's DER): \(fingerprint)\n".utf8))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify", abstract: "Check a bag: its manifests, every file, the signature, the time-stamp's imprint and the e-seal. Needs no store.",
            discussion: "Exit 0 when everything holds; 1 naming every file that differs, is missing or is not listed.")
        // For --json; the store options are not used: a recipient has no store.
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The bag's folder.") var folder: String
        @Option(help: "The store's public key (PEM from `callvault evidence key`): require that it signed the bag.") var key: String?
        @Option(name: .customLong("seal-ca"), help: "CA certificates you trust (PEM): require that the bag's e-seal chains to one of them.") var sealCA: String?

        func run() async throws {
            var roots: String?
            if let sealCA {
                guard let text = try? String(contentsOfFile: sealCA, encoding: .utf8), EvidenceSeal.certificates(pem: text) != nil else {
                    throw VaultError(.usage, "--seal-ca: \(sealCA) holds no PEM certificate")
                }
                roots = text
            }
            var expected: String?
            if let key {
                guard let text = try? String(contentsOfFile: key, encoding: .utf8), EvidencePublicKey.parse(pem: text) != nil else {
                    throw VaultError(.usage, "--key: \(key) is not an Ed25519 public key in PEM")
                }
                expected = text
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
                throw VaultError(.usage, "\(folder): no such folder")
            }
            var report = await BagVerifier.verify(folder: folder, expectedKeyPEM: expected, sealRootsPEM: roots)
            if roots != nil, report.sealedBy == nil, !report.problems.contains(where: { $0.path == EvidenceSeal.path }) {
                report.problems.append((EvidenceSeal.path, "missing: --seal-ca asks for a sealed bag"))
            }
            if global.json {
                printJSON(["ok": report.ok, "signer_fingerprint": orNull(report.signer), "time_stamp": orNull(report.timeStamp),
                           "sealed_by": orNull(report.sealedBy), "checked": report.checked,
                           "problems": report.problems.map { ["path": $0.path, "why": $0.why] }])
            } else {
                for c in report.checked { printLine("ok: \(c)") }
                if let s = report.sealedBy { printLine("sealed by \(escapedForTerminal(s))") }
                if let s = report.signer { printLine("signed by the key with fingerprint \(s)\(key == nil ? " (the bag's own signer.pub: compare it with the store's)" : "")") }
                for p in report.problems { printLine("DIFFERS: \(escapedForTerminal(p.path)): \(p.why)") }
                printLine(report.ok ? "bag ok" : "bag NOT ok: \(report.problems.count) problem(s)")
            }
            if !report.ok { throw ExitCode(1) }
        }
    }
}
