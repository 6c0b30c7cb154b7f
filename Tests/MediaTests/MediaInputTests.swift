import Foundation
import Testing

@testable import Media

/// ffmpeg is never left to guess an input's format or to open other files from it; signed URLs have one
/// spelling; forwarded addresses are believed from trusted proxies only.
@Suite("Media inputs, URL spellings, trusted proxies")
struct MediaInputTests {
    @Test("Every ffmpeg command names its input's demuxer and allows the file protocol only")
    func everyCommandNamesItsDemuxer() {
        let input = MediaInput(path: "/data/videos/ab/ab.mp4", container: .mp4)
        let rendition = HLSLadder.plan(sourceWidth: 640, sourceHeight: 360)[0]
        let commands = [
            HLSLadder.renditionArguments(input: input, rendition: rendition, folder: "/tmp/x", hasAudio: true, settings: .init()),
            HLSLadder.faststartArguments(input: .hlsPlaylist("/tmp/x/240p.m3u8"), output: "/tmp/out.mp4", hasAudio: false),
            Storyboard(duration: 10).arguments(input: input, output: "/tmp/sb.jpg"),
        ]
        for arguments in commands {
            let i = try! #require(arguments.firstIndex(of: "-i"))
            #expect(arguments[i - 2] == "-f" && ["mov", "hls"].contains(arguments[i - 1]), "\(arguments)")
            #expect(arguments[i - 4] == "-protocol_whitelist" && arguments[i - 3] == "file", "\(arguments)")
        }
        #expect(MediaInput.flvPipe.arguments == ["-protocol_whitelist", "pipe", "-f", "flv", "-i", "pipe:0"])
    }

    @Test("Containers come from the probe, never from the uploader's file name")
    func containersFromTheProbe() {
        #expect(VideoContainer(formatName: "mov,mp4,m4a,3gp,3g2,mj2", videoCodec: "h264", audioCodec: "aac") == .mp4)
        #expect(VideoContainer(formatName: "matroska,webm", videoCodec: "vp9", audioCodec: "opus") == .webm)
        #expect(VideoContainer(formatName: "matroska,webm", videoCodec: "h264", audioCodec: "aac") == .mkv)
        #expect(VideoContainer(formatName: "mpegts", videoCodec: "h264", audioCodec: nil) == .ts)
        for other in ["hls", "concat", "image2", "png_pipe", "tty", ""] {
            #expect(VideoContainer(formatName: other, videoCodec: "h264", audioCodec: nil) == nil, "\(other)")
        }
        #expect(VideoContainer(storageKey: "videos/ab/ab.mov") == .mp4)
        #expect(VideoContainer(storageKey: "videos/ab/ab.m3u8") == nil)
        #expect(VideoContainer(storageKey: "videos/ab/ab.part") == nil)
    }

    @Test("ffprobe refuses a playlist or a concat list that names another file, reading neither")
    func probeRefusesPlaylists() async throws {
        let folder = NSTemporaryDirectory() + "probe-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await FFmpeg.generateTestVideo(to: "\(folder)/real.mp4", width: 160, height: 90, seconds: 1)
        try "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\nreal.mp4\n#EXT-X-ENDLIST\n".write(
            toFile: "\(folder)/fake.mp4", atomically: true, encoding: .utf8)
        try "ffconcat version 1.0\nfile real.mp4\n".write(toFile: "\(folder)/list.mkv", atomically: true, encoding: .utf8)
        await #expect(throws: ProbeError.notAContainer("hls")) { _ = try await FFmpeg.probeVideo("\(folder)/fake.mp4") }
        await #expect(throws: ProbeError.notAContainer("concat")) { _ = try await FFmpeg.probeVideo("\(folder)/list.mkv") }
        let real = try await FFmpeg.probeVideo("\(folder)/real.mp4")
        #expect(real.container == .mp4)
    }

    @Test("A signed URL verifies in exactly the spelling it was made in")
    func signaturesHaveOneSpelling() {
        let signer = URLSigner(secret: Array("0123456789abcdef0123456789abcdef".utf8))
        let grant = MediaGrant(key: "videos/ab/ab12.mp4", expires: 2_000_000_000, videoID: 7, revision: 2, userID: 3)
        let path = signer.path(for: grant)
        #expect(signer.verify(target: path, now: 0) == grant)
        let variants = [
            path.replacingOccurrences(of: "e=2000000000", with: "e=02000000000"),
            path.replacingOccurrences(of: "e=2000000000", with: "e=+2000000000"),
            path.replacingOccurrences(of: "&v=7", with: "&v=07"),
            path.replacingOccurrences(of: "&u=3", with: "&u=+3"),
            path.replacingOccurrences(of: "&r=2", with: "&r=1"),
            path + "&x=1",
            path.replacingOccurrences(of: "?e=2000000000&v=7", with: "?v=7&e=2000000000"),
        ]
        for variant in variants { #expect(signer.verify(target: variant, now: 0) == nil, "\(variant)") }
        // The last base64url character has spare bits: another letter that decodes to the same MAC is refused.
        let signature = String(path.split(separator: "s=").last!)
        let last = signature.last!
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let index = alphabet.firstIndex(of: last)!
        let twin = String(signature.dropLast()) + String(alphabet[index ^ 1])
        #expect(signer.verify(target: path.replacingOccurrences(of: signature, with: twin), now: 0) == nil)
    }

    @Test("X-Forwarded-For is read from the right and only when the peer is a trusted proxy")
    func forwardedForFromTrustedProxiesOnly() throws {
        let proxies = try #require(TrustedProxies(list: "127.0.0.1, 10.0.0.0/8, fd00::/8"))
        #expect(proxies.isTrusted("10.2.3.4") && proxies.isTrusted("fd12::1") && !proxies.isTrusted("11.0.0.1"))
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "198.51.100.1") == "198.51.100.1")
        // A client that writes its own header is only prepended to: the proxy's view is on the right.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "1.2.3.4, 198.51.100.1, 10.0.0.5") == "198.51.100.1")
        #expect(proxies.clientAddress(peer: "203.0.113.9", forwardedFor: "1.2.3.4") == "203.0.113.9")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "not-an-address") == "127.0.0.1")
        #expect(TrustedProxies().clientAddress(peer: "127.0.0.1", forwardedFor: "1.2.3.4") == "127.0.0.1")
        #expect(TrustedProxies(list: "10.0.0.0/33") == nil && TrustedProxies(list: "example.com") == nil)
    }
}
