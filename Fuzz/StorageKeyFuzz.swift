// libFuzzer target over storage-key and file-name validation: whatever is accepted stays inside its folder —
// relative, no `..` or `.` component, no NUL, backslash, percent or other byte a path could be smuggled with.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    if StorageKey.isValid(text) {
        precondition(!text.hasPrefix("/") && !text.contains("..") && !text.contains("//"), "a key that leaves the media root")
        for part in text.split(separator: "/", omittingEmptySubsequences: false) {
            precondition(!part.isEmpty && part.first != ".", "an empty or dot component")
        }
        precondition(text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || "-_./".utf8.contains($0) })
    }
    if StorageKey.isPlainFileName(text, extensions: ["ts", "m4s", "m3u8", "mp4", "jpg"]) {
        precondition(!text.contains("/") && !text.contains("\\") && !text.contains("..") && !text.hasPrefix("."))
        precondition(text.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 })
    }
    let made = StorageKey.generate(prefix: "videos", fileExtension: text)
    precondition(StorageKey.isValid(made) || made.split(separator: "/").last!.utf8.count > 100, "a generated key is refused: \(made)")
    return 0
}
