// libFuzzer target over the media listener's request parser (RFC 9112): any trap is a bug; a request it reads
// lies inside the bytes given, reads the same from just its own bytes, and has a target with no space or control
// byte; "read more" is only answered below the head size limit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    switch MediaRequestParser.parse(bytes) {
    case .incomplete:
        precondition(count <= MediaRequestParser.maxHeadBytes, "waiting for more past the limit")
    case .request(let head, let length):
        precondition(length > 0 && length <= count, "a head longer than its bytes")
        precondition(!head.target.isEmpty && head.target.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "a target with spaces")
        let again = MediaRequestParser.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
        precondition(again == .request(head, length: length), "the head reads differently alone")
    case .refused(let status, _):
        precondition([400, 431, 505].contains(status), "an unexpected refusal")
    }
    return 0
}
