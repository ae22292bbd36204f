// `callvault evidence export|key|verify` (issue 21 §2): a hold's calls as one signed BagIt bag that proves
// itself, checked by our verifier, by openssl and by the Library of Congress's bagit-python.
import CallVaultStore
import CallVaultTesting
import Foundation
import Testing

extension RequestCLITests {
    /// Holds the subject's three acme calls and exports the hold; returns the bag's folder and the hold.
    func evidenceBag(_ box: Sandbox) throws -> (folder: String, hold: String) {
        let hold = try ok(box, ["hold", "place", "--kind", "legal", "--case", "CASE-1", "--tenant", "acme-energy", "--caller", Self.subject])
        let id = try #require(hold["hold_id"] as? String)
        let r = try box.run(["--as", "dpo", "evidence", "export", id, "--to", box.dir + "/bags", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return (try #require(try r.json()["folder"] as? String), id)
    }

    func run(_ tool: String, _ args: [String], in dir: String? = nil) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        if let dir { p.currentDirectoryURL = URL(fileURLWithPath: dir) }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }

    @Test func anEvidenceBagHoldsTheCallsAsCheckedAndVerifiesWithStandardTools() throws {
        let box = try populated()
        let (folder, hold) = try evidenceBag(box)
        let ids = try box.recordingIDs()
        let files = box.files(under: folder)
        for call in ["S1", "S2", "S4"] {
            let id = ids[call]!
            #expect(files.contains("data/recordings/\(id)/record.json"))
            let audio = try #require(files.first { $0.hasPrefix("data/recordings/\(id)/audio.") })
            let path = try box.catalog().read { db in try String.fetchOne(db, sql: "SELECT audio_path FROM recordings WHERE id = ?", arguments: [id]) }!
            #expect(FileManager.default.contents(atPath: folder + "/" + audio) == FileManager.default.contents(atPath: box.store + "/" + path),
                    "the original bytes")
            // The sidecar as the recorder wrote it, verbatim: the bytes whose SHA-256 ingest recorded.
            let native = try #require(FileManager.default.contents(atPath: folder + "/data/recordings/\(id)/native/sidecar.json"))
            let recorded = try box.catalog().read { db in try String.fetchOne(db, sql: "SELECT sidecar_sha256 FROM recordings WHERE id = ?", arguments: [id]) }
            #expect(try run("sha256sum", [folder + "/data/recordings/\(id)/native/sidecar.json"]).output.hasPrefix(recorded ?? "-"))
            #expect(native == FileManager.default.contents(atPath: box.store + "/" + Placement.nativeFolder(forAudioPath: path) + "/sidecar.json"))
        }
        #expect(!files.contains { $0.contains(ids["O1"]!) || $0.contains(ids["S3"]!) }, "nothing outside the hold")
        for f in ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "data/custody/chain-of-custody.jsonl",
                  "data/custody/hold.json", "data/custody/audit-anchor.json", "signatures/tagmanifest-sha256.txt.sig",
                  "signatures/signer.pub", "signatures/README-verify.txt"] {
            #expect(files.contains(f), "\(f)")
        }
        let custody = try String(contentsOfFile: folder + "/data/custody/chain-of-custody.jsonl", encoding: .utf8)
        #expect(custody.contains("\"hold.placed\""), "the hold's own events are in the chain of custody")
        #expect(!custody.contains(Self.subject), "the audit never holds a number")
        let info = try String(contentsOfFile: folder + "/bag-info.txt", encoding: .utf8)
        #expect(info.contains("Time-Stamp: none"), "the missing time-stamp is said in the bag")
        // Ours, openssl's, and bagit-python's verdicts.
        let verified = try box.run(["evidence", "verify", folder])
        #expect(verified.status == 0 && verified.stdout.contains("bag ok"), "\(verified.stdout)")
        let openssl = try run("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", "signatures/signer.pub", "-rawin",
                                          "-in", "tagmanifest-sha256.txt", "-sigfile", "signatures/tagmanifest-sha256.txt.sig"], in: folder)
        #expect(openssl.status == 0 && openssl.output.contains("Signature Verified Successfully"), "\(openssl.output)")
        let haveBagit = try run("python3", ["-c", "import bagit"]).status == 0
        if ProcessInfo.processInfo.environment["CALLVAULT_REQUIRE_BAGIT"] == "1" || haveBagit {
            let bagit = try run("python3", ["-m", "bagit", "--validate", folder])
            #expect(bagit.status == 0 && bagit.output.contains("is valid"), "\(bagit.output)")
        }
        // The key the store prints is the one that signed; the export is audited with the tag manifest's hash.
        let key = try box.run(["--as", "dpo", "evidence", "key"])
        let signer = try String(contentsOfFile: folder + "/signatures/signer.pub", encoding: .utf8)
        #expect(key.status == 0 && key.stdout.trimmingCharacters(in: .newlines) == signer.trimmingCharacters(in: .newlines))
        try key.stdout.write(toFile: box.dir + "/store.pem", atomically: true, encoding: .utf8)
        #expect(try box.run(["evidence", "verify", folder, "--key", box.dir + "/store.pem"]).status == 0)
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'evidence.exported' AND target = '\(hold)'") == 1)
    }

    /// One flipped bit anywhere is caught, and the verifier names the file.
    @Test(arguments: ["audio", "data/custody/hold.json", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt",
                      "signatures/tagmanifest-sha256.txt.sig", "extra", "symlink", "symlinked folder"])
    func oneFlippedBitIsNamedByVerify(target: String) throws {
        let box = try populated()
        let (folder, _) = try evidenceBag(box)
        let file = target == "audio" ? try #require(box.files(under: folder).first { $0.contains("/audio.") }) : target
        if target == "extra" {
            try Data("added".utf8).write(to: URL(fileURLWithPath: folder + "/data/custody/added.txt"))
        } else if target == "symlinked folder" {
            // A folder of the bag replaced by a link to a copy elsewhere: every file in it is named, none read.
            try FileManager.default.moveItem(atPath: folder + "/data/custody", toPath: box.dir + "/custody-elsewhere")
            try FileManager.default.createSymbolicLink(atPath: folder + "/data/custody", withDestinationPath: box.dir + "/custody-elsewhere")
        } else if target == "symlink" {
            // A file of the bag replaced by a link to something else of the recipient's: named, never read.
            try FileManager.default.removeItem(atPath: folder + "/data/custody/hold.json")
            try FileManager.default.createSymbolicLink(atPath: folder + "/data/custody/hold.json", withDestinationPath: "/etc/hostname")
        } else {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))
            bytes[bytes.count / 2] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: folder + "/" + file))
        }
        let r = try box.run(["evidence", "verify", folder])
        #expect(r.status == 1, "\(r.stdout)")
        let named = target == "extra" ? "data/custody/added.txt" : target == "symlink" || target == "symlinked folder" ? "data/custody/hold.json" : file
        #expect(r.stdout.contains("DIFFERS: ") && r.stdout.contains(named), "\(r.stdout)")
    }

    /// On a terminal the export shows its progress (calls and bytes of the hold's total), erased before the
    /// summary; with --json or into a pipe, nothing of it.
    @Test func anEvidenceExportShowsProgressOnATerminalOnly() throws {
        let box = try populated()
        let hold = try ok(box, ["hold", "place", "--kind", "legal", "--case", "CASE-5", "--tenant", "acme-energy", "--caller", Self.subject])["hold_id"] as! String
        let tty = try onTerminal(box, ["--as", "dpo", "evidence", "export", hold, "--to", box.dir + "/bags"])
        #expect(tty.status == 0, "\(tty.output)")
        #expect(tty.output.contains("evidence export: ") && tty.output.contains("/3 files"), "\(tty.output)")
        let erase = tty.output.range(of: "\r\u{1B}[K", options: .backwards)
        let summary = tty.output.range(of: "wrote ")
        #expect(erase != nil && summary != nil && erase!.upperBound <= summary!.lowerBound)
        let json = try onTerminal(box, ["--as", "dpo", "evidence", "export", hold, "--to", box.dir + "/bags2", "--json"])
        #expect(json.status == 0 && !json.output.contains("files,"), "\(json.output)")
        let piped = try box.run(["--as", "dpo", "evidence", "export", hold, "--to", box.dir + "/bags3"])
        #expect(piped.status == 0 && !piped.stderr.contains("files,"), "\(piped.stderr)")
    }

    /// A held call altered since ingest is not put in a bag: the export fails naming it, leaves no bag, and the
    /// refusal is audited. Coaches cannot export evidence.
    @Test func anAlteredCallStopsTheEvidenceExport() throws {
        let box = try populated()
        let s2 = try #require(try box.recordingIDs()["S2"])
        let path = try box.catalog().read { db in try String.fetchOne(db, sql: "SELECT audio_path FROM recordings WHERE id = ?", arguments: [s2]) }!
        var bytes = try Data(contentsOf: URL(fileURLWithPath: box.store + "/" + path))
        bytes[bytes.count - 3] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: box.store + "/" + path))
        let hold = try ok(box, ["hold", "place", "--kind", "legal", "--case", "CASE-2", "--tenant", "acme-energy", "--caller", Self.subject])["hold_id"] as! String
        let r = try box.run(["--as", "dpo", "evidence", "export", hold, "--to", box.dir + "/bags"])
        #expect(r.status == 1 && r.stderr.contains(s2), "\(r.stderr)")
        #expect(box.files(under: box.dir + "/bags").isEmpty, "no bag")
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'recording.export_refused' AND target = '\(s2)'") == 1)
        #expect(try box.run(["--as", "coach-an", "evidence", "export", hold, "--to", box.dir + "/bags"]).status == 3)
    }

    /// The recorder's document kept with a call is evidence too: one changed since ingest stops the export.
    @Test func anAlteredSidecarStopsTheEvidenceExport() throws {
        let box = try populated()
        let s4 = try #require(try box.recordingIDs()["S4"])
        let path = try box.catalog().read { db in try String.fetchOne(db, sql: "SELECT audio_path FROM recordings WHERE id = ?", arguments: [s4]) }!
        let native = box.store + "/" + Placement.nativeFolder(forAudioPath: path) + "/sidecar.json"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: native))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: native))
        let hold = try ok(box, ["hold", "place", "--kind", "legal", "--case", "CASE-3", "--tenant", "acme-energy", "--caller", Self.subject])["hold_id"] as! String
        let r = try box.run(["--as", "dpo", "evidence", "export", hold, "--to", box.dir + "/bags"])
        #expect(r.status == 1 && r.stderr.contains(s4), "\(r.stderr)")
        #expect(box.files(under: box.dir + "/bags").isEmpty, "no bag")
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'recording.export_refused' AND target = '\(s4)' AND details LIKE '%native/sidecar.json%'") == 1)
    }

    /// A throwaway RFC 3161 authority: its own CA and TSA certificate, `openssl ts -reply` behind
    /// scripts/test-tsa.py. Returns its folder, its URL and the server process.
    func localTSA(_ box: Sandbox) throws -> (dir: String, url: String, server: Process) {
        let dir = box.dir + "/tsa"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "extendedKeyUsage = critical,timeStamping\nbasicConstraints = CA:false\nkeyUsage = critical,digitalSignature\n"
            .write(toFile: dir + "/ext.cnf", atomically: true, encoding: .utf8)
        try """
            [ tsa ]
            default_tsa = local
            [ local ]
            dir = \(dir)
            serial = $dir/serial
            crypto_device = builtin
            signer_cert = $dir/tsa.pem
            certs = $dir/ca.pem
            signer_key = $dir/tsa.key
            signer_digest = sha256
            default_policy = 1.2.3.4.1
            digests = sha256
            accuracy = secs:1
            ordering = no
            tsa_name = no
            ess_cert_id_chain = no
            ess_cert_id_alg = sha256

            """.write(toFile: dir + "/tsa.cnf", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: dir + "/serial", atomically: true, encoding: .utf8)
        for args in [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-subj", "/CN=callvault test TSA CA", "-days", "2", "-addext", "basicConstraints=critical,CA:true",
             "-addext", "keyUsage=critical,keyCertSign"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
             "-subj", "/CN=callvault test TSA"],
            ["x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.pem", "-days", "2",
             "-extfile", "ext.cnf"],
        ] {
            let r = try run("openssl", args, in: dir)
            #expect(r.status == 0, "openssl \(args[0]): \(r.output)")
        }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", Sandbox.packageRoot + "/scripts/test-tsa.py", dir]
        let pipe = Pipe()
        server.standardOutput = pipe
        // Not the test runner's own stderr: a server left running must not hold the runner's output open.
        server.standardError = FileHandle.nullDevice
        try server.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let b = pipe.fileHandleForReading.readData(ofLength: 1)
            if b.isEmpty { break }
            line += b
        }
        let port = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (dir, "http://127.0.0.1:\(port)/", server)
    }

    func setTSA(_ box: Sandbox, _ url: String) throws {
        try setEvidence(box, "tsa_url = \"\(url)\"\n")
    }

    /// Replaces the store configuration's `[evidence]` table (the last table of the file) with `lines`.
    func setEvidence(_ box: Sandbox, _ lines: String) throws {
        let path = box.store + "/callvault.toml"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        if let r = text.range(of: "\n[evidence]") { text = String(text[..<r.lowerBound]) }
        try (text + "\n[evidence]\n" + lines).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// An organisation's e-seal as a trust service provider would issue it: a CA, and a seal certificate
    /// (digitalSignature, nonRepudiation) for an organisation, with an EC or an RSA key. Returns the paths.
    func sealCertificate(_ box: Sandbox, key: String) throws -> (cert: String, key: String, ca: String, otherCA: String) {
        let dir = box.dir + "/seal-" + key
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "basicConstraints = CA:false\nkeyUsage = critical,digitalSignature,nonRepudiation\n"
            .write(toFile: dir + "/ext.cnf", atomically: true, encoding: .utf8)
        // Valid well past today: the suite also runs as if today were 400 days ahead (CALLVAULT_TEST_SHIFT_DAYS),
        // and the export checks the seal certificate against the vault's clock.
        let newKey = key == "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        for args in [
            ["req", "-x509"] + newKey + ["-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=callvault test seal CA", "-days", "800",
                                         "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign"],
            ["req", "-x509"] + newKey + ["-nodes", "-keyout", "other.key", "-out", "other.pem", "-subj", "/CN=someone else's CA", "-days", "800",
                                         "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign"],
            ["req"] + newKey + ["-nodes", "-keyout", "seal.key", "-out", "seal.csr", "-subj", "/C=BE/O=Acme Contact NV/CN=Acme Contact e-seal"],
            ["x509", "-req", "-in", "seal.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "seal.pem", "-days", "800",
             "-extfile", "ext.cnf"],
        ] {
            let r = try run("openssl", args, in: dir)
            #expect(r.status == 0, "openssl \(args[0]): \(r.output)")
        }
        chmod(dir + "/seal.key", 0o600)
        chmod(dir + "/ca.key", 0o600)
        return (dir + "/seal.pem", dir + "/seal.key", dir + "/ca.pem", dir + "/other.pem")
    }

    /// With `[evidence] seal_certificate` and `seal_key`, the tag manifest is also sealed in CMS: openssl
    /// verifies the seal against the holder's CA, `evidence verify --seal-ca` too, and a seal that chains to
    /// another CA, or is changed, is named.
    @Test(arguments: ["ec", "rsa"])
    func aSealedBagVerifiesWithOpensslCMS(key: String) throws {
        let box = try populated()
        let seal = try sealCertificate(box, key: key)
        try setEvidence(box, "seal_certificate = \"\(seal.cert)\"\nseal_key = \"\(seal.key)\"\n")
        let (folder, hold) = try evidenceBag(box)
        #expect(FileManager.default.fileExists(atPath: folder + "/signatures/tagmanifest-sha256.txt.p7s"))
        #expect(try String(contentsOfFile: folder + "/bag-info.txt", encoding: .utf8).contains("Seal: CMS (RFC 5652) over tagmanifest-sha256.txt by "))
        let openssl = try run("openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", "signatures/tagmanifest-sha256.txt.p7s",
                                          "-content", "tagmanifest-sha256.txt", "-CAfile", seal.ca, "-purpose", "any", "-out", "/dev/null"], in: folder)
        #expect(openssl.status == 0 && openssl.output.contains("Verification successful"), "\(openssl.output)")
        let ours = try box.run(["evidence", "verify", "--json", "--seal-ca", seal.ca, folder])
        #expect(ours.status == 0, "\(ours.stdout)")
        #expect((try ours.json()["sealed_by"] as? String)?.contains("Acme Contact e-seal") == true, "\(ours.stdout)")
        // Without a CA the seal's signature is still checked, and the output says the chain was not.
        let plain = try box.run(["evidence", "verify", folder])
        #expect(plain.status == 0 && plain.stdout.contains("sealed by") && plain.stdout.contains("not checked"), "\(plain.stdout)")
        // Another CA: named.
        let other = try box.run(["evidence", "verify", "--seal-ca", seal.otherCA, folder])
        #expect(other.status == 1 && other.stdout.contains("tagmanifest-sha256.txt.p7s"), "\(other.stdout)")
        #expect(try box.count("SELECT count(*) FROM audit_events WHERE action = 'evidence.exported' AND target = '\(hold)' AND details NOT LIKE '%\"seal\":\"none\"%'") == 1)
        // The seal of another bag of the same hold does not seal this one's tag manifest.
        let second = try ok(box, ["evidence", "export", hold, "--to", box.dir + "/bags2"])["folder"] as! String
        try FileManager.default.removeItem(atPath: folder + "/signatures/tagmanifest-sha256.txt.p7s")
        try FileManager.default.copyItem(atPath: second + "/signatures/tagmanifest-sha256.txt.p7s", toPath: folder + "/signatures/tagmanifest-sha256.txt.p7s")
        let swapped = try box.run(["evidence", "verify", "--seal-ca", seal.ca, folder])
        #expect(swapped.status == 1 && swapped.stdout.contains("tagmanifest-sha256.txt.p7s"), "\(swapped.stdout)")
        // A seal over this very tag manifest, by another certificate of the same CA (someone else the CA
        // certified): valid CMS, but not the seal bag-info.txt names.
        let dir = (seal.cert as NSString).deletingLastPathComponent
        for args in [["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "mallory.key", "-out", "mallory.csr", "-subj", "/O=Mallory BV/CN=Acme Contact e-seal"],
                     ["x509", "-req", "-in", "mallory.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "mallory.pem", "-days", "800", "-extfile", "ext.cnf"],
                     ["cms", "-sign", "-binary", "-in", folder + "/tagmanifest-sha256.txt", "-signer", "mallory.pem", "-inkey", "mallory.key",
                      "-outform", "DER", "-out", dir + "/mallory.p7s"]] {
            let r = try run("openssl", args, in: dir)
            #expect(r.status == 0, "openssl \(args[0]): \(r.output)")
        }
        try FileManager.default.removeItem(atPath: folder + "/signatures/tagmanifest-sha256.txt.p7s")
        try FileManager.default.copyItem(atPath: dir + "/mallory.p7s", toPath: folder + "/signatures/tagmanifest-sha256.txt.p7s")
        let mallory = try box.run(["evidence", "verify", "--seal-ca", seal.ca, folder])
        #expect(mallory.status == 1 && mallory.stdout.contains("another certificate"), "\(mallory.stdout)")
        // A valid seal (the holder's own certificate) added afterwards to a bag exported unsealed: undeclared.
        // (EC only: openssl's RSA CMS names rsaEncryption as the signature algorithm, which swift-certificates
        // does not take; callvault's own RSA seals name sha256WithRSAEncryption.)
        guard key == "ec" else { return }
        try setEvidence(box, "")
        let unsealed = try ok(box, ["evidence", "export", hold, "--to", box.dir + "/bags3"])["folder"] as! String
        let late = try run("openssl", ["cms", "-sign", "-binary", "-in", unsealed + "/tagmanifest-sha256.txt", "-signer", seal.cert, "-inkey", seal.key,
                                       "-outform", "DER", "-out", unsealed + "/signatures/tagmanifest-sha256.txt.p7s"])
        #expect(late.status == 0, "\(late.output)")
        let added = try box.run(["evidence", "verify", unsealed])
        #expect(added.status == 1 && added.stdout.contains("does not declare"), "\(added.stdout)")
        // A bag without its seal, asked for one: named.
        try FileManager.default.removeItem(atPath: folder + "/signatures/tagmanifest-sha256.txt.p7s")
        let removed = try box.run(["evidence", "verify", "--seal-ca", seal.ca, folder])
        #expect(removed.status == 1 && removed.stdout.contains("tagmanifest-sha256.txt.p7s"), "\(removed.stdout)")
    }

    /// A seal that cannot seal — another key than the certificate's, a key others can read, half a
    /// configuration — stops the export before anything is written, saying which setting.
    @Test(arguments: ["another key", "readable key", "half"])
    func aSealThatCannotSealLeavesNoBag(problem: String) throws {
        let box = try populated()
        let seal = try sealCertificate(box, key: "ec")
        let keyPath = problem == "another key" ? seal.cert.replacingOccurrences(of: "seal.pem", with: "ca.key") : seal.key
        if problem == "readable key" { chmod(seal.key, 0o644) }
        let hold = try ok(box, ["hold", "place", "--kind", "legal", "--case", "CASE-4", "--tenant", "acme-energy", "--caller", Self.subject])["hold_id"] as! String
        try setEvidence(box, "seal_certificate = \"\(seal.cert)\"\n" + (problem == "half" ? "" : "seal_key = \"\(keyPath)\"\n"))
        let r = try box.run(["--as", "dpo", "evidence", "export", hold, "--to", box.dir + "/bags"])
        let said = ["another key": "is not the key of the certificate", "readable key": "readable by the vault user only", "half": "evidence.seal_key"][problem]!
        #expect(r.status == (problem == "half" ? 2 : 1) && r.stderr.contains(said), "\(r.stderr)")
        #expect(box.files(under: box.dir + "/bags").isEmpty, "no bag")
    }

    /// With `[evidence] tsa_url`, the bag's tag manifest is time-stamped: openssl verifies the token against the
    /// authority's CA, `evidence verify` checks its imprint, and another bag's token is named as not this one's.
    /// An authority that cannot be reached stops the export, leaving no bag.
    @Test func aTimeStampedBagVerifiesWithOpensslAndAnotherBagsTokenIsCaught() throws {
        let box = try populated()
        let tsa = try localTSA(box)
        // SIGKILL: the runner's children may inherit SIGTERM ignored.
        defer { kill(tsa.server.processIdentifier, SIGKILL) }
        try setTSA(box, tsa.url)
        let (folder, hold) = try evidenceBag(box)
        #expect(FileManager.default.fileExists(atPath: folder + "/signatures/tagmanifest-sha256.txt.tsr"))
        #expect(try String(contentsOfFile: folder + "/bag-info.txt", encoding: .utf8).contains("Time-Stamp: RFC 3161"))
        let openssl = try run("openssl", ["ts", "-verify", "-in", "signatures/tagmanifest-sha256.txt.tsr", "-data", "tagmanifest-sha256.txt",
                                          "-CAfile", tsa.dir + "/ca.pem", "-untrusted", tsa.dir + "/tsa.pem"], in: folder)
        #expect(openssl.status == 0 && openssl.output.contains("Verification: OK"), "\(openssl.output)")
        let verified = try box.run(["evidence", "verify", "--json", folder])
        let stampedAt = try verified.json()["time_stamp"] as? String
        #expect(verified.status == 0 && stampedAt?.hasSuffix("Z") == true, "\(verified.stdout)")

        // A second bag of the same hold: its token is for its own tag manifest, not the first bag's.
        let second = try ok(box, ["evidence", "export", hold, "--to", box.dir + "/bags2"])["folder"] as! String
        try FileManager.default.removeItem(atPath: folder + "/signatures/tagmanifest-sha256.txt.tsr")
        try FileManager.default.copyItem(atPath: second + "/signatures/tagmanifest-sha256.txt.tsr", toPath: folder + "/signatures/tagmanifest-sha256.txt.tsr")
        let swapped = try box.run(["evidence", "verify", folder])
        #expect(swapped.status == 1 && swapped.stdout.contains("tagmanifest-sha256.txt.tsr") && swapped.stdout.contains("imprint"), "\(swapped.stdout)")

        // The authority gone: no bag, a reason.
        kill(tsa.server.processIdentifier, SIGKILL)
        tsa.server.waitUntilExit()
        let down = try box.run(["--as", "dpo", "evidence", "export", hold, "--to", box.dir + "/bags3"])
        #expect(down.status == 1 && down.stderr.contains("no time-stamp"), "\(down.stderr)")
        #expect(box.files(under: box.dir + "/bags3").isEmpty)
    }

    /// A time-stamping authority is an http(s) URL; anything else is refused at start, naming the key.
    @Test(arguments: ["ftp://tsa.example/", "tsa.example", "https://"])
    func aTSAURLThatIsNotHTTPIsRefused(url: String) throws {
        let box = try populated()
        try setTSA(box, url)
        let r = try box.run(["--as", "dpo", "list"])
        #expect(r.status == 2 && r.stderr.contains("evidence.tsa_url"), "\(r.stderr)")
    }
}
