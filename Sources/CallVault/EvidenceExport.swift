// `callvault evidence export HOLD --to DIR` (issue 21 §2): one BagIt bag (RFC 8493) of a hold's calls — the
// original bytes as checked at ingest, their records, the chain of custody and the hold — with the tag
// manifest signed by the store's Ed25519 evidence key. `evidence verify` (CallVaultEvidence) checks it anywhere.
import CallVaultCore
import CallVaultEvidence
import CallVaultStore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `evidence export` wrote.
public struct EvidenceBagSummary: Sendable {
    public var folder: String
    public var recordings: Int
    public var metadataOnly: Int
    public var tagManifestSHA256: String
    /// The RFC 3161 authority's time (GeneralizedTime), when `[evidence] tsa_url` is set.
    public var timeStamp: String?
    /// The e-seal's holder (its certificate's subject), when `[evidence] seal_certificate` is set.
    public var sealedBy: String?
    /// Why the bag has no time-stamp, when it has none.
    public var warnings: [String]
}

/// The store's evidence signing key (Ed25519), made on first use and kept beside `subject.key`.
struct EvidenceKey {
    static let fileName = "evidence.key"
    let key: Curve25519.Signing.PrivateKey

    static func load(_ vault: Vault) throws -> EvidenceKey {
        let raw = try StoreKeyFile.createOnce(root: vault.root, name: fileName) {
            Array(Curve25519.Signing.PrivateKey().rawRepresentation)
        }
        return EvidenceKey(key: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
    }
}

public struct EvidenceExport: Sendable {
    public let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    /// The store's evidence public key in PEM (officers).
    public func publicKey() throws -> (pem: String, fingerprint: String) {
        try vault.require(Requests.officers, to: "evidence key")
        let key = try EvidenceKey.load(vault).key.publicKey
        return (EvidencePublicKey.pem(key), EvidencePublicKey.fingerprint(key))
    }

    /// The checks `write` makes before writing anything (role, hold), for a request that writes nothing.
    public func check(hold holdID: String) throws {
        try vault.require(Requests.officers, to: "evidence export")
        guard RecordingID.isWellFormed(holdID) else { throw vault.refuseInvalidID(action: "evidence export", what: "hold") }
        guard try vault.catalog.hold(id: holdID) != nil else { throw VaultError(.notFound, "hold \(holdID): no such hold") }
    }

