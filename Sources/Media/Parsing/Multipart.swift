/// One header line of a multipart part.
public struct MultipartHeader: Equatable, Sendable {
    /// Lower-cased.
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Why a multipart body was refused.
public struct MultipartError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
}

/// A streaming `multipart/form-data` scanner (RFC 2046 §5.1.1, RFC 7578): bytes go in as they arrive, in any
/// pieces, and parts come out as headers, body slices and ends, never holding more than a header block or a
/// delimiter's length of a part in memory. The same events come out however the body is cut (`make fuzz`
/// checks that).
public struct MultipartScanner {
    public enum Event: Equatable, Sendable {
        /// A part begins, with its headers.
        case headers([MultipartHeader])
        /// Some of the current part's body.
        case body(ArraySlice<UInt8>)
        /// The current part is over.
        case partEnd
    }

    enum State { case preamble, afterDelimiter, headers, body, done }

    /// `CRLF "--" boundary`: what ends a part's body (the first one's leading CRLF is implied).
    private let delimiter: [UInt8]
    private var state = State.preamble
    /// Bytes not yet consumed; starts with the CRLF the first delimiter is allowed to lack.
    private var pending: [UInt8] = [13, 10]
    private var parts = 0
    public let maxHeaderBytes: Int
    public let maxParts: Int

    /// Whether the closing delimiter has been seen (what follows it, the epilogue, is ignored).
    public var isFinished: Bool { state == .done }

    /// `boundary` as the Content-Type gives it: 1–70 characters, none of them CR, LF or quote (RFC 2046 §5.1.1).
    public init(boundary: String, maxHeaderBytes: Int = 16 << 10, maxParts: Int = 1000) throws(MultipartError) {
        let b = Array(boundary.utf8)
        guard !b.isEmpty, b.count <= 70, b.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 }) else {
            throw MultipartError(description: "the boundary must be 1-70 printable ASCII characters")
        }
        delimiter = [13, 10, 45, 45] + b
        self.maxHeaderBytes = maxHeaderBytes
        self.maxParts = maxParts
    }

    /// Consumes the next piece of the body.
    public mutating func feed<C: Collection>(_ chunk: C) throws(MultipartError) -> [Event] where C.Element == UInt8 {
        if state == .done { return [] }
        pending.append(contentsOf: chunk)
        var events: [Event] = []
        var start = 0
        defer { pending.removeFirst(start) }
        loop: while true {
            switch state {
            case .done:
                start = pending.count
                break loop
            case .preamble:
                if let i = find(delimiter, in: pending, from: start) {
                    start = i + delimiter.count
                    state = .afterDelimiter
                } else {
                    start = max(start, pending.count - (delimiter.count - 1))
                    break loop
                }
            case .afterDelimiter:
                // `--` closes the body; otherwise optional transport padding, then CRLF.
                guard pending.count - start >= 2 else { break loop }
                if pending[start] == 45, pending[start + 1] == 45 {
                    state = .done
                    continue
                }
                var i = start
                while i < pending.count, pending[i] == 32 || pending[i] == 9 { i += 1 }
                guard i - start <= 64 else { throw MultipartError(description: "a boundary line is followed by junk") }
                guard pending.count - i >= 2 else { break loop }
                guard pending[i] == 13, pending[i + 1] == 10 else {
                    throw MultipartError(description: "a boundary line is not followed by CRLF")
                }
                start = i + 2
                state = .headers
            case .headers:
                let end: Int
                let blockEnd: Int
                if pending.count - start >= 2, pending[start] == 13, pending[start + 1] == 10 {
                    end = start
                    blockEnd = start + 2
                } else if let i = find([13, 10, 13, 10], in: pending, from: start) {
                    end = i
                    blockEnd = i + 4
                } else {
                    // (+ 3: the block's CRLF CRLF may be cut after its first byte.)
                    guard pending.count - start <= maxHeaderBytes + 3 else {
                        throw MultipartError(description: "a part's headers are over \(maxHeaderBytes) bytes")
                    }
                    break loop
                }
                guard end - start <= maxHeaderBytes else {
                    throw MultipartError(description: "a part's headers are over \(maxHeaderBytes) bytes")
                }
                parts += 1
                guard parts <= maxParts else { throw MultipartError(description: "the body has more than \(maxParts) parts") }
                events.append(.headers(try Self.headers(pending[start..<end])))
                start = blockEnd
                state = .body
            case .body:
                if let i = find(delimiter, in: pending, from: start) {
                    if i > start { events.append(.body(pending[start..<i])) }
                    events.append(.partEnd)
                    start = i + delimiter.count
                    state = .afterDelimiter
                } else {
                    // Keep back what could be the start of a delimiter cut in two.
                    let safe = pending.count - (delimiter.count - 1)
                    if safe > start {
                        events.append(.body(pending[start..<safe]))
                        start = safe
                    }
                    break loop
                }
            }
        }
        return events
    }

    /// Call when the body has ended: throws unless the closing delimiter was seen.
    public func finish() throws(MultipartError) {
        guard state == .done else { throw MultipartError(description: "the body ended before its closing boundary") }
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count - from >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                let first = n[0]
                var i = from
                let last = h.count - n.count
                while i <= last {
                    if h[i] == first {
                        var j = 1
                        while j < n.count, h[i + j] == n[j] { j += 1 }
                        if j == n.count { return i }
                    }
                    i += 1
                }
                return nil
            }
        }
    }

    /// `Name: value` lines separated by CRLF; a line starting with a space or tab continues the one before.
    static func headers(_ block: ArraySlice<UInt8>) throws(MultipartError) -> [MultipartHeader] {
        var out: [MultipartHeader] = []
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = block.startIndex
        var i = block.startIndex
        while i < block.endIndex {
            if block[i] == 13, i + 1 < block.endIndex, block[i + 1] == 10 {
                lines.append(block[lineStart..<i])
                i += 2
                lineStart = i
            } else {
                i += 1
            }
        }
        lines.append(block[lineStart..<block.endIndex])
        for line in lines where !line.isEmpty {
            guard line.allSatisfy({ $0 != 13 && $0 != 10 && $0 != 0 }) else {
                throw MultipartError(description: "a part's header has a bare CR, LF or NUL")
            }
            if line.first == 32 || line.first == 9 {
                guard !out.isEmpty else { throw MultipartError(description: "a part's headers start with a continuation line") }
                out[out.count - 1].value += " " + String(decoding: trimmed(line), as: UTF8.self)
                continue
            }
            guard let colon = line.firstIndex(of: 58), colon > line.startIndex,
                line[line.startIndex..<colon].allSatisfy({ HeaderValue.isTokenByte($0) })
            else { throw MultipartError(description: "a part's header line is not 'Name: value'") }
            out.append(
                MultipartHeader(
                    name: String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased(),
                    value: String(decoding: trimmed(line[(colon + 1)...]), as: UTF8.self)))
        }
        return out
    }

    private static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = s
        while let c = s.first, c == 32 || c == 9 { s.removeFirst() }
        while let c = s.last, c == 32 || c == 9 { s.removeLast() }
        return s
    }
}

