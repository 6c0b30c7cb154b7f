import Foundation
import Media
import Testing

/// Boxes made by hand, as ffmpeg's fragmented MP4 muxer lays them out (ISO/IEC 14496-12 §8.8).
enum Boxes {
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be64(_ v: UInt64) -> [UInt8] { be32(UInt32(v >> 32)) + be32(UInt32(v & 0xFFFF_FFFF)) }
    static func box(_ type: String, _ payload: [UInt8]) -> [UInt8] { be32(UInt32(8 + payload.count)) + Array(type.utf8) + payload }
    static func full(_ type: String, version: UInt8 = 0, flags: UInt32 = 0, _ payload: [UInt8]) -> [UInt8] {
        box(type, [version] + Array(be32(flags).dropFirst()) + payload)
    }

    static let nonSync: UInt32 = 0x0101_0000
    static let sync: UInt32 = 0x0200_0000

    /// ftyp + moov: track 1 video at 16000 Hz (with an avcC), track 2 audio; trex defaults non-sync samples.
    static func initSegment() -> [UInt8] {
        func trak(id: UInt32, handler: String, timescale: UInt32, extra: [UInt8]) -> [UInt8] {
            box(
                "trak",
                full("tkhd", flags: 3, be32(0) + be32(0) + be32(id) + [UInt8](repeating: 0, count: 60))
                    + box(
                        "mdia",
                        full("mdhd", be32(0) + be32(0) + be32(timescale) + be32(0) + [0, 0, 0, 0])
                            + full("hdlr", be32(0) + Array(handler.utf8) + [UInt8](repeating: 0, count: 13)) + extra))
        }
        let avcC = box("avcC", [1, 0x64, 0x00, 0x1F, 0xFF])
        let moov = box(
            "moov",
            full("mvhd", [UInt8](repeating: 0, count: 96)) + trak(id: 1, handler: "vide", timescale: 16000, extra: avcC)
                + trak(id: 2, handler: "soun", timescale: 44100, extra: [])
                + box(
                    "mvex",
                    full("trex", be32(1) + be32(1) + be32(533) + be32(0) + be32(nonSync))
                        + full("trex", be32(2) + be32(1) + be32(1024) + be32(0) + be32(0))))
        return box("ftyp", Array("isom".utf8) + be32(512)) + moov
    }

    /// moof + mdat: `samples` video samples of 533 ticks from `start`, the first sync or not.
    static func fragment(sequence: UInt32, start: UInt64, samples: Int, keyframe: Bool) -> [UInt8] {
        let tfhd = full("tfhd", flags: 0x02_0038, be32(1) + be32(533) + be32(100) + be32(nonSync))
        let tfdt = full("tfdt", version: 1, be64(start))
        let trun = full("trun", flags: keyframe ? 0x5 : 0x1, be32(UInt32(samples)) + be32(0) + (keyframe ? be32(sync) : []))
        let audio = box("traf", full("tfhd", flags: 0x02_0000, be32(2)) + full("trun", flags: 0x1, be32(3) + be32(0)))
        return box("moof", full("mfhd", be32(sequence)) + box("traf", tfhd + tfdt + trun) + audio)
            + box("mdat", [UInt8](repeating: 0xAB, count: samples * 100))
    }
}

