import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import Media

#if canImport(Glibc)
    import Glibc
#endif

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
        let listener = try server.start()
        let port = listener.port
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

        // each served request reached the watch-log callback with its video (a connection's requests for one link
        // summed, reported at the latest by the next sweep, within a second)
        let deadline = Date().addingTimeInterval(3)
        while events.requests < 3, Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(events.requests >= 3 && events.videoIDs.allSatisfy { $0 == 42 })

        // three ranges on one connection are one event of three requests and their bytes; the HEAD after them, with
        // another status, is an event of its own
        let before = events.count
        let target = String(good.dropFirst(base.count))
        let three = try await RawClient.exchange(
            port: port,
            send: (0..<3).map { "GET \(target) HTTP/1.1\r\nRange: bytes=\($0 * 10)-\($0 * 10 + 9)\r\n\r\n" }.joined()
                + "HEAD \(target) HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(three.closed)
        let settled = Date().addingTimeInterval(3)
        while events.count < before + 2, Date() < settled { try await Task.sleep(nanoseconds: 50_000_000) }
        let batch = events.all.suffix(from: before)
        #expect(batch.map(\.requests) == [3, 1] && batch.map(\.status) == [206, 200] && batch.map(\.bytes) == [30, 0])
        await listener.close()
    }
}

/// The listener's own connection handling, over raw sockets (what URLSession cannot show: pipelining, HTTP/1.0,
/// malformed bytes, silence and slow reading).
@Suite("Media listener connections")
struct MediaConnectionTests {
    struct Fixture {
        var root: String
        var listener: MediaListener
        var port: Int
        var target: String
        var bytes: [UInt8]

        init(size: Int, idleTimeout: Int64 = 60) async throws {
            root = NSTemporaryDirectory() + "media-\(UUID().uuidString)"
            let storage = try LocalDiskStorage(root: root)
            let (key, path) = try storage.reserve(prefix: "videos", fileExtension: "mp4")
            bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            let signer = URLSigner(secret: Array("0123456789abcdef0123456789abcdef".utf8))
            let configuration = MediaServer.Configuration(
                host: "127.0.0.1", port: 0, signer: signer, storage: storage,
                responder: MediaResponder(planner: RangePlanner(maxOpenEndedBytes: Int64(size))), idleTimeout: idleTimeout)
            listener = try MediaServer(configuration: configuration).start()
            port = listener.port
            target = signer.path(for: MediaGrant(key: key, expires: Int64(Date().timeIntervalSince1970) + 600, videoID: 7))
        }

