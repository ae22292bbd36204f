// Where the PostgreSQL catalog is: `postgresql://user@host:port/database?sslmode=…`, read the libpq way, with
// the password kept apart (from a file or the environment) and never shown.
import CallVaultCore
import Foundation
import NIOSSL
import PostgresNIO

public struct PostgresTarget: Sendable, Equatable {
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it (libpq's default), the certificate not checked.
        case prefer
        /// TLS or no connection; the certificate not checked (libpq's meaning of `require`).
        case require
        /// TLS with the server's certificate checked against `sslrootcert` (or the system's roots)…
        case verifyCA = "verify-ca"
        /// …and its name against the host.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var tls: TLSMode
    public var rootCertificate: String?

    /// The URL without its password, for messages and the audit log.
    public var display: String {
        "postgresql://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" + (tls == .prefer ? "" : "?sslmode=\(tls.rawValue)")
    }

    /// Reads `url`. `allowPassword`: false for a URL written in callvault.toml (a password there would be
    /// readable by everyone who may read the configuration); `password` then comes from a file or the environment.
    public static func parse(_ url: String, password: String?, allowPassword: Bool) throws -> PostgresTarget {
        func bad(_ why: String) -> VaultError { VaultError.configuration("catalog url: \(why)") }
        guard let c = URLComponents(string: url), let scheme = c.scheme, ["postgresql", "postgres"].contains(scheme) else {
            throw bad("expected postgresql://user@host:port/database")
        }
        guard let host = c.host, !host.isEmpty else { throw bad("no host") }
        guard let user = c.user, !user.isEmpty else { throw bad("no user (postgresql://USER@host/database)") }
        let database = String(c.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw bad("no database (postgresql://user@host/DATABASE)") }
        if c.password != nil, !allowPassword {
            throw bad("a password may not be written in callvault.toml; give it in [catalog] password_file or CALLVAULT_CATALOG_PASSWORD")
        }
        var target = PostgresTarget(host: host, port: c.port ?? 5432, user: user, database: database,
                                    password: c.password ?? password, tls: .prefer, rootCertificate: nil)
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let v = item.value, let mode = TLSMode(rawValue: v) else {
                    throw bad("sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                target.tls = mode
            case "sslrootcert":
                guard let v = item.value, v.hasPrefix("/") else { throw bad("sslrootcert must be an absolute path") }
                target.rootCertificate = v
            default:
                throw bad("unknown parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
        if !(1...65535).contains(target.port) { throw bad("port \(target.port) is out of range") }
        return target
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch self.tls {
            case .disable:
                tls = .disable
            case .prefer, .require:
                var config = TLSConfiguration.makeClientConfiguration()
                config.certificateVerification = .none
                let context = try NIOSSLContext(configuration: config)
                tls = self.tls == .prefer ? .prefer(context) : .require(context)
            case .verifyCA, .verifyFull:
                var config = TLSConfiguration.makeClientConfiguration()
                config.certificateVerification = self.tls == .verifyFull ? .fullVerification : .noHostnameVerification
                if let rootCertificate { config.trustRoots = .file(rootCertificate) }
                tls = .require(try NIOSSLContext(configuration: config))
            }
        } catch {
            throw VaultError.configuration("catalog url: TLS settings: \(error)")
        }
        var c = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        c.options.connectTimeout = .seconds(10)
        // A host that vanishes mid-transaction (power, partition: no reset reaches the server) must not hold the
        // catalog's write lock for the kernel's keepalive hours: the server ends such a session after 5 minutes.
        c.options.additionalStartupParameters = [("idle_in_transaction_session_timeout", "300s")]
        if tls.isAllowed, host.first?.isNumber == false, !host.contains(":") { c.options.tlsServerName = host }
        return c
    }
}
