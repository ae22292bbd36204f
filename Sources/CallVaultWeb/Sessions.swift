// Login sessions, in memory: a restart of `serve` logs everyone out, which is the safe failure. The cookie
// carries 256 random bits; the table is keyed by their SHA-256, so a memory dump does not yield live cookies.
import Crypto
import Foundation

public struct WebSession: Sendable {
    public let user: String
    /// The token every state-changing request must carry (form field `csrf` or header `X-CSRF-Token`).
    public let csrf: String
    public let createdAt: Date
    public var lastSeen: Date
    /// Recordings whose playback was already audited in this session (one `recording.played` per call and
    /// session, however many range requests the player makes).
    public var played: Set<String> = []
    /// The outcome of the last action, shown once on the page it redirects to. Kept here rather than in the
    /// URL, so that no link can make the app state something it did not do.
    public var notice: String?
}

public actor SessionStore {
    /// Absolute lifetime: a session ends 12 hours after login whatever its activity.
    public static let maximumAge: TimeInterval = 12 * 3600
    let idle: TimeInterval
    var sessions: [String: WebSession] = [:]

    public init(idle: TimeInterval) { self.idle = idle }

    /// 32 random bytes, base64url without padding (43 characters).
    static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func key(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new session for `user`; returns the cookie value. A new id at every login: no fixation.
    public func create(user: String, now: Date) -> (token: String, session: WebSession) {
        purge(now: now)
        let token = Self.randomToken()
        let s = WebSession(user: user, csrf: Self.randomToken(), createdAt: now, lastSeen: now)
        sessions[Self.key(token)] = s
        return (token, s)
    }

    /// The live session of a cookie value, touched; nil when unknown, idle too long or too old (then removed).
    public func session(token: String, now: Date) -> WebSession? {
        let k = Self.key(token)
        guard var s = sessions[k] else { return nil }
        guard now.timeIntervalSince(s.lastSeen) <= idle, now.timeIntervalSince(s.createdAt) <= Self.maximumAge else {
            sessions[k] = nil
            return nil
        }
        s.lastSeen = now
        sessions[k] = s
        return s
    }

    /// Records that `recording` was played in this session; true the first time.
    public func markPlayed(token: String, recording: String) -> Bool {
        let k = Self.key(token)
        guard sessions[k] != nil else { return false }
        return sessions[k]!.played.insert(recording).inserted
    }

    public func setNotice(token: String, _ text: String) { sessions[Self.key(token)]?.notice = text }

    /// The pending notice, removed: shown once.
    public func takeNotice(token: String) -> String? {
        let k = Self.key(token)
        defer { sessions[k]?.notice = nil }
        return sessions[k]?.notice
    }

    /// Undoes `markPlayed` when the playback did not happen (refused, or the audio could not be opened).
    public func unmarkPlayed(token: String, recording: String) {
        let k = Self.key(token)
        sessions[k]?.played.remove(recording)
    }

    public func end(token: String) { sessions[Self.key(token)] = nil }

    /// Ends every session of `user` (password changed or account disabled elsewhere is caught per request too).
    public func end(user: String) { sessions = sessions.filter { $0.value.user != user } }

    func purge(now: Date) {
        sessions = sessions.filter { now.timeIntervalSince($0.value.lastSeen) <= idle && now.timeIntervalSince($0.value.createdAt) <= Self.maximumAge }
    }
}
