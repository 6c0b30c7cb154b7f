/// `Content-Disposition: attachment` with a filename every client can read (RFC 6266 §4.3, RFC 8187).
///
/// `filename="…"` carries an ASCII fallback with quotes, backslashes, slashes and controls replaced, for old
/// clients; `filename*=UTF-8''…` carries the exact name percent-encoded, which current browsers prefer.
public func attachmentDisposition(filename: String) -> String {
    let fallback = String(
        String.UnicodeScalarView(
            filename.unicodeScalars.map { scalar -> Unicode.Scalar in
                switch scalar {
                case "\"", "\\", "/", ":", "*", "?", "<", ">", "|": "_"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F: "_"
                case _ where !scalar.isASCII: "_"
                default: scalar
                }
            }))
    return "attachment; filename=\"\(fallback)\"; filename*=UTF-8''\(rfc8187Encode(filename))"
}

/// Percent-encodes UTF-8 bytes outside RFC 8187's attr-char set.
public func rfc8187Encode(_ value: String) -> String {
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~".utf8)
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for byte in value.utf8 {
        if allowed.contains(byte) {
            out.append(byte)
        } else {
            out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// A file name made from a title: path separators and controls removed, length bounded, extension added.
public func downloadFilename(title: String, fileExtension: String) -> String {
    var base = String(
        String.UnicodeScalarView(
            title.unicodeScalars.map { ($0 == "/" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F) ? "_" : $0 }))
        .trimmingSpaces
    if base.isEmpty || base.allSatisfy({ $0 == "." }) { base = "video" }
    if base.count > 150 { base = String(base.prefix(150)) }
    return fileExtension.isEmpty ? base : "\(base).\(fileExtension)"
}
