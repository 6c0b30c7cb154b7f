/// FLV (Adobe Flash Video File Format Specification 10.1, annex E) from RTMP messages: what ffmpeg reads on
/// stdin to package a live stream. RTMP audio, video and data messages are FLV tag bodies already.
public enum FLVWriter {
    /// The file header (audio and video present) and the first PreviousTagSize.
    public static let header: [UInt8] = [0x46, 0x4C, 0x56, 0x01, 0x05, 0x00, 0x00, 0x00, 0x09, 0, 0, 0, 0]

    /// One tag: type, 24-bit size, timestamp (24 bits + extension byte), stream id 0, body, PreviousTagSize.
    public static func tag(type: UInt8, timestamp: UInt32, body: [UInt8]) -> [UInt8] {
        let size = body.count
        var out: [UInt8] = [type, UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
        out += [UInt8(timestamp >> 16 & 0xFF), UInt8(timestamp >> 8 & 0xFF), UInt8(timestamp & 0xFF), UInt8(timestamp >> 24)]
        out += [0, 0, 0]
        out += body
        let total = UInt32(size + 11)
        out += [UInt8(total >> 24), UInt8(total >> 16 & 0xFF), UInt8(total >> 8 & 0xFF), UInt8(total & 0xFF)]
        return out
    }

    /// The `onMetaData` script tag for an encoder's metadata.
    public static func metadataTag(_ metadata: AMF0Value) -> [UInt8] {
        let pairs: [(String, AMF0Value)]
        switch metadata {
        case .object(let p), .ecmaArray(let p): pairs = p
        default: pairs = []
        }
        return tag(type: 18, timestamp: 0, body: AMF0Writer.encode([.string("onMetaData"), .ecmaArray(pairs)]))
    }
}