        func close() async throws {
            await listener.close()
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    @Test("Pipelined requests are answered in order, HTTP/1.0 keeps alive when asked, bad bytes get 400")
    func pipeliningAndBadBytes() async throws {
        let f = try await Fixture(size: 50_000)
        defer { Task { try await f.close() } }
        // three requests in one write: two ranges and a HEAD that closes the connection
        let three = try await RawClient.exchange(
            port: f.port,
            send: "GET \(f.target) HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n"
                + "GET \(f.target) HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n"
                + "HEAD \(f.target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let text = String(decoding: three.bytes, as: UTF8.self)
        #expect(three.closed)
        let first = try #require(text.range(of: "Content-Range: bytes 0-9/50000"))
        let second = try #require(text.range(of: "Content-Range: bytes 10-19/50000"))
        let third = try #require(text.range(of: "HTTP/1.1 200 OK"))
        #expect(first.lowerBound < second.lowerBound && second.lowerBound < third.lowerBound)
        #expect(text.components(separatedBy: "HTTP/1.1 206 Partial Content").count == 3)
        #expect(text.hasSuffix("Content-Length: 50000\r\nConnection: close\r\n\r\n"))  // HEAD: headers only
        let body1 = try #require(text.range(of: "\r\n\r\n", range: first.upperBound..<text.endIndex))
        #expect(Array(three.bytes[text.utf8.distance(from: text.startIndex, to: body1.upperBound)...].prefix(10)) == Array(f.bytes[0..<10]))

        // HTTP/1.0 asking for keep-alive gets it, and a second request on the same connection is answered
        let old = try await RawClient.exchange(
            port: f.port,
            send: "GET \(f.target) HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=0-0\r\n\r\n"
                + "GET \(f.target) HTTP/1.0\r\nRange: bytes=1-1\r\n\r\n")
        let oldText = String(decoding: old.bytes, as: UTF8.self)
        #expect(oldText.hasPrefix("HTTP/1.0 206 Partial Content\r\n"))
        #expect(oldText.contains("Connection: keep-alive\r\n") && oldText.contains("Content-Range: bytes 1-1/50000"))
        #expect(old.closed)  // the second had no keep-alive

        // thousands of tiny requests in one write are answered one after another (not one inside another: a
        // chain of nested answers that deep would overflow the event loop's stack)
        let count = 4_000  // about 90 KB: the client sends it all before reading, so it stays under the socket buffers
        let many = try await RawClient.exchange(
            port: f.port,
            send: String(repeating: "GET /healthz HTTP/1.1\n\n", count: count) + "GET /healthz HTTP/1.1\nConnection: close\n\n")
        let answers = String(decoding: many.bytes, as: UTF8.self).components(separatedBy: "HTTP/1.1 200 OK").count - 1
        #expect(answers == count + 1 && many.closed)

        // bytes that are no HTTP request: 400 and the connection ends; the listener goes on serving
        let garbage = try await RawClient.exchange(port: f.port, send: "\u{1}\u{2}NOT HTTP AT ALL\r\n\r\n")
        #expect(String(decoding: garbage.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 400 Bad Request\r\n") && garbage.closed)
        let after = try await RawClient.exchange(
            port: f.port, send: "GET \(f.target) HTTP/1.1\r\nRange: bytes=5-6\r\nConnection: close\r\n\r\n")
        #expect(String(decoding: after.bytes, as: UTF8.self).contains("Content-Range: bytes 5-6/50000"))
    }

    @Test("Clients at once are all answered across the threads; a half-closed client gets its whole answer; closing the listener ends open connections")
    func concurrencyHalfCloseAndStop() async throws {
        let f = try await Fixture(size: 3 << 20)
        // 24 clients at once (accepted on one thread, handed round-robin to the others), each with its own range
        let answers = try await withThrowingTaskGroup(of: (Int, RawClient.Result).self) { group in
            for i in 0..<24 {
                group.addTask {
                    let start = i * 100_000
                    return (
                        i,
                        try await RawClient.exchange(
                            port: f.port, send: "GET \(f.target) HTTP/1.1\r\nRange: bytes=\(start)-\(start + 99_999)\r\nConnection: close\r\n\r\n")
                    )
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for (i, answer) in answers {
            let body = Array(answer.bytes.suffix(100_000))
            let same = body == Array(f.bytes[(i * 100_000)..<(i * 100_000 + 100_000)])
            #expect(answer.closed && same)
        }

        // a client that shuts its sending side after the request still receives the whole 3 MiB answer
        let halfClosed = try await RawClient.exchange(port: f.port, send: "GET \(f.target) HTTP/1.1\r\n\r\n", halfClose: true)
        let body = Array(halfClosed.bytes.suffix(f.bytes.count))
        #expect(halfClosed.closed && body == f.bytes)

        // a connection open when the listener closes is ended at once (not at the 60 s idle timeout)
        async let open = RawClient.exchange(port: f.port, send: "", timeout: 20)
        try await Task.sleep(nanoseconds: 300_000_000)
        let stopped = Date()
        try await f.close()
        let ended = try await open
        #expect(ended.closed && Date().timeIntervalSince(stopped) < 5)
        // and nothing listens any more
        await #expect(throws: (any Error).self) { try await RawClient.exchange(port: f.port, send: "", timeout: 1) }
    }

    @Test("A silent connection is closed after the idle timeout; a slow reader of a long response is not; a stalled one is")
    func idleRule() async throws {
        // an 8 MiB file, idle timeout 1 s
        let f = try await Fixture(size: 8 << 20, idleTimeout: 1)
        defer { Task { try await f.close() } }
        let started = Date()
        let silent = try await RawClient.exchange(port: f.port, send: "", timeout: 10)
        #expect(silent.closed && silent.bytes.isEmpty)
        #expect(Date().timeIntervalSince(started) < 5)

        // a client with a small receive buffer, pausing 20 ms between reads, needs well over the timeout for the file
        let request = "GET \(f.target) HTTP/1.1\r\nConnection: close\r\n\r\n"
        let slowStart = Date()
        let slow = try await RawClient.exchange(port: f.port, send: request, timeout: 60, receiveBuffer: 64 << 10, readPause: 0.02)
        #expect(Date().timeIntervalSince(slowStart) > 1.5)
        let text = String(decoding: slow.bytes.prefix(400), as: UTF8.self)
        let headEnd = try #require(text.range(of: "\r\n\r\n"))
        let bodyStart = text.utf8.distance(from: text.startIndex, to: headEnd.upperBound)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(slow.bytes.count - bodyStart == f.bytes.count)
        let same = Array(slow.bytes[bodyStart...]) == f.bytes  // compared outside #expect: its diff of 8 MiB would take minutes
        #expect(same)

        // a client that stops reading mid-response is dropped once nothing it is sent is acknowledged for the timeout
        let stalled = try await RawClient.exchange(
            port: f.port, send: request, timeout: 30, receiveBuffer: 64 << 10, stall: (afterBytes: 1 << 20, seconds: 5))
        #expect(stalled.closed && stalled.bytes.count < f.bytes.count)
    }

    @Test("Open files are shared for a second, then closed, even when nobody asks again")
    func openFilesLifetime() throws {
        let files = OpenFiles()
        let t0 = NIODeadline.now()
        let root = NSTemporaryDirectory() + "open-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/a.mp4"
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 1, count: 100))

        // two requests within the lifetime share one descriptor
        let first = try files.acquire(path, contentType: "video/mp4", now: t0)
        let second = try files.acquire(path, contentType: "video/mp4", now: t0 + .milliseconds(500))
        #expect(first === second && first.representation.size == 100 && files.openCount == 1)
        files.release(first)

        // the file is replaced: within the lifetime the old descriptor answers, after it the new file
        try FileManager.default.removeItem(atPath: path)
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 2, count: 200))
        let later = try files.acquire(path, contentType: "video/mp4", now: t0 + .milliseconds(1500))
        #expect(later !== first && later.representation.size == 200)
        #expect(first.isOpen)  // still sending: closed at its release
        files.release(second)
        #expect(!first.isOpen)
        files.release(later)

        // nobody asks again: the sweep closes the idle descriptor after its lifetime
        files.sweep(now: t0 + .milliseconds(2000))
        #expect(later.isOpen)  // opened 0.5 s before
        files.sweep(now: t0 + .milliseconds(2600))
        #expect(!later.isOpen && files.openCount == 0)

        // a folder or a missing path is no media
        #expect(throws: (any Error).self) { try files.acquire(root, contentType: "video/mp4") }
        #expect(throws: (any Error).self) { try files.acquire(root + "/missing.mp4", contentType: "video/mp4") }
        #expect(files.openCount == 0)
    }
}

/// A blocking socket client run off Swift's cooperative threads: sends `send`, then reads until the server closes
/// or `timeout` passes, optionally slowly (a small receive buffer and a pause between reads).
enum RawClient {
    struct Result: Sendable {
        var bytes: [UInt8]
        var closed: Bool
    }

