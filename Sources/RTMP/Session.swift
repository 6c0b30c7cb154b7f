/// The server side of one RTMP connection that publishes a stream, without any I/O: bytes in, events out.
/// It speaks what OBS, ffmpeg and GStreamer send when publishing (RTMP specification 1.0 §7.2.1 and §7.2.2;
/// the FMS commands `releaseStream` and `FCPublish` that librtmp adds) and answers as Adobe Media Server does.
public struct PublishSession: Sendable {
    public enum Event: Equatable, Sendable {
        /// Bytes to write to the peer.
        case send([UInt8])
        /// The peer asked to publish `key` in application `app`: answer with `accept()` or `reject(…)`.
        case publishRequested(app: String, key: String)
        /// `@setDataFrame` / `onMetaData`: the encoder's description of the stream.
        case metadata(AMF0Value)
        /// An audio (type 8) or video (type 9) message of the accepted stream.
        case media(RTMPMessage)
        /// The peer stopped publishing (`FCUnpublish`, `deleteStream`, `closeStream`).
        case unpublished
    }

    public enum Failure: Error, Equatable, Sendable {
        case handshake(ServerHandshake.Failure)
        case chunks(ChunkError)
        case protocolViolation(String)
    }

    public enum Phase: Equatable, Sendable { case handshake, connecting, connected, awaitingDecision, publishing, finished }

    public private(set) var phase = Phase.handshake
    public private(set) var app = ""
    public private(set) var streamKey = ""
    /// How much the server sends in one chunk, announced with Set Chunk Size after `connect`.
    public let outgoingChunkSize: Int
    public let windowAckSize: UInt32

    private var handshake: ServerHandshake
    private var decoder: ChunkDecoder
    /// The decoder's limits once publishing is accepted; until then a peer that has shown no key gets only
    /// `unauthenticatedLimit` bytes for messages and buffers (commands before `publish` are a few hundred bytes).
    private let publishingLimits: (message: Int, buffered: Int)
    public static let unauthenticatedLimit = 64 << 10
    private var encoder = ChunkEncoder()
    private var peerWindow: UInt32 = 0
    private var lastAck: UInt64 = 0
    private var publishTransaction: Double = 0
    private let streamID: UInt32 = 1

    public init(outgoingChunkSize: Int = 4096, windowAckSize: UInt32 = 2_500_000, decoder: ChunkDecoder = ChunkDecoder(), serverTime: UInt32 = 0) {
        self.outgoingChunkSize = outgoingChunkSize
        self.windowAckSize = windowAckSize
        self.publishingLimits = (decoder.maxMessageLength, decoder.maxBuffered)
        var decoder = decoder
        decoder.maxMessageLength = min(decoder.maxMessageLength, Self.unauthenticatedLimit)
        decoder.maxBuffered = min(decoder.maxBuffered, Self.unauthenticatedLimit)
        self.decoder = decoder
        self.handshake = ServerHandshake(serverTime: serverTime)
    }

    /// Bytes held for the peer (partial messages and unparsed input).
    public var memoryInUse: Int { decoder.memoryInUse }

    /// When the oldest partial message began, in the clock given to `receive`.
    public var oldestPartialMessage: UInt64? { decoder.oldestPartialMessage }

    /// Feeds bytes from the peer; `now` is a monotonic clock reading for `oldestPartialMessage`.
    public mutating func receive(_ bytes: some Collection<UInt8>, now: UInt64 = 0) throws(Failure) -> [Event] {
        var events: [Event] = []
        var chunkBytes: [UInt8]
        if phase == .handshake {
            let result: (reply: [UInt8], rest: [UInt8])
            do {
                result = try handshake.feed(bytes)
            } catch {
                throw .handshake(error)
            }
            if !result.reply.isEmpty { events.append(.send(result.reply)) }
            guard handshake.state == .done else { return events }
            phase = .connecting
            chunkBytes = result.rest
        } else {
            chunkBytes = Array(bytes)
        }
        guard !chunkBytes.isEmpty, phase != .finished else { return events }
        let messages: [RTMPMessage]
        do {
            messages = try decoder.feed(chunkBytes, now: now)
        } catch {
            throw .chunks(error)
        }
        for message in messages { try handle(message, into: &events) }
        if peerWindow > 0, decoder.bytesReceived - lastAck >= UInt64(peerWindow) {
            lastAck = decoder.bytesReceived
            events.append(.send(control(MessageType.acknowledgement, uint32(UInt32(truncatingIfNeeded: decoder.bytesReceived)))))
        }
        return events
    }

    /// The key was good: `NetStream.Publish.Start`.
    public mutating func accept() -> [UInt8] {
        guard phase == .awaitingDecision else { return [] }
        phase = .publishing
        decoder.maxMessageLength = publishingLimits.message
        decoder.maxBuffered = publishingLimits.buffered
        var out = control(MessageType.userControl, [0, 0] + uint32(streamID))  // Stream Begin
        out += status(level: "status", code: "NetStream.Publish.Start", description: "\(streamKeyRedacted) is now published.")
        return out
    }

    /// The key was refused (or the channel is busy): an error `onStatus`; the caller then closes the connection.
    public mutating func reject(code: String = "NetStream.Publish.BadName", description: String) -> [UInt8] {
        phase = .finished
        return status(level: "error", code: code, description: description)
    }

