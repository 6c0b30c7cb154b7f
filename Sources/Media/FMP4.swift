import Foundation

/// Fragmented MP4 as ffmpeg's `-movflags empty_moov+default_base_moof+frag_keyframe -frag_duration N` writes it on
/// a pipe: `ftyp` and `moov` (the init segment), then a `moof`+`mdat` pair per fragment (ISO/IEC 14496-12 §8.8).
/// `FMP4Reader` splits the bytes on box boundaries as they arrive and tells, for each fragment, whether it starts
/// with a video keyframe and how long its video lasts, which is what a live edge and LL-HLS parts are made of.
public struct FMP4Reader: Sendable {
    /// What the stream is: which track is video, at what timescale, and the defaults fragments may rely on.
    public struct TrackInfo: Sendable, Equatable {
        public var videoTrackID: UInt32?
        public var videoTimescale: UInt32
        public var defaultSampleDuration: UInt32
        public var defaultSampleFlags: UInt32
        /// RFC 6381 codecs of every track, `avc1.64001f,mp4a.40.2`.
        public var codecs: String

        public init(videoTrackID: UInt32?, videoTimescale: UInt32, defaultSampleDuration: UInt32, defaultSampleFlags: UInt32, codecs: String) {
            self.videoTrackID = videoTrackID
            self.videoTimescale = videoTimescale
            self.defaultSampleDuration = defaultSampleDuration
            self.defaultSampleFlags = defaultSampleFlags
            self.codecs = codecs
        }
    }

    /// One `moof`+`mdat` pair.
    public struct Fragment: Sendable {
        public var bytes: [UInt8]
        /// Its first video sample is a sync sample: a player may start here.
        public var isKeyframe: Bool
        /// The video's decode time at its start and its length, in the video timescale (0 for an audio-only one).
        public var videoStart: UInt64
        public var videoDuration: UInt64
        public var hasVideo: Bool

        public init(bytes: [UInt8], isKeyframe: Bool, videoStart: UInt64, videoDuration: UInt64, hasVideo: Bool) {
            self.bytes = bytes
            self.isKeyframe = isKeyframe
            self.videoStart = videoStart
            self.videoDuration = videoDuration
            self.hasVideo = hasVideo
        }
    }

    public enum Output: Sendable {
        case initSegment(bytes: [UInt8], info: TrackInfo)
        case fragment(Fragment)
    }

    /// A box bigger than this is refused: a fragment of 200 ms is far smaller, so anything this size is garbage.
    public static let maxBoxSize = 64 << 20

    public enum Failure: Error, Equatable {
        case badBox(String)
        case tooLarge(Int)
    }

    private var pending: [UInt8] = []
    private var initBytes: [UInt8] = []
    private var info: TrackInfo?
    private var moof: [UInt8]?

    public init() {}

