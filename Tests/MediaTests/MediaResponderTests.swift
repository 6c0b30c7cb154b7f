import Testing

@testable import Media

@Suite("Media responses: validators, conditionals, multipart")
struct MediaResponderTests {
    let file = Representation(size: 1000, lastModified: 784_111_777, contentType: "video/mp4")  // Sun, 06 Nov 1994 08:49:37 GMT
    let responder = MediaResponder(planner: RangePlanner(), makeBoundary: { "BOUNDARY" })

    @Test("Full response carries validators and length") func fullResponseCarriesValidatorsAndLength() {
        let plan = responder.plan(MediaRequest(), for: file)
        #expect(plan.status == 200)
        #expect(plan.header("Accept-Ranges") == "bytes")
        #expect(plan.header("ETag") == file.etag)
        #expect(plan.header("Last-Modified") == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(plan.header("Content-Type") == "video/mp4")
        #expect(plan.contentLength == 1000)
    }

    @Test("Single range has content range with a space") func singleRangeHasContentRangeWithASpace() {
        let plan = responder.plan(MediaRequest(range: "bytes=10-19"), for: file)
        #expect(plan.status == 206)
        #expect(plan.header("Content-Range") == "bytes 10-19/1000")
        #expect(plan.body == [.file(ByteRange(10, 19))])
    }

    @Test("Unsatisfiable names the size") func unsatisfiableNamesTheSize() {
        let plan = responder.plan(MediaRequest(range: "bytes=1000-"), for: file)
        #expect(plan.status == 416)
        #expect(plan.header("Content-Range") == "bytes */1000")
    }

    @Test("Multipart framing") func multipartFraming() {
        // given two ranges
        let plan = responder.plan(MediaRequest(range: "bytes=0-1,5-9"), for: file)
        // then the body is framed by RFC 9110 §14.6 with per-part headers
        #expect(plan.status == 206)
        #expect(plan.header("Content-Type") == "multipart/byteranges; boundary=BOUNDARY")
        #expect(
            plan.body == [
                .text("--BOUNDARY\r\nContent-Type: video/mp4\r\nContent-Range: bytes 0-1/1000\r\n\r\n"), .file(ByteRange(0, 1)),
                .text("\r\n--BOUNDARY\r\nContent-Type: video/mp4\r\nContent-Range: bytes 5-9/1000\r\n\r\n"), .file(ByteRange(5, 9)),
                .text("\r\n--BOUNDARY--\r\n"),
            ])
        #expect(plan.contentLength == plan.body.reduce(0) { $0 + $1.count })
    }

    @Test("If none match gives 304") func ifNoneMatchGives304() {
        #expect(responder.plan(MediaRequest(ifNoneMatch: file.etag), for: file).status == 304)
        #expect(responder.plan(MediaRequest(ifNoneMatch: "W/\(file.etag)"), for: file).status == 304)
        #expect(responder.plan(MediaRequest(ifNoneMatch: "\"other\", \(file.etag)"), for: file).status == 304)
        #expect(responder.plan(MediaRequest(ifNoneMatch: "*"), for: file).status == 304)
        #expect(responder.plan(MediaRequest(ifNoneMatch: "\"other\""), for: file).status == 200)
    }

    @Test("If modified since") func ifModifiedSince() {
        #expect(responder.plan(MediaRequest(ifModifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT"), for: file).status == 304)
        #expect(responder.plan(MediaRequest(ifModifiedSince: "Sunday, 06-Nov-94 08:49:38 GMT"), for: file).status == 304)
        #expect(responder.plan(MediaRequest(ifModifiedSince: "Sun Nov  6 08:49:36 1994"), for: file).status == 200)
        // an invalid date is ignored
        #expect(responder.plan(MediaRequest(ifModifiedSince: "yesterday"), for: file).status == 200)
        // If-None-Match wins over If-Modified-Since (§13.2.2)
        #expect(
            responder.plan(MediaRequest(ifNoneMatch: "\"other\"", ifModifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT"), for: file)
                .status == 200)
    }

    @Test("If range matching or not") func ifRangeMatchingOrNot() {
        // a matching strong tag keeps the range
        #expect(responder.plan(MediaRequest(range: "bytes=0-9", ifRange: file.etag), for: file).status == 206)
        // a weak or different tag, or another date, turns it into a full 200
        #expect(responder.plan(MediaRequest(range: "bytes=0-9", ifRange: "W/\(file.etag)"), for: file).status == 200)
        #expect(responder.plan(MediaRequest(range: "bytes=0-9", ifRange: "\"stale\""), for: file).status == 200)
        #expect(responder.plan(MediaRequest(range: "bytes=0-9", ifRange: "Sun, 06 Nov 1994 08:49:37 GMT"), for: file).status == 206)
        #expect(responder.plan(MediaRequest(range: "bytes=0-9", ifRange: "Mon, 07 Nov 1994 08:49:37 GMT"), for: file).status == 200)
    }

    @Test("Preconditions") func preconditions() {
        #expect(responder.plan(MediaRequest(ifMatch: "\"nope\""), for: file).status == 412)
        #expect(responder.plan(MediaRequest(ifMatch: file.etag), for: file).status == 200)
        #expect(responder.plan(MediaRequest(ifUnmodifiedSince: "Sat, 05 Nov 1994 08:49:37 GMT"), for: file).status == 412)
    }

    @Test("Http dates round trip") func httpDatesRoundTrip() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 25:49:37 GMT") == nil)
        #expect(HTTPDate.parse("") == nil)
    }
}

