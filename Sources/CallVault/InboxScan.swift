// Finds input pairs (audio + NAME.json sidecar) in the paths given to ingest, without following symlinks.
import CallVaultCore
import CallVaultStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One call's inputs as found in an inbox: either half may be absent.
public struct InputPair: Sendable, Equatable {
    public var directory: String
    public var baseName: String
    public var audio: String?
    public var sidecar: String?
    /// The tenant given by the inbox sub-folder, used when the sidecar names none.
    public var defaultTenant: String?
    /// The audio's size when scanned (for progress only; the checks use the size of what is read).
    public var audioSize: Int64 = 0

    /// The path reported for this pair: the audio, or the sidecar when there is no audio (SPEC §11).
    public var input: String { audio ?? sidecar ?? directory + "/" + baseName }
}

public enum InboxScan {
    /// Names writers use while a file is still being written (SPEC §2): never picked up.
    public static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part") || name.hasSuffix(".partial")
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Splits `name.ext` into (name, ext); a name without a dot has an empty extension.
    public static func split(_ name: String) -> (String, String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }

    /// Every candidate file below the inbox folders, with size, mtime and the tenant of its first-level
    /// sub-folder; symlinks and other non-regular files are never followed, ignored names are skipped.
    /// Also returns every folder listed (the daemon watches them), and what must not pass in silence: folders
    /// that cannot be listed, and names that are not valid UTF-8 (no path in Swift can name them).
    public static func entries(in inboxes: [String]) -> InboxListing {
        var listing = InboxListing()
        func walk(_ dir: String, tenant: String?, depth: Int) {
            // readdir, not FileManager: it gives a name's bytes as they are, so a non-UTF-8 name is seen.
            guard let handle = opendir(dir) else {
                // A sub-folder that vanished mid-scan is no news; anything else, or an inbox missing, is.
                if errno != ENOENT || depth == 0 {
                    listing.unreadableFolders.append((dir, tenant, String(cString: strerror(errno))))
                }
                return
            }
            defer { closedir(handle) }
            listing.folders.append(dir)
            let dfd = dirfd(handle)
            while let entry = readdir(handle) {
                let bytes: [UInt8] = withUnsafeBytes(of: &entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
                if bytes == [46] || bytes == [46, 46] { continue }
                var st = stat()
                let found = bytes.withUnsafeBufferPointer { b -> Bool in
                    var cName = b.map { CChar(bitPattern: $0) }
                    cName.append(0)
                    return fstatat(dfd, cName, &st, AT_SYMLINK_NOFOLLOW) == 0
                }
                guard found else { continue }
                let kind = st.st_mode & S_IFMT
                guard let name = String(validating: bytes, as: UTF8.self) else {
                    // Ignored names stay ignored whatever their encoding (their markers are ASCII).
                    let lossy = String(decoding: bytes, as: UTF8.self)
                    if !isIgnored(lossy), kind == S_IFREG || kind == S_IFDIR {
                        listing.invalidNames.append((dir + "/" + Hex.encode(bytes), depth == 0 ? nil : tenant))
                    }
                    continue
                }
                guard !isIgnored(name) else { continue }
                let path = dir + "/" + name
                switch kind {
                case S_IFDIR: walk(path, tenant: depth == 0 ? name : tenant, depth: depth + 1)
                case S_IFREG:
                    listing.files.append((path, Int64(st.st_size), Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9, tenant))
                default: break
                }
            }
        }
        for inbox in inboxes { walk(inbox, tenant: nil, depth: 0) }
        return listing
    }

    /// What a one-shot scan found: the pairs, and what it cannot take — never skipped in silence.
    public struct Found: Sendable {
        public var pairs: [InputPair] = []
        /// Folders the vault user cannot read (a tenant folder with the wrong owner or mode).
        public var unreadableFolders: [(path: String, detail: String)] = []
        /// Names that are not UTF-8, shown with their bad bytes escaped; left in place as `unsafe_name`.
        public var undecodableNames: [String] = []
    }

    /// Pairs in the given files and folders. Folders are walked; each first-level sub-folder is a tenant
    /// folder whose name is the default tenant of everything below it (and a folder given directly whose
    /// name is a configured tenant is that tenant's folder). A file given directly is paired with
    /// its partner in the same folder, and its folder's name is the default tenant when `isTenant` says so.
    public static func pairs(in paths: [String], isTenant: (String) -> Bool) throws -> [InputPair] {
        try scan(paths, isTenant: isTenant).pairs
    }

    public static func scan(_ paths: [String], isTenant: (String) -> Bool) throws -> Found {
        var found = Found()
        var groups: [String: InputPair] = [:]
        var extraAudio: [InputPair] = []

        func add(file path: String, size: Int64, directory: String, name: String, tenant: String?) {
            let (base, ext) = split(name)
            let key = directory + "/" + base
            var pair = groups[key] ?? InputPair(directory: directory, baseName: base, audio: nil, sidecar: nil, defaultTenant: tenant)
            if ext.lowercased() == "json", pair.sidecar != nil, pair.sidecar != path {
                // A second sidecar for one name (`c8.json` and `c8.JSON`): neither is chosen in silence; this one
                // stands alone and is reported.
                extraAudio.append(InputPair(directory: directory, baseName: base, audio: nil, sidecar: path, defaultTenant: tenant))
                return
            } else if ext.lowercased() == "json" {
                pair.sidecar = path
            } else if pair.audio == nil || pair.audio == path {
                pair.audio = path
                pair.audioSize = size
            } else {
                // A second audio file for one sidecar: the first (by name) keeps the pair, this one stands alone.
                extraAudio.append(InputPair(directory: directory, baseName: base, audio: path, sidecar: nil, defaultTenant: tenant, audioSize: size))
                return
            }
            groups[key] = pair
        }

        func walk(_ dir: String, tenant: String?, depth: Int) {
            let listing: (names: [String], undecodable: [[UInt8]])
            switch InboxFiles.list(dir) {
            case .success(let l): listing = l
            case .failure(let u):
                found.unreadableFolders.append((dir, u.detail))
                return
            }
            for bytes in listing.undecodable where !(bytes.first == 46) {
                found.undecodableNames.append(dir + "/" + InboxFiles.escaped(bytes))
            }
            for name in listing.names where !isIgnored(name) {
                let path = dir + "/" + name
                var st = stat()
                guard lstat(path, &st) == 0 else {
                    // Gone meanwhile is fine; anything else (a path too long, an I/O error) is reported, not skipped.
                    if errno != ENOENT { found.unreadableFolders.append((dir, "cannot inspect an entry: \(StoreFiles.errnoText())")) }
                    continue
                }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: walk(path, tenant: depth == 0 ? name : tenant, depth: depth + 1)
                case S_IFREG: add(file: path, size: Int64(st.st_size), directory: dir, name: name, tenant: tenant)
                default: break  // Symlinks, devices, sockets: never followed, never ingested.
                }
            }
        }

        for raw in paths {
            let path = raw.count > 1 && raw.hasSuffix("/") ? String(raw.dropLast()) : raw
            if isDirectory(path) {
                // A tenant's own folder given directly (`ingest inbox/acme-energy`) is its default tenant.
                let own = URL(fileURLWithPath: path).lastPathComponent
                if isTenant(own) { walk(path, tenant: own, depth: 1) } else { walk(path, tenant: nil, depth: 0) }
            } else if isRegularFile(path) {
                let url = URL(fileURLWithPath: path)
                let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
                let name = url.lastPathComponent
                guard !isIgnored(name) else { continue }
                let folder = URL(fileURLWithPath: dir).lastPathComponent
                let tenant = isTenant(folder) ? folder : nil
                var st = stat()
                _ = lstat(path, &st)
                add(file: path, size: Int64(st.st_size), directory: dir, name: name, tenant: tenant)
                // The partner, when it lies beside the named file: the sidecar of an audio file, or the first
                // audio file of a sidecar.
                let (base, ext) = split(name)
                let wantSidecar = ext.lowercased() != "json"
                let siblings = (try? InboxFiles.list(dir).get().names) ?? []
                for s in siblings where s != name && !isIgnored(s) && split(s).0 == base
                    && (split(s).1.lowercased() == "json") == wantSidecar && isRegularFile(dir + "/" + s) {
                    var sst = stat()
                    _ = lstat(dir + "/" + s, &sst)
                    add(file: dir + "/" + s, size: Int64(sst.st_size), directory: dir, name: s, tenant: tenant)
                    break
                }
            } else {
                throw VaultError(.usage, "\(path): no such file or folder (symlinks are not followed)")
            }
        }
        found.pairs = (Array(groups.values) + extraAudio).sorted { $0.input < $1.input }
        return found
    }
}
