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
    func opened(_ samples: [Float]) throws -> Int32 {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples.count * 2)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(8000); u32(16000); u16(2); u16(16)
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
        #expect(abs((found.first?.startS ?? 0) - start) <= 1.5, "\(found)")
        #expect(abs((found.first?.endS ?? 0) - (start + 65)) <= 2, "\(found)")
        // Read whole as one window, the same call gives the same segment.
        let whole = try HoldMusicScan.find(fd: fd, tracks: tracks, window: 3600, overlap: 10)
        #expect(whole.count == 1 && abs(whole[0].startS - found[0].startS) <= 1 && abs(whole[0].endS - found[0].endS) <= 1, "\(whole) \(found)")
    }
}