    /// Takes the next bytes of the stream; answers every init segment and fragment they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws -> [Output] {
        pending.append(contentsOf: bytes)
        var outputs: [Output] = []
        var offset = 0
        while pending.count - offset >= 8 {
            let (size, header) = try Self.boxSize(pending, at: offset, available: pending.count - offset)
            guard let size else { break }
            guard pending.count - offset >= size else { break }
            let type = Self.fourCC(pending, at: offset + 4)
            let box = Array(pending[offset..<(offset + size)])
            offset += size
            switch type {
            case "ftyp":
                initBytes = box
                moof = nil
            case "moov":
                initBytes += box
                let parsed = try Self.trackInfo(moov: box, header: header)
                info = parsed
                outputs.append(.initSegment(bytes: initBytes, info: parsed))
            case "moof":
                moof = box
            case "mdat":
                guard let moofBox = moof, let info else { continue }  // media before an init: nothing can play it
                moof = nil
                outputs.append(.fragment(try Self.fragment(moof: moofBox, mdat: box, info: info)))
            default:
                continue  // styp, sidx, mfra, free: nothing a live player needs
            }
        }
        pending.removeFirst(offset)
        return outputs
    }

    // MARK: boxes

    /// The box's size and header length at `offset`, or nil when its header is not all there yet.
    static func boxSize(_ b: [UInt8], at offset: Int, available: Int) throws -> (Int?, Int) {
        let small = Int(Self.u32(b, offset))
        if small == 1 {
            guard available >= 16 else { return (nil, 16) }
            let large = Self.u64(b, offset + 8)
            guard large >= 16, large <= UInt64(maxBoxSize) else { throw Failure.tooLarge(Int(clamping: large)) }
            return (Int(large), 16)
        }
        guard small != 0 else { throw Failure.badBox("a box that runs to the end of a live stream") }
        guard small >= 8 else { throw Failure.badBox("a box of \(small) bytes") }
        guard small <= maxBoxSize else { throw Failure.tooLarge(small) }
        return (small, 8)
    }

    static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }

    static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { UInt64(u32(b, o)) << 32 | UInt64(u32(b, o + 4)) }

    static func fourCC(_ b: [UInt8], at o: Int) -> String { String(decoding: b[o..<(o + 4)], as: UTF8.self) }

    /// The child boxes of the box at `range` (its header skipped, plus `skip` bytes of its own fields).
    static func children(_ b: [UInt8], _ range: Range<Int>, skip: Int = 0) throws -> [(type: String, range: Range<Int>)] {
        var result: [(String, Range<Int>)] = []
        let header = u32(b, range.lowerBound) == 1 ? 16 : 8
        var o = range.lowerBound + header + skip
        while o + 8 <= range.upperBound {
            var size = Int(u32(b, o))
            if size == 1 {
                guard o + 16 <= range.upperBound else { throw Failure.badBox("a cut box header") }
                size = Int(clamping: u64(b, o + 8))
            }
            guard size >= 8, o + size <= range.upperBound else { throw Failure.badBox("a child box past its parent") }
            result.append((fourCC(b, at: o + 4), o..<(o + size)))
            o += size
        }
        return result
    }

    static func child(_ b: [UInt8], _ range: Range<Int>, _ type: String, skip: Int = 0) throws -> Range<Int>? {
        try children(b, range, skip: skip).first { $0.type == type }?.range
    }

    static func need(_ b: [UInt8], _ range: Range<Int>, _ bytes: Int) throws {
        guard range.count >= bytes, range.upperBound <= b.count else { throw Failure.badBox("a box too short for its fields") }
    }

    /// The 32-bit field at `o`, which must lie inside `range`.
    static func field(_ b: [UInt8], _ o: Int, in range: Range<Int>) throws -> UInt32 {
        guard o >= range.lowerBound, o + 4 <= range.upperBound, o + 4 <= b.count else { throw Failure.badBox("a field past its box") }
        return u32(b, o)
    }

    // MARK: moov

    static func trackInfo(moov: [UInt8], header: Int) throws -> TrackInfo {
        let whole = 0..<moov.count
        var info = TrackInfo(videoTrackID: nil, videoTimescale: 90_000, defaultSampleDuration: 0, defaultSampleFlags: 0, codecs: "")
        var codecs: [String] = []
        for trak in try children(moov, whole) where trak.type == "trak" {
            guard let tkhd = try child(moov, trak.range, "tkhd"), let mdia = try child(moov, trak.range, "mdia"),
                let mdhd = try child(moov, mdia, "mdhd"), let hdlr = try child(moov, mdia, "hdlr")
            else { continue }
            try need(moov, tkhd, 24)
            let version = moov[tkhd.lowerBound + 8]
            let trackID = try field(moov, tkhd.lowerBound + (version == 1 ? 28 : 20), in: tkhd)
            try need(moov, hdlr, 20)
            let handler = fourCC(moov, at: hdlr.lowerBound + 16)
            try need(moov, mdhd, 24)
            let timescale = try field(moov, mdhd.lowerBound + (moov[mdhd.lowerBound + 8] == 1 ? 28 : 20), in: mdhd)
            if handler == "vide" {
                info.videoTrackID = trackID
                info.videoTimescale = max(1, timescale)
                codecs.insert(HLSLadder.avcCodecString(initSegment: Data(moov[trak.range])) ?? "avc1.640028", at: 0)
            } else if handler == "soun" {
                codecs.append("mp4a.40.2")
            }
        }
        if let mvex = try child(moov, whole, "mvex") {
            for trex in try children(moov, mvex) where trex.type == "trex" {
                try need(moov, trex.range, 32)
                if u32(moov, trex.range.lowerBound + 12) == info.videoTrackID {
                    info.defaultSampleDuration = u32(moov, trex.range.lowerBound + 20)
                    info.defaultSampleFlags = u32(moov, trex.range.lowerBound + 28)
                }
            }
        }
        info.codecs = codecs.joined(separator: ",")
        return info
    }

    // MARK: moof

    /// Whether the video in `moof` starts with a sync sample, its decode time and its duration (§8.8.7–8.8.12).
    static func fragment(moof: [UInt8], mdat: [UInt8], info: TrackInfo) throws -> Fragment {
        var fragment = Fragment(bytes: moof + mdat, isKeyframe: false, videoStart: 0, videoDuration: 0, hasVideo: false)
        for traf in try children(moof, 0..<moof.count) where traf.type == "traf" {
            guard let tfhd = try child(moof, traf.range, "tfhd") else { continue }
            try need(moof, tfhd, 16)
            let tfhdFlags = u32(moof, tfhd.lowerBound + 8) & 0xFF_FFFF
            guard u32(moof, tfhd.lowerBound + 12) == info.videoTrackID else { continue }
            var o = tfhd.lowerBound + 16
            if tfhdFlags & 0x1 != 0 { o += 8 }  // base-data-offset
            if tfhdFlags & 0x2 != 0 { o += 4 }  // sample-description-index
            var defaultDuration = info.defaultSampleDuration
            var defaultFlags = info.defaultSampleFlags
            if tfhdFlags & 0x8 != 0 {
                defaultDuration = try field(moof, o, in: tfhd)
                o += 4
            }
            if tfhdFlags & 0x10 != 0 { o += 4 }  // default-sample-size
            if tfhdFlags & 0x20 != 0 { defaultFlags = try field(moof, o, in: tfhd) }
            if let tfdt = try child(moof, traf.range, "tfdt") {
                try need(moof, tfdt, 16)
                let high = UInt64(try field(moof, tfdt.lowerBound + 12, in: tfdt))
                fragment.videoStart = moof[tfdt.lowerBound + 8] == 1 ? high << 32 | UInt64(try field(moof, tfdt.lowerBound + 16, in: tfdt)) : high
            }
            var firstFlags: UInt32?
            for trun in try children(moof, traf.range) where trun.type == "trun" {
                try need(moof, trun.range, 16)
                let flags = u32(moof, trun.range.lowerBound + 8) & 0xFF_FFFF
                let count = Int(u32(moof, trun.range.lowerBound + 12))
                var p = trun.range.lowerBound + 16
                if flags & 0x1 != 0 { p += 4 }  // data-offset
                if flags & 0x4 != 0 {
                    let value = try field(moof, p, in: trun.range)
                    if firstFlags == nil { firstFlags = value }
                    p += 4
                }
                let fields = [0x100, 0x200, 0x400, 0x800].filter { flags & UInt32($0) != 0 }.count
                guard count >= 0, p + count * fields * 4 <= trun.range.upperBound else { throw Failure.badBox("a trun past its box") }
                for index in 0..<count {
                    var duration = defaultDuration
                    if flags & 0x100 != 0 { duration = u32(moof, p); p += 4 }
                    if flags & 0x200 != 0 { p += 4 }
                    if flags & 0x400 != 0 {
                        if index == 0, firstFlags == nil { firstFlags = u32(moof, p) }
                        p += 4
                    }
                    if flags & 0x800 != 0 { p += 4 }
                    fragment.videoDuration += UInt64(duration)
                }
                if count > 0, firstFlags == nil { firstFlags = defaultFlags }
                fragment.hasVideo = fragment.hasVideo || count > 0
            }
            // sample_is_non_sync_sample is bit 16 of the sample flags (§8.8.3.1).
            if let firstFlags { fragment.isKeyframe = firstFlags & 0x1_0000 == 0 }
        }
        return fragment
    }
}
