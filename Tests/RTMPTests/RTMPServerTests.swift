import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMP
import Testing

/// Counts what a publisher sent.
final class RecordingSink: PublishSink, @unchecked Sendable {
    let lock = NIOLock()
    var video = 0
    var audio = 0
    var keyframes = 0
    var metadata: AMF0Value?
    var endedReason: String?
    var lastVideoTimestamp: UInt32 = 0

    func metadata(_ value: AMF0Value) { lock.withLock { metadata = value } }
    func media(_ message: RTMPMessage) {
        lock.withLock {
            if message.typeID == 9 {
                video += 1
                lastVideoTimestamp = message.timestamp
                if message.payload.first.map({ $0 >> 4 == 1 }) == true { keyframes += 1 }
            } else {
                audio += 1
            }
        }
    }
    func ended(reason: String) { lock.withLock { endedReason = reason } }
}

/// Accepts one key, refuses the rest, and remembers every request.
final class KeyAuthorizer: PublishAuthorizer, @unchecked Sendable {
    let lock = NIOLock()
    let goodKey: String
    var requests: [PublishRequest] = []
    var sinks: [RecordingSink] = []

    init(goodKey: String) { self.goodKey = goodKey }

    func authorize(_ request: PublishRequest) async -> PublishDecision {
        lock.withLock { requests.append(request) }
        guard request.key == goodKey, request.app == "live" else {
            return .reject(code: "NetStream.Publish.BadName", description: "Unknown stream key.")
        }
        let sink = RecordingSink()
        lock.withLock { sinks.append(sink) }
        return .accept(sink)
    }
}

