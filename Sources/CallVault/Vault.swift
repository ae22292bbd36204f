// A Vault is one opened store: its configuration, catalog and files, plus who is acting and the clock.
import CallVaultCore
import CallVaultStore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class Vault: Sendable {
    public let root: String
    public let configuration: Configuration
    public let catalog: Catalog
    public let files: StoreFiles
    public let clock: any Clock
    /// Fingerprints of the tenants' announcement prompts.
    public let prompts: PromptLibrary
    /// Fingerprints of the tenants' hold-music tracks, made when first needed.
    public let holdMusic: HoldMusicTracks
    /// The user acting (SPEC §8): the OS user, or the user an admin acts for with `--as`.
    public let principal: Principal
    /// The audit actor name.
    public var actor: String { principal.name }

    public static let audioDirectory = "audio"
    public static let quarantineDirectory = "quarantine"

    init(root: String, configuration: Configuration, catalog: Catalog, clock: any Clock, principal: Principal,
         prompts: PromptLibrary = .empty, holdMusic: HoldMusicTracks = HoldMusicTracks()) {
        self.prompts = prompts
        self.holdMusic = holdMusic
        self.root = root
        self.configuration = configuration
        self.catalog = catalog
        self.files = StoreFiles(root: root)
        self.clock = clock
        self.principal = principal
    }

    /// The same opened store acting for another principal: the web app opens the store once and acts for the
    /// user of each request (the login decides who that is; the role checks stay in the use cases).
    public func acting(as principal: Principal) -> Vault {
        Vault(root: root, configuration: configuration, catalog: catalog, clock: clock, principal: principal, prompts: prompts, holdMusic: holdMusic)
    }

    /// An audit event by the acting principal (with the OS user behind `--as`), at the wall clock.
    /// Every event outside the ingest path is built here, so none drops `principal`.
    public func event(_ action: AuditAction, target: String?, details: [String: String] = [:]) -> AuditEvent {
        Self.event(action, target: target, details: details, by: principal, clock: clock)
    }

    static func event(_ action: AuditAction, target: String?, details: [String: String], by principal: Principal,
                      clock: any Clock) -> AuditEvent {
        AuditEvent(at: clock.now(), actor: principal.name, principal: principal.onBehalfOf, action: action, target: target, details: details)
    }

    /// `access.denied` for a value typed by a user that is not a well-formed id: the log records that it was
    /// invalid, never the text itself (it may be a phone number). Returns the usage error to throw (exit 2).
    public func refuseInvalidID(action: String, what: String) -> VaultError {
        try? catalog.appendAudit([event(.accessDenied, target: nil, details: ["action": action, "target": "invalid_id"])])
        return VaultError(.usage, "\(action): not a \(what) id (ids look like 0192f3a4-5b6c-7d8e-9f01-23456789abcd)")
    }

    /// Checks the acting user's role; a refusal is itself audited before it is reported (exit 3).
    public func require(_ roles: Set<Role>, to action: String) throws {
        do {
            try principal.require(roles, to: action)
        } catch {
            try? catalog.appendAudit([event(.accessDenied, target: nil, details: ["action": action])])
            throw error
        }
    }

    /// The name of the OS user running this process.
    public static func osUser() -> String { userName(geteuid()) }

    /// Creates a new store at `root` (SPEC §4): directories 0700, configuration, catalog.
    /// Refuses a directory that already holds a store.
    public static func create(at root: String, tenants: [String], simulation: Bool, actor: String,
                              clock: any Clock = SystemClock()) throws -> Vault {
        let clock = storeClock(clock, simulation: simulation)
        // A folder made ready for the store (by a package, or `install -d -o callvault`) belongs to its user:
        // root's `init` there would leave a store the service user cannot open.
        try requireOwner(of: root)
        for t in tenants where !Sidecar.isSafeTenant(t) {
            throw VaultError(.usage, "--tenant \(t): tenant names are [a-z0-9][a-z0-9-]{0,62}")
        }
        let configPath = root + "/" + Configuration.fileName
        if FileManager.default.fileExists(atPath: configPath) {
            throw VaultError(.usage, "\(root) already holds a store (\(Configuration.fileName) exists)")
        }
        // A catalog without its configuration is still a store (the file was lost or moved): re-initialising
        // it would rewrite its metadata (a simulation flag lets `sweep --now` delete everything).
        for name in [Catalog.fileName, Catalog.fileName + "-wal"] {
            var st = stat()
            if lstat(root + "/" + name, &st) == 0 {
                throw VaultError(.usage, "\(root) already holds a catalog (\(name) exists): restore its \(Configuration.fileName) instead of running init")
            }
        }
        // A shared catalog named by the environment is written into the configuration (without a password), so
        // every later command on this store finds it. One that already holds a store is refused before anything
        // is created.
        let shared = try CatalogOpening.postgresTarget(CatalogSettings())
        let text = Configuration.initialText(tenants: tenants, adminUser: actor, catalogURL: shared?.display)
        let configuration = try Configuration.parse(text)
        var sharedCatalog: Catalog?
        if let shared {
            let c = try CatalogOpening.open(root: root, settings: configuration.catalog)
            if try c.meta("created_at") != nil {
                throw VaultError(.usage, "\(shared.display) already holds a store's catalog: give each store an empty database")
            }
            sharedCatalog = c
        }
        if mkdir(root, 0o700) != 0, errno != EEXIST {
            throw VaultError.failure("cannot create store directory \(root): \(String(cString: strerror(errno)))")
        }
        let files = StoreFiles(root: root)
        try files.makeDirectories(audioDirectory)
        try files.makeDirectories(quarantineDirectory)
        let catalog = try sharedCatalog ?? CatalogOpening.open(root: root, settings: configuration.catalog)
        try catalog.setMeta("simulation", simulation ? "true" : "false")
        try catalog.setMeta("created_at", Timestamp.utc(clock.now()))
        let principal = Principal(name: actor, user: configuration.users[actor], onBehalfOf: nil)
        try catalog.appendAudit([event(.storeInit, target: nil, details: ["simulation": String(simulation), "tenants": String(tenants.count)],
                                       by: principal, clock: clock)])
        try files.writeFile(Data(text.utf8), at: Configuration.fileName)
        try files.syncFileSystem()
        try catalog.setMeta("config_sha256", Hex.encode(SHA256.hash(data: Data(text.utf8))))
        return Vault(root: root, configuration: configuration, catalog: catalog, clock: clock, principal: principal)
    }

    /// Opens an existing store. A missing store or a broken configuration is a `.configuration` error (exit 2).
    public static func open(at root: String, actor: String, asUser: String? = nil, clock: any Clock = SystemClock()) throws -> Vault {
        try requireOwner(of: root)
        let configPath = root + "/" + Configuration.fileName
        let data = try readConfiguration(root: root, path: configPath)
        guard let text = String(data: data, encoding: .utf8) else {
            throw VaultError.configuration("\(Configuration.fileName): not valid UTF-8")
        }
        let configuration = try Configuration.parse(text)
        let prompts = try PromptLibrary.load(configuration, root: root)
        try HoldMusicLibrary.check(configuration, root: root)
        let catalog = try CatalogOpening.open(root: root, settings: configuration.catalog)
        let clock = try storeClock(clock, simulation: catalog.meta("simulation") == "true")
        let principal: Principal
        do {
            principal = try Principal.resolve(osUser: actor, asUser: asUser, configuration: configuration)
        } catch {
            // The name given to --as is not recorded: it was refused, so it is not known to be a user name.
            let os = Principal(name: actor, user: configuration.users[actor], onBehalfOf: nil)
            try? catalog.appendAudit([event(.accessDenied, target: nil, details: ["action": "act as another user"], by: os, clock: clock)])
            throw error
        }
        let vault = Vault(root: root, configuration: configuration, catalog: catalog, clock: clock, principal: principal, prompts: prompts)
        try vault.recordPolicyChange(configurationText: text)
        return vault
    }

    /// Only the store's owner may run a command on it. Every command may write (the read commands append audit
    /// events), and root can write anywhere: an admin's `sudo callvault ingest` would leave root's 0700 folders
    /// and lock file behind, which the service user's daemon, fixity and sweeper can then no longer open —
    /// retention breached in silence. Checked before anything is opened, so a refusal writes nothing (exit 3).
    static func requireOwner(of root: String) throws {
        var st = stat()
        // A missing store is reported as such by what follows ("no store at …").
        guard stat(root, &st) == 0 else { return }
        let me = geteuid()
        guard st.st_uid != me else { return }
        let owner = userName(st.st_uid)
        // sudo takes a uid without a name as `#N`.
        let sudoUser = getpwuid(st.st_uid) == nil ? "'#\(st.st_uid)'" : owner
        throw VaultError(.accessDenied, "the store \(root) belongs to \(owner), not \(userName(me)): run it as \(owner): sudo -u \(sudoUser) callvault …")
    }

    /// The name of a uid, or `uid-N` when it has none.
    static func userName(_ uid: uid_t) -> String {
        if let pw = getpwuid(uid), let name = pw.pointee.pw_name { return String(cString: name) }
        return "uid-\(uid)"
    }

    /// The clock a store runs on: the one given, except that the system clock of a simulation store honours a
    /// shift asked for by the environment (`ShiftedClock`). A production store ignores the variable.
    static func storeClock(_ clock: any Clock, simulation: Bool) -> any Clock {
        guard simulation, clock is SystemClock, let days = ShiftedClock.requestedDays() else { return clock }
        return ShiftedClock(days: days, base: clock)
    }

    /// The configuration's bytes. "No store" (with the advice to create one) only when it truly does not exist;
    /// a store this user may not read says so (exit 3), and so does any other failure, with its cause.
    static func readConfiguration(root: String, path: String) throws -> Data {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            switch err {
            case ENOENT, ENOTDIR:
                throw VaultError.configuration("no store at \(root) (missing \(Configuration.fileName)); create one with `callvault init`")
            case EACCES, EPERM:
                throw VaultError(.accessDenied, "cannot read the store at \(root): permission denied (run as the vault's user)")
            default:
                throw VaultError.configuration("cannot read \(path): \(String(cString: strerror(err)))")
            }
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw VaultError.configuration("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// Retention, users and verification live in a file admins edit by hand; the first command that reads an
    /// edited file records the change (old and new SHA-256 of the file, never its content) in the audit log.
    func recordPolicyChange(configurationText text: String) throws {
        let digest = Hex.encode(SHA256.hash(data: Data(text.utf8)))
        let previous = try catalog.meta("config_sha256")
        guard previous != digest else { return }
        try catalog.appendAudit([event(previous == nil ? .policyRecorded : .policyChanged, target: Configuration.fileName,
                                       details: ["sha256": digest, "previous_sha256": previous ?? "-"])])
        try catalog.setMeta("config_sha256", digest)
    }

    /// Whether the catalog is shared by several workers (PostgreSQL).
    public var isShared: Bool { catalog.db.dialect == .postgres }

    /// Whether this store was made with `init --simulation` (only then is a simulated clock honoured).
    public func isSimulation() throws -> Bool { try catalog.meta("simulation") == "true" }

    /// Runs `body` holding the store's ingest lock, so that one ingest (daemon or one-shot) at a time places
    /// audio and repairs: repair must never remove a file another process is about to commit.
    /// On a shared catalog (PostgreSQL) several workers ingest at once, on one host or several: instead of the
    /// store-wide lock, this process's worker is registered (IngestWorker), pairs are claimed and repair keeps to
    /// what dead workers left.
    public func withIngestLock<T>(_ body: () throws -> T) throws -> T {
        if isShared {
            _ = try IngestWorker.of(self)
            return try body()
        }
        let path = root + "/.ingest.lock"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VaultError.failure("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw VaultError.failure("cannot lock \(path): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
