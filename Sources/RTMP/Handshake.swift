/// The server side of the RTMP handshake (RTMP specification 1.0 §5.2): C0+C1 in, S0+S1+S2 out, C2 in.
///
/// This is the plain handshake that ffmpeg, OBS (librtmp) and GStreamer accept: S1 is random, S2 echoes C1.
/// Only version 3 is spoken (6 means RTMPE, which is refused). C2 is read but not compared: clients that use
/// the digest handshake fill it differently and every popular server lets that pass.
public struct ServerHandshake: Sendable {
    public static let packetSize = 1536

    public enum State: Sendable { case waitingForC0C1, waitingForC2, done }
    public enum Failure: Error, Equatable, Sendable { case unsupportedVersion(UInt8) }

    public private(set) var state = State.waitingForC0C1
    private var buffer: [UInt8] = []
    private let serverTime: UInt32

    public init(serverTime: UInt32 = 0) { self.serverTime = serverTime }

    /// Feeds bytes; returns what to send back and, once done, the bytes that followed C2 (the first chunks).
    public mutating func feed(_ bytes: some Collection<UInt8>, random: () -> UInt8 = { UInt8.random(in: 0...255) })
        throws(Failure) -> (reply: [UInt8], rest: [UInt8])
    {
        buffer.append(contentsOf: bytes)
        var reply: [UInt8] = []
        if state == .waitingForC0C1 {
            guard let version = buffer.first else { return ([], []) }
            guard version == 3 else { throw .unsupportedVersion(version) }
            guard buffer.count >= 1 + Self.packetSize else { return ([], []) }
            let c1 = Array(buffer[1...Self.packetSize])
            buffer.removeFirst(1 + Self.packetSize)
            reply.append(3)
            // S1: time, four zero bytes, random.
            reply += [UInt8(serverTime >> 24), UInt8(serverTime >> 16 & 0xFF), UInt8(serverTime >> 8 & 0xFF), UInt8(serverTime & 0xFF), 0, 0, 0, 0]
            for _ in 0..<(Self.packetSize - 8) { reply.append(random()) }
            // S2: C1's time, the time we read C1 (ours), then C1's random bytes.
            reply += c1[0..<4]
            reply += [UInt8(serverTime >> 24), UInt8(serverTime >> 16 & 0xFF), UInt8(serverTime >> 8 & 0xFF), UInt8(serverTime & 0xFF)]
            reply += c1[8...]
            state = .waitingForC2
        }
        if state == .waitingForC2 {
            guard buffer.count >= Self.packetSize else { return (reply, []) }
            let rest = Array(buffer[Self.packetSize...])
            buffer = []
            state = .done
            return (reply, rest)
        }
        return (reply, [])
    }
}
