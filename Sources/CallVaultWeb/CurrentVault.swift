// The store as `serve` sees it, kept in step with callvault.toml: a user removed, a role or a scope changed takes
// effect on the next request, without a restart (and on SIGHUP at once, as for `watch`).
import CallVault
import CallVaultCore
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

final class CurrentVault: Sendable {
    private struct State {
        var vault: Vault
        /// Inode, size and modification time of callvault.toml when `vault` was opened.
        var signature: String?
        var checkedAt: Date
    }

    private let state: Mutex<State>
    private let reopen: @Sendable () throws -> Vault
    private let logger: Logger?
    /// How often a request may look at the file: a stat, at most once a second.
    static let checkInterval: TimeInterval = 1

    init(_ vault: Vault, logger: Logger?, reopen: (@Sendable () throws -> Vault)? = nil) {
        let root = vault.root, actor = vault.actor, clock = vault.clock
        self.reopen = reopen ?? { try Vault.open(at: root, actor: actor, clock: clock) }
        self.logger = logger
        state = Mutex(State(vault: vault, signature: Self.signature(root), checkedAt: Date()))
    }

    static func signature(_ root: String) -> String? {
        var st = stat()
        guard stat(root + "/" + Configuration.fileName, &st) == 0 else { return nil }
        return "\(st.st_ino)-\(st.st_size)-\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }

    /// The vault to serve this request with: opened again first when the file changed since.
    var vault: Vault {
        let (current, due) = state.withLock { s -> (Vault, Bool) in
            let now = Date()
            guard now.timeIntervalSince(s.checkedAt) >= Self.checkInterval else { return (s.vault, false) }
            s.checkedAt = now
            return (s.vault, Self.signature(s.vault.root) != s.signature)
        }
        return due ? reload() : current
    }

    /// Opens the store again with the file as it is now. A configuration that does not load (a typo, a file
    /// half written) keeps the one in force, and says so in the log; the next change is tried again.
    @discardableResult
    func reload() -> Vault {
        let old = state.withLock { $0.vault }
        let signature = Self.signature(old.root)
        do {
            let fresh = try reopen()
            state.withLock { $0.vault = fresh; $0.signature = signature }
            logger?.notice("callvault serve: \(Configuration.fileName) read again")
            return fresh
        } catch {
            state.withLock { $0.signature = signature }
            logger?.error("callvault serve: \(Configuration.fileName) changed but does not load; the previous configuration stays in force: \(error)")
            return old
        }
    }
}
