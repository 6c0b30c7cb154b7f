import RTMP
import Testing

func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = text.startIndex
    while i < text.endIndex {
        let j = text.index(i, offsetBy: 2)
        out.append(UInt8(text[i..<j], radix: 16)!)
        i = j
    }
    return out
}

@Suite("RTMP handshake")
struct HandshakeTests {
    @Test("C0+C1 get S0+S1+S2 (S2 echoes C1's time and random bytes); C2 ends it and the rest is chunks")
    func plainHandshake() throws {
        var handshake = ServerHandshake(serverTime: 0x01020304)
        let c1 = (0..<1536).map { UInt8($0 % 251) }
        // C0 and C1 arrive in two pieces.
        var reply = try handshake.feed([3] + c1[0..<700]).reply
        #expect(reply.isEmpty)
        reply = try handshake.feed(c1[700...], random: { 0xAB }).reply
        #expect(reply.count == 1 + 1536 * 2)
        #expect(reply[0] == 3)
        #expect(Array(reply[1..<9]) == [1, 2, 3, 4, 0, 0, 0, 0])
        #expect(reply[9..<1537].allSatisfy { $0 == 0xAB })
        #expect(Array(reply[1537..<1541]) == Array(c1[0..<4]))
        #expect(Array(reply[1541..<1545]) == [1, 2, 3, 4])
        #expect(Array(reply[1545...]) == Array(c1[8...]))
        #expect(handshake.state == .waitingForC2)
        // C2 and the first chunk bytes in one read.
        let done = try handshake.feed([UInt8](repeating: 7, count: 1536) + [0x03, 0x00])
        #expect(done.reply.isEmpty)
        #expect(done.rest == [0x03, 0x00])
        #expect(handshake.state == .done)
    }

    @Test("Any version but 3 is refused at once")
    func wrongVersion() {
        var handshake = ServerHandshake()
        #expect(throws: ServerHandshake.Failure.unsupportedVersion(6)) { try handshake.feed([6]) }
        var http = ServerHandshake()
        #expect(throws: ServerHandshake.Failure.unsupportedVersion(0x47)) { try http.feed(Array("GET / HTTP/1.1\r\n".utf8)) }
    }
}

@Suite("RTMP chunk streams")
struct ChunkTests {
    /// ffmpeg 5's `connect` command, captured on the wire: 140 bytes in a 128-byte chunk and a type-3 continuation.
    static let ffmpegConnect = hex(
        "0300000000008c1400000000020007636f6e6e656374003ff00000000000000300036170700200046c69766500047479706502000a6e6f6e70"
            + "7269766174650008666c617368566572020024464d4c452f332e302028636f6d70617469626c653b204c61766635392e32372e313030290005"
            + "746355726c02001b72746d703a2f2f3132372e302e302e313a33c3343530312f6c697665000009")

    @Test("ffmpeg's captured connect command reassembles and decodes, byte by byte as well as at once")
    func capturedConnect() throws {
        for split in [Self.ffmpegConnect.count, 1] {
            var decoder = ChunkDecoder()
            var messages: [RTMPMessage] = []
            var i = 0
            while i < Self.ffmpegConnect.count {
                messages += try decoder.feed(Self.ffmpegConnect[i..<min(i + split, Self.ffmpegConnect.count)])
                i += split
            }
            #expect(messages.count == 1)
            let message = try #require(messages.first)
            #expect(message.typeID == MessageType.commandAMF0)
            #expect(message.payload.count == 140)
            var reader = AMF0Reader(message.payload)
            let values = try reader.readAll()
            #expect(values[0] == .string("connect"))
            #expect(values[1] == .number(1))
            #expect(values[2]["app"] == .string("live"))
            #expect(values[2]["type"] == .string("nonprivate"))
            #expect(values[2]["tcUrl"] == .string("rtmp://127.0.0.1:34501/live"))
            // Encoding the decoded values gives the same bytes back.
            #expect(AMF0Writer.encode(values) == message.payload)
        }
    }

