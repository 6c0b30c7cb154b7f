/// Storage keys are made by the server (`videos/3f/3f…a1.mp4`), never taken from a request. A key that does
/// not have this shape is refused before it reaches the filesystem, so `..`, absolute paths, NULs and other
/// tricks can't name a file outside the media root.
public enum StorageKey {
    public static func isValid(_ key: String) -> Bool {
        guard !key.isEmpty, key.utf8.count <= 200 else { return false }
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 4 else { return false }
        for part in parts {
            guard !part.isEmpty, part.first != ".", part.utf8.count <= 100 else { return false }
            var previous: UInt8 = 0
            for c in part.utf8 {
                let ok = (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F || c == 0x2E
                guard ok, !(c == 0x2E && previous == 0x2E) else { return false }  // no ".."
                previous = c
            }
        }
        return true
    }

    /// A new random key under `prefix` (letters, digits, dashes) with a file extension.
    public static func generate(prefix: String, fileExtension: String) -> String {
        var g = SystemRandomNumberGenerator()
        let hex = (0..<2).map { _ in
            let s = String(g.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }.joined()
        let ext = fileExtension.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        return "\(prefix)/\(hex.prefix(2))/\(hex)" + (ext.isEmpty ? "" : ".\(ext)")
    }

    /// A single file name such as `720p_0003.m4s`: letters, digits and `_`, then one of `extensions`. Names a
    /// request picks inside a server-made folder are checked with this, so none can step out of it.
    public static func isPlainFileName(_ name: String, extensions: Set<String>, maxStem: Int = 40) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, extensions.contains(String(parts[1])), !parts[0].isEmpty, parts[0].count <= maxStem else { return false }
        return parts[0].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    public static func fileExtension(of key: String) -> String {
        guard let last = key.split(separator: "/").last, let dot = last.lastIndex(of: ".") else { return "" }
        return String(last[last.index(after: dot)...])
    }
}
