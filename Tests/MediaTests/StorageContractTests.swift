import Foundation
import Logging
import Media
import Testing

/// What the rest of Videotube relies on from media storage, run twice: on the local folder and on an S3 bucket
/// (moto on loopback, started by `make test`). Write at the staged path, `store`, then read back with `fetch`,
/// `describe`, `readSmall`; folders grow and are stored incrementally; pieces of an upload are stored and put
/// together; deletes remove what they name and nothing else; keys that are not storage keys are refused.
@Suite("Media storage contract")
struct StorageContractTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case local, s3
        var testDescription: String { rawValue }
    }

    static var kinds: [Kind] { testS3Endpoint == nil ? [.local] : [.local, .s3] }

    func make(_ kind: Kind) async throws -> (storage: any MediaStorage, root: String) {
        let root = NSTemporaryDirectory() + "storage-\(UUID().uuidString)"
        switch kind {
        case .local:
            return (try LocalDiskStorage(root: root), root)
        case .s3:
            let prefix = "contract-\(UInt32.random(in: 0...UInt32.max))"
            let location = try S3Location.parse("s3://videotube-test/\(prefix)?endpoint=\(testS3Endpoint!)&path_style=1").get()
            let client = S3Client(location: location, accessKey: "test", secretKey: "test", partSize: 5 << 20, multipartThreshold: 6 << 20)
            try await client.createBucketIfMissing()
            return (try S3Storage(client: client, stagingRoot: root, logger: Logger(label: "test")), root)
        }
    }

    func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("A stored file reads back; its size and type are known; a missing key is nil", arguments: kinds)
    func storeAndRead(_ kind: Kind) async throws {
        // given
        let (storage, root) = try await make(kind)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (key, path) = try storage.reserve(prefix: "thumbnails", fileExtension: "jpg")
        try write("not really a jpeg", to: path)

        // when
        try await storage.store(key)
        storage.evict(key)

        // then
        let described = try #require(await storage.describe(key))
        #expect(described.size == 17 && described.contentType == "image/jpeg")
        let back = try await storage.fetch(key)
        #expect(try String(contentsOfFile: back, encoding: .utf8) == "not really a jpeg")
        #expect(await storage.readSmall(key, limit: 1024) == Array("not really a jpeg".utf8))
        #expect(await storage.describe("thumbnails/00/missing.jpg") == nil)
        #expect(await storage.checkReachable())
        #expect(storage.isRemote == (kind == .s3))
        #expect((storage.presignedURL(for: key, expires: 60, contentType: nil, disposition: nil) != nil) == (kind == .s3))
    }

    @Test("A folder stored after each step holds every file once; fetching it elsewhere brings them all", arguments: kinds)
    func folders(_ kind: Kind) async throws {
        // given: a rendition, then a second one and a rewritten playlist
        let (storage, root) = try await make(kind)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (key, folder) = try storage.reserveFolder(prefix: "assets")
        try write("#EXTM3U one", to: "\(folder)/master.m3u8")
        try write("segment 0", to: "\(folder)/240p_0000.m4s")
        try await storage.storeFolder(key)
        try write("#EXTM3U two", to: "\(folder)/master.m3u8")
        try write("segment 1", to: "\(folder)/360p_0000.m4s")
        try await storage.storeFolder(key)

        // when: this node's copy goes away, and the folder is fetched again
        storage.evictFolder(key)
        let fetched = try await storage.fetchFolder(key)

        // then
        #expect(try String(contentsOfFile: "\(fetched)/master.m3u8", encoding: .utf8) == "#EXTM3U two")
        #expect(FileManager.default.fileExists(atPath: "\(fetched)/240p_0000.m4s"))
        #expect(await storage.storedSize(ofFolder: key) == Int64("#EXTM3U two".utf8.count + 2 * "segment 0".utf8.count))
        #expect(await storage.readSmall("\(key)/master.m3u8", limit: 100) == Array("#EXTM3U two".utf8))

        // and: deleting the folder removes it and leaves its neighbour
        let (other, otherPath) = try storage.reserve(prefix: "thumbnails", fileExtension: "jpg")
        try write("x", to: otherPath)
        try await storage.store(other)
        storage.deleteFolder(key)
        try await waitUntil { await storage.storedSize(ofFolder: key) == 0 }
        #expect(await storage.describe(other) != nil)
    }

    @Test("Pieces of an upload are stored by region and put back together in order", arguments: kinds)
    func pieces(_ kind: Kind) async throws {
        let (storage, root) = try await make(kind)
        defer { try? FileManager.default.removeItem(atPath: root) }
        guard kind == .s3 else {
            // On the local folder the staging file is the upload: there are no pieces to keep.
            #expect(try await storage.list(folder: "uploads/ab/cd") == [])
            return
        }
        // given: a 12-byte staging file stored as two pieces
        let (key, path) = try storage.reserve(prefix: "uploads", fileExtension: "part")
        try write("hello, world", to: path)
        let folder = String(key.dropLast(5))
        try await storage.storeRegion(of: key, offset: 0, length: 5, as: "\(folder)/0000000000000000-0000000000000005-a.chunk")
        try await storage.storeRegion(of: key, offset: 5, length: 7, as: "\(folder)/0000000000000005-0000000000000012-b.chunk")

        // when: another node puts them together
        let other = NSTemporaryDirectory() + "assembled-\(UUID().uuidString)"
        defer { unlink(other) }
        FileManager.default.createFile(atPath: other, contents: nil)
        let names = try await storage.list(folder: folder)
        for name in names { try await storage.append(name, into: other) }

        // then
        #expect(names.count == 2)
        #expect(try String(contentsOfFile: other, encoding: .utf8) == "hello, world")
    }

    @Test("Keys that are not storage keys never reach the disk or the bucket", arguments: kinds)
    func refusesBadKeys(_ kind: Kind) async throws {
        let (storage, root) = try await make(kind)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for bad in ["../etc/passwd", "/etc/passwd", "videos/../../x", "videos/a\u{0}b", "videos", "Videos/A.mp4", "videos/./x"] {
            #expect(throws: (any Error).self) { try storage.localPath(for: bad) }
            #expect(await storage.describe(bad) == nil)
            #expect(storage.presignedURL(for: bad, expires: 60, contentType: nil, disposition: nil) == nil)
        }
    }

    func waitUntil(_ condition: () async -> Bool) async throws {
        for _ in 0..<50 {
            if await condition() { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        Issue.record("the condition did not become true within 5 s")
    }
}
