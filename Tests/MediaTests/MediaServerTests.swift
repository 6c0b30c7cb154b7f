import Foundation
import NIOPosix
import Testing

@testable import Media

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The sendfile listener over a real socket, with URLSession as the client.
@Suite("Media listener over HTTP")
struct MediaServerTests {
    @Test("Serves ranges and refuses bad signatures") func servesRangesAndRefusesBadSignatures() async throws {
        // given a stored 300 000-byte file and a listener on a free port
        let root = NSTemporaryDirectory() + "media-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let storage = try LocalDiskStorage(root: root)
        let (key, path) = try storage.reserve(prefix: "videos", fileExtension: "mp4")
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let signer = URLSigner(secret: Array("0123456789abcdef0123456789abcdef".utf8))
        let events = EventBox()
        let server = MediaServer(
            configuration: .init(
                host: "127.0.0.1", port: 0, signer: signer, storage: storage,
                responder: MediaResponder(planner: RangePlanner(maxOpenEndedBytes: 65536)),
                onPlayback: { events.add($0) }))
        let channel = try await server.start(group: MultiThreadedEventLoopGroup.singleton)
        let port = channel.localAddress!.port!
        let base = "http://127.0.0.1:\(port)"
        let good = base + signer.path(for: MediaGrant(key: key, expires: Int64(Date().timeIntervalSince1970) + 60, videoID: 42))

        // when a client asks for a range
        var request = URLRequest(url: URL(string: good)!)
        request.setValue("bytes=1000-1999", forHTTPHeaderField: "Range")
        let (body, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        // then it gets exactly those bytes
        #expect(http.statusCode == 206)
        #expect(http.value(forHTTPHeaderField: "Content-Range") == "bytes 1000-1999/300000")
        #expect(Array(body) == Array(bytes[1000...1999]))

        // an open-ended range is cut at the cap
        request.setValue("bytes=0-", forHTTPHeaderField: "Range")
        let (capped, cappedResponse) = try await URLSession.shared.data(for: request)
        #expect((cappedResponse as! HTTPURLResponse).statusCode == 206 && capped.count == 65536)

        // the whole file without Range
        let (whole, wholeResponse) = try await URLSession.shared.data(from: URL(string: good)!)
        #expect((wholeResponse as! HTTPURLResponse).statusCode == 200 && Array(whole) == bytes)

        // a tampered or unsigned URL is refused
        let (_, forged) = try await URLSession.shared.data(from: URL(string: good.replacingOccurrences(of: "v=42", with: "v=43"))!)
        #expect((forged as! HTTPURLResponse).statusCode == 403)
        let (_, traversal) = try await URLSession.shared.data(from: URL(string: base + "/m/../../etc/passwd")!)
        #expect((traversal as! HTTPURLResponse).statusCode == 403)

        // each served request reached the watch-log callback with its video
        #expect(events.count >= 3 && events.videoIDs.allSatisfy { $0 == 42 })
        try await channel.close()
    }
}

final class EventBox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [PlaybackEvent] = []
    func add(_ e: PlaybackEvent) { lock.withLock { events.append(e) } }
    var count: Int { lock.withLock { events.count } }
    var videoIDs: [Int] { lock.withLock { events.map(\.grant.videoID) } }
}