    static func exchange(
        port: Int, send: String, timeout: Double = 10, receiveBuffer: Int32? = nil, readPause: Double = 0,
        stall: (afterBytes: Int, seconds: Double)? = nil, halfClose: Bool = false
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result {
                        try run(
                            port: port, send: send, timeout: timeout, receiveBuffer: receiveBuffer, readPause: readPause, stall: stall,
                            halfClose: halfClose)
                    })
            }
        }
    }

    struct SocketError: Error { var what: String }

    private static func run(
        port: Int, send: String, timeout: Double, receiveBuffer: Int32?, readPause: Double, stall: (afterBytes: Int, seconds: Double)?,
        halfClose: Bool
    ) throws -> Result {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(what: "socket") }
        defer { Glibc.close(fd) }
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var wait = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketError(what: "connect") }
        let out = Array(send.utf8)
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw SocketError(what: "send") }
            sent += n
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var stalled = false
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return Result(bytes: bytes, closed: true) }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                return Result(bytes: bytes, closed: true)  // reset
            }
            bytes += chunk[0..<n]
            if readPause > 0 { Thread.sleep(forTimeInterval: readPause) }
            if let stall, !stalled, bytes.count >= stall.afterBytes {
                stalled = true
                Thread.sleep(forTimeInterval: stall.seconds)
            }
        }
        return Result(bytes: bytes, closed: false)
    }
}

final class EventBox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [PlaybackEvent] = []
    func add(_ e: PlaybackEvent) { lock.withLock { events.append(e) } }
    var count: Int { lock.withLock { events.count } }
    var all: [PlaybackEvent] { lock.withLock { events } }
    var videoIDs: [Int] { lock.withLock { events.map(\.grant.videoID) } }
    var requests: Int { lock.withLock { events.reduce(0) { $0 + $1.requests } } }
}
