import Testing

@testable import Media

/// RFC 9110 §14: every case of the list, including junk.
@Suite("Range parser and planner")
struct RangePlannerTests {
    static let size: Int64 = 10_000

    struct Case: CustomTestStringConvertible, Sendable {
        let header: String?
        let expected: RangePlan
        var testDescription: String { header ?? "(no Range)" }
    }

    static let cases: [Case] = [
        // whole file
        Case(header: nil, expected: .full),
        // one range
        Case(header: "bytes=0-99", expected: .single(ByteRange(0, 99))),
        Case(header: "bytes=9999-9999", expected: .single(ByteRange(9999, 9999))),
        Case(header: "bytes=500-", expected: .single(ByteRange(500, 9999))),
        Case(header: "bytes=-100", expected: .single(ByteRange(9900, 9999))),
        Case(header: "BYTES = 0-0", expected: .single(ByteRange(0, 0))),
        // an end past the file is clipped; a suffix longer than the file is the whole file
        Case(header: "bytes=9000-20000", expected: .single(ByteRange(9000, 9999))),
        Case(header: "bytes=-20000", expected: .single(ByteRange(0, 9999))),
        Case(header: "bytes=0-99999999999999999999999", expected: .single(ByteRange(0, 9999))),
        // unsatisfiable: start at or past the end, zero suffix
        Case(header: "bytes=10000-", expected: .unsatisfiable),
        Case(header: "bytes=10000-10001", expected: .unsatisfiable),
        Case(header: "bytes=99999999999999999999999-", expected: .unsatisfiable),
        Case(header: "bytes=-0", expected: .unsatisfiable),
        // an unsatisfiable range among satisfiable ones is dropped
        Case(header: "bytes=20000-30000, 0-9", expected: .single(ByteRange(0, 9))),
        // several ranges, kept in the order asked
        Case(header: "bytes=0-9, 100-199", expected: .multiple([ByteRange(0, 9), ByteRange(100, 199)])),
        Case(header: "bytes=500-599,0-9,-10", expected: .multiple([ByteRange(500, 599), ByteRange(0, 9), ByteRange(9990, 9999)])),
        Case(header: "bytes=0-9,,  ,20-29", expected: .multiple([ByteRange(0, 9), ByteRange(20, 29)])),
        // overlapping or covering ranges are served whole
        Case(header: "bytes=0-99, 50-150", expected: .full),
        Case(header: "bytes=0-5000, 5001-", expected: .full),
        Case(header: "bytes=0-0,0-0", expected: .full),
        // syntactically invalid: ignored, 200
        Case(header: "bytes=", expected: .full),
        Case(header: "bytes=--1", expected: .full),
        Case(header: "bytes=1-0", expected: .full),
        Case(header: "bytes=abc", expected: .full),
        Case(header: "bytes=1-2-3", expected: .full),
        Case(header: "bytes 0-99", expected: .full),
        Case(header: "items=0-99", expected: .full),
        Case(header: "bytes=0-99;x", expected: .full),
        Case(header: "bytes=-", expected: .full),
        Case(header: "bytes=,", expected: .full),
        Case(header: "", expected: .full),
        Case(header: "bytes=0x10-20", expected: .full),
        Case(header: "bytes=+1-2", expected: .full),
        Case(header: "bytes=١-٢", expected: .full),
    ]

    @Test("plans", arguments: cases)
    func plans(_ c: Case) {
        // given a 10 000-byte file and no chunk cap
        let planner = RangePlanner()
        // when / then
        #expect(planner.plan(range: c.header, size: Self.size) == c.expected)
    }

    @Test("Open ended range is cut at the chunk cap") func openEndedRangeIsCutAtTheChunkCap() {
        // given an 8 KiB cap like the reference's 8 MiB pieces
        let planner = RangePlanner(maxOpenEndedBytes: 4096)
        // then an open-ended range stops at the cap, a closed or suffix one does not
        #expect(planner.plan(range: "bytes=100-", size: Self.size) == .single(ByteRange(100, 4195)))
        #expect(planner.plan(range: "bytes=8000-", size: Self.size) == .single(ByteRange(8000, 9999)))
        #expect(planner.plan(range: "bytes=0-9000", size: Self.size) == .single(ByteRange(0, 9000)))
        #expect(planner.plan(range: "bytes=-9000", size: Self.size) == .single(ByteRange(1000, 9999)))
    }

    @Test("Many ranges are served whole") func manyRangesAreServedWhole() {
        // given 20 small disjoint ranges (a denial-of-service pattern, §14.3)
        let header = "bytes=" + (0..<20).map { "\($0 * 100)-\($0 * 100 + 9)" }.joined(separator: ",")
        // then the planner sends the file once instead
        #expect(RangePlanner(maxRanges: 16).plan(range: header, size: Self.size) == .full)
        // and thousands of specs are refused by the parser outright
        let flood = "bytes=" + Array(repeating: "0-0", count: 5000).joined(separator: ",")
        #expect(parseRangeHeader(flood) == nil)
    }

    @Test("Empty file is served whole") func emptyFileIsServedWhole() {
        #expect(RangePlanner().plan(range: "bytes=0-10", size: 0) == .full)
    }

    @Test("Parser saturates huge numbers") func parserSaturatesHugeNumbers() {
        #expect(parseRangeHeader("bytes=99999999999999999999999999-") == [.fromStart(first: Int64.max, last: nil)])
        #expect(parseRangeHeader("bytes=-99999999999999999999999999") == [.suffix(length: Int64.max)])
    }
}