@Suite("RTMP server with a real publisher", .serialized)
struct RTMPServerTests {
    func start(_ authorizer: KeyAuthorizer, handshake: TimeAmount = .seconds(10), idle: TimeAmount = .seconds(30)) async throws -> (any Channel, Int) {
        var logger = Logger(label: "rtmp-test")
        logger.logLevel = .notice
        let server = RTMPServer(
            configuration: .init(host: "127.0.0.1", port: 0, handshakeTimeout: handshake, idleTimeout: idle),
            authorizer: authorizer, logger: logger)
        let channel = try await server.start(group: MultiThreadedEventLoopGroup.singleton)
        return (channel, try #require(channel.localAddress?.port))
    }

    /// `ffmpeg -re` publishing a generated H.264/AAC stream to `url`; returns its exit status and stderr.
    func publish(_ url: String, seconds: Int) async throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = [
            "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i",
            "sine=frequency=440:sample_rate=44100", "-t", "\(seconds)", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", url,
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Read on a dispatch thread: a blocking read on one of the (two, on this machine) cooperative threads can
        // starve the server's own async work while other suites run.
        let data = await withCheckedContinuation { (done: CheckedContinuation<Data, Never>) in
            DispatchQueue.global().async { done.resume(returning: errors.fileHandleForReading.readDataToEndOfFile()) }
        }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("ffmpeg publishes with the right key: metadata, keyframes, audio and video arrive, and the end is reported")
    func ffmpegPublishes() async throws {
        // given
        let authorizer = KeyAuthorizer(goodKey: "good-key")
        let (channel, port) = try await start(authorizer)
        defer { channel.close(promise: nil) }

        // when
        let (status, errors) = try await publish("rtmp://127.0.0.1:\(port)/live/good-key", seconds: 3)

        // then
        #expect(status == 0, "\(errors)")
        try await Task.sleep(nanoseconds: 300_000_000)
        let sink = try #require(authorizer.lock.withLock { authorizer.sinks.first })
        sink.lock.withLock {
            #expect(sink.video >= 70)
            #expect(sink.audio >= 100)
            #expect(sink.keyframes >= 3)
            #expect(sink.lastVideoTimestamp >= 2800)
            #expect(sink.metadata?["width"] == .number(320))
            #expect(sink.metadata?["videocodecid"] == .number(7))
            #expect(sink.endedReason == "the publisher stopped")
        }
        #expect(authorizer.requests.first?.remoteAddress == "127.0.0.1")
    }

    @Test("A wrong key is refused with an onStatus error and the connection closed; ffmpeg fails")
    func wrongKey() async throws {
        let authorizer = KeyAuthorizer(goodKey: "good-key")
        let (channel, port) = try await start(authorizer)
        defer { channel.close(promise: nil) }
        let (status, _) = try await publish("rtmp://127.0.0.1:\(port)/live/not-the-key", seconds: 2)
        #expect(status != 0)
        #expect(authorizer.requests.map(\.key) == ["not-the-key"])
        #expect(authorizer.sinks.isEmpty)
    }

    @Test("Garbage, a stalled handshake and a half message are closed with a log line; a publisher alongside is untouched")
    func hostilePeersDoNotDisturbOthers() async throws {
        let authorizer = KeyAuthorizer(goodKey: "good-key")
        // The handshake limit is generous enough for ffmpeg to start on a loaded machine; the hostile peers
        // come once it is publishing.
        let (channel, port) = try await start(authorizer, handshake: .seconds(5), idle: .seconds(2))
        defer { channel.close(promise: nil) }
        let publisher = Task { try await publish("rtmp://127.0.0.1:\(port)/live/good-key", seconds: 8) }
        for _ in 0..<100 where authorizer.lock.withLock({ authorizer.sinks.isEmpty }) {
            try await Task.sleep(nanoseconds: 100_000_000)
        }

        // An HTTP request, a wrong version, a silent peer and a huge announced message.
        let closedHTTP = try RawSocket.closedAfterSending(port: port, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), wait: 3)
        let closedSilent = try RawSocket.closedAfterSending(port: port, [3] + [UInt8](repeating: 1, count: 100), wait: 8)
        var hugeMessage: [UInt8] = [3] + [UInt8](repeating: 0, count: 1536)
        hugeMessage += [UInt8](repeating: 0, count: 1536)  // C2 (after S0S1S2, which we ignore)
        hugeMessage += [0x03, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x14, 0, 0, 0, 0]  // 16 MB command message
        let closedHuge = try RawSocket.closedAfterSending(port: port, hugeMessage, wait: 3)
        #expect(closedHTTP)
        #expect(closedSilent)
        #expect(closedHuge)

        let (status, errors) = try await publisher.value
        #expect(status == 0, "\(errors)")
        let sink = try #require(authorizer.lock.withLock { authorizer.sinks.first })
        #expect(sink.lock.withLock { sink.video } >= 180)
    }
}

extension RTMPServerTests {
    @Test("A publisher that goes silent without closing is ended after the idle timeout (the channel goes offline)")
    func silentPublisherEnds() async throws {
        let authorizer = KeyAuthorizer(goodKey: "good-key")
        let (channel, port) = try await start(authorizer, idle: .seconds(2))
        defer { channel.close(promise: nil) }
        // A hand-made publisher: handshake, connect, createStream, publish — then nothing more.
        let encoder = ChunkEncoder()
        func command(_ values: [AMF0Value], stream: UInt32 = 0) -> [UInt8] {
            encoder.encode(RTMPMessage(typeID: 20, streamID: stream, timestamp: 0, payload: AMF0Writer.encode(values)), chunkStream: 3)
        }
        var bytes: [UInt8] = [3] + [UInt8](repeating: 0, count: 1536) + [UInt8](repeating: 0, count: 1536)
        bytes += command([.string("connect"), .number(1), .object([("app", .string("live"))])])
        bytes += command([.string("createStream"), .number(2), .null])
        bytes += command([.string("publish"), .number(3), .null, .string("good-key"), .string("live")], stream: 1)
        let started = Date()
        let socket = try RawSocket.open(port: port, sending: bytes)
        defer { close(socket) }
        var reason: String?
        while Date().timeIntervalSince(started) < 10 {
            reason = authorizer.lock.withLock { authorizer.sinks.first }.flatMap { sink in sink.lock.withLock { sink.endedReason } }
            if reason != nil { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(reason == "the publisher went silent")
        #expect(Date().timeIntervalSince(started) < 7.5)
    }
}

enum RawSocket {
    /// Connects and sends; the caller closes the returned descriptor.
    static func open(port: Int, sending bytes: [UInt8]) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return fd
    }

    /// Connects, sends, then waits up to `wait` seconds for the server to close the connection.
    static func closedAfterSending(port: Int, _ bytes: [UInt8], wait: Int) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var tv = timeval(tv_sec: wait, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 8192)
        let deadline = Date().addingTimeInterval(Double(wait))
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }  // closed by the server
            if n < 0 { return errno == ECONNRESET }
        }
        return false
    }
}
