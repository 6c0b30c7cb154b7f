import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum StorageError: Error, CustomStringConvertible {
    case invalidKey
    case missing(String)
    case io(String)

    public var description: String {
        switch self {
        case .invalidKey: "invalid storage key"
        case .missing(let key): "no stored object \(key)"
        case .io(let message): message
        }
    }
}

/// Where media objects live. The local-disk implementation is the one Videotube ships; the protocol keeps
/// the rest of the code from knowing paths, so an object store can stand in later.
public protocol MediaStorage: Sendable {
    /// A local path for a key; throws for a malformed key. Files written there become the object.
    func localPath(for key: String) throws -> String
    /// Reserves a new key and makes sure its folder exists; the caller writes the file at the path.
    func reserve(prefix: String, fileExtension: String) throws -> (key: String, path: String)
    /// Copies a file into storage (streamed by the OS, never loaded whole).
    func importFile(at source: String, prefix: String, fileExtension: String) throws -> String
    /// Size, modification time and content type of an object; nil when it is not there.
    func representation(of key: String) -> Representation?
    func delete(_ key: String)
    /// Reserves a new folder key (for a video's HLS renditions and storyboard) and creates the folder.
    func reserveFolder(prefix: String) throws -> (key: String, path: String)
    /// Removes a folder and everything in it.
    func deleteFolder(_ key: String)
    /// Bytes of the files in a folder, all levels down (0 when it is not there).
    func folderSize(_ key: String) -> Int64
    /// Whether objects can be written now (readiness checks).
    func isReachable() -> Bool

    // Object stores. A file is written at `localPath` (a staging copy), then `store`d; a file to read is
    // `fetch`ed (a local copy made if needed) and `evict`ed after. On local disk the file is the object, so these
    // are no-ops (the defaults below), and `presignedURL` is nil: the media listener serves the file itself.

    /// The file written at `localPath(for: key)` is finished: make it the stored object.
    func store(_ key: String) async throws
    /// Stores every file now in a folder's staging copy (new and changed ones); the staging copy stays.
    func storeFolder(_ key: String) async throws
    /// A local path holding the object's bytes.
    func fetch(_ key: String) async throws -> String
    /// A local folder holding every object under `key`.
    func fetchFolder(_ key: String) async throws -> String
    /// Drops local copies made by `fetch` / `fetchFolder` or left after `store`.
    func evict(_ key: String)
    func evictFolder(_ key: String)
    /// Size, time and type of a stored object (a request to the store when it is remote).
    func describe(_ key: String) async -> Representation?
    /// Bytes stored under a folder.
    func storedSize(ofFolder key: String) async -> Int64
    /// A small object's bytes (playlists, captions), nil when missing or larger than `limit`.
    func readSmall(_ key: String, limit: Int) async -> [UInt8]?
    /// A URL that serves the object directly from the store for `expires` seconds; nil on local disk.
    func presignedURL(for key: String, expires: Int, contentType: String?, disposition: String?) -> String?
    /// Readiness: the store answers.
    func checkReachable() async -> Bool
    /// Whether objects live elsewhere than this machine's disk.
    var isRemote: Bool { get }
    /// Stores bytes `offset..<offset+length` of the staged file `source` as the object `key` (a piece of an upload).
    func storeRegion(of source: String, offset: Int64, length: Int64, as key: String) async throws
    /// Keys under a folder, sorted (pieces of an upload).
    func list(folder key: String) async throws -> [String]
    /// Appends an object's bytes to the local file at `path` (an upload's pieces put together).
    func append(_ key: String, into path: String) async throws
}

extension MediaStorage {
    public func store(_ key: String) async throws {}
    public func storeFolder(_ key: String) async throws {}
    public func fetch(_ key: String) async throws -> String { try localPath(for: key) }
    public func fetchFolder(_ key: String) async throws -> String { try localPath(for: key) }
    public func evict(_ key: String) {}
    public func evictFolder(_ key: String) {}
    public func describe(_ key: String) async -> Representation? { representation(of: key) }
    public func storedSize(ofFolder key: String) async -> Int64 { folderSize(key) }
    public func readSmall(_ key: String, limit: Int) async -> [UInt8]? {
        guard let representation = representation(of: key), representation.size <= Int64(limit), let path = try? localPath(for: key),
            let data = FileManager.default.contents(atPath: path)
        else { return nil }
        return Array(data)
    }
    public func presignedURL(for key: String, expires: Int, contentType: String?, disposition: String?) -> String? { nil }
    public func checkReachable() async -> Bool { isReachable() }
    public var isRemote: Bool { false }
    public func storeRegion(of source: String, offset: Int64, length: Int64, as key: String) async throws {}
    public func list(folder key: String) async throws -> [String] { [] }
    public func append(_ key: String, into path: String) async throws {}
}

/// Media under a root folder on local disk (`$VIDEOTUBE_DATA_DIR/media`).
public struct LocalDiskStorage: MediaStorage {
    public let root: String

    public init(root: String) throws {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
    }

    public func localPath(for key: String) throws -> String {
        guard StorageKey.isValid(key) else { throw StorageError.invalidKey }
        return "\(root)/\(key)"
    }

    public func reserve(prefix: String, fileExtension: String) throws -> (key: String, path: String) {
        let key = StorageKey.generate(prefix: prefix, fileExtension: fileExtension)
        let path = try localPath(for: key)
        let folder = String(path[..<path.lastIndex(of: "/")!])
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return (key, path)
    }

    public func importFile(at source: String, prefix: String, fileExtension: String) throws -> String {
        let (key, path) = try reserve(prefix: prefix, fileExtension: fileExtension)
        do {
            try FileManager.default.copyItem(atPath: source, toPath: path)
        } catch {
            throw StorageError.io("could not copy \(source) into storage: \(error.localizedDescription)")
        }
        return key
    }

    public func representation(of key: String) -> Representation? {
        guard let path = try? localPath(for: key) else { return nil }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Representation(
            size: Int64(st.st_size), lastModified: Int64(st.st_mtim.tv_sec),
            contentType: MIMEType.forExtension(StorageKey.fileExtension(of: key)))
    }

    public func delete(_ key: String) {
        guard let path = try? localPath(for: key) else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    public func reserveFolder(prefix: String) throws -> (key: String, path: String) {
        let key = StorageKey.generate(prefix: prefix, fileExtension: "")
        let path = try localPath(for: key)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return (key, path)
    }

    public func deleteFolder(_ key: String) {
        guard let path = try? localPath(for: key) else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The root folder is there and writable.
    public func isReachable() -> Bool {
        var st = stat()
        return stat(root, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR && access(root, W_OK) == 0
    }

    public func folderSize(_ key: String) -> Int64 {
        guard let path = try? localPath(for: key), let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        for case let name as String in walker {
            var st = stat()
            if stat("\(path)/\(name)", &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += Int64(st.st_size) }
        }
        return total
    }
}
