// libsndfile probing over real files: formats by content, and every way a file can be broken.
import CallVaultAudio
import CallVaultCore
import CallVaultTesting
import Foundation
import Testing

let fixtureInbox: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path + "/fixtures/inbox"
}()

func probe(_ data: Data) -> Result<AudioFacts, Rejection> {
    let path = NSTemporaryDirectory() + "probe-" + UUID().uuidString
    _ = FileManager.default.createFile(atPath: path, contents: data)
    defer { unlink(path) }
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    return AudioProbe.probe(fd: fd, fileSize: Int64(data.count))
}

func fixture(_ name: String) -> Data { FileManager.default.contents(atPath: fixtureInbox + "/" + name)! }

@Suite struct AudioProbeTests {
    @Test(arguments: [
        ("acme-energy/call-0001.wav", "wav/ulaw", 1), ("acme-energy/call-0002.wav", "wav/alaw", 1),
        ("acme-energy/call-0003.wav", "wav/pcm16", 1), ("telco-be/call-1001.wav", "wav/pcm16", 2),
        ("telco-be/call-1002.flac", "flac/pcm16", 1),
    ])
    func readsThePBXFormats(name: String, format: String, channels: Int) throws {
        let facts = try probe(fixture(name)).get()
        #expect(facts.format == format)
        #expect(facts.channels == channels)
        #expect(facts.sampleRate == 8000)
        #expect(facts.durationSeconds > 5)
    }

    @Test func formatIsDecidedByContentNotExtension() throws {
        // The same FLAC bytes under any name are FLAC.
        #expect(try probe(fixture("telco-be/call-1002.flac")).get().container == "flac")
    }

    @Test func brokenFilesAreClassified() {
        func reason(_ d: Data) -> String? { if case .failure(let r) = probe(d) { return r.reason.rawValue }; return nil }
        let wav = fixture("acme-energy/call-0001.wav")
        let flac = fixture("telco-be/call-1002.flac")
        #expect(reason(Data()) == "audio_unreadable")
        #expect(reason(Data("hello".utf8)) == "audio_unreadable")
        #expect(reason(wav.prefix(30)) == "audio_unreadable")
        #expect(reason(wav.prefix(wav.count / 2)) == "audio_truncated")
        #expect(reason(flac.prefix(flac.count / 2)) == "audio_truncated")
        #expect(reason(fixture("acme-energy/bad-audio-empty.wav")) == "audio_empty")
        // A recorder that died before writing the data size: header says 0, audio follows.
        var unfinished = wav
        if let r = unfinished.range(of: Data("data".utf8)) {
            unfinished.replaceSubrange(r.upperBound..<(r.upperBound + 4), with: Data([0, 0, 0, 0]))
        }
        #expect(reason(unfinished) == "audio_truncated")
        #expect(reason(wav) == nil)
    }

    @Test(arguments: [("call.opus", "ogg/opus"), ("call.ogg", "ogg/vorbis"), ("call.mp3", "mp3/mp3"), ("call-gsm.wav", "wav/gsm610")])
    func otherContainersReadWholeAndCutAreTruncated(name: String, format: String) throws {
        let data = FileManager.default.contents(atPath: fixtureInbox + "/../formats/" + name)!
        let facts = try probe(data).get()
        #expect(facts.format == format)
        #expect(abs(facts.durationSeconds - 9.3) < 0.2)
        guard case .failure(let r) = probe(data.prefix(data.count / 2)) else {
            Issue.record("\(name) cut in half was accepted"); return
        }
        #expect(r.reason == .audioTruncated)
    }

    @Test func digestMatchesTheBytes() throws {
        let path = fixtureInbox + "/acme-energy/call-0001.wav"
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let d = try FileDigest.sha256(fd: fd)
        #expect(d.bytes == Int64(fixture("acme-energy/call-0001.wav").count))
        #expect(d.hex.count == 64)
        let other = open(fixtureInbox + "/acme-energy/call-0002.wav", O_RDONLY)
        defer { close(other) }
        #expect(try FileDigest.sha256(fd: other).hex != d.hex)
    }
}

/// Hostile headers: each container's promise is checked against the bytes it holds (issue 9, item 17).
@Suite struct HostileHeaderTests {
    static let pcm16 = fixture("acme-energy/call-0003.wav")

    /// The samples (16-bit little-endian, mono 8 kHz) of the PCM fixture.
    static var samplesLE: Data {
        let r = pcm16.range(of: Data("data".utf8))!
        return pcm16.subdata(in: (r.upperBound + 4)..<pcm16.count)
    }

