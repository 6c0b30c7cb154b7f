// libFuzzer target over the Range header parser and planner (RFC 9110 §14): any trap is a bug; every planned
// range must lie inside the representation, and no header may yield more parts than the planner allows.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard bytes.count >= 2 else { return 0 }
    // The first two bytes pick the representation's size (0 to 65535 bytes, or huge).
    let size: Int64 = bytes[0] == 0xFF ? Int64.max / 2 : Int64(bytes[0]) << 8 | Int64(bytes[1])
    let header = String(decoding: bytes[2...], as: UTF8.self)
    if let specs = parseRangeHeader(header, maxSpecs: 100) { precondition(!specs.isEmpty && specs.count <= 100) }
    for planner in [RangePlanner(), RangePlanner(maxOpenEndedBytes: 8 << 20, maxRanges: 4)] {
        switch planner.plan(range: header, size: size) {
        case .full, .unsatisfiable: break
        case .single(let range):
            precondition(range.start >= 0 && range.end < size, "a range past the end")
        case .multiple(let ranges):
            precondition(ranges.count >= 2 && ranges.count <= planner.maxRanges, "too many parts")
            for range in ranges { precondition(range.start >= 0 && range.end < size, "a part past the end") }
        }
    }
    return 0
}
