// Login sessions, in memory: a restart of `serve` logs everyone out, which is the safe failure. The cookie
// carries 256 random bits; the table is keyed by their SHA-256, so a memory dump does not yield live cookies.
import Crypto
import Foundation

public struct WebSession: Sendable {
    public let user: String
    /// The token every state-changing request must carry (form field `csrf` or header `X-CSRF-Token`).
    public let csrf: String
    /// Login and last request on the monotonic clock (`Clock.uptime`): idle and absolute timeouts are measured
    /// there, so that a wall clock set back or forward neither ends nor prolongs a session.
    public let startedUptime: TimeInterval
    public var lastSeenUptime: TimeInterval
    /// The account's password version (when it was last set) at login: a different one later ends the session.
    /// Compared for equality, not by time, for the same reason.
    public let passwordVersion: String?
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
    public func create(user: String, uptime now: TimeInterval, passwordVersion: String? = nil) -> (token: String, session: WebSession) {
        purge(now: now)
        let token = Self.randomToken()
        let s = WebSession(user: user, csrf: Self.randomToken(), startedUptime: now, lastSeenUptime: now, passwordVersion: passwordVersion)
        sessions[Self.key(token)] = s
        return (token, s)
    }

    /// The live session of a cookie value, touched; nil when unknown, idle too long or too old (then removed).
    public func session(token: String, uptime now: TimeInterval) -> WebSession? {
        let k = Self.key(token)
        guard var s = sessions[k] else { return nil }
        guard isLive(s, now: now) else {
            sessions[k] = nil
            return nil
        }
        s.lastSeenUptime = max(s.lastSeenUptime, now)
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

    func purge(now: TimeInterval) {
        sessions = sessions.filter { isLive($0.value, now: now) }
    }

    /// Neither idle nor older than the absolute lifetime. Monotonic readings never go back; were one to (a test
    /// clock), an elapsed time below zero counts as none, not as a session made in the future.
    func isLive(_ s: WebSession, now: TimeInterval) -> Bool {
        max(0, now - s.lastSeenUptime) <= idle && max(0, now - s.startedUptime) <= Self.maximumAge
    }
}
