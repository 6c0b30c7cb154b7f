// libFuzzer target over the RTMP parsers (`make fuzz`): the handshake, the chunk decoder fed in uneven pieces,
// and AMF0 decoding of every message it yields. Any trap, overflow or sanitizer report is a bug; thrown errors
// are the expected answer to bad bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }

    var handshake = ServerHandshake()
    _ = try? handshake.feed(bytes, random: { 0 })

    // Feed the rest in pieces whose sizes come from the first byte, so chunk boundaries land everywhere.
    var decoder = ChunkDecoder(maxMessageLength: 1 << 20, maxBuffered: 4 << 20, maxChunkStreams: 16)
    let step = Int(first % 37) + 1
    var i = 1
    while i < bytes.count {
        let end = min(bytes.count, i + step)
        guard let messages = try? decoder.feed(bytes[i..<end]) else { break }
        for message in messages where message.typeID == 18 || message.typeID == 20 {
            var reader = AMF0Reader(message.payload)
            if let values = try? reader.readAll() {
                var again = AMF0Reader(AMF0Writer.encode(values))
                precondition((try? again.readAll()) == values, "AMF0 round trip changed the values")
            }
        }
        i = end
    }

    // The whole publish session, past a valid handshake: commands, metadata, media, acknowledgements.
    var session = PublishSession(decoder: ChunkDecoder(maxMessageLength: 1 << 20, maxBuffered: 4 << 20, maxChunkStreams: 16))
    _ = try? session.receive([3] + [UInt8](repeating: 0, count: 3072))
    i = 1
    while i < bytes.count {
        let end = min(bytes.count, i + step)
        guard let events = try? session.receive(bytes[i..<end]) else { break }
        for event in events {
            if case .publishRequested = event { _ = first & 1 == 0 ? session.accept() : session.reject(description: "no") }
        }
        i = end
    }

    var reader = AMF0Reader(Array(bytes.dropFirst()))
    _ = try? reader.readAll()
    return 0
}