    /// The stream key with all but its start hidden, for messages and logs.
    public var streamKeyRedacted: String { streamKey.count <= 4 ? "****" : String(streamKey.prefix(4)) + "…" }

    private mutating func handle(_ message: RTMPMessage, into events: inout [Event]) throws(Failure) {
        switch message.typeID {
        case MessageType.windowAckSize where message.payload.count >= 4:
            peerWindow = readUInt32(message.payload)
        case MessageType.userControl where message.payload.count >= 6:
            // Ping request (event 6): answer with a ping response (7) carrying the same timestamp.
            if message.payload[0] == 0 && message.payload[1] == 6 {
                events.append(.send(control(MessageType.userControl, [0, 7] + Array(message.payload[2..<6]))))
            }
        case MessageType.commandAMF0, MessageType.commandAMF3:
            var payload = message.payload
            if message.typeID == MessageType.commandAMF3, !payload.isEmpty { payload.removeFirst() }  // AMF3 commands start with a 0 byte
            var reader = AMF0Reader(payload)
            let values: [AMF0Value]
            do {
                values = try reader.readAll()
            } catch {
                throw .protocolViolation("a command that is not AMF0 (\(error))")
            }
            try command(values, into: &events)
        case MessageType.dataAMF0:
            var reader = AMF0Reader(message.payload)
            guard let values = try? reader.readAll() else { return }
            // `@setDataFrame`, "onMetaData", {…} from encoders; a bare "onMetaData", {…} from others.
            if values.first?.stringValue == "@setDataFrame", values.count >= 3 {
                events.append(.metadata(values[2]))
            } else if values.first?.stringValue == "onMetaData", values.count >= 2 {
                events.append(.metadata(values[1]))
            }
        case MessageType.audio, MessageType.video:
            if phase == .publishing { events.append(.media(message)) }
        default:
            break  // Set Chunk Size and Abort were applied by the decoder; others are not needed to ingest
        }
    }

    private mutating func command(_ values: [AMF0Value], into events: inout [Event]) throws(Failure) {
        guard let name = values.first?.stringValue else { throw .protocolViolation("a command without a name") }
        let transaction = values.count > 1 ? values[1].numberValue ?? 0 : 0
        switch name {
        case "connect":
            guard phase == .connecting else { throw .protocolViolation("connect sent twice") }
            app = (values.count > 2 ? values[2]["app"]?.stringValue : nil) ?? ""
            // Strip a query or trailing slash some encoders add to the app name.
            app = String(app.split(separator: "?").first ?? "").trimmingCharacters(in: "/")
            var out = control(MessageType.windowAckSize, uint32(windowAckSize))
            out += control(MessageType.setPeerBandwidth, uint32(windowAckSize) + [2])
            out += control(MessageType.setChunkSize, uint32(UInt32(outgoingChunkSize)))
            encoder.chunkSize = outgoingChunkSize
            out += command(
                streamID: 0,
                [
                    .string("_result"), .number(transaction),
                    .object([("fmsVer", .string("FMS/3,0,1,123")), ("capabilities", .number(31))]),
                    .object([
                        ("level", .string("status")), ("code", .string("NetConnection.Connect.Success")),
                        ("description", .string("Connection succeeded.")), ("objectEncoding", .number(0)),
                    ]),
                ])
            phase = .connected
            events.append(.send(out))
        case "releaseStream", "FCPublish":
            if transaction > 0 { events.append(.send(command(streamID: 0, [.string("_result"), .number(transaction), .null, .undefined]))) }
        case "createStream":
            events.append(.send(command(streamID: 0, [.string("_result"), .number(transaction), .null, .number(Double(streamID))])))
        case "publish":
            guard phase == .connected else { throw .protocolViolation("publish before connect, or twice") }
            guard values.count > 3, let key = values[3].stringValue, !key.isEmpty else {
                throw .protocolViolation("publish without a stream key")
            }
            streamKey = String(key.split(separator: "?").first ?? "")
            publishTransaction = transaction
            phase = .awaitingDecision
            events.append(.publishRequested(app: app, key: streamKey))
        case "FCUnpublish", "deleteStream", "closeStream":
            if phase == .publishing || phase == .awaitingDecision {
                phase = .finished
                events.append(.unpublished)
            }
        default:
            break  // getStreamLength, checkBandwidth, _checkbw and others: nothing to do for a publisher
        }
    }

    private func status(level: String, code: String, description: String) -> [UInt8] {
        command(
            streamID: streamID,
            [
                .string("onStatus"), .number(0), .null,
                .object([("level", .string(level)), ("code", .string(code)), ("description", .string(description))]),
            ])
    }

    private func command(streamID: UInt32, _ values: [AMF0Value]) -> [UInt8] {
        encoder.encode(
            RTMPMessage(typeID: MessageType.commandAMF0, streamID: streamID, timestamp: 0, payload: AMF0Writer.encode(values)),
            chunkStream: streamID == 0 ? 3 : 5)
    }

    private func control(_ type: UInt8, _ payload: [UInt8]) -> [UInt8] {
        encoder.encode(RTMPMessage(typeID: type, streamID: 0, timestamp: 0, payload: payload), chunkStream: 2)
    }

    private func uint32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    private func readUInt32(_ b: [UInt8]) -> UInt32 { UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]) }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
