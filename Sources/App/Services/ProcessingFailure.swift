import Fluent
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers

/// Why processing stopped, in words for the video's owner.
public struct ProcessingFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// `text` with every absolute path cut to its last part: what ffmpeg says names files on the server, and the
    /// owner who reads the reason needs the file's name at most, not where the server keeps it.
    public static func redacted(_ text: String) -> String {
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let startsPath = c == "/" && (i == text.startIndex || " \t'\"(=:".contains(text[text.index(before: i)]))
            guard startsPath else {
                out.append(c)
                i = text.index(after: i)
                continue
            }
            var end = i
            while end < text.endIndex, !" \t'\":,)\n".contains(text[end]) { end = text.index(after: end) }
            let path = text[i..<end]
            out += path.split(separator: "/").last.map(String.init) ?? ""
            i = end
        }
        return out
    }
}
