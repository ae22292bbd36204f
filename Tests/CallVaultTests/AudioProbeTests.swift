// libsndfile probing over real files: formats by content, and every way a file can be broken.
import CallVaultAudio
import CallVaultCore
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
