/// The tus 1.0.0 request headers a client sets by hand (https://tus.io/protocols/resumable-upload#headers),
/// parsed strictly: a value that is not exactly what the protocol allows is refused (400) rather than guessed at.
public enum TusHeaders {
    /// Why a header was refused, in words a client author can act on.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
        /// The header is well-formed but a value decodes to bytes that are not UTF-8 text (422 rather than 400).
        public var isNotText = false
    }

    /// `Upload-Offset` / `Upload-Length`: a non-negative integer, ASCII digits only (no sign, spaces or
    /// exponent), at most 18 digits so it fits any 64-bit size with room to add.
    public static func size(_ value: String) -> Int64? {
        let digits = value.utf8
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var n: Int64 = 0
        for c in digits {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int64(c - UInt8(ascii: "0"))
        }
        return n
    }

    /// `Upload-Metadata: key base64,key2 base64,key3` — keys are non-empty, unique, printable ASCII without
    /// spaces or commas; values are base64 (padded or not) of UTF-8 text; a key may have no value. Empty list
    /// elements (`a x,,b y`) are skipped as RFC 9110 §5.6.1 allows.
    public static func metadata(_ header: String, maxPairs: Int = 32) throws(Refusal) -> [String: String] {
        var out: [String: String] = [:]
        for element in Array(header.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let trimmed = trim(element)
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: UInt8(ascii: " "), maxSplits: 1, omittingEmptySubsequences: false)
            let keyBytes = parts[0]
            guard !keyBytes.isEmpty, keyBytes.count <= 64, keyBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw Refusal(description: "Upload-Metadata keys are 1–64 printable ASCII characters without spaces or commas.")
            }
            let key = String(decoding: keyBytes, as: UTF8.self)
            guard out[key] == nil else { throw Refusal(description: "Upload-Metadata has '\(key)' twice; keys are unique.") }
            guard out.count < maxPairs else { throw Refusal(description: "Upload-Metadata has more than \(maxPairs) keys.") }
            var value = ""
            if parts.count == 2 {
                let encoded = trim(parts[1])
                guard let bytes = base64(encoded) else {
                    throw Refusal(description: "Upload-Metadata value of '\(key)' is not base64.")
                }
                guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
                    throw Refusal(description: "Upload-Metadata value of '\(key)' is not UTF-8 text once decoded.", isNotText: true)
                }
                value = text
            }
            out[key] = value
        }
        return out
    }

    /// The header for `pairs` (keys sorted), as a client would send it.
    public static func metadataHeader(_ pairs: [String: String]) -> String {
        pairs.keys.sorted().map { key in
            let value = pairs[key]!
            return value.isEmpty ? key : "\(key) \(base64Encode(Array(value.utf8)))"
        }.joined(separator: ",")
    }

    private static func trim(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = bytes
        while let c = s.first, c == 0x20 || c == 0x09 { s.removeFirst() }
        while let c = s.last, c == 0x20 || c == 0x09 { s.removeLast() }
        return s
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    /// Standard base64 (RFC 4648 §4), with or without `=` padding; nil for any other byte or a lone trailing
    /// character. Leftover bits of the last character are ignored, as most decoders do.
    static func base64<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        var chars = Array(text)
        if chars.count % 4 == 0, chars.last == UInt8(ascii: "=") {
            chars.removeLast()
            if chars.last == UInt8(ascii: "=") { chars.removeLast() }
        }
        guard chars.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for c in chars {
            let v = decodeTable[Int(c)]
            guard v >= 0 else { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }

    static func base64Encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var chunk: UInt32 = 0
            for j in 0..<3 { chunk = chunk << 8 | UInt32(j < n ? bytes[i + j] : 0) }
            for j in 0..<4 { out.append(j <= n ? alphabet[Int((chunk >> UInt32(18 - 6 * j)) & 63)] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
