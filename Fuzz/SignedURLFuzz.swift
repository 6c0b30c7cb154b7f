// libFuzzer target over the signed media URL verifier (`SignedMediaPath.verify`, with a stand-in MAC): any trap
// is a bug; a target that verifies is exactly the one spelling its grant signs, with a valid storage key, and
// changing any byte of it makes it fail.

private func mac(_ grant: MediaGrant) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for c in SignedMediaPath.message(grant).utf8 { h = (h ^ UInt64(c)) &* 0x0100_0000_01b3 }
    return SignedMediaPath.base64URL(withUnsafeBytes(of: h) { Array($0) })
}

private func signed(_ grant: MediaGrant) -> String { SignedMediaPath.unsigned(grant) + mac(grant) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    let target = String(decoding: bytes, as: UTF8.self)
    if let grant = SignedMediaPath.verify(target: target, now: 1_000, signedPath: signed) {
        precondition(signed(grant) == target && StorageKey.isValid(grant.key) && grant.expires >= 1_000)
    }
    // A real URL from the fuzzer's numbers: it verifies, and any one-byte change does not.
    guard bytes.count >= 3 else { return 0 }
    let grant = MediaGrant(
        key: "videos/ab/abc\(bytes[0]).mp4", expires: 1_000 + Int64(bytes[1]), videoID: Int(bytes[2]), revision: Int(bytes[0] % 3),
        userID: bytes[1] % 2 == 0 ? nil : Int(bytes[2]))
    let good = Array(signed(grant).utf8)
    precondition(SignedMediaPath.verify(target: String(decoding: good, as: UTF8.self), now: 1_000, signedPath: signed) == grant)
    var bad = good
    let at = Int(bytes[2]) % bad.count
    bad[at] = bytes.count > 3 && bytes[3] != bad[at] ? bytes[3] : bad[at] ^ 1
    precondition(SignedMediaPath.verify(target: String(decoding: bad, as: UTF8.self), now: 1_000, signedPath: signed) == nil, "a changed URL verified")
    precondition(SignedMediaPath.verify(target: String(decoding: good, as: UTF8.self), now: 1_000 + 256, signedPath: signed) == nil, "an expired URL verified")
    return 0
}