@Suite("Fragmented MP4 reader and LL-HLS playlists")
struct LowLatencyTests {
    @Test("Byte by byte or all at once, the reader finds the init, each fragment, its keyframe and its video length")
    func reader() throws {
        // given an init and three fragments of 6 samples, the first and third starting with a keyframe
        let stream =
            Boxes.initSegment() + Boxes.fragment(sequence: 1, start: 0, samples: 6, keyframe: true)
            + Boxes.fragment(sequence: 2, start: 3198, samples: 6, keyframe: false)
            + Boxes.fragment(sequence: 3, start: 6396, samples: 6, keyframe: true)
        for step in [1, 7, 1000, stream.count] {
            var reader = FMP4Reader()
            var outputs: [FMP4Reader.Output] = []
            var offset = 0
            while offset < stream.count {
                outputs += try reader.feed(stream[offset..<min(offset + step, stream.count)])
                offset += step
            }
            // then
            guard outputs.count == 4, case .initSegment(let bytes, let info) = outputs[0] else {
                Issue.record("expected an init and 3 fragments, got \(outputs.count) outputs")
                continue
            }
            #expect(bytes.count == Boxes.initSegment().count)
            #expect(info.videoTrackID == 1 && info.videoTimescale == 16000 && info.codecs == "avc1.64001f,mp4a.40.2")
            let fragments = outputs.dropFirst().compactMap { output -> FMP4Reader.Fragment? in
                if case .fragment(let f) = output { return f }
                return nil
            }
            #expect(fragments.map(\.isKeyframe) == [true, false, true])
            #expect(fragments.map(\.videoStart) == [0, 3198, 6396])
            #expect(fragments.allSatisfy { $0.videoDuration == 6 * 533 && $0.hasVideo })
        }
    }

    @Test("Broken bytes are refused with an error, never a crash: tiny, zero, huge and nested-past-parent boxes")
    func brokenBytes() {
        var reader = FMP4Reader()
        #expect(throws: FMP4Reader.Failure.self) { try reader.feed(Boxes.be32(3) + Array("moof".utf8)) }
        reader = FMP4Reader()
        #expect(throws: FMP4Reader.Failure.self) { try reader.feed(Boxes.be32(0) + Array("mdat".utf8)) }
        reader = FMP4Reader()
        #expect(throws: FMP4Reader.Failure.self) { try reader.feed(Boxes.be32(0x7FFF_FFFF) + Array("mdat".utf8)) }
        // a moof whose traf says it is longer than the moof
        reader = FMP4Reader()
        let bad = Boxes.box("moof", Boxes.be32(500) + Array("traf".utf8) + [0, 0, 0, 0]) + Boxes.box("mdat", [1])
        #expect(throws: FMP4Reader.Failure.self) { try reader.feed(Boxes.initSegment() + bad) }
        // a trun counting more samples than it holds
        reader = FMP4Reader()
        let tfhd = Boxes.full("tfhd", flags: 0x02_0000, Boxes.be32(1))
        let lying = Boxes.box("moof", Boxes.box("traf", tfhd + Boxes.full("trun", flags: 0x100, Boxes.be32(1_000_000)))) + Boxes.box("mdat", [])
        #expect(throws: FMP4Reader.Failure.self) { try reader.feed(Boxes.initSegment() + lying) }
        // media before an init is skipped, not an error
        reader = FMP4Reader()
        #expect((try? reader.feed(Boxes.fragment(sequence: 1, start: 0, samples: 1, keyframe: true)))?.isEmpty == true)
    }

    private func playlist(complete: Int, partsInLast: Int, firstMSN: Int = 0, ended: Bool = false) -> LLHLSPlaylist {
        var segments = (0..<complete).map { LLHLSPlaylist.Segment(msn: firstMSN + $0, parts: Array(repeating: 0.2, count: 5), complete: true) }
        if !ended { segments.append(.init(msn: firstMSN + complete, parts: Array(repeating: 0.2, count: partsInLast), complete: false)) }
        return LLHLSPlaylist(generation: 7, segments: segments, partTarget: 0.2, ended: ended)
    }

