/// One RTMP message, reassembled from chunks (RTMP specification 1.0, 2012, §6.1).
public struct RTMPMessage: Equatable, Sendable {
    public var typeID: UInt8
    public var streamID: UInt32
    public var timestamp: UInt32
    public var payload: [UInt8]

    public init(typeID: UInt8, streamID: UInt32, timestamp: UInt32, payload: [UInt8]) {
        self.typeID = typeID
        self.streamID = streamID
        self.timestamp = timestamp
        self.payload = payload
    }
}

/// Message type ids (§5.4, §7.1).
public enum MessageType {
    public static let setChunkSize: UInt8 = 1
    public static let abort: UInt8 = 2
    public static let acknowledgement: UInt8 = 3
    public static let userControl: UInt8 = 4
    public static let windowAckSize: UInt8 = 5
    public static let setPeerBandwidth: UInt8 = 6
    public static let audio: UInt8 = 8
    public static let video: UInt8 = 9
    public static let dataAMF3: UInt8 = 15
    public static let commandAMF3: UInt8 = 17
    public static let dataAMF0: UInt8 = 18
    public static let commandAMF0: UInt8 = 20
}

/// Why a chunk stream was given up; the connection is closed with this in the log.
public enum ChunkError: Error, Equatable, Sendable {
    case invalidChunkSize(UInt32)
    case messageTooLarge(Int)
    case noPreviousHeader(chunkStream: UInt32)
    case tooManyChunkStreams
    case tooMuchBuffered(Int)
}

/// Turns the bytes after the handshake into messages (§5.3): basic headers with 1-, 2- and 3-byte chunk stream
/// ids, message headers of type 0–3, extended timestamps, interleaved chunk streams, and the peer's Set Chunk Size
/// and Abort applied as they arrive.
///
/// Memory is bounded: a message may be at most `maxMessageLength`, all partial messages together at most
/// `maxBuffered`, a peer may use at most `maxChunkStreams` chunk streams, and payloads grow as bytes arrive (a
/// header announcing 16 MB allocates nothing by itself).
public struct ChunkDecoder: Sendable {
    public var maxMessageLength: Int
    public var maxBuffered: Int
    public var maxChunkStreams: Int
    /// The peer's chunk size (128 until it sends Set Chunk Size).
    public private(set) var chunkSize = 128
    /// Bytes received in all, for acknowledgements.
    public private(set) var bytesReceived: UInt64 = 0

    private struct StreamState {
        var timestamp: UInt32 = 0
        var delta: UInt32 = 0
        var length = 0
        var typeID: UInt8 = 0
        var streamID: UInt32 = 0
        var extended = false
        var payload: [UInt8] = []
        var inMessage = false
        /// The `now` of the `feed` that began the current partial message.
        var startedAt: UInt64 = 0
    }

    private var streams: [UInt32: StreamState] = [:]
    private var pending: [UInt8] = []
    private var offset = 0
    private var buffered = 0
    private var now: UInt64 = 0

    /// Bytes held for this peer: partial messages plus received bytes not parsed yet.
    public var memoryInUse: Int { buffered + pending.count - offset }

    /// When the oldest message still being received began (the `now` given to `feed`), nil when none is partial.
    /// A publisher's messages complete within milliseconds; one left half-sent is a peer holding memory.
    public var oldestPartialMessage: UInt64? {
        streams.values.lazy.filter { $0.inMessage && !$0.payload.isEmpty }.map(\.startedAt).min()
    }

    public init(maxMessageLength: Int = 8 << 20, maxBuffered: Int = 32 << 20, maxChunkStreams: Int = 64) {
        self.maxMessageLength = maxMessageLength
        self.maxBuffered = maxBuffered
        self.maxChunkStreams = maxChunkStreams
    }

    /// Adds bytes and returns every message they complete, in order. `now` is any monotonic clock reading (the
    /// caller's), remembered for `oldestPartialMessage`.
    public mutating func feed(_ bytes: some Collection<UInt8>, now: UInt64 = 0) throws(ChunkError) -> [RTMPMessage] {
        self.now = now
        bytesReceived += UInt64(bytes.count)
        if offset > 0 && offset >= pending.count / 2 {
            pending.removeFirst(offset)
            offset = 0
        }
        pending.append(contentsOf: bytes)
        var messages: [RTMPMessage] = []
        while let message = try nextChunk() {
            if let message { messages.append(message) }
        }
        // What is left unparsed is one incomplete chunk: a header and at most a chunk (no larger than a message).
        guard pending.count - offset <= min(chunkSize, maxMessageLength) + 32 else {
            throw .tooMuchBuffered(pending.count - offset)
        }
        return messages
    }

    /// The largest chunk size a peer may set; more is treated as hostile.
    public static let maxChunkSize: UInt32 = 1 << 24

