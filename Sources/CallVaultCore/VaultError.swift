// Errors of the vault itself and of its use, each mapped to one exit code of SPEC §9.

/// An error that is not a rejection of an input: a broken configuration, a refused action,
/// or a failure of the vault (disk, catalog). The message is one line saying what and why.
public struct VaultError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// Exit 2: the configuration or the command line is wrong.
        case configuration
        /// Exit 2: the command cannot be used like that.
        case usage
        /// Exit 3: the acting user may not do this.
        case accessDenied
        /// Exit 2: no such recording, hold or entry (the web app answers 404).
        case notFound
        /// Exit 2: it existed, but retention has ended (its audio was deleted; the web app answers 410).
        case gone
        /// Exit 1: the vault failed (I/O, disk full, catalog); inputs are left untouched.
        case vaultFailure
    }

    public let kind: Kind
    public let message: String
    /// A refusal that must not tell "it exists, not for you" from "it does not exist" (a call outside a coach's
    /// scope, or no such call): the web app answers both with the same 404, so ids cannot be probed.
    public var hidesExistence = false
    /// The input the error concerns, by its semantic name (`to`, `min_duration`), when it concerns one: the
    /// message then says what is wrong without naming it, and each front end names it its own way
    /// (`--min-duration` on the command line, the form's label on the web).
    public let field: String?
    /// What failed underneath, when the vault's error stands for another (kept for diagnosis, not shown).
    public let cause: (any Error & Sendable)?

    public init(_ kind: Kind, _ message: String, field: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.kind = kind
        self.message = message
        self.field = field
        self.cause = cause
    }

    public var description: String { worded { $0 } }

    /// The message with its field named by `name` ("--to: give a date …").
    public func worded(_ name: (String) -> String) -> String {
        field.map { "\(name($0)): \(message)" } ?? message
    }

    /// A field's command-line option: `min_duration` is `--min-duration`.
    public static func option(_ field: String) -> String { "--" + field.replacingOccurrences(of: "_", with: "-") }

    /// The process exit code of SPEC §9.
    public var exitCode: Int32 {
        switch kind {
        case .configuration, .usage, .notFound, .gone: return 2
        case .accessDenied: return 3
        case .vaultFailure: return 1
        }
    }

    public static func failure(_ message: String) -> VaultError { VaultError(.vaultFailure, message) }
    public static func configuration(_ message: String) -> VaultError { VaultError(.configuration, message) }
}
