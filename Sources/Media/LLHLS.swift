import Foundation

/// A Low-Latency HLS media playlist (RFC 8216bis §4.4.4.9, §4.4.5.2, §6.2.5–6.2.6): segments that start at
/// keyframes, each made of parts of about 200 ms, the parts of the newest segments listed with
/// `EXT-X-PART`, a preload hint for the next part, blocking reloads and delta updates.
///
/// URIs are relative to the playlist and name the stream's generation (a new one each time the publisher
/// reconnects), so a part of an old stream is never mistaken for one of the new:
/// `ll/init-G.mp4`, `ll/G-MSN.m4s` (a whole segment), `ll/G-MSN.PART.m4s` (one part).
public struct LLHLSPlaylist: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        public var msn: Int
        /// Each part's duration in seconds; the first starts with a keyframe.
        public var parts: [Double]
        /// All its parts are there and the next segment has begun.
        public var complete: Bool

        public init(msn: Int, parts: [Double], complete: Bool) {
            self.msn = msn
            self.parts = parts
            self.complete = complete
        }

        public var duration: Double { parts.reduce(0, +) }
    }

    public var generation: Int
    /// Oldest first; only the last may be incomplete.
    public var segments: [Segment]
    /// PART-TARGET: no part is longer.
    public var partTarget: Double
    /// The stream has stopped: no preload hint, `EXT-X-ENDLIST`.
    public var ended: Bool

    public init(generation: Int, segments: [Segment], partTarget: Double, ended: Bool = false) {
        self.generation = generation
        self.segments = segments
        self.partTarget = partTarget
        self.ended = ended
    }

    /// How many of the newest segments keep their parts listed (the RFC asks for at least the last three target
    /// durations' worth; older ones are listed as whole segments only).
    public static let segmentsWithParts = 3

    /// EXT-X-TARGETDURATION: the longest complete segment rounded to the nearest integer, which is what RFC 8216
    /// §4.3.3.1 compares it with; at least 1.
    public var targetDuration: Int {
        max(1, Int((segments.filter(\.complete).map(\.duration).max() ?? 1).rounded()))
    }

    /// CAN-SKIP-UNTIL: six target durations, the least the RFC allows.
    public var skipUntil: Double { Double(6 * targetDuration) }

    /// PART-HOLD-BACK: three part targets, as the RFC recommends (it must be at least two).
    public var partHoldBack: Double { 3 * partTarget }

    public func initURI() -> String { "ll/init-\(generation).mp4" }
    public func segmentURI(_ msn: Int) -> String { "ll/\(generation)-\(msn).m4s" }
    public func partURI(_ msn: Int, _ part: Int) -> String { "ll/\(generation)-\(msn).\(part).m4s" }

    /// The part the preload hint names: the one after the newest. Whether it begins the next segment depends on
    /// whether the next fragment is a keyframe, which nobody knows yet; a segment as long (in parts) as the one
    /// before it is taken to be ending, as it does with a steady keyframe interval.
    public var nextPart: (msn: Int, part: Int) {
        guard let last = segments.last else { return (0, 0) }
        if last.complete { return (last.msn + 1, 0) }
        if let previous = segments.dropLast().last, previous.complete, !last.parts.isEmpty, last.parts.count >= previous.parts.count {
            return (last.msn + 1, 0)
        }
        return (last.msn, last.parts.count)
    }

    /// What a blocking playlist request (`_HLS_msn`, `_HLS_part`) should do now (RFC 8216bis §6.2.5.2).
    public enum Readiness: Sendable, Equatable {
        /// The playlist has what was asked for: answer at once.
        case ready
        /// Not yet: hold the request until it is (or until three target durations have passed).
        case wait
        /// Further ahead than a client may ask (two segments, or three parts past the newest): 400.
        case tooFar
    }

    public func readiness(msn: Int, part: Int?) -> Readiness {
        if ended { return .ready }
        guard let current = segments.last else { return msn <= 2 && (part ?? 0) <= 3 ? .wait : .tooFar }
        if msn > current.msn + 2 { return .tooFar }
        if let part {
            if msn < current.msn || (msn == current.msn && (current.complete || part < current.parts.count)) { return .ready }
            // How many parts past the newest one the request is (a later segment's parts: at least this many).
            let ahead =
                msn == current.msn ? part - (current.parts.count - 1) : msn == current.msn + 1 ? part + 1 : Int.max
            return ahead > 3 ? .tooFar : .wait
        }
        // Without `_HLS_part`: the playlist must hold segment `msn` whole.
        if msn < current.msn || (msn == current.msn && current.complete) { return .ready }
        return .wait
    }

    /// The playlist's text. `skip`: a delta update (`_HLS_skip=YES`), leaving out the segments that begin more
    /// than CAN-SKIP-UNTIL before the end (§6.2.5.1).
    public func render(skip: Bool = false) -> String {
        let target = targetDuration
        var skipped = 0
        if skip {
            var remaining = segments.filter(\.complete).map(\.duration).reduce(0, +)
            for segment in segments where segment.complete {
                guard remaining > skipUntil else { break }
                remaining -= segment.duration
                skipped += 1
            }
        }
        var lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:\(skipped > 0 ? 9 : 6)",
            "#EXT-X-TARGETDURATION:\(target)",
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=\(Self.decimal(skipUntil)),PART-HOLD-BACK=\(Self.decimal(partHoldBack))",
            "#EXT-X-PART-INF:PART-TARGET=\(Self.decimal(partTarget))",
            "#EXT-X-MEDIA-SEQUENCE:\(segments.first?.msn ?? 0)",
            "#EXT-X-MAP:URI=\"\(initURI())\"",
        ]
        if skipped > 0 { lines.append("#EXT-X-SKIP:SKIPPED-SEGMENTS=\(skipped)") }
        // Parts of the newest segments only, and none of a segment with a part over PART-TARGET (a stream's first
        // fragments can be long) nor of any before it: once parts are listed, every later segment has them.
        let newest = segments.suffix(Self.segmentsWithParts)
        let overLong = newest.lastIndex { $0.parts.contains { $0 > partTarget + 1e-9 } }
        let withParts = Set(newest[(overLong.map { $0 + 1 } ?? newest.startIndex)...].map(\.msn))
        for segment in segments.dropFirst(skipped) {
            if withParts.contains(segment.msn) {
                for (index, duration) in segment.parts.enumerated() {
                    lines.append(
                        "#EXT-X-PART:DURATION=\(Self.decimal(duration)),URI=\"\(partURI(segment.msn, index))\""
                            + (index == 0 ? ",INDEPENDENT=YES" : ""))
                }
            }
            if segment.complete {
                lines.append("#EXTINF:\(Self.decimal(segment.duration)),")
                lines.append(segmentURI(segment.msn))
            }
        }
        if ended {
            lines.append("#EXT-X-ENDLIST")
        } else {
            let next = nextPart
            lines.append("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"\(partURI(next.msn, next.part))\"")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Seconds with at most 5 decimals, no exponent (`0.2`, `1.00001`).
    static func decimal(_ value: Double) -> String {
        var text = String(format: "%.5f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// A part or segment file name of this playlist's form: generation, msn and (for a part) its index.
    public static func parse(file: String) -> (generation: Int, msn: Int, part: Int?)? {
        guard file.hasSuffix(".m4s"), file.count <= 40 else { return nil }
        let stem = file.dropLast(4)
        let halves = stem.split(separator: "-", omittingEmptySubsequences: false)
        guard halves.count == 2, let generation = Int(halves[0]), generation >= 0 else { return nil }
        let numbers = halves[1].split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(numbers.count), let msn = Int(numbers[0]), msn >= 0 else { return nil }
        guard halves[0].allSatisfy(\.isASCII), halves[1].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
        if numbers.count == 2 {
            guard let part = Int(numbers[1]), part >= 0 else { return nil }
            return (generation, msn, part)
        }
        return (generation, msn, nil)
    }
}
