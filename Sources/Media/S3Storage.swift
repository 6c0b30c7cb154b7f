import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Media in an S3-compatible bucket (`VIDEOTUBE_STORAGE=s3://…`). The local media folder becomes a staging area
/// and a cache: files are written there as before, `store`d into the bucket (then dropped locally), and `fetch`ed
/// back when a job needs them. Playback never reads through the app: the media listener and the stream routes
/// answer with a redirect to a presigned URL of the object. Keys are the same as on local disk.
public final class S3Storage: MediaStorage {
    public let client: S3Client
    let staging: LocalDiskStorage
    let logger: Logger
    /// Files of folders already stored from this node's staging copy (path → size and mtime), so storing a
    /// growing HLS folder after each rendition sends only what is new or changed.
    private let storedFiles = NIOLockedValueBox<[String: (Int64, Int64)]>([:])

    public init(client: S3Client, stagingRoot: String, logger: Logger) throws {
        self.client = client
        self.staging = try LocalDiskStorage(root: stagingRoot)
        self.logger = logger
    }

    public var isRemote: Bool { true }

    public func localPath(for key: String) throws -> String { try staging.localPath(for: key) }
    public func reserve(prefix: String, fileExtension: String) throws -> (key: String, path: String) {
        try staging.reserve(prefix: prefix, fileExtension: fileExtension)
    }
    public func reserveFolder(prefix: String) throws -> (key: String, path: String) { try staging.reserveFolder(prefix: prefix) }

    /// Copies into staging; the caller `store`s the key.
    public func importFile(at source: String, prefix: String, fileExtension: String) throws -> String {
        try staging.importFile(at: source, prefix: prefix, fileExtension: fileExtension)
    }

    /// Only what is staged here (the bucket is asked by `describe`).
    public func representation(of key: String) -> Representation? { staging.representation(of: key) }
    public func folderSize(_ key: String) -> Int64 { staging.folderSize(key) }
    public func isReachable() -> Bool { staging.isReachable() }

    public func delete(_ key: String) {
        guard StorageKey.isValid(key) else { return }
        staging.delete(key)
        let (client, logger) = (self.client, self.logger)
        Task {
            do { try await client.delete(key) } catch { logger.warning("Object storage: could not delete \(key): \(error)") }
        }
    }

    public func deleteFolder(_ key: String) {
        guard StorageKey.isValid(key) else { return }
        evictFolder(key)
        let (client, logger) = (self.client, self.logger)
        Task {
            do { try await client.deletePrefix(key + "/") } catch { logger.warning("Object storage: could not delete \(key)/: \(error)") }
        }
    }

    public func store(_ key: String) async throws {
        let path = try localPath(for: key)
        try await client.put(key, file: path, contentType: MIMEType.forExtension(StorageKey.fileExtension(of: key)))
        unlink(path)
    }

    public func storeFolder(_ key: String) async throws {
        let folder = try localPath(for: key)
        guard let names = FileManager.default.enumerator(atPath: folder) else { return }
        for case let name as String in names {
            let path = "\(folder)/\(name)"
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, !name.hasSuffix(".tmp"), !name.hasSuffix(".partial") else { continue }
            let stamp = (Int64(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
            if let seen = storedFiles.withLockedValue({ $0[path] }), seen == stamp { continue }
            let objectKey = "\(key)/\(name)"
            guard StorageKey.isValid(objectKey) else { continue }
            try await client.put(objectKey, file: path, contentType: MIMEType.forExtension(StorageKey.fileExtension(of: name)))
            storedFiles.withLockedValue { $0[path] = stamp }
        }
    }

    public func fetch(_ key: String) async throws -> String {
        let path = try localPath(for: key)
        if FileManager.default.fileExists(atPath: path) { return path }
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try await client.download(key, to: path)
        return path
    }

    public func fetchFolder(_ key: String) async throws -> String {
        let folder = try localPath(for: key)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for object in try await client.list(prefix: key + "/") {
            let name = String(object.key.dropFirst(key.count + 1))
            guard StorageKey.isValid(object.key), !name.isEmpty else { continue }
            let path = "\(folder)/\(name)"
            if FileManager.default.fileExists(atPath: path) { continue }
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try await client.download(object.key, to: path)
            var st = stat()
            if stat(path, &st) == 0 {
                // Fetched from the bucket: already stored as it is.
                let stamp = (Int64(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
                storedFiles.withLockedValue { $0[path] = stamp }
            }
        }
        return folder
    }

    public func evict(_ key: String) { staging.delete(key) }

    public func evictFolder(_ key: String) {
        guard let folder = try? localPath(for: key) else { return }
        storedFiles.withLockedValue { files in files = files.filter { !$0.key.hasPrefix(folder + "/") } }
        staging.deleteFolder(key)
    }

    public func describe(_ key: String) async -> Representation? {
        guard StorageKey.isValid(key), let object = try? await client.head(key) else { return nil }
        return Representation(
            size: object.size, lastModified: object.lastModified,
            contentType: MIMEType.forExtension(StorageKey.fileExtension(of: key)))
    }

    public func storedSize(ofFolder key: String) async -> Int64 {
        guard StorageKey.isValid(key), let objects = try? await client.list(prefix: key + "/") else { return 0 }
        return objects.reduce(0) { $0 + $1.size }
    }

    public func readSmall(_ key: String, limit: Int) async -> [UInt8]? {
        guard StorageKey.isValid(key), let buffer = try? await client.get(key, upTo: limit) else { return nil }
        return Array(buffer.readableBytesView)
    }

    public func presignedURL(for key: String, expires: Int, contentType: String?, disposition: String?) -> String? {
        guard StorageKey.isValid(key) else { return nil }
        return client.presignedGET(key, expires: expires, contentType: contentType, disposition: disposition)
    }

    public func checkReachable() async -> Bool { await client.bucketReachable() }

    public func storeRegion(of source: String, offset: Int64, length: Int64, as key: String) async throws {
        guard StorageKey.isValid(source), StorageKey.isValid(key) else { throw StorageError.invalidKey }
        try await client.put(
            key, file: try localPath(for: source), offset: offset, length: length,
            contentType: MIMEType.forExtension(StorageKey.fileExtension(of: key)))
    }

    public func list(folder key: String) async throws -> [String] {
        guard StorageKey.isValid(key) else { throw StorageError.invalidKey }
        return try await client.list(prefix: key + "/").map(\.key).sorted()
    }

    /// Downloads the object to a temporary file beside `path`, then appends it (streamed by the OS).
    public func append(_ key: String, into path: String) async throws {
        let piece = path + ".piece"
        defer { unlink(piece) }
        try await client.download(key, to: piece)
        // Blocking file I/O, so on NIO's I/O thread pool rather than a task's thread.
        try await NIOThreadPool.singleton.runIfActive {
            guard let input = FileHandle(forReadingAtPath: piece), let output = FileHandle(forWritingAtPath: path) else {
                throw StorageError.io("cannot open \(path) to put an upload together")
            }
            defer {
                try? input.close()
                try? output.close()
            }
            try output.seekToEnd()
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
        }
    }
}
