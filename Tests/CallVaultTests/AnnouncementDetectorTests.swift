// The block-NCC detector on real speech from the fixtures, placed and degraded in code.
import CallVaultAudio
import Foundation
import Testing

@Suite struct AnnouncementDetectorTests {
    let promptPCM = try! PCMReader.read(path: fixtureInbox + "/../prompts/rec-notice-nl-v3.wav", rate: LogMel.rate)
    let otherPCM = try! PCMReader.read(path: fixtureInbox + "/../prompts/rec-notice-fr-v1.wav", rate: LogMel.rate)
    var nl: PromptFingerprint { PromptFingerprint(id: "nl", pcm: promptPCM) }
    var fr: PromptFingerprint { PromptFingerprint(id: "fr", pcm: otherPCM) }

    func call(_ prompt: [Float], at seconds: Double, total: Double = 30, gain: Float = 1, noise: Float = 0) -> PCM {
        var x = [Float](repeating: 0, count: Int(total * 8000))
        var rng = SystemRandomNumberGenerator()
        for i in 0..<x.count { x[i] = noise * Float.random(in: -1...1, using: &rng) }
        let start = Int(seconds * 8000)
        for (i, v) in prompt.enumerated() where start + i < x.count { x[start + i] += v * gain }
        return PCM(channels: [x], sampleRate: 8000)
    }

    @Test func findsThePromptAndItsOffsetAnywhereInTheWindow() {
        for offset in [0.0, 7.3, 19.5] {
            let v = AnnouncementDetector.detect(call(promptPCM.channels[0], at: offset), prompts: [fr, nl], window: 20, threshold: 0.5)
            #expect(v.detected)
            #expect(v.prompt == "nl")
            #expect(abs(Double(v.offsetMs!) - offset * 1000) <= 16)
        }
    }

    @Test func robustToGainAndNoiseButNotFooledBySilenceOrAnotherPrompt() {
        #expect(AnnouncementDetector.detect(call(promptPCM.channels[0], at: 4, gain: 0.25, noise: 0.02), prompts: [nl], window: 20, threshold: 0.5).detected)
        let silence = AnnouncementDetector.detect(PCM(channels: [[Float](repeating: 0, count: 240_000)], sampleRate: 8000), prompts: [nl], window: 20, threshold: 0.5)
        #expect(!silence.detected)
        #expect(silence.score < 0.1, "digital silence cannot correlate")
        let other = AnnouncementDetector.detect(call(otherPCM.channels[0], at: 2), prompts: [nl], window: 20, threshold: 0.5)
        #expect(!other.detected)
        #expect(other.offsetMs == nil)
    }

    @Test func aPromptAfterTheWindowDoesNotCount() {
        let late = AnnouncementDetector.detect(call(promptPCM.channels[0], at: 25, total: 40), prompts: [nl], window: 20, threshold: 0.5)
        #expect(!late.detected)
    }

    @Test func fingerprintBlocksAreNormalised() {
        let f = nl
        #expect(f.blocks.count >= 3)
        #expect(f.offsets.last! + f.blockFrames == f.frames, "one block aligned to the end")
        for b in f.blocks { #expect(abs(b.reduce(0) { $0 + $1 * $1 } - 1) < 1e-3) }
    }
}