    @Test("Interleaved chunk streams with header types 0, 1, 2 and 3 and timestamp deltas")
    func interleavedAndHeaderTypes() throws {
        var decoder = ChunkDecoder()
        var bytes: [UInt8] = []
        // csid 4, fmt 0: ts 1000, 200-byte video message on stream 1, first 128 bytes
        bytes += [0x04, 0x00, 0x03, 0xE8, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00] + [UInt8](repeating: 0xAA, count: 128)
        // csid 6, fmt 0: ts 1005, 10-byte audio message (whole) interleaved
        bytes += [0x06, 0x00, 0x03, 0xED, 0x00, 0x00, 0x0A, 0x08, 0x01, 0x00, 0x00, 0x00] + [UInt8](repeating: 0xBB, count: 10)
        // csid 4, fmt 3: the rest of the video message (72 bytes)
        bytes += [0xC4] + [UInt8](repeating: 0xAA, count: 72)
        // csid 4, fmt 1: delta 40, 5-byte video message
        bytes += [0x44, 0x00, 0x00, 0x28, 0x00, 0x00, 0x05, 0x09] + [1, 2, 3, 4, 5]
        // csid 4, fmt 2: delta 33, same length and type
        bytes += [0x84, 0x00, 0x00, 0x21] + [6, 7, 8, 9, 10]
        // csid 4, fmt 3 starting a new message: the same delta again
        bytes += [0xC4] + [11, 12, 13, 14, 15]
        let messages = try decoder.feed(bytes)
        #expect(messages.map(\.typeID) == [8, 9, 9, 9, 9])
        #expect(messages.map(\.timestamp) == [1005, 1000, 1040, 1073, 1106])
        #expect(messages[1].payload == [UInt8](repeating: 0xAA, count: 200))
        #expect(messages[4].payload == [11, 12, 13, 14, 15])
        #expect(messages.allSatisfy { $0.streamID == 1 })
    }

    @Test("Extended timestamps, 2- and 3-byte chunk stream ids, Set Chunk Size and Abort")
    func extendedAndControl() throws {
        var decoder = ChunkDecoder()
        var bytes: [UInt8] = []
        // Set Chunk Size 4096 on csid 2.
        bytes += [0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x10, 0x00]
        // csid 70 (2-byte form), ts 0x01000000 (extended), 300 bytes in one chunk now.
        bytes += [0x00, 70 - 64, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x2C, 0x09, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00]
        bytes += [UInt8](repeating: 0x11, count: 300)
        // csid 400 (3-byte form), a 5000-byte message: 4096 bytes, then Abort on csid 2 for it, then a fresh message.
        let csid = 400 - 64
        bytes += [0x01, UInt8(csid & 0xFF), UInt8(csid >> 8), 0, 0, 1, 0x00, 0x13, 0x88, 0x09, 1, 0, 0, 0]
        bytes += [UInt8](repeating: 0x22, count: 4096)
        bytes += [0x02, 0, 0, 0, 0, 0, 4, 0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x90]
        bytes += [0x01, UInt8(csid & 0xFF), UInt8(csid >> 8), 0, 0, 2, 0x00, 0x00, 0x02, 0x09, 1, 0, 0, 0, 0x33, 0x33]
        let messages = try decoder.feed(bytes)
        #expect(decoder.chunkSize == 4096)
        #expect(messages.map(\.typeID) == [1, 9, 2, 9])
        #expect(messages[1].timestamp == 0x0100_0000)
        #expect(messages[1].payload.count == 300)
        #expect(messages[3].payload == [0x33, 0x33])
        #expect(messages[3].timestamp == 2)
    }

    @Test("The encoder's chunks decode to the same messages, at any chunk size, with extended timestamps")
    func roundTrip() throws {
        for size in [1, 128, 4096] {
            var encoder = ChunkEncoder(chunkSize: size)
            encoder.chunkSize = size
            var decoder = ChunkDecoder()
            var bytes: [UInt8] = []
            if size != 128 {
                bytes += ChunkEncoder().encode(
                    RTMPMessage(typeID: 1, streamID: 0, timestamp: 0, payload: [0, 0, UInt8(size >> 8), UInt8(size & 0xFF)]),
                    chunkStream: 2)
            }
            let originals = [
                RTMPMessage(typeID: 9, streamID: 1, timestamp: 40, payload: (0..<1000).map { UInt8($0 & 0xFF) }),
                RTMPMessage(typeID: 8, streamID: 1, timestamp: 0x0200_0000, payload: [1, 2, 3]),
                RTMPMessage(typeID: 20, streamID: 0, timestamp: 0, payload: AMF0Writer.encode([.string("_result"), .number(1), .null])),
            ]
            for (i, message) in originals.enumerated() { bytes += encoder.encode(message, chunkStream: [6, 100, 3000][i]) }
            let decoded = try decoder.feed(bytes).filter { $0.typeID != 1 }
            #expect(decoded == originals, "chunk size \(size)")
        }
    }