/// Parameters of a header value such as `form-data; name="file"; filename="a b.mp4"` (RFC 9110 §5.6.6) or
/// `attachment; filename*=UTF-8''na%C3%AFve.mp4` (RFC 8187).
public enum HeaderValue {
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }

    /// The parameters after the first `;`, names lower-cased, quoted strings unquoted (backslash escapes
    /// undone); nil when the syntax is broken (an unterminated quote, a parameter without `=`).
    public static func parameters(_ value: String) -> [(name: String, value: String)]? {
        var bytes = Array(value.utf8)[...]
        // Skip the leading value (`form-data`, `attachment`).
        while let c = bytes.first, c != UInt8(ascii: ";") { bytes.removeFirst() }
        var out: [(name: String, value: String)] = []
        func skipSpaces() { while let c = bytes.first, c == 32 || c == 9 { bytes.removeFirst() } }
        while bytes.first == UInt8(ascii: ";") {
            bytes.removeFirst()
            skipSpaces()
            if bytes.isEmpty { break }
            if bytes.first == UInt8(ascii: ";") { continue }
            var name: [UInt8] = []
            while let c = bytes.first, isTokenByte(c) {
                name.append(c)
                bytes.removeFirst()
            }
            skipSpaces()
            guard !name.isEmpty, bytes.popFirst() == UInt8(ascii: "=") else { return nil }
            skipSpaces()
            var v: [UInt8] = []
            if bytes.first == UInt8(ascii: "\"") {
                bytes.removeFirst()
                var closed = false
                while let c = bytes.popFirst() {
                    if c == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    if c == UInt8(ascii: "\\") {
                        guard let next = bytes.popFirst() else { return nil }
                        v.append(next)
                    } else {
                        v.append(c)
                    }
                }
                guard closed else { return nil }
            } else {
                while let c = bytes.first, c != UInt8(ascii: ";"), c != 32, c != 9 {
                    v.append(c)
                    bytes.removeFirst()
                }
            }
            skipSpaces()
            guard bytes.isEmpty || bytes.first == UInt8(ascii: ";") else { return nil }
            out.append((String(decoding: name, as: UTF8.self).lowercased(), String(decoding: v, as: UTF8.self)))
        }
        guard bytes.isEmpty else { return nil }
        return out
    }

    /// One parameter's value; `name*` (RFC 8187, UTF-8 only) wins over `name` when both are there.
    public static func parameter(_ name: String, in value: String) -> String? {
        guard let all = parameters(value) else { return nil }
        let key = name.lowercased()
        if let extended = all.first(where: { $0.name == key + "*" }), let decoded = extendedValue(extended.value) {
            return decoded
        }
        return all.first(where: { $0.name == key })?.value
    }

    /// `UTF-8'lang'percent-encoded` → text; nil for another charset or a bad escape.
    static func extendedValue(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0].lowercased() == "utf-8" else { return nil }
        var out: [UInt8] = []
        var bytes = Array(pieces[2].utf8)[...]
        while let c = bytes.popFirst() {
            if c == UInt8(ascii: "%") {
                guard bytes.count >= 2, let hi = hex(bytes.removeFirst()), let lo = hex(bytes.removeFirst()) else { return nil }
                out.append(hi << 4 | lo)
            } else {
                out.append(c)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
