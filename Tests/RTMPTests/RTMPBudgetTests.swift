import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import RTMP

#if canImport(Glibc)
    import Glibc
#endif

/// What a peer can make the server hold: little before it shows a key, nothing for long, and never more than the
/// server's budget in all; numbers from an encoder never trap.
@Suite("RTMP budgets: keyless peers, half-sent messages, connection caps, hostile metadata", .serialized)
struct RTMPBudgetTests {
    @Test("Metadata numbers become whole numbers only when finite and in range")
    func metadataNumbersAreChecked() {
        #expect(AMF0Value.number(1280).integer(in: 16...8192) == 1280)
        for bad in [Double.nan, .infinity, -.infinity, 1e300, -1e300, 9_000, 3] {
            #expect(AMF0Value.number(bad).integer(in: 16...8192) == nil, "\(bad)")
        }
        #expect(AMF0Value.string("1280").integer(in: 16...8192) == nil)
    }

    /// Handshake, then `connect`: a session in the phase before `publish`.
    func connected() throws -> PublishSession {
        var session = PublishSession(decoder: ChunkDecoder(maxMessageLength: 8 << 20))
        _ = try session.receive([3] + [UInt8](repeating: 0, count: 1536))
        _ = try session.receive([UInt8](repeating: 0, count: 1536))
        let connect = ChunkEncoder().encode(
            RTMPMessage(
                typeID: 20, streamID: 0, timestamp: 0,
                payload: AMF0Writer.encode([.string("connect"), .number(1), .object([("app", .string("live"))])])),
            chunkStream: 3)
        _ = try session.receive(connect)
        #expect(session.phase == .connected)
        return session
    }

    @Test("Before a key is accepted a message may have 64 KiB; after, the configured size")
    func keylessPeersGetLittle() throws {
        var session = try connected()
        let big = ChunkEncoder().encode(
            RTMPMessage(typeID: 9, streamID: 1, timestamp: 0, payload: [UInt8](repeating: 0, count: 100_000)), chunkStream: 5)
        #expect(throws: PublishSession.Failure.chunks(.messageTooLarge(100_000))) { _ = try session.receive(Array(big.prefix(2000))) }

        var publishing = try connected()
        let encoder = ChunkEncoder()
        _ = try publishing.receive(
            encoder.encode(
                RTMPMessage(
                    typeID: 20, streamID: 0, timestamp: 0, payload: AMF0Writer.encode([.string("createStream"), .number(2), .null])),
                chunkStream: 3))
        let events = try publishing.receive(
            encoder.encode(
                RTMPMessage(
                    typeID: 20, streamID: 1, timestamp: 0,
                    payload: AMF0Writer.encode([.string("publish"), .number(3), .null, .string("k"), .string("live")])), chunkStream: 3))
        #expect(events.contains(.publishRequested(app: "live", key: "k")))
        _ = publishing.accept()
        let media = try publishing.receive(big)
        #expect(media.contains { if case .media(let m) = $0 { m.payload.count == 100_000 } else { false } })
    }

    @Test("The decoder says how much it holds and since when a message is half-sent")
    func partialMessagesAreTimed() throws {
        var decoder = ChunkDecoder()
        let message = ChunkEncoder().encode(
            RTMPMessage(typeID: 9, streamID: 1, timestamp: 0, payload: [UInt8](repeating: 7, count: 1000)), chunkStream: 5)
        _ = try decoder.feed(Array(message.prefix(300)), now: 1_000)
        #expect(decoder.oldestPartialMessage == 1_000)
        #expect(decoder.memoryInUse >= 256 && decoder.memoryInUse <= 300)
        _ = try decoder.feed(Array(message.dropFirst(300).prefix(200)), now: 2_000)
        #expect(decoder.oldestPartialMessage == 1_000)
        let done = try decoder.feed(Array(message.dropFirst(500)), now: 3_000)
        #expect(done.count == 1 && decoder.oldestPartialMessage == nil && decoder.memoryInUse == 0)
    }

    @Test("Connections are capped per address and in all; memory across them has one budget")
    func sharedLimits() {
        let limits = ConnectionLimits(configuration: .init(maxConnections: 3, maxConnectionsPerAddress: 2, memoryBudget: 1000))
        #expect(limits.admit("a") && limits.admit("a") && !limits.admit("a"))
        #expect(limits.admit("b") && !limits.admit("c"))
        limits.leave("a")
        #expect(limits.admit("c"))
        #expect(limits.hold(from: 0, to: 600))
        #expect(!limits.hold(from: 0, to: 600), "a second connection would take the total over the budget")
        #expect(limits.memoryInUse == 600)
        #expect(limits.hold(from: 600, to: 0) && limits.memoryInUse == 0)
    }

    @Test("A publisher that leaves a message half-sent, trickling bytes to dodge the idle timeout, is closed")
    func trickledMessageIsClosed() async throws {
        // given
        let authorizer = KeyAuthorizer(goodKey: "good-key")
        var logger = Logger(label: "rtmp-test")
        logger.logLevel = .critical
        let server = RTMPServer(
            configuration: .init(host: "127.0.0.1", port: 0, idleTimeout: .seconds(3), partialMessageTimeout: .seconds(2)),
            authorizer: authorizer, logger: logger)
        let channel = try await server.start(group: MultiThreadedEventLoopGroup.singleton)
        defer { channel.close(promise: nil) }
        let port = try #require(channel.localAddress?.port)
        let encoder = ChunkEncoder()
        func command(_ values: [AMF0Value], stream: UInt32 = 0) -> [UInt8] {
            encoder.encode(RTMPMessage(typeID: 20, streamID: stream, timestamp: 0, payload: AMF0Writer.encode(values)), chunkStream: 3)
        }
        var bytes: [UInt8] = [3] + [UInt8](repeating: 0, count: 1536) + [UInt8](repeating: 0, count: 1536)
        bytes += command([.string("connect"), .number(1), .object([("app", .string("live"))])])
        bytes += command([.string("createStream"), .number(2), .null])
        bytes += command([.string("publish"), .number(3), .null, .string("good-key"), .string("live")], stream: 1)
        let socket = try RawSocket.open(port: port, sending: bytes)
        defer { close(socket) }
        try await Task.sleep(nanoseconds: 300_000_000)
        let video = encoder.encode(
            RTMPMessage(typeID: 9, streamID: 1, timestamp: 0, payload: [UInt8](repeating: 1, count: 5000)), chunkStream: 6)

        // when: half a frame, then a byte a second
        _ = Array(video.prefix(1000)).withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let started = Date()
        var reason: String?
        for byte in video.dropFirst(1000).prefix(8) {
            try await Task.sleep(nanoseconds: 1_000_000_000)
            _ = [byte].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            reason = authorizer.lock.withLock { authorizer.sinks.first }.flatMap { sink in sink.lock.withLock { sink.endedReason } }
            if reason != nil { break }
        }

        // then
        #expect(reason == "partial message timeout")
        // the 2 s limit, not the 3 s idle timeout's reset by each byte (a loaded machine adds a second or two)
        #expect(Date().timeIntervalSince(started) < 7)
    }
}
