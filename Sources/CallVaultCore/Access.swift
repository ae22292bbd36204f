// Who may do what (SPEC §8): roles from the configuration, the OS user as the actor, `--as` for admins.
import Foundation

/// The user a command acts as, and the OS user behind it when an admin acts for someone else.
public struct Principal: Sendable, Equatable {
    /// The effective user name (recorded as the audit actor).
    public var name: String
    /// The configured user, nil when the name is not in the configuration.
    public var user: User?
    /// The OS user who used `--as`, recorded beside the actor; nil otherwise.
    public var onBehalfOf: String?

    public init(name: String, user: User?, onBehalfOf: String?) {
        self.name = name
        self.user = user
        self.onBehalfOf = onBehalfOf
    }

    /// Resolves the acting principal. `--as` is allowed to admins only, and only for a configured user.
    public static func resolve(osUser: String, asUser: String?, configuration: Configuration) throws -> Principal {
        guard let other = asUser, other != osUser else {
            return Principal(name: osUser, user: configuration.users[osUser], onBehalfOf: nil)
        }
        guard configuration.users[osUser]?.role == .admin else {
            throw VaultError(.accessDenied, "--as \(other): only an admin may act for another user (\(osUser) is not an admin)")
        }
        guard let target = configuration.users[other] else {
            throw VaultError(.accessDenied, "--as \(other): no such user in \(Configuration.fileName)")
        }
        return Principal(name: other, user: target, onBehalfOf: osUser)
    }

    /// Throws `.accessDenied` (exit 3) unless the user has one of `roles`.
    public func require(_ roles: Set<Role>, to action: String) throws {
        guard let user else {
            throw VaultError(.accessDenied, "\(action): user \(name) is not in \(Configuration.fileName); an unknown user can do nothing")
        }
        guard roles.contains(user.role) else {
            let needed = roles.map(\.rawValue).sorted().joined(separator: " or ")
            throw VaultError(.accessDenied, "\(action): not allowed for \(name) (role \(user.role.rawValue)); needs \(needed)")
        }
    }
}
