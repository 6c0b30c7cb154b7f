/// What a signed media URL grants: one storage key until an expiry, and who asked (for the watch log).
public struct MediaGrant: Sendable, Equatable {
    public var key: String
    public var expires: Int64
    /// The video the bytes belong to, when they are a video's (watch log, revocation); 0 otherwise.
    public var videoID: Int
    /// The video's access revision when the URL was made: a privacy change or a takedown bumps it, and the
    /// listener refuses grants of an older one.
    public var revision: Int
    /// The signed-in user who got the URL, if any (watch log).
    public var userID: Int?

    public init(key: String, expires: Int64, videoID: Int = 0, revision: Int = 0, userID: Int? = nil) {
        self.key = key
        self.expires = expires
        self.videoID = videoID
        self.revision = revision
        self.userID = userID
    }
}

/// The spelling of a signed media URL, `/m/KEY?e=EXP&v=VIDEO&r=REVISION&u=USER&s=SIG`, and its check. The MAC
/// is the caller's (`URLSigner` uses HMAC-SHA256); this part has no dependencies so `make fuzz` can drive it.
public enum SignedMediaPath {
    /// Everything but the signature; the MAC is appended to it.
    public static func unsigned(_ grant: MediaGrant) -> String {
        "/m/\(grant.key)?e=\(grant.expires)&v=\(grant.videoID)&r=\(grant.revision)&u=\(grant.userID.map(String.init) ?? "")&s="
    }

    /// The bytes the MAC covers.
    public static func message(_ g: MediaGrant) -> String {
        "\(g.key)\n\(g.expires)\n\(g.videoID)\n\(g.revision)\n\(g.userID.map(String.init) ?? "")"
    }

    /// The grant a request target claims, if it has the shape `unsigned(_:)` makes with a non-empty signature;
    /// nothing is checked against a MAC or the clock yet.
    public static func claim(_ target: String) -> MediaGrant? {
        guard target.hasPrefix("/m/") else { return nil }
        let parts = target.dropFirst(3).split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let key = String(parts[0])
        guard StorageKey.isValid(key) else { return nil }
        var query: [Substring: Substring] = [:]
        for pair in parts[1].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, query[kv[0]] == nil else { return nil }
            query[kv[0]] = kv[1]
        }
        guard query.count == 5, let e = query["e"].flatMap({ Int64($0) }), let v = query["v"].flatMap({ Int($0) }),
            let r = query["r"].flatMap({ Int($0) }), let u = query["u"], let s = query["s"], !s.isEmpty
        else { return nil }
        let userID: Int?
        if u.isEmpty {
            userID = nil
        } else {
            guard let id = Int(u) else { return nil }
            userID = id
        }
        return MediaGrant(key: key, expires: e, videoID: v, revision: r, userID: userID)
    }

    /// Checks a request target: the grant it claims, unexpired, whose one signed spelling (`signedPath`, the
    /// unsigned part plus the MAC) equals the target byte for byte, compared in constant time. Only that spelling
    /// passes (no leading zeros, signs, other base64 forms or extra parameters), so a signature verifies for
    /// exactly one URL, and one MAC is computed per request.
    public static func verify(target: String, now: Int64, signedPath: (MediaGrant) -> String) -> MediaGrant? {
        guard let grant = claim(target), grant.expires >= now,
            constantTimeEqual(Array(signedPath(grant).utf8), Array(target.utf8))
        else { return nil }
        return grant
    }

    /// Whether two byte strings are equal, in time that depends only on their length.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Base64url without padding (RFC 4648 §5).
    public static func base64URL(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var chunk: UInt32 = 0
            for j in 0..<3 { chunk = chunk << 8 | UInt32(j < n ? bytes[i + j] : 0) }
            for j in 0..<(n + 1) { out.append(alphabet[Int((chunk >> UInt32(18 - 6 * j)) & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
