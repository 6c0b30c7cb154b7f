/// AMF0 values (Adobe "Action Message Format -- AMF 0", 2007), what RTMP commands and `onMetaData` are made of.
/// Objects keep their keys in order, since some peers (and our tests) care about the bytes.
public indirect enum AMF0Value: Equatable, Sendable {
    case number(Double)
    case boolean(Bool)
    case string(String)
    case object([(String, AMF0Value)])
    case null
    case undefined
    case ecmaArray([(String, AMF0Value)])
    case strictArray([AMF0Value])
    case date(Double)

    public static func == (a: AMF0Value, b: AMF0Value) -> Bool {
        switch (a, b) {
        // Bit patterns: a NaN equals itself, and what was read is what gets written back.
        case (.number(let x), .number(let y)), (.date(let x), .date(let y)): return x.bitPattern == y.bitPattern
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.null, .null), (.undefined, .undefined): return true
        case (.object(let x), .object(let y)), (.ecmaArray(let x), .ecmaArray(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.strictArray(let x), .strictArray(let y)): return x == y
        default: return false
        }
    }

    /// The value under `key` of an object or ECMA array.
    public subscript(key: String) -> AMF0Value? {
        switch self {
        case .object(let pairs), .ecmaArray(let pairs): return pairs.first { $0.0 == key }?.1
        default: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var numberValue: Double? { if case .number(let n) = self { n } else { nil } }

    /// A number from the network as a whole number within `range`: nil for NaN, infinities, fractions' overflow
    /// and anything outside, so no conversion from an encoder's metadata can trap.
    public func integer(in range: ClosedRange<Int>) -> Int? {
        guard let n = numberValue, n.isFinite, n >= Double(range.lowerBound), n <= Double(range.upperBound) else { return nil }
        return Int(n)
    }
}

/// Why bytes are not valid AMF0.
public enum AMF0Error: Error, Equatable, Sendable {
    case truncated
    case unsupportedMarker(UInt8)
    case tooDeep
    case invalidUTF8
}

/// Reads AMF0 values from bytes. Every length is checked against what is left, nesting is bounded, and
/// unknown markers are errors: hostile input ends in a thrown error, never a trap or a huge allocation.
public struct AMF0Reader {
    public static let maxDepth = 32
    private let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var isAtEnd: Bool { position >= bytes.count }

    /// Every value until the end of the bytes.
    public mutating func readAll() throws(AMF0Error) -> [AMF0Value] {
        var values: [AMF0Value] = []
        while !isAtEnd { values.append(try read()) }
        return values
    }

    public mutating func read() throws(AMF0Error) -> AMF0Value { try read(depth: 0) }

    private mutating func read(depth: Int) throws(AMF0Error) -> AMF0Value {
        guard depth < Self.maxDepth else { throw .tooDeep }
        let marker = try byte()
        switch marker {
        case 0x00: return .number(Double(bitPattern: try uint(8)))
        case 0x01: return .boolean(try byte() != 0)
        case 0x02: return .string(try string(lengthBytes: 2))
        case 0x03: return .object(try pairs(depth: depth))
        case 0x05: return .null
        case 0x06: return .undefined
        case 0x08:
            _ = try uint(4)  // the count is a hint; the end marker is what ends it
            return .ecmaArray(try pairs(depth: depth))
        case 0x0A:
            let count = Int(try uint(4))
            // Each element takes at least one byte: a count larger than what is left is a lie.
            guard count <= bytes.count - position else { throw .truncated }
            var items: [AMF0Value] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try read(depth: depth + 1)) }
            return .strictArray(items)
        case 0x0B:
            let ms = Double(bitPattern: try uint(8))
            _ = try uint(2)  // time zone, unused by the format's own definition
            return .date(ms)
        case 0x0C: return .string(try string(lengthBytes: 4))
        default: throw .unsupportedMarker(marker)
        }
    }

    private mutating func pairs(depth: Int) throws(AMF0Error) -> [(String, AMF0Value)] {
        var result: [(String, AMF0Value)] = []
        while true {
            let key = try string(lengthBytes: 2)
            if key.isEmpty {
                guard try byte() == 0x09 else { throw .truncated }  // object end marker
                return result
            }
            result.append((key, try read(depth: depth + 1)))
        }
    }

    private mutating func byte() throws(AMF0Error) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func uint(_ count: Int) throws(AMF0Error) -> UInt64 {
        guard bytes.count - position >= count else { throw .truncated }
        var value: UInt64 = 0
        for i in 0..<count { value = value << 8 | UInt64(bytes[position + i]) }
        position += count
        return value
    }

    private mutating func string(lengthBytes: Int) throws(AMF0Error) -> String {
        let length = Int(try uint(lengthBytes))
        guard bytes.count - position >= length else { throw .truncated }
        defer { position += length }
        guard let text = String(validating: bytes[position..<(position + length)], as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }
}

/// Writes AMF0 values.
public enum AMF0Writer {
    public static func encode(_ values: [AMF0Value]) -> [UInt8] {
        var out: [UInt8] = []
        for value in values { write(value, into: &out) }
        return out
    }

    public static func write(_ value: AMF0Value, into out: inout [UInt8]) {
        switch value {
        case .number(let n):
            out.append(0x00)
            append(n.bitPattern, bytes: 8, into: &out)
        case .boolean(let b):
            out += [0x01, b ? 1 : 0]
        case .string(let s):
            let utf8 = Array(s.utf8)
            if utf8.count <= 0xFFFF {
                out.append(0x02)
                append(UInt64(utf8.count), bytes: 2, into: &out)
            } else {
                out.append(0x0C)
                append(UInt64(utf8.count), bytes: 4, into: &out)
            }
            out += utf8
        case .object(let pairs):
            out.append(0x03)
            writePairs(pairs, into: &out)
        case .null:
            out.append(0x05)
        case .undefined:
            out.append(0x06)
        case .ecmaArray(let pairs):
            out.append(0x08)
            append(UInt64(pairs.count), bytes: 4, into: &out)
            writePairs(pairs, into: &out)
        case .strictArray(let items):
            out.append(0x0A)
            append(UInt64(items.count), bytes: 4, into: &out)
            for item in items { write(item, into: &out) }
        case .date(let ms):
            out.append(0x0B)
            append(ms.bitPattern, bytes: 8, into: &out)
            out += [0, 0]
        }
    }

    private static func writePairs(_ pairs: [(String, AMF0Value)], into out: inout [UInt8]) {
        for (key, value) in pairs {
            let utf8 = Array(key.utf8.prefix(0xFFFF))
            append(UInt64(utf8.count), bytes: 2, into: &out)
            out += utf8
            write(value, into: &out)
        }
        out += [0x00, 0x00, 0x09]
    }

    private static func append(_ value: UInt64, bytes: Int, into out: inout [UInt8]) {
        for i in stride(from: bytes - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: value >> (UInt64(i) * 8))) }
    }
}
