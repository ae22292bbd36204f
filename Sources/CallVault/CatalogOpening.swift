// Which catalog a store uses (issue 12): SQLite in the store by default; a PostgreSQL database when
// `[catalog] url` (or CALLVAULT_CATALOG_URL) names one — the password from a file or the environment only.
import CallVaultCore
import CallVaultPostgres
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum CatalogOpening {
    public static let urlVariable = "CALLVAULT_CATALOG_URL"
    public static let passwordVariable = "CALLVAULT_CATALOG_PASSWORD"

    /// The PostgreSQL catalog in effect, if any: the environment's URL wins over the configuration's.
    public static func postgresTarget(_ settings: CatalogSettings,
                                      environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresTarget? {
        let fromEnvironment = environment[urlVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard let url = fromEnvironment ?? settings.url else { return nil }
        return try PostgresTarget.parse(url, password: password(file: settings.passwordFile, fileWins: false, environment: environment),
                                        allowPassword: fromEnvironment != nil)
    }

    /// Opens (and migrates) the catalog of the store at `root`.
    public static func open(root: String, settings: CatalogSettings,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Catalog {
        if let target = try postgresTarget(settings, environment: environment) {
            do {
                return Catalog(engine: try PostgresEngine(target: target))
            } catch let e as SQLEngineError {
                throw VaultError.failure("catalog \(target.display): \(e.message)")
            }
        }
        let path = root + "/" + Catalog.fileName
        if access(path, R_OK | W_OK) != 0, errno == EACCES {
            throw VaultError(.accessDenied, "cannot read the store at \(root): permission denied on \(Catalog.fileName) (run as the vault's user)")
        }
        return try Catalog(path: path)
    }

    /// The catalog's password: CALLVAULT_CATALOG_PASSWORD or `file`; `fileWins` when the file was named on the
    /// command line (it then overrides the environment, as an explicit option does).
    static func password(file: String?, fileWins: Bool, environment: [String: String]) throws -> String? {
        let fromEnvironment = environment[passwordVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let fromEnvironment, !(fileWins && file != nil) { return fromEnvironment }
        return try file.map(readPasswordFile)
    }

    /// The password file must be the vault user's alone: a password others can read is refused, not used.
    static func readPasswordFile(_ path: String) throws -> String {
        let data = try PrivateFile.read(path, setting: "catalog.password_file", kind: .configuration)
        guard let text = String(data: data, encoding: .utf8) else {
            throw VaultError.configuration("catalog.password_file \(path): cannot be read as UTF-8 text")
        }
        return text.trimmingCharacters(in: .newlines)
    }
}
