// The hold-music check over a whole call read in overlapping windows: a hold across a window's edge is one
// segment, and a call is read whole however long (memory holds one window).
import CallVaultAudio
import CallVaultTesting
import Foundation
import Testing

@Suite struct HoldMusicScanTests {
    static func read(_ path: String) -> [Float] { try! PCMReader.read(path: fixtureInbox + "/../" + path, maxSeconds: 600, rate: 8000).channels[0] }
    let track = read("moh/acme-loop.wav")
    let talker = read("announcement/no-announcement.wav")

    func hold(from: Double, seconds: Double) -> [Float] {
        (0..<Int(seconds * 8000)).map { track[(Int(from * 8000) + $0) % track.count] }
    }

    /// A 16-bit mono WAV in a temporary file, open for reading.
    func opened(_ samples: [Float], rate: UInt32 = 8000) throws -> Int32 {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples.count * 2)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(rate); u32(rate * 2); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples.count * 2))
        for x in samples { u16(UInt16(bitPattern: Int16(max(-1, min(1, x)) * 32767))) }
        let path = NSTemporaryDirectory() + "/cv-scan-\(UUID().uuidString).wav"
        try d.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        return open(path, O_RDONLY)
    }

    @Test func aHoldAcrossAWindowEdgeIsOneSegment() throws {
        // Windows of 40 s overlapping by 10 s: the hold from 25 s to 90 s crosses the window edges at 40 and 70 s.
        let before = talker + talker
        let call = before + hold(from: 3, seconds: 65) + talker
        let fd = try opened(call)
        defer { close(fd) }
        let tracks = [HoldTrackFingerprint(id: "acme-loop", pcm: PCM(channels: [track], sampleRate: 8000))]
        let found = try HoldMusicScan.find(fd: fd, tracks: tracks, window: 40, overlap: 10)
        #expect(found.count == 1, "\(found)")
        let start = Double(before.count) / 8000
        let one = try #require(found.first)
        #expect(abs(one.startS - start) <= 1.5, "\(found)")
        #expect(abs(one.endS - (start + 65)) <= 2, "\(found)")
        // Read whole as one window, the same call gives the same segment.
        let whole = try HoldMusicScan.find(fd: fd, tracks: tracks, window: 3600, overlap: 10)
        let all = try #require(whole.first)
        #expect(whole.count == 1 && abs(all.startS - one.startS) <= 1 && abs(all.endS - one.endS) <= 1, "\(whole) \(found)")
    }

    /// A call at another rate is resampled as it is read, chunk by chunk: the same hold is found at 16 kHz.
    @Test func aCallAtSixteenKilohertzIsResampledAsItIsRead() throws {
        let before = talker + talker
        let call8k = before + hold(from: 3, seconds: 40) + talker
        // Each 8 kHz sample twice, then read back at 8 kHz: a 16 kHz file of the same call.
        let doubled = call8k.flatMap { [$0, $0] }
        let fd = try opened(doubled, rate: 16_000)
        defer { close(fd) }
        let tracks = [HoldTrackFingerprint(id: "acme-loop", pcm: PCM(channels: [track], sampleRate: 8000))]
        let found = try HoldMusicScan.find(fd: fd, tracks: tracks, window: 30, overlap: 10)
        let one = try #require(found.first)
        let start = Double(before.count) / 8000
        #expect(found.count == 1 && abs(one.startS - start) <= 1.5 && abs(one.endS - (start + 40)) <= 2, "\(found)")
    }
}
