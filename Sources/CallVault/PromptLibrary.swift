// The tenants' reference prompts, read once with libsndfile (any format, resampled to 8 kHz) and fingerprinted.
import CallVaultAudio
import CallVaultCore
import Foundation

/// Fingerprints of every configured prompt, built when the store is opened: a missing or unreadable prompt
/// file is a configuration error naming it, found before any recording depends on it.
public struct PromptLibrary: Sendable {
    let byTenant: [String: [PromptFingerprint]]

    public static let empty = PromptLibrary(byTenant: [:])

    public static func load(_ configuration: Configuration, root: String) throws -> PromptLibrary {
        var cache: [String: PromptFingerprint] = [:]
        var byTenant: [String: [PromptFingerprint]] = [:]
        for tenant in configuration.tenants.values.sorted(by: { $0.name < $1.name }) where !tenant.announcement.prompts.isEmpty {
            var list: [PromptFingerprint] = []
            for path in tenant.announcement.prompts {
                let full = path.hasPrefix("/") ? path : root + "/" + path
                if cache[full] == nil {
                    let key = "\(Configuration.fileName): tenants.\(tenant.name).announcement.prompts: \(path)"
                    let pcm: PCM
                    do {
                        pcm = try PCMReader.read(path: full, maxSeconds: 60, rate: LogMel.rate)
                    } catch let e as VaultError {
                        throw VaultError.configuration("\(key): cannot read (\(e.message))")
                    }
                    let id = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                    let fp = PromptFingerprint(id: id, pcm: pcm)
                    guard fp.frames >= 32 else { throw VaultError.configuration("\(key): shorter than 0.5 s, too short to recognise") }
                    cache[full] = fp
                }
                list.append(cache[full]!)
            }
            byTenant[tenant.name] = list
        }
        return PromptLibrary(byTenant: byTenant)
    }

    public func prompts(for tenant: String) -> [PromptFingerprint] { byTenant[tenant] ?? [] }

    /// Runs the detector on the audio open on `fd` for `tenant`'s prompts and window.
    public func check(fd: Int32, tenant: Tenant) throws -> AnnouncementFinding {
        let prompts = self.prompts(for: tenant.name)
        let window = tenant.announcement.window.approximateSeconds
        let longest = prompts.map(\.seconds).max() ?? 0
        // The prompt may play up to 2 % slow: decode a little past the window plus the longest prompt — more than the
        // detector's file-end tolerance, so the end of what is read is never taken for the end of the call.
        let pcm = try PCMReader.read(fd: fd, maxSeconds: window + longest * 1.02 + AnnouncementDetector.fileEndTolerance + 0.5, rate: LogMel.rate)
        return AnnouncementDetector.detect(pcm, prompts: prompts, window: window, threshold: tenant.announcement.threshold,
                                           minShare: tenant.announcement.minShare)
    }
}
