import Crypto
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signs and checks media URLs with HMAC-SHA256, so the media listener serves private media without a
/// database: the app decides who may see a key, and the listener only checks the signature and expiry.
public struct URLSigner: Sendable {
    private let key: SymmetricKey
    /// Paths signed lately: a listing signs the same thumbnails and files for every visitor within an hour (expiries
    /// are rounded to the hour), and an HMAC per URL was a tenth of a listing's CPU. Bounded: emptied when full.
    private let recent = SignedPaths()

    public init(secret: [UInt8]) {
        precondition(secret.count >= 16, "a signing secret has at least 16 bytes")
        key = SymmetricKey(data: secret)
    }

    /// The path and query for a grant: `/m/KEY?e=EXP&v=VIDEO&r=REVISION&u=USER&s=SIG`.
    public func path(for grant: MediaGrant) -> String {
        let unsigned = SignedMediaPath.unsigned(grant)
        if let signed = recent.get(unsigned) { return signed }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(SignedMediaPath.message(grant).utf8), using: key)
        let signed = unsigned + SignedMediaPath.base64URL(Array(mac))
        recent.put(unsigned, signed)
        return signed
    }

    /// The grant a request target carries when its signature is this signer's and it has not expired; nil
    /// otherwise (see `SignedMediaPath.verify`).
    public func verify(target: String, now: Int64 = Int64(time(nil))) -> MediaGrant? {
        SignedMediaPath.verify(target: target, now: now, signedPath: path(for:))
    }

    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool { SignedMediaPath.constantTimeEqual(a, b) }

    public static func base64URL(_ bytes: [UInt8]) -> String { SignedMediaPath.base64URL(bytes) }
}

/// A bounded map from unsigned to signed paths (the MAC depends only on the unsigned part and the key).
final class SignedPaths: Sendable {
    private let paths = NIOLockedValueBox<[String: String]>([:])
    static let capacity = 20_000

    func get(_ unsigned: String) -> String? { paths.withLockedValue { $0[unsigned] } }

    func put(_ unsigned: String, _ signed: String) {
        paths.withLockedValue {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[unsigned] = signed
        }
    }
}