    @Test("The playlist has the LL-HLS tags, parts of the newest segments only, INDEPENDENT on keyframe parts, a preload hint")
    func tags() {
        let text = playlist(complete: 5, partsInLast: 2, firstMSN: 40).render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "#EXTM3U")
        #expect(lines.contains("#EXT-X-TARGETDURATION:1"))
        #expect(lines.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6,PART-HOLD-BACK=0.6"))
        #expect(lines.contains("#EXT-X-PART-INF:PART-TARGET=0.2"))
        #expect(lines.contains("#EXT-X-MEDIA-SEQUENCE:40"))
        #expect(lines.contains("#EXT-X-MAP:URI=\"ll/init-7.mp4\""))
        // parts: the last 3 segments (43, 44 complete; 45 in progress with 2)
        let parts = lines.filter { $0.hasPrefix("#EXT-X-PART:") }
        #expect(parts.count == 5 + 5 + 2)
        #expect(parts.first == "#EXT-X-PART:DURATION=0.2,URI=\"ll/7-43.0.m4s\",INDEPENDENT=YES")
        #expect(parts.filter { $0.contains("INDEPENDENT=YES") }.count == 3)
        #expect(lines.filter { $0.hasPrefix("#EXTINF:1,") }.count == 5)
        #expect(lines.contains("ll/7-44.m4s") && !lines.contains("ll/7-45.m4s"))
        #expect(lines.last == "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"ll/7-45.2.m4s\"")
        // every part is at most PART-TARGET; every EXTINF at most the target duration
        #expect(playlist(complete: 5, partsInLast: 2).segments.flatMap(\.parts).allSatisfy { $0 <= 0.2 })
        // a segment as long as the one before it is taken to end: the hint is the next segment's first part
        #expect(playlist(complete: 2, partsInLast: 5).render().hasSuffix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"ll/7-3.0.m4s\"\n"))
        // a segment with a part over PART-TARGET lists none, nor does any before it
        var long = playlist(complete: 3, partsInLast: 1)
        long.segments[1].parts[0] = 0.7
        let longText = long.render()
        #expect(!longText.contains("ll/7-1.0.m4s") && !longText.contains("ll/7-0.0.m4s") && longText.contains("ll/7-2.0.m4s"))
        // ended: no hint, ENDLIST
        let ended = playlist(complete: 3, partsInLast: 0, ended: true).render()
        #expect(ended.hasSuffix("#EXT-X-ENDLIST\n") && !ended.contains("PRELOAD-HINT"))
    }

    @Test("A delta update skips the segments that begin more than CAN-SKIP-UNTIL before the end")
    func skip() {
        let full = playlist(complete: 10, partsInLast: 1)
        let delta = full.render(skip: true)
        #expect(delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=4") && delta.contains("#EXT-X-VERSION:9"))
        #expect(!delta.contains("ll/7-3.m4s") && delta.contains("ll/7-4.m4s"))
        // a short playlist has nothing to skip
        let short = playlist(complete: 4, partsInLast: 1).render(skip: true)
        #expect(!short.contains("EXT-X-SKIP") && short.contains("#EXT-X-VERSION:6"))
    }

    @Test("Blocking reloads: what exists is ready, the next parts wait, far futures are refused")
    func readiness() {
        let p = playlist(complete: 3, partsInLast: 2, firstMSN: 10)  // 10, 11, 12 complete; 13 has parts 0 and 1
        #expect(p.readiness(msn: 12, part: nil) == .ready)
        #expect(p.readiness(msn: 13, part: 1) == .ready)
        #expect(p.readiness(msn: 13, part: 2) == .wait)
        #expect(p.readiness(msn: 13, part: nil) == .wait)
        #expect(p.readiness(msn: 14, part: 0) == .wait)
        #expect(p.readiness(msn: 13, part: 5) == .tooFar)
        #expect(p.readiness(msn: 14, part: 3) == .tooFar)
        #expect(p.readiness(msn: 16, part: nil) == .tooFar)
        #expect(p.readiness(msn: 15, part: nil) == .wait)
        #expect(p.segments.first { $0.msn == 13 }?.parts.count == 2 && !p.segments.contains { $0.msn == 9 })
        #expect(playlist(complete: 2, partsInLast: 0, ended: true).readiness(msn: 99, part: nil) == .ready)
    }

    @Test("Part and segment names parse back; anything else is refused")
    func names() {
        #expect(LLHLSPlaylist.parse(file: "7-13.m4s")! == (7, 13, nil))
        #expect(LLHLSPlaylist.parse(file: "7-13.4.m4s")! == (7, 13, 4))
        for bad in ["../7-13.m4s", "7-13.4.5.m4s", "-1-3.m4s", "7-x.m4s", "7-13.mp4", "7--13.m4s", "7-13.-1.m4s", "7-1%2F3.m4s",
                    "99999999999999999999-1.m4s", "7-13..m4s", ""] {
            #expect(LLHLSPlaylist.parse(file: bad) == nil, "\(bad)")
        }
    }
}