    @Test("Hostile input is an error, not a crash or a huge buffer")
    func hostile() {
        // A continuation chunk for a stream never seen.
        var a = ChunkDecoder()
        #expect(throws: ChunkError.noPreviousHeader(chunkStream: 5)) { try a.feed([0xC5, 1, 2, 3]) }
        // A message length over the limit.
        var b = ChunkDecoder(maxMessageLength: 1000)
        #expect(throws: ChunkError.messageTooLarge(0xFFFFFF)) { try b.feed([0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x09, 1, 0, 0, 0]) }
        // An absurd chunk size.
        var c = ChunkDecoder()
        #expect(throws: ChunkError.invalidChunkSize(0x7FFF_FFFF)) {
            try c.feed([0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF])
        }
        var zero = ChunkDecoder()
        #expect(throws: ChunkError.invalidChunkSize(0)) { try zero.feed([0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]) }
        // Too many chunk streams.
        var d = ChunkDecoder(maxChunkStreams: 3)
        var bytes: [UInt8] = []
        for csid in 3...6 { bytes += [UInt8(csid), 0, 0, 0, 0, 0, 1, 0x09, 1, 0, 0, 0, 0xEE] }
        #expect(throws: ChunkError.tooManyChunkStreams) { try d.feed(bytes) }
        // Many partial messages that together go over the buffer limit.
        var e = ChunkDecoder(maxMessageLength: 1 << 20, maxBuffered: 1000, maxChunkStreams: 64)
        var partials: [UInt8] = []
        for csid in 3...20 { partials += [UInt8(csid), 0, 0, 0, 0, 0x10, 0, 0x09, 1, 0, 0, 0] + [UInt8](repeating: 0, count: 128) }
        #expect(throws: ChunkError.tooMuchBuffered(1024)) { try e.feed(partials) }
    }
}

@Suite("AMF0")
struct AMF0Tests {
    @Test("Every type round-trips, and known byte sequences decode as the format defines them")
    func roundTrip() throws {
        let values: [AMF0Value] = [
            .number(1.5), .boolean(true), .string("publish"), .string(String(repeating: "x", count: 70000)), .null, .undefined,
            .object([("app", .string("live")), ("n", .number(-2))]),
            .ecmaArray([("duration", .number(0)), ("width", .number(1280)), ("encoder", .string("obs-output module (libobs version 30.1.2)"))]),
            .strictArray([.number(1), .string("a")]), .date(1_700_000_000_000),
        ]
        var reader = AMF0Reader(AMF0Writer.encode(values))
        #expect(try reader.readAll() == values)
        // Found by `make fuzz`: a NaN date must read back as itself.
        var nan = AMF0Reader(AMF0Writer.encode([.date(.nan), .number(-.nan)]))
        #expect(try nan.readAll() == [.date(.nan), .number(-.nan)])
        // number 1.0, "ab", an object {a: true}
        #expect(AMF0Writer.encode([.number(1)]) == [0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
        #expect(AMF0Writer.encode([.string("ab")]) == [0x02, 0x00, 0x02, 0x61, 0x62])
        #expect(AMF0Writer.encode([.object([("a", .boolean(true))])]) == [0x03, 0x00, 0x01, 0x61, 0x01, 0x01, 0x00, 0x00, 0x09])
    }

    @Test("Truncated, unknown, lying or too deeply nested input throws")
    func hostile() throws {
        func decode(_ bytes: [UInt8]) throws(AMF0Error) -> [AMF0Value] {
            var reader = AMF0Reader(bytes)
            return try reader.readAll()
        }
        #expect(throws: AMF0Error.truncated) { try decode([0x00, 0x3F]) }
        #expect(throws: AMF0Error.truncated) { try decode([0x02, 0xFF, 0xFF, 0x61]) }
        #expect(throws: AMF0Error.unsupportedMarker(0x11)) { try decode([0x11]) }
        #expect(throws: AMF0Error.truncated) { try decode([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05]) }  // a strict array claiming 4 billion items
        #expect(throws: AMF0Error.invalidUTF8) { try decode([0x02, 0x00, 0x02, 0xC3, 0x28]) }
        #expect(throws: AMF0Error.tooDeep) { try decode(nested(40)) }
        #expect(try decode(nested(10)).count == 1)
    }

    /// 40 strict arrays, each holding the next.
    func nested(_ depth: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<depth { bytes += [0x0A, 0, 0, 0, 1] }
        return bytes + [0x05]
    }
}
