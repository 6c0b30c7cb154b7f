import Foundation
import NIOConcurrencyHelpers

/// Why a chat line or a moderation action was refused: the `code` of the socket's `error` frame (see
/// `docs/CHAT.md`), a message a person can act on, and for waits the seconds left.
public struct ChatRefusal: Error, Equatable, Sendable {
    public var code: String
    public var message: String
    public var retryAfter: Int?

    public init(_ code: String, _ message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }
}

/// The text rules every line passes, whoever writes it.
public enum ChatText {
    /// Characters a line may have (as people count them).
    public static let maxCharacters = 500
    /// Bytes a line may have: 500 characters of combining marks would otherwise make a huge line.
    public static let maxBytes = 2000

    /// The line as stored: control characters become spaces, ends trimmed; refused when empty or too long.
    public static func clean(_ raw: String) throws(ChatRefusal) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars {
            scalars.append(CharacterSet.controlCharacters.contains(scalar) && scalar != "\u{200D}" ? " " : scalar)
        }
        let text = String(scalars).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ChatRefusal("empty", "Write something first.") }
        guard text.count <= maxCharacters, text.utf8.count <= maxBytes else {
            throw ChatRefusal("too_long", "A chat message has at most \(maxCharacters) characters; this one has \(text.count).")
        }
        return text
    }

    /// Lower case without accents, for matching ("Été" and "ete" are the same word).
    public static func folded(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil).lowercased()
    }

    /// The words of `text`, folded: runs of letters and digits.
    public static func words(_ text: String) -> [Substring] {
        folded(text).split(whereSeparator: { !($0.isLetter || $0.isNumber) })
    }

    /// The owner's blocked words and phrases (one per line or comma-separated), folded and split into words.
    public static func blockedList(_ setting: String) -> [[Substring]] {
        setting.split(whereSeparator: { $0 == "\n" || $0 == "," }).map { words(String($0)) }.filter { !$0.isEmpty }
    }

    /// The first blocked word or phrase that `text` contains as whole words, if any.
    public static func blocked(_ text: String, list: [[Substring]]) -> String? {
        guard !list.isEmpty else { return nil }
        let words = words(text)
        for phrase in list where phrase.count <= words.count {
            for start in 0...(words.count - phrase.count) where words[start] == phrase[0] {
                if phrase.indices.allSatisfy({ words[start + $0] == phrase[$0] }) { return phrase.joined(separator: " ") }
            }
        }
        return nil
    }

    private static let linkEndings: Set<Substring> = [
        "com", "net", "org", "io", "tv", "gg", "ly", "me", "co", "de", "fr", "uk", "ru", "info", "xyz", "app", "dev", "be", "live",
        "link", "site", "online", "shop", "eu", "us", "ca", "nl", "it", "es", "pl", "br", "jp", "cn", "in", "au",
    ]

    /// Whether `text` holds something a browser or a reader would take for a link: a scheme, `www.`, or a host
    /// name with a common ending ("example.com/x").
    public static func hasLink(_ text: String) -> Bool {
        for token in text.lowercased().split(whereSeparator: { $0.isWhitespace }) {
            if token.contains("://") || token.hasPrefix("www.") { return true }
            let host = token.split(separator: "/", maxSplits: 1).first ?? token
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            guard labels.count >= 2, let last = labels.last?.split(separator: ":").first else { continue }
            let ending = last.filter { $0.isLetter }
            if labels.dropLast().allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } }),
                linkEndings.contains(Substring(ending)), ending.count == last.count
            {
                return true
            }
        }
        return false
    }
}

/// At most `limit` lines per user and channel in any `window` seconds, on this node. Refusals say how long to wait.
public final class ChatRateLimiter: Sendable {
    public let limit: Int
    public let window: TimeInterval
    private let sent = NIOLockedValueBox([String: [Date]]())

    public init(limit: Int = 5, window: TimeInterval = 10) {
        self.limit = limit
        self.window = window
    }

    /// Counts a line by `who` at `now`, or throws `rate_limited` (the line is not counted then).
    public func admit(_ who: String, now: Date = Date()) throws(ChatRefusal) {
        let wait: Int? = sent.withLockedValue { sent in
            if sent.count > 10_000 { sent = sent.filter { now.timeIntervalSince($0.value.last ?? .distantPast) < window } }
            var times = (sent[who] ?? []).filter { now.timeIntervalSince($0) < window }
            if times.count >= limit {
                sent[who] = times
                return max(1, Int((window - now.timeIntervalSince(times[0])).rounded(.up)))
            }
            times.append(now)
            sent[who] = times
            return nil
        }
        if let wait {
            throw ChatRefusal("rate_limited", "You are sending messages too fast: at most \(limit) in \(Int(window)) seconds. Wait \(wait) s.", retryAfter: wait)
        }
    }
}
