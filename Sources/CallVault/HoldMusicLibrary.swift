// The tenants' music-on-hold tracks (SPEC §17): checked readable when the store is opened (a missing track is a
// configuration error naming it), decoded and fingerprinted only when a check needs them — tracks are minutes
// long, and most commands never look for hold music.
import CallVaultAudio
import CallVaultCore
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The tenants' track fingerprints, made on first use and kept for the life of the opened store (one per
/// process: the daemon checks every call of a tenant against the same tracks).
public final class HoldMusicTracks: @unchecked Sendable {
    private let lock = NSLock()
    private var byTenant: [String: [HoldTrackFingerprint]] = [:]
    public init() {}

    public func tracks(for tenant: Tenant, root: String) throws -> [HoldTrackFingerprint] {
        if let known = lock.withLock({ byTenant[tenant.name] }) { return known }
        let made = try HoldMusicLibrary.tracks(for: tenant, root: root)
        return lock.withLock {
            if let known = byTenant[tenant.name] { return known }
            byTenant[tenant.name] = made
            return made
        }
    }
}

public enum HoldMusicLibrary {
    /// The longest track read: hold music loops a few minutes; anything longer is not a hold track.
    static let maxTrackSeconds = 1200.0

    static func key(_ tenant: Tenant, _ path: String) -> String {
        "\(Configuration.fileName): tenants.\(tenant.name).hold_music.tracks: \(path)"
    }

    static func absolute(_ path: String, root: String) -> String { path.hasPrefix("/") ? path : root + "/" + path }

    /// Every configured track can be opened for reading.
    public static func check(_ configuration: Configuration, root: String) throws {
        for tenant in configuration.tenants.values.sorted(by: { $0.name < $1.name }) {
            for path in tenant.holdMusic.tracks {
                let fd = open(absolute(path, root: root), O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw VaultError.configuration("\(key(tenant, path)): cannot read (\(String(cString: strerror(errno))))") }
                close(fd)
            }
        }
    }

    /// The fingerprints of `tenant`'s tracks, named by file name without extension.
    public static func tracks(for tenant: Tenant, root: String) throws -> [HoldTrackFingerprint] {
        try tenant.holdMusic.tracks.map { path in
            let pcm: PCM
            do {
                pcm = try PCMReader.read(path: absolute(path, root: root), maxSeconds: maxTrackSeconds, rate: LogMel.rate)
            } catch let e as VaultError {
                throw VaultError.configuration("\(key(tenant, path)): cannot read (\(e.message))")
            }
            let fp = HoldTrackFingerprint(id: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, pcm: pcm)
            guard fp.seconds >= 5 else { throw VaultError.configuration("\(key(tenant, path)): shorter than 5 s, too short to recognise") }
            return fp
        }
    }
}

extension HoldSegmentRow {
    /// A detector segment as the catalog keeps it (ms).
    init(recordingID: String, segment s: HoldSegment) {
        self.init(recordingID: recordingID, startMs: Int64((s.startS * 1000).rounded()), endMs: Int64((s.endS * 1000).rounded()), track: s.track)
    }

    /// The segment in seconds, as shown and sent.
    public var segment: HoldSegment { HoldSegment(startS: Double(startMs) / 1000, endS: Double(endMs) / 1000, track: track) }
}