    /// Writes `DIR/callvault-evidence-HOLD-TIME/`. A recording whose bytes fail their check stops the export
    /// (audited, the bag removed), naming it. Memory stays flat: audio is copied a segment at a time.
    public func write(hold holdID: String, into directory: String, progress: (any RunProgress)? = nil) throws -> EvidenceBagSummary {
        try vault.require(Requests.officers, to: "evidence export")
        guard RecordingID.isWellFormed(holdID) else { throw vault.refuseInvalidID(action: "evidence export", what: "hold") }
        guard let (hold, items) = try vault.catalog.hold(id: holdID) else { throw VaultError(.notFound, "hold \(holdID): no such hold") }
        let key = try EvidenceKey.load(vault)
        let now = vault.clock.now()
        // The e-seal is checked before anything is written: a wrong key or an expired certificate leaves no bag.
        let seal = try vault.configuration.seal.map { try Self.sealSigner(certificate: $0.certificate, key: $0.key, at: now) }
        let stamp = Timestamp.utc(now).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw VaultError.failure("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        let name = "callvault-evidence-\(holdID)-\(stamp)"
        let folder = directory + "/" + name
        guard mkdir(folder, 0o700) == 0 else {
            if errno == EEXIST { throw VaultError(.usage, "--to: \(folder) exists already (an export never overwrites)") }
            throw VaultError.failure("cannot create \(folder): \(String(cString: strerror(errno)))")
        }
        do {
            return try fill(StoreFiles(root: folder), folder: folder, hold: hold, items: items, key: key, seal: seal, now: now, progress: progress)
        } catch {
            try? StoreFiles(root: directory).removeTree(name)
            throw error
        }
    }

    func fill(_ out: StoreFiles, folder: String, hold: HoldRow, items: [(recordingID: String, metadataOnly: Bool)],
              key: EvidenceKey, seal: EvidenceSeal.Signer?, now: Date, progress: (any RunProgress)?) throws -> EvidenceBagSummary {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var payload: [(path: String, sha256: String, bytes: Int64)] = []
        func put(_ data: Data, _ path: String) throws {
            try out.makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
            // A new file in a new folder, made durable with the whole bag by one syncfs before the export is
            // audited (an fsync per file would cost more than the copying).
            try out.createFile(data, at: path)
            payload.append((path, Hex.encode(SHA256.hash(data: data)), Int64(data.count)))
        }
        var recordings = 0, metadataOnly = 0
        if let progress {
            // The totals, from the rows alone (one small read each): the display's "of" and time left.
            var bytes: Int64 = 0
            for item in items where !item.metadataOnly {
                if let row = try vault.catalog.recording(id: item.recordingID), row.audioDeletedAt == nil { bytes += row.audioBytes }
            }
            progress.start(files: items.count, bytes: bytes)
        }
        for item in items {
            guard let row = try vault.catalog.recording(id: item.recordingID) else {
                progress?.advance(files: 1, bytes: 0)
                continue
            }
            defer { progress?.advance(files: 1, bytes: row.audioDeletedAt == nil && !item.metadataOnly ? row.audioBytes : 0) }
            let dir = "data/recordings/\(row.id)"
            if row.audioDeletedAt == nil, !item.metadataOnly {
                let ext = URL(fileURLWithPath: row.audioPath).pathExtension
                let path = "\(dir)/audio.\(ext.isEmpty ? "audio" : ext)"
                try out.makeDirectories(dir)
                let (sha, bytes) = try copyVerified(row, to: out.absolute(path))
                payload.append((path, sha, bytes))
                recordings += 1
            } else {
                metadataOnly += 1
            }
            for (name, data) in try nativeDocuments(row) { try put(data, "\(dir)/native/\(name)") }
            try put(try encoder.encode(row), "\(dir)/record.json")
        }
        let custody = try vault.catalog.custodyEvents(targets: [hold.id] + items.map(\.recordingID))
        var lines = Data()
        for e in custody {
            let o: [String: Any] = ["seq": e.seq, "at": e.at, "actor": e.actor, "principal": e.principal ?? NSNull(), "action": e.action,
                                    "target": e.target ?? NSNull(), "details": e.details, "prev_hash": e.prevHash, "hash": e.hash]
            lines += try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
            lines += Data("\n".utf8)
        }
        try put(lines, "data/custody/chain-of-custody.jsonl")
        var holdDoc = try JSONSerialization.jsonObject(with: try encoder.encode(hold)) as? [String: Any] ?? [:]
        holdDoc["recordings"] = items.map { ["recording_id": $0.recordingID, "metadata_only": $0.metadataOnly] as [String: Any] }
        try put(try JSONSerialization.data(withJSONObject: holdDoc, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
                "data/custody/hold.json")
        // The head before this export's own event, which follows with the bag's tag-manifest hash.
        let head = try vault.catalog.auditChainHead()
        let anchor: [String: Any] = ["seq": head?.seq ?? 0, "hash": head?.hash ?? "", "at": Timestamp.utc(now),
                                     "check": "callvault audit verify --expect-head SEQ:HASH"]
        try put(try JSONSerialization.data(withJSONObject: anchor, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
                "data/custody/audit-anchor.json")

        let tsa = vault.configuration.tsaURL
        let warning = "no RFC 3161 time-stamp: [evidence] tsa_url is not set; the bag's time rests on its signature and the audit chain"
        let info = ([
            "Source-Organization: callvault evidence export",
            "Bagging-Date: \(Timestamp.utc(now).prefix(10))",
            "Bagging-Time: \(Timestamp.utc(now))",
            "External-Identifier: hold \(hold.id)",
            "Bag-Software-Agent: callvault",
            "Payload-Oxum: \(BagIt.oxum(bytes: payload.reduce(0) { $0 + $1.bytes }, files: payload.count))",
            "Signature: Ed25519 over tagmanifest-sha256.txt, key fingerprint SHA-256 \(EvidencePublicKey.fingerprint(key.key.publicKey))",
            tsa.map { "Time-Stamp: RFC 3161 over tagmanifest-sha256.txt by \($0), in \(BagIt.timeStamp)" } ?? "Time-Stamp: none (\(warning))",
        ] + (seal.map { ["Seal: CMS (RFC 5652) over tagmanifest-sha256.txt by \(BagIt.tagValue($0.holder)), certificate SHA-256 \($0.fingerprint), in \(EvidenceSeal.path)"] } ?? []))
            .joined(separator: "\n") + "\n"
        let manifest = Data(BagIt.manifestText(payload.map { ($0.path, $0.sha256) }).utf8)
        var tags: [(path: String, sha256: String)] = []
        for (path, data) in [("bagit.txt", Data(BagIt.bagitText.utf8)), ("bag-info.txt", Data(info.utf8)), (BagIt.manifest, manifest)] {
            try out.writeFile(data, at: path)
            tags.append((path, Hex.encode(SHA256.hash(data: data))))
        }
        let tagManifest = Data(BagIt.manifestText(tags).utf8)
        try out.writeFile(tagManifest, at: BagIt.tagManifest)
        try out.makeDirectories("signatures")
        try out.writeFile(try key.key.signature(for: tagManifest), at: BagIt.signature)
        try out.writeFile(Data(EvidencePublicKey.pem(key.key.publicKey).utf8), at: BagIt.signerKey)
        try out.writeFile(Data(EvidenceReadme.text.utf8), at: "signatures/README-verify.txt")
        if let seal { try out.writeFile(try EvidenceSeal.seal(tagManifest, by: seal, at: now), at: EvidenceSeal.path) }
        var stamp: TimeStamp.Token?
        if let tsa {
            do {
                let (response, token) = try TimeStamp.obtain(url: tsa, sha256: Array(SHA256.hash(data: tagManifest)))
                try out.writeFile(Data(response), at: BagIt.timeStamp)
                stamp = token
            } catch let refused as TimeStamp.Refused {
                throw VaultError.failure("evidence export: no time-stamp from \(tsa): \(refused.description); no bag was written")
            }
        }
        try out.syncFileSystem()
        let tagHash = Hex.encode(SHA256.hash(data: tagManifest))
        try vault.catalog.appendAudit([vault.event(.evidenceExported, target: hold.id, details: [
            "recordings": String(recordings), "metadata_only": String(metadataOnly), "tagmanifest_sha256": tagHash, "time_stamp": stamp?.genTime ?? "none",
            "seal": seal?.fingerprint ?? "none",
        ])])
        return EvidenceBagSummary(folder: folder, recordings: recordings, metadataOnly: metadataOnly, tagManifestSHA256: tagHash,
                                  timeStamp: stamp?.genTime, sealedBy: seal?.holder, warnings: stamp == nil ? [warning] : [])
    }

    /// The configured e-seal, read now (a renewed certificate needs no restart). The key file must be the
    /// vault user's alone, as ssh asks of its keys: a seal anyone on the host can read seals nothing.
    static func sealSigner(certificate: String, key: String, at now: Date) throws -> EvidenceSeal.Signer {
        func read(_ path: String, _ setting: String) throws -> String {
            let key = setting == "seal_key"
            return String(decoding: try PrivateFile.read(path, setting: "evidence." + setting, kind: .vaultFailure, secret: key, ownedByVaultUser: key), as: UTF8.self)
        }
        do {
            return try EvidenceSeal.signer(certificatePEM: try read(certificate, "seal_certificate"), keyPEM: try read(key, "seal_key"), at: now)
        } catch let unusable as EvidenceSeal.Unusable {
            throw VaultError.failure("\(unusable.description); no bag was written")
        }
    }

    /// Copies a stored recording's bytes through `VerifiedAudio` (every segment checked) into `path`, hashing
    /// what is written; the whole must be the ingest SHA-256. A failed check is audited and names the recording.
    func copyVerified(_ row: RecordingRow, to path: String) throws -> (sha256: String, bytes: Int64) {
        let audio = try Playback(vault: vault).openVerifiedAudio(row, action: "evidence export")
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw VaultError.failure("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var hasher = SHA256()
        var at: Int64 = 0
        do {
            while at < audio.size {
                let piece = try audio.read(offset: at, count: Int(min(Int64(SegmentDigests.segmentBytes), audio.size - at)))
                hasher.update(data: piece)
                let written = piece.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                guard written == piece.count else { throw VaultError.failure("cannot write \(path): \(String(cString: strerror(errno)))") }
                at += Int64(piece.count)
            }
        } catch let altered as AudioAltered {
            throw refuse(row, segment: altered.segment.map(String.init) ?? "whole file")
        }
        let sha = Hex.encode(hasher.finalize())
        guard sha == row.sha256 else { throw refuse(row, segment: "whole file") }
        return (sha, at)
    }

    /// The recorder's documents kept with the call, verbatim. The sidecar must be the one ingest checked (its
    /// SHA-256 is in the row); one that differs stops the export like altered audio. Names are the store's own.
    func nativeDocuments(_ row: RecordingRow) throws -> [(name: String, data: Data)] {
        let folder = Placement.nativeFolder(forAudioPath: row.audioPath)
        guard vault.files.isDirectory(folder) else {
            if vault.files.exists(folder) { throw refuse(row, segment: "native (not a folder)") }
            return []
        }
        var out: [(String, Data)] = []
        for name in vault.files.list(folder).sorted() {
            guard let data = try vault.files.readSmallFile(folder + "/" + name, limit: 1 << 24) else { continue }
            if name == Placement.sidecarDocument, let expected = row.sidecarSHA256, Hex.encode(SHA256.hash(data: data)) != expected {
                throw refuse(row, segment: "native/\(name)")
            }
            out.append((name, data))
        }
        return out
    }

    func refuse(_ row: RecordingRow, segment: String) -> VaultError {
        try? vault.catalog.appendAudit([vault.event(.recordingExportRefused, target: row.id, details: [
            "mismatch": "sha256", "action": "evidence export", "segment": segment])])
        return VaultError.failure("evidence export: recording \(row.id) is not what was checked at ingest (it was altered); no bag was written. Run `callvault fixity`")
    }
}

/// signatures/README-verify.txt: how a recipient checks the bag with standard tools, in nl, fr and en.
enum EvidenceReadme {
    static let text = """
        HOW TO VERIFY THIS BAG (English)
        1. The files: `bagit.py --validate FOLDER` (Library of Congress bagit-python) or `callvault evidence verify FOLDER`.
        2. The signature of tagmanifest-sha256.txt (Ed25519, 64 raw bytes):
           openssl pkeyutl -verify -pubin -inkey signatures/signer.pub -rawin -in tagmanifest-sha256.txt -sigfile signatures/tagmanifest-sha256.txt.sig
        3. The key: compare the fingerprint in bag-info.txt with the one the vault's operator gives you
           (`callvault evidence key`), or run `callvault evidence verify FOLDER --key THEIR-KEY.pem`.
        4. The audit chain: data/custody/audit-anchor.json holds the chain's head at export; the operator can run
           `callvault audit verify --expect-head SEQ:HASH`.
        5. The time-stamp, if there is one (signatures/tagmanifest-sha256.txt.tsr), with the authority's CA certificate:
           openssl ts -verify -in signatures/tagmanifest-sha256.txt.tsr -data tagmanifest-sha256.txt -CAfile TSA-CA.pem
        6. The organisation's e-seal, if there is one (signatures/tagmanifest-sha256.txt.p7s, CMS), with its CA certificate:
           openssl cms -verify -binary -inform DER -in signatures/tagmanifest-sha256.txt.p7s -content tagmanifest-sha256.txt -CAfile SEAL-CA.pem -purpose any -out /dev/null
           or `callvault evidence verify FOLDER --seal-ca SEAL-CA.pem`. The data/recordings/ID/native/ files are the recorder's own
           documents about each call, verbatim.

        DEZE BAG CONTROLEREN (Nederlands)
        1. De bestanden: `bagit.py --validate MAP` (bagit-python van de Library of Congress) of `callvault evidence verify MAP`.
        2. De handtekening van tagmanifest-sha256.txt (Ed25519, 64 bytes):
           openssl pkeyutl -verify -pubin -inkey signatures/signer.pub -rawin -in tagmanifest-sha256.txt -sigfile signatures/tagmanifest-sha256.txt.sig
        3. De sleutel: vergelijk de vingerafdruk in bag-info.txt met die welke de beheerder van de kluis u geeft
           (`callvault evidence key`), of voer `callvault evidence verify MAP --key HUN-SLEUTEL.pem` uit.
        4. De auditketen: data/custody/audit-anchor.json bevat het einde van de keten bij de export; de beheerder kan
           `callvault audit verify --expect-head SEQ:HASH` uitvoeren.
        5. Het tijdstempel, als er een is (signatures/tagmanifest-sha256.txt.tsr), met het CA-certificaat van de uitgever:
           openssl ts -verify -in signatures/tagmanifest-sha256.txt.tsr -data tagmanifest-sha256.txt -CAfile TSA-CA.pem
        6. Het e-zegel van de organisatie, als er een is (signatures/tagmanifest-sha256.txt.p7s, CMS), met het CA-certificaat ervan:
           openssl cms -verify -binary -inform DER -in signatures/tagmanifest-sha256.txt.p7s -content tagmanifest-sha256.txt -CAfile ZEGEL-CA.pem -purpose any -out /dev/null
           of `callvault evidence verify MAP --seal-ca ZEGEL-CA.pem`. De bestanden in data/recordings/ID/native/ zijn de eigen
           documenten van de opnemer over elk gesprek, ongewijzigd.

        VÉRIFIER CE SAC (français)
        1. Les fichiers : `bagit.py --validate DOSSIER` (bagit-python de la Library of Congress) ou `callvault evidence verify DOSSIER`.
        2. La signature de tagmanifest-sha256.txt (Ed25519, 64 octets) :
           openssl pkeyutl -verify -pubin -inkey signatures/signer.pub -rawin -in tagmanifest-sha256.txt -sigfile signatures/tagmanifest-sha256.txt.sig
        3. La clé : comparez l'empreinte de bag-info.txt avec celle que l'exploitant du coffre vous donne
           (`callvault evidence key`), ou lancez `callvault evidence verify DOSSIER --key SA-CLE.pem`.
        4. La chaîne d'audit : data/custody/audit-anchor.json contient la tête de la chaîne à l'export ; l'exploitant
           peut lancer `callvault audit verify --expect-head SEQ:HASH`.
        5. L'horodatage, s'il y en a un (signatures/tagmanifest-sha256.txt.tsr), avec le certificat de l'autorité :
           openssl ts -verify -in signatures/tagmanifest-sha256.txt.tsr -data tagmanifest-sha256.txt -CAfile TSA-CA.pem
        6. Le cachet électronique de l'organisation, s'il y en a un (signatures/tagmanifest-sha256.txt.p7s, CMS), avec le certificat de son AC :
           openssl cms -verify -binary -inform DER -in signatures/tagmanifest-sha256.txt.p7s -content tagmanifest-sha256.txt -CAfile CACHET-AC.pem -purpose any -out /dev/null
           ou `callvault evidence verify DOSSIER --seal-ca CACHET-AC.pem`. Les fichiers de data/recordings/ID/native/ sont les documents
           de l'enregistreur sur chaque appel, tels quels.

        """
}
