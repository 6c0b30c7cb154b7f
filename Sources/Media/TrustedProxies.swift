#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which peers are reverse proxies whose `X-Forwarded-For` is believed (`VIDEOTUBE_TRUSTED_PROXIES`: addresses
/// and CIDR ranges). From any other peer the header is ignored, so a client cannot pick the address that rate
/// limits, view counting and the watch log see.
public struct TrustedProxies: Sendable, Equatable {
    /// One address or range, as 16 bytes (IPv4 as IPv4-mapped IPv6) and a prefix length over them.
    public struct Range: Sendable, Equatable {
        let bytes: [UInt8]
        let prefix: Int

        /// `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`; nil when malformed.
        public init?(_ text: String) {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let bytes = TrustedProxies.parse(String(parts[0])) else { return nil }
            let isV4 = !parts[0].contains(":")
            let maxPrefix = isV4 ? 32 : 128
            var prefix = maxPrefix
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...maxPrefix).contains(p), String(p) == parts[1] else { return nil }
                prefix = p
            }
            self.bytes = bytes
            self.prefix = isV4 ? prefix + 96 : prefix
        }

        func contains(_ address: [UInt8]) -> Bool {
            var left = prefix
            for i in 0..<16 where left > 0 {
                let bits = min(8, left)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                guard address[i] & mask == bytes[i] & mask else { return false }
                left -= bits
            }
            return true
        }
    }

    public let ranges: [Range]

    public init(_ ranges: [Range] = []) { self.ranges = ranges }

    /// A comma-separated list; nil when an entry is malformed.
    public init?(list: String) {
        var ranges: [Range] = []
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let range = Range(item) else { return nil }
            ranges.append(range)
        }
        self.ranges = ranges
    }

    public func isTrusted(_ address: String) -> Bool {
        guard let bytes = Self.parse(address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the nearest address in
    /// `X-Forwarded-For` (read from the right) that is not itself a trusted proxy. Malformed entries stop the walk
    /// at the last good address.
    /// Whether no proxy is trusted (then `X-Forwarded-For` is never read).
    public var isEmpty: Bool { ranges.isEmpty }

    public func clientAddress(peer: String?, forwardedFor: String?) -> String? {
        guard let peer, !ranges.isEmpty, isTrusted(peer), let forwardedFor else { return peer }
        var client = peer
        for entry in forwardedFor.split(separator: ",").reversed() {
            let candidate = entry.trimmingCharacters(in: .whitespaces)
            guard Self.parse(candidate) != nil else { break }
            client = candidate
            if !isTrusted(candidate) { break }
        }
        return client
    }

    /// 16 bytes for an IPv4 (mapped) or IPv6 address, nil for anything else.
    static func parse(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let b = withUnsafeBytes(of: &v4) { Array($0) }
            return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + b
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        return withUnsafeBytes(of: &v6) { Array($0) }
    }
}