    /// Parses one chunk if it is all there. nil: need more bytes; .some(nil): a chunk that did not end a message.
    private mutating func nextChunk() throws(ChunkError) -> RTMPMessage?? {
        var p = offset
        let available = pending.count
        guard p < available else { return nil }
        let first = pending[p]
        p += 1
        let fmt = first >> 6
        var csid = UInt32(first & 0x3F)
        if csid == 0 {
            guard p + 1 <= available else { return nil }
            csid = 64 + UInt32(pending[p])
            p += 1
        } else if csid == 1 {
            guard p + 2 <= available else { return nil }
            csid = 64 + UInt32(pending[p]) + UInt32(pending[p + 1]) * 256
            p += 2
        }
        let headerLength = [11, 7, 3, 0][Int(fmt)]
        guard p + headerLength <= available else { return nil }
        var state: StreamState
        if let existing = streams[csid] {
            state = existing
        } else {
            guard fmt == 0 else { throw .noPreviousHeader(chunkStream: csid) }
            guard streams.count < maxChunkStreams else { throw .tooManyChunkStreams }
            state = StreamState()
        }
        let startsMessage = !state.inMessage
        var timestampField: UInt32 = 0
        if fmt <= 2 {
            timestampField = read24(p)
            if fmt <= 1 {
                state.length = Int(read24(p + 3))
                state.typeID = pending[p + 6]
                guard state.length <= maxMessageLength else { throw .messageTooLarge(state.length) }
            }
            if fmt == 0 {
                state.streamID = UInt32(pending[p + 7]) | UInt32(pending[p + 8]) << 8 | UInt32(pending[p + 9]) << 16
                    | UInt32(pending[p + 10]) << 24
            }
            state.extended = timestampField == 0xFFFFFF
        }
        p += headerLength
        if state.extended {
            guard p + 4 <= available else { return nil }
            timestampField = read24(p) << 8 | UInt32(pending[p + 3])
            p += 4
        }
        if fmt != 3 && !startsMessage {
            // A new header in the middle of a message: the old partial message is dropped (as after Abort).
            buffered -= state.payload.count
            state.payload = []
        }
        let remaining = state.length - (fmt == 3 && !startsMessage ? state.payload.count : 0)
        let take = min(chunkSize, max(0, remaining))
        guard p + take <= available else { return nil }

        // The whole chunk is here: commit it.
        switch fmt {
        case 0:
            state.timestamp = timestampField
            state.delta = 0
        case 1, 2:
            state.delta = timestampField
            state.timestamp &+= timestampField
        default:
            if startsMessage { state.timestamp &+= state.delta }
        }
        if fmt != 3 || startsMessage {
            state.payload = []
            state.inMessage = true
            state.startedAt = now
        }
        buffered += take
        guard buffered <= maxBuffered else { throw .tooMuchBuffered(buffered) }
        state.payload.append(contentsOf: pending[p..<(p + take)])
        p += take
        offset = p

        guard state.payload.count >= state.length else {
            streams[csid] = state
            return .some(nil)
        }
        let message = RTMPMessage(typeID: state.typeID, streamID: state.streamID, timestamp: state.timestamp, payload: state.payload)
        buffered -= state.payload.count
        state.payload = []
        state.inMessage = false
        streams[csid] = state
        try apply(message)
        return .some(message)
    }

    /// Protocol control messages that change how the following chunks are read.
    private mutating func apply(_ message: RTMPMessage) throws(ChunkError) {
        guard message.streamID == 0 || message.typeID <= 2 else { return }
        switch message.typeID {
        case MessageType.setChunkSize where message.payload.count >= 4:
            let size = UInt32(message.payload[0] & 0x7F) << 24 | UInt32(message.payload[1]) << 16
                | UInt32(message.payload[2]) << 8 | UInt32(message.payload[3])
            guard size >= 1, size <= Self.maxChunkSize else { throw .invalidChunkSize(size) }
            chunkSize = Int(size)
        case MessageType.abort where message.payload.count >= 4:
            let csid = UInt32(message.payload[0]) << 24 | UInt32(message.payload[1]) << 16 | UInt32(message.payload[2]) << 8
                | UInt32(message.payload[3])
            if var state = streams[csid] {
                buffered -= state.payload.count
                state.payload = []
                state.inMessage = false
                streams[csid] = state
            }
        default:
            break
        }
    }

    private func read24(_ p: Int) -> UInt32 {
        UInt32(pending[p]) << 16 | UInt32(pending[p + 1]) << 8 | UInt32(pending[p + 2])
    }
}

/// Writes messages as chunks: a type-0 header, then type-3 continuation chunks of `chunkSize` bytes.
public struct ChunkEncoder: Sendable {
    public var chunkSize = 128

    public init(chunkSize: Int = 128) { self.chunkSize = chunkSize }

    public func encode(_ message: RTMPMessage, chunkStream csid: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.payload.count + 16 + message.payload.count / max(chunkSize, 1) * 4)
        let extended = message.timestamp >= 0xFFFFFF
        func basicHeader(_ fmt: UInt8) {
            if csid < 64 {
                out.append(fmt << 6 | UInt8(csid))
            } else if csid < 320 {
                out += [fmt << 6, UInt8(csid - 64)]
            } else {
                out += [fmt << 6 | 1, UInt8((csid - 64) & 0xFF), UInt8((csid - 64) >> 8)]
            }
        }
        basicHeader(0)
        let ts = extended ? 0xFFFFFF : message.timestamp
        out += [UInt8(ts >> 16 & 0xFF), UInt8(ts >> 8 & 0xFF), UInt8(ts & 0xFF)]
        let length = message.payload.count
        out += [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), message.typeID]
        out += [UInt8(message.streamID & 0xFF), UInt8(message.streamID >> 8 & 0xFF), UInt8(message.streamID >> 16 & 0xFF), UInt8(message.streamID >> 24)]
        func extendedTimestamp() {
            if extended {
                out += [UInt8(message.timestamp >> 24), UInt8(message.timestamp >> 16 & 0xFF), UInt8(message.timestamp >> 8 & 0xFF), UInt8(message.timestamp & 0xFF)]
            }
        }
        extendedTimestamp()
        var start = 0
        repeat {
            let end = min(length, start + chunkSize)
            if start > 0 {
                basicHeader(3)
                extendedTimestamp()
            }
            out += message.payload[start..<end]
            start = end
        } while start < length
        return out
    }
}
