/// One inclusive byte range of a representation (RFC 9110 §14.1.1: `first-pos "-" last-pos`).
public struct ByteRange: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let start: Int64
    public let end: Int64

    public init(_ start: Int64, _ end: Int64) {
        precondition(start >= 0 && end >= start, "a byte range runs forwards")
        self.start = start
        self.end = end
    }

    public var count: Int64 { end - start + 1 }

    /// The `Content-Range` value for this range of a representation of `size` bytes (RFC 9110 §14.4).
    public func contentRange(of size: Int64) -> String { "bytes \(start)-\(end)/\(size)" }

    public var description: String { "\(start)-\(end)" }
}

/// One element of a parsed `Range` header before it is resolved against a size.
public enum RangeSpec: Equatable, Sendable {
    /// `first-` or `first-last`; `last` is nil for an open-ended range.
    case fromStart(first: Int64, last: Int64?)
    /// `-n`: the last n bytes.
    case suffix(length: Int64)
}

/// Parses the `Range` request header (RFC 9110 §14.2).
///
/// Returns nil when the header is syntactically invalid or names a unit other than bytes: the server then
/// ignores it and answers 200 with the whole representation, as §14.2 requires. Numbers too large for 64 bits
/// saturate rather than fail, so `bytes=99999999999999999999-` is a start past any file (416) and
/// `bytes=0-99999999999999999999` is clipped to the end (206).
public func parseRangeHeader(_ value: String, maxSpecs: Int = 100) -> [RangeSpec]? {
    var bytes = Substring(value).utf8[...]
    func skipSpaces() { while let c = bytes.first, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { bytes.removeFirst() } }
    skipSpaces()
    // range-unit is a token compared case-insensitively (§14.1); spelled out, not an array made per call.
    let unit: StaticString = "bytes"
    guard bytes.count > unit.utf8CodeUnitCount else { return nil }
    for i in 0..<unit.utf8CodeUnitCount {
        guard let c = bytes.popFirst(), c | 0x20 == unit.utf8Start[i] else { return nil }
    }
    skipSpaces()
    guard bytes.popFirst() == UInt8(ascii: "=") else { return nil }

    func digits() -> Int64? {
        // nil: no digits at all. The value saturates at Int64.max.
        var value: Int64 = 0
        var seen = false
        while let c = bytes.first, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            bytes.removeFirst()
            seen = true
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(c - UInt8(ascii: "0")))
            value = (o1 || o2) ? Int64.max : s
        }
        return seen ? value : nil
    }

    var specs: [RangeSpec] = []
    // range-set = 1#range-spec; the list syntax (§5.6.1) allows empty elements and OWS around commas.
    while true {
        skipSpaces()
        if bytes.first == UInt8(ascii: ",") {
            bytes.removeFirst()
            continue
        }
        if bytes.isEmpty { break }
        if bytes.first == UInt8(ascii: "-") {
            bytes.removeFirst()
            guard let n = digits() else { return nil }
            specs.append(.suffix(length: n))
        } else {
            guard let first = digits() else { return nil }
            guard bytes.popFirst() == UInt8(ascii: "-") else { return nil }
            if let last = digits() {
                // §14.1.1: a last-pos below first-pos makes the range-spec invalid.
                guard last >= first else { return nil }
                specs.append(.fromStart(first: first, last: last))
            } else {
                specs.append(.fromStart(first: first, last: nil))
            }
        }
        guard specs.count <= maxSpecs else { return nil }
        skipSpaces()
        if bytes.isEmpty { break }
        guard bytes.popFirst() == UInt8(ascii: ",") else { return nil }
    }
    return specs.isEmpty ? nil : specs
}

/// What to send for a GET or HEAD of a representation once ranges are resolved.
public enum RangePlan: Equatable, Sendable {
    /// 200 with the whole representation.
    case full
    /// 206 with one range and a `Content-Range` header.
    case single(ByteRange)
    /// 206 `multipart/byteranges` with one part per range, in the order asked for.
    case multiple([ByteRange])
    /// 416 with `Content-Range: bytes */size`.
    case unsatisfiable
}

/// Resolves parsed range specs against a representation's size (RFC 9110 §14.1.2, §14.3).
public struct RangePlanner: Sendable {
    /// The most bytes an open-ended range (`bytes=a-`) carries; the client asks again for the rest,
    /// as the 8 MiB pieces of the reference streaming code do. Nil: no cap.
    public var maxOpenEndedBytes: Int64?
    /// More ranges than this are served as one 200 rather than as many tiny parts (§14.3's denial-of-service note).
    public var maxRanges: Int

    public init(maxOpenEndedBytes: Int64? = nil, maxRanges: Int = 16) {
        self.maxOpenEndedBytes = maxOpenEndedBytes
        self.maxRanges = maxRanges
    }

    /// Plans the response to a `Range` header value (nil when absent) for a representation of `size` bytes.
    public func plan(range header: String?, size: Int64) -> RangePlan {
        guard let header, let specs = parseRangeHeader(header) else { return .full }
        // A zero-length representation has nothing to slice: serve it whole (the server may ignore Range).
        guard size > 0 else { return .full }
        // One range, what players send: no array of ranges.
        if specs.count == 1 { return resolve(specs[0], size: size).map { .single($0) } ?? .unsatisfiable }
        let ranges = specs.compactMap { resolve($0, size: size) }
        guard !ranges.isEmpty else { return .unsatisfiable }
        if ranges.count == 1 { return .single(ranges[0]) }
        if ranges.count > maxRanges { return .full }
        // Overlapping ranges would send the same bytes twice; so would ranges covering the whole file.
        let sorted = ranges.sorted { $0.start < $1.start }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.start <= a.end { return .full }
        if ranges.reduce(0, { $0 + $1.count }) >= size { return .full }
        return .multiple(ranges)
    }

    /// The bytes `spec` names in a representation of `size` bytes, or nil when it names none (unsatisfiable:
    /// dropped, other ranges may still be served).
    private func resolve(_ spec: RangeSpec, size: Int64) -> ByteRange? {
        switch spec {
        case .fromStart(let first, let last):
            guard first < size else { return nil }
            var end = min(last ?? (size - 1), size - 1)
            if last == nil, let cap = maxOpenEndedBytes, cap > 0 {
                end = min(end, first + cap - 1)
            }
            return ByteRange(first, end)
        case .suffix(let length):
            guard length > 0 else { return nil }
            return ByteRange(max(0, size - length), size - 1)
        }
    }
}
