import Crypto
import Fluent
import Foundation
import Media
import NIOPosix
import Vapor

/// Random tokens and their stored form.
enum Secrets {
    /// 32 random bytes, base64url, with a prefix that says what it is (`vts_` session, `vtt_` API token).
    static func token(prefix: String) -> String {
        var g = SystemRandomNumberGenerator()
        return prefix + URLSigner.base64URL((0..<32).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    /// What the database keeps instead of a token.
    static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
