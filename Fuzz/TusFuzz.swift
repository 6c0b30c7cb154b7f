// libFuzzer target over the tus header parsers (Upload-Offset, Upload-Length, Upload-Metadata): any trap is a
// bug; an accepted size is exactly its decimal spelling, and accepted metadata survives a round trip.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    if let n = TusHeaders.size(text) { precondition(n >= 0 && String(n) == text.drop(while: { $0 == "0" }).description.ifEmpty("0")) }
    if let pairs = try? TusHeaders.metadata(text) {
        let again = try? TusHeaders.metadata(TusHeaders.metadataHeader(pairs))
        precondition(again == pairs, "Upload-Metadata round trip changed the pairs")
    }
    return 0
}

extension String {
    fileprivate func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}