@Suite("Download names, storage keys, signatures, probing")
struct MediaSupportTests {
    @Test("Content disposition survives hostile titles") func contentDispositionSurvivesHostileTitles() {
        let value = attachmentDisposition(filename: downloadFilename(title: "My \"best\" / clip: été 日本", fileExtension: "mp4"))
        #expect(value == "attachment; filename=\"My _best_ _ clip_ _t_ __.mp4\"; filename*=UTF-8''My%20%22best%22%20_%20clip%3A%20%C3%A9t%C3%A9%20%E6%97%A5%E6%9C%AC.mp4")
        #expect(!value.contains("\r") && !value.contains("\n"))
        #expect(downloadFilename(title: "..", fileExtension: "mp4") == "video.mp4")
        #expect(downloadFilename(title: "a\r\nSet-Cookie: x", fileExtension: "webm") == "a__Set-Cookie: x.webm")
    }

    @Test("Storage keys refuse traversal") func storageKeysRefuseTraversal() {
        #expect(StorageKey.isValid("videos/ab/abcdef0123.mp4"))
        for bad in ["../etc/passwd", "/etc/passwd", "videos/../../x", "videos//x", "videos/.hidden", "videos/A.mp4", "x", "videos/a%2f", "videos/a\0b", ""] {
            #expect(!StorageKey.isValid(bad), "\(bad)")
        }
        let key = StorageKey.generate(prefix: "videos", fileExtension: "MP4")
        #expect(StorageKey.isValid(key) && key.hasSuffix(".mp4"))
    }

    @Test("Signed URLs verify and expire") func signedURLsVerifyAndExpire() {
        let signer = URLSigner(secret: Array("0123456789abcdef0123456789abcdef".utf8))
        let grant = MediaGrant(key: "videos/ab/ab12.mp4", expires: 2_000_000_000, videoID: 7, userID: 3)
        let path = signer.path(for: grant)
        #expect(signer.verify(target: path, now: 1_900_000_000) == grant)
        // expired, tampered key, tampered video, other secret
        #expect(signer.verify(target: path, now: 2_000_000_001) == nil)
        #expect(signer.verify(target: path.replacingOccurrences(of: "ab12", with: "ab13"), now: 0) == nil)
        #expect(signer.verify(target: path.replacingOccurrences(of: "v=7", with: "v=8"), now: 0) == nil)
        #expect(URLSigner(secret: Array("another-secret-another-secret!!".utf8)).verify(target: path, now: 0) == nil)
        #expect(signer.verify(target: "/m/videos/ab/ab12.mp4", now: 0) == nil)
        #expect(signer.verify(target: "/m/../secret.key?e=1&v=0&u=&s=x", now: 0) == nil)
    }

    @Test("Probe refuses audio only and stills") func probeRefusesAudioOnlyAndStills() throws {
        let audio = #"{"format":{"format_name":"mp3","duration":"3.0"},"streams":[{"codec_type":"audio","codec_name":"mp3"},{"codec_type":"video","codec_name":"mjpeg","width":300,"height":300,"disposition":{"attached_pic":1}}]}"#
        #expect(throws: ProbeError.noVideo) { try FFmpeg.parseProbe(Array(audio.utf8).data) }
        let still = #"{"format":{"format_name":"png_pipe"},"streams":[{"codec_type":"video","codec_name":"png","width":10,"height":10}]}"#
        #expect(throws: ProbeError.noVideo) { try FFmpeg.parseProbe(Array(still.utf8).data) }
        let zero = #"{"format":{"format_name":"mov,mp4","duration":"0"},"streams":[{"codec_type":"video","codec_name":"h264","width":10,"height":10}]}"#
        #expect(throws: ProbeError.noDuration) { try FFmpeg.parseProbe(Array(zero.utf8).data) }
        let ok = #"{"format":{"format_name":"mov,mp4","duration":"4.5","size":"100"},"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":360},{"codec_type":"audio","codec_name":"aac"}]}"#
        let probe = try FFmpeg.parseProbe(Array(ok.utf8).data)
        #expect(probe.width == 640 && probe.duration == 4.5 && probe.audioCodec == "aac")
    }
}

import Foundation

extension Array where Element == UInt8 {
    var data: Data { Data(self) }
}
