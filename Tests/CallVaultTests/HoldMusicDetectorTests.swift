// The hold-music check (issue 22, part 2) on the synthetic tracks of fixtures/moh and real speech, placed in code.
import CallVaultAudio
import CallVaultTesting
import Foundation
import Testing

@Suite struct HoldMusicDetectorTests {
    static func read(_ path: String) -> [Float] { try! PCMReader.read(path: fixtureInbox + "/../" + path, maxSeconds: 600, rate: 8000).channels[0] }
    let track = read("moh/acme-loop.wav")
    let radio = read("moh/radio.wav")
    let talker = read("announcement/no-announcement.wav")
    var registered: HoldTrackFingerprint { HoldTrackFingerprint(id: "acme-loop", pcm: PCM(channels: [track], sampleRate: 8000)) }

    /// `seconds` of the track from `from` seconds into it, looping as a PBX plays it.
    func hold(from: Double, seconds: Double) -> [Float] {
        let t = track
        return (0..<Int(seconds * 8000)).map { t[(Int(from * 8000) + $0) % t.count] }
    }

    func seconds(_ x: [Float]) -> Double { Double(x.count) / 8000 }

    @Test func aTrackStartingAnywhereAndLoopingIsOneSegmentWithItsEnds() {
        // 13 s into a 20 s track, for 35 s: it loops once and a half.
        let before = talker, music = hold(from: 13, seconds: 35)
        let call = PCM(channels: [before + music + talker], sampleRate: 8000)
        let found = HoldMusicDetector.find(call, tracks: [registered])
        #expect(found.count == 1, "\(found)")
        let s = found.first
        #expect(s?.track == "acme-loop")
        #expect(abs((s?.startS ?? 0) - seconds(before)) <= 1, "\(String(describing: s))")
        #expect(abs((s?.endS ?? 0) - (seconds(before) + 35)) <= 2, "\(String(describing: s))")
    }

    @Test func musicThatIsNotRegisteredIsNotHoldMusic() {
        let call = PCM(channels: [talker + radio + radio + talker], sampleRate: 8000)
        #expect(HoldMusicDetector.find(call, tracks: [registered]).isEmpty)
        #expect(HoldMusicDetector.find(PCM(channels: [talker + talker], sampleRate: 8000), tracks: [registered]).isEmpty, "speech alone")
        #expect(HoldMusicDetector.find(PCM(channels: [[Float](repeating: 0, count: 240_000)], sampleRate: 8000), tracks: [registered]).isEmpty, "silence")
    }

    @Test func musicOnOneChannelWhileTheOtherTalksIsFound() {
        // The agent talks on the left channel the whole time; the caller's channel has the music, quietly.
        let music = hold(from: 2, seconds: 20).map { $0 * 0.2 }
        let right = talker + music + talker
        let left = (0..<right.count).map { talker[$0 % talker.count] }
        let found = HoldMusicDetector.find(PCM(channels: [left, right], sampleRate: 8000), tracks: [registered])
        #expect(found.count == 1 && found.first?.track == "acme-loop", "\(found)")
        #expect(abs((found.first?.startS ?? 0) - seconds(talker)) <= 1)
    }

    @Test func twoHoldsInOneCallAreTwoSegments() {
        let call = PCM(channels: [talker + hold(from: 0, seconds: 15) + talker + talker + hold(from: 7, seconds: 12) + talker], sampleRate: 8000)
        let found = HoldMusicDetector.find(call, tracks: [registered])
        #expect(found.count == 2, "\(found)")
        #expect(found.map(\.track) == ["acme-loop", "acme-loop"])
        if found.count == 2 {
            #expect(abs(found[0].startS - seconds(talker)) <= 1 && abs(found[0].endS - (seconds(talker) + 15)) <= 2)
            let second = seconds(talker) * 3 + 15
            #expect(abs(found[1].startS - second) <= 1 && abs(found[1].endS - (second + 12)) <= 2, "\(found)")
        }
    }

    @Test func aShortSnatchOfTheTrackIsNotASegment() {
        // Two seconds of the track (a transfer's tone, a sample in a jingle) are not a hold.
        let call = PCM(channels: [talker + hold(from: 5, seconds: 2) + talker], sampleRate: 8000)
        #expect(HoldMusicDetector.find(call, tracks: [registered]).isEmpty)
    }
}
