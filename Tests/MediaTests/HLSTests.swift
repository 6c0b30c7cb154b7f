import Foundation
import Media
import Testing

@Suite("HLS ladder, progress and storyboard")
struct HLSTests {
    @Test("The ladder climbs from 240p to the source's short side and never upscales")
    func ladder() {
        let names = { (w: Int, h: Int) in HLSLadder.plan(sourceWidth: w, sourceHeight: h).map(\.name) }
        #expect(names(1280, 720) == ["240p", "360p", "480p", "720p"])
        #expect(names(1920, 1080) == ["240p", "360p", "480p", "720p", "1080p"])
        #expect(names(1000, 500) == ["240p", "360p", "480p"])
        #expect(names(320, 180) == ["180p"])
        // Portrait: the rung is the width, the height follows the aspect ratio (even).
        let portrait = HLSLadder.plan(sourceWidth: 720, sourceHeight: 1280)
        #expect(portrait.last == Rendition(name: "720p", width: 720, height: 1280, videoBitrate: 2_800_000, audioBitrate: 128_000))
        #expect(portrait.first?.height == 426)
        let r720 = HLSLadder.plan(sourceWidth: 1280, sourceHeight: 720).last!
        #expect((r720.width, r720.height) == (1280, 720))
        let custom = HLSLadder.plan(sourceWidth: 1920, sourceHeight: 1080, settings: EncoderSettings(rungs: [1080, 360]))
        #expect(custom.map(\.name) == ["360p", "1080p"])
    }

    @Test("The master playlist lists BANDWIDTH, RESOLUTION and CODECS per rendition (RFC 8216 §4.3.4.2)")
    func master() {
        let low = Rendition(name: "240p", width: 426, height: 240, videoBitrate: 400_000, audioBitrate: 96_000)
        let high = Rendition(name: "720p", width: 1280, height: 720, videoBitrate: 2_800_000, audioBitrate: 128_000)
        let text = HLSLadder.masterPlaylist([
            (low, VariantInfo(peakBandwidth: 510_000, averageBandwidth: 480_000, codecs: "avc1.4d4015,mp4a.40.2")),
            (high, VariantInfo(peakBandwidth: 3_000_000, averageBandwidth: 2_900_000, codecs: "avc1.64001f,mp4a.40.2")),
        ])
        #expect(
            text == """
                #EXTM3U
                #EXT-X-VERSION:7
                #EXT-X-INDEPENDENT-SEGMENTS
                #EXT-X-STREAM-INF:BANDWIDTH=510000,AVERAGE-BANDWIDTH=480000,RESOLUTION=426x240,CODECS="avc1.4d4015,mp4a.40.2",NAME="240p"
                240p.m3u8
                #EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2900000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",NAME="720p"
                720p.m3u8

                """)
    }

    @Test("The avc1 codec string comes from the init segment's avcC box")
    func codecString() {
        var bytes = [UInt8](repeating: 0, count: 40)
        bytes += Array("avcC".utf8) + [0x01, 0x64, 0x00, 0x1F, 0xFF]
        #expect(HLSLadder.avcCodecString(initSegment: Data(bytes)) == "avc1.64001f")
        #expect(HLSLadder.avcCodecString(initSegment: Data([0, 1, 2])) == nil)
    }

    @Test("ffmpeg's -progress lines become a fraction of the duration, reaching 1 at progress=end")
    func progress() {
        var p = FFmpegProgress(duration: 20)
        #expect(p.feed("frame=10") == nil)
        #expect(p.feed("out_time_us=5000000") == 0.25)
        #expect(p.feed("out_time_ms=10000000") == 0.5)
        #expect(p.feed("out_time_us=N/A") == nil)
        #expect(p.feed("out_time_us=4000000") == nil)  // never goes backwards
        #expect(p.feed("progress=continue") == nil)
        #expect(p.feed("progress=end") == 1)
        #expect(p.finished)
    }

    @Test("The storyboard takes a frame every 2 s (at most 100) and indexes the tiles in WebVTT")
    func storyboard() {
        let short = Storyboard(duration: 9)
        #expect((short.interval, short.count, short.rows) == (2, 5, 1))
        let long = Storyboard(duration: 3600)
        #expect((long.interval, long.count, long.rows) == (36, 100, 10))
        let vtt = Storyboard(duration: 25).webVTT(spriteURL: "storyboard.jpg", duration: 25)
        #expect(vtt.hasPrefix("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n"))
        #expect(vtt.contains("00:00:20.000 --> 00:00:22.000\nstoryboard.jpg#xywh=0,90,160,90"))
        #expect(vtt.hasSuffix("00:00:24.000 --> 00:00:25.000\nstoryboard.jpg#xywh=320,90,160,90\n"))
    }
}

@Suite("MP4 layout")
struct MP4LayoutTests {
    @Test("faststart is moov before mdat, read from the top-level boxes")
    func fastStart() throws {
        func file(_ boxes: [(String, Int)]) throws -> String {
            var data = Data()
            for (type, size) in boxes {
                data += withUnsafeBytes(of: UInt32(size).bigEndian) { Data($0) } + Data(type.utf8) + Data(count: max(0, size - 8))
            }
            let path = NSTemporaryDirectory() + "layout-\(UUID().uuidString).mp4"
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        #expect(HLSLadder.isFastStart(path: try file([("ftyp", 24), ("moov", 100), ("mdat", 1000)])))
        #expect(!HLSLadder.isFastStart(path: try file([("ftyp", 24), ("mdat", 1000), ("moov", 100)])))
        #expect(!HLSLadder.isFastStart(path: try file([("ftyp", 24), ("free", 4)])))  // a broken size stops the walk
        #expect(!HLSLadder.isFastStart(path: "/nonexistent"))
    }
}