    static func be32(_ v: UInt32) -> Data { withUnsafeBytes(of: v.bigEndian) { Data($0) } }
    static func be16(_ v: UInt16) -> Data { withUnsafeBytes(of: v.bigEndian) { Data($0) } }
    static func le32(_ v: UInt32) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }

    /// An IEEE 754 80-bit extended float, as AIFF stores its sample rate.
    static func extended(_ rate: Double) -> Data {
        let e = rate.exponent
        let mantissa = UInt64(rate.significand * Double(UInt64(1) << 63))
        return be16(UInt16(16383 + e)) + withUnsafeBytes(of: mantissa.bigEndian) { Data($0) }
    }

    static func swapped(_ le: Data) -> Data {
        var be = le
        be.withUnsafeMutableBytes { b in for i in stride(from: 0, to: b.count - 1, by: 2) { b.swapAt(i, i + 1) } }
        return be
    }

    /// A 16-bit mono AIFF of the fixture's samples whose COMM chunk claims `frames` and `rate`.
    static func aiff(frames: UInt32? = nil, rate: Double = 8000) -> Data {
        let audio = swapped(samplesLE)
        let count = UInt32(audio.count / 2)
        let comm = Data("COMM".utf8) + be32(18) + be16(1) + be32(frames ?? count) + be16(16) + extended(rate)
        let ssnd = Data("SSND".utf8) + be32(UInt32(audio.count + 8)) + be32(0) + be32(0) + audio
        let body = Data("AIFF".utf8) + comm + ssnd
        return Data("FORM".utf8) + be32(UInt32(body.count)) + body
    }

    /// A 16-bit mono AU of the fixture's samples whose header claims `size` bytes of audio at `rate`.
    static func au(size: UInt32? = nil, rate: UInt32 = 8000) -> Data {
        let audio = swapped(samplesLE)
        return Data(".snd".utf8) + be32(24) + be32(size ?? UInt32(audio.count)) + be32(3) + be32(rate) + be32(1) + audio
    }

    /// The PCM fixture with its fmt chunk's sample rate (and byte rate) replaced.
    static func wav(rate: UInt32) -> Data {
        var d = pcm16
        let f = d.range(of: Data("fmt ".utf8))!.lowerBound
        d.replaceSubrange((f + 12)..<(f + 16), with: le32(rate))
        d.replaceSubrange((f + 16)..<(f + 20), with: le32(rate &* 2))
        return d
    }

    func reason(_ d: Data) -> Rejection? { if case .failure(let r) = probe(d) { return r }; return nil }

    @Test func theBuiltContainersAreValid() throws {
        #expect(try probe(Self.aiff()).get().format == "aiff/pcm16")
        #expect(try probe(Self.au()).get().format == "au/pcm16")
        #expect(try probe(Self.aiff(rate: 4000)).get().sampleRate == 4000)
        #expect(try probe(Self.aiff(rate: 384_000)).get().sampleRate == 384_000)
    }

    @Test func anAIFFWhoseCOMMClaimsMoreFramesThanItHoldsIsTruncated() {
        let frames = UInt32(Self.samplesLE.count / 2)
        #expect(reason(Self.aiff(frames: frames * 1000))?.reason == .audioTruncated)
        #expect(reason(Self.aiff(frames: frames + 1))?.reason == .audioTruncated)
        // An SSND chunk cut short is caught as well.
        let whole = Self.aiff()
        #expect(reason(whole.prefix(whole.count / 2))?.reason == .audioTruncated)
    }

    @Test func anAUWhoseSizeClaimsMoreThanItHoldsIsTruncated() {
        #expect(reason(Self.au(size: UInt32(Self.samplesLE.count) * 1000))?.reason == .audioTruncated)
        let whole = Self.au()
        #expect(reason(whole.prefix(whole.count / 2))?.reason == .audioTruncated)
    }

    @Test func aGSMWavWhoseFactChunkClaimsMoreFramesIsTruncated() throws {
        var gsm = FileManager.default.contents(atPath: fixtureInbox + "/../formats/call-gsm.wav")!
        let f = gsm.range(of: Data("fact".utf8))!.upperBound + 4
        let claimed = gsm.subdata(in: f..<(f + 4)).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        gsm.replaceSubrange(f..<(f + 4), with: Self.le32(claimed * 1000))
        #expect(reason(gsm)?.reason == .audioTruncated)
    }

    @Test func aFLACWhoseStreamInfoClaimsMoreSamplesIsTruncated() {
        var flac = fixture("telco-be/call-1002.flac")
        // STREAMINFO: 20 bits rate, 3 channels, 5 bits per sample, 36 bits total samples, at bytes 18..<26.
        var bits = flac.subdata(in: 18..<26).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let total = bits & ((1 << 36) - 1)
        bits = (bits & ~((1 << 36) - 1)) | (total * 1000)
        flac.replaceSubrange(18..<26, with: withUnsafeBytes(of: bits.bigEndian) { Data($0) })
        #expect(reason(flac)?.reason == .audioTruncated)
    }

    @Test func anMP3WhoseXingHeaderClaimsMoreFramesIsTruncated() {
        var mp3 = FileManager.default.contents(atPath: fixtureInbox + "/../formats/call.mp3")!
        let tag = mp3.range(of: Data("Info".utf8)) ?? mp3.range(of: Data("Xing".utf8))!
        let f = tag.upperBound + 4
        let claimed = mp3.subdata(in: f..<(f + 4)).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        mp3.replaceSubrange(f..<(f + 4), with: Self.be32(claimed * 1000))
        #expect(reason(mp3)?.reason == .audioTruncated)
    }

    /// Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, not reflected), computed with the field zeroed.
    static func oggCRC(_ page: Data) -> UInt32 {
        var crc: UInt32 = 0
        for byte in page {
            crc ^= UInt32(byte) << 24
            for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
        }
        return crc
    }

    /// Rewrites one Ogg page in place (`edit` gets the page) and fixes its checksum, so libogg accepts it.
    static func editOggPage(_ data: inout Data, at start: Int, _ edit: (inout Data) -> Void) {
        let segments = Int(data[start + 26])
        let length = 27 + segments + data[(start + 27)..<(start + 27 + segments)].reduce(0) { $0 + Int($1) }
        var page = data.subdata(in: start..<(start + length))
        edit(&page)
        page.replaceSubrange(22..<26, with: Data(count: 4))
        page.replaceSubrange(22..<26, with: withUnsafeBytes(of: oggCRC(page).littleEndian) { Data($0) })
        data.replaceSubrange(start..<(start + length), with: page)
    }

    @Test(arguments: ["call.opus", "call.ogg"])
    func anOggStreamWhoseLastGranuleClaimsMoreIsTruncated(name: String) {
        var ogg = FileManager.default.contents(atPath: fixtureInbox + "/../formats/" + name)!
        let last = ogg.range(of: Data("OggS".utf8), options: .backwards)!.lowerBound
        Self.editOggPage(&ogg, at: last) { page in
            let granule = page.subdata(in: 6..<14).withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
            page.replaceSubrange(6..<14, with: withUnsafeBytes(of: (granule * 1000).littleEndian) { Data($0) })
        }
        #expect(reason(ogg)?.reason == .audioTruncated)
    }

    @Test(arguments: [1, 3999, 384_001, 1_000_000_000])
    func sampleRatesOutsideTelephonyAndAudioAreUnreadable(rate: Int) {
        var vorbis = FileManager.default.contents(atPath: fixtureInbox + "/../formats/call.ogg")!
        Self.editOggPage(&vorbis, at: 0) { page in
            let r = page.range(of: Data([1] + Array("vorbis".utf8)))!.upperBound + 5
            page.replaceSubrange(r..<(r + 4), with: Self.le32(UInt32(rate)))
        }
        var flac = fixture("telco-be/call-1002.flac")
        if rate < 1 << 20 {
            var bits = flac.subdata(in: 18..<26).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            bits = (bits & ((1 << 44) - 1)) | (UInt64(rate) << 44)
            flac.replaceSubrange(18..<26, with: withUnsafeBytes(of: bits.bigEndian) { Data($0) })
        }
        var inputs = [("wav", Self.wav(rate: UInt32(rate))), ("aiff", Self.aiff(rate: Double(rate))),
                      ("au", Self.au(rate: UInt32(rate))), ("ogg", vorbis)]
        if rate < 1 << 20 { inputs.append(("flac", flac)) }   // FLAC's field has 20 bits
        for (container, data) in inputs {
            let r = reason(data)
            #expect(r?.reason == .audioUnreadable, "\(container) at \(rate) Hz")
            #expect(r?.detail.contains("\(rate) Hz") == true, "\(container): \(r?.detail ?? "accepted")")
        }
    }

    // Rates within libsamplerate's 1/256-256 ratio, which it would otherwise resample without complaint.
    @Test(arguments: [UInt32(1000), 1_000_000])
    func theAnnouncementReaderRefusesAnAbsurdRateToo(rate: UInt32) throws {
        let path = NSTemporaryDirectory() + "rate-" + UUID().uuidString + ".wav"
        _ = FileManager.default.createFile(atPath: path, contents: Self.wav(rate: rate))
        defer { unlink(path) }
        let error = #expect(throws: VaultError.self) { try PCMReader.read(path: path, maxSeconds: 5, rate: 16000) }
        #expect(error?.message.contains("\(rate) Hz") == true, "\(error?.message ?? "accepted")")
    }
}
