import Foundation
import Media
import Vapor

/// Live at about a second: the fragments the packager keeps in memory (`LiveFragmentStore`), served two ways from
/// the node that has the publisher.
/// - `/live/{handle}/stream.mp4`: the init segment, then every fragment from the newest keyframe on, as one chunked
///   response that is never buffered — what the live page's own player (`Public/js/liveplayer.js`) reads.
/// - `/live/{handle}/ll.m3u8` and `/live/{handle}/ll/{file}`: LL-HLS (RFC 8216bis) for Safari, iOS, VLC and CDNs,
///   with blocking playlist reloads, delta updates and parts that are waited for rather than polled.
/// Another node answers 404 for both (its viewers' players fall back to `index.m3u8`).
struct LowLatencyController {
    /// How long a blocking request may be held: three target durations, as RFC 8216bis §6.2.5.2 allows.
    private static func holdLimit(_ playlist: LLHLSPlaylist) -> Double { Double(3 * playlist.targetDuration) }

    /// GET /live/:handle/stream.mp4
    func stream(req: Request) async throws -> Response {
        let (id, store) = try await liveStore(req)
        guard let initSegment = store.initSegment, let first = store.newestKeyframe else {
            throw Abort(.notFound, reason: "The stream is starting: no keyframe yet. Try again in a moment.")
        }
        var headers = HTTPHeaders()
        headers.add(name: .contentType, value: "video/mp4; codecs=\"\(store.codecs)\"")
        headers.add(name: .cacheControl, value: "no-store")
        headers.add(name: "X-Accel-Buffering", value: "no")  // nginx: pass each fragment on at once
        headers.add(name: "X-Stream-Generation", value: String(store.generation))
        let logged = req.watchLogger(.live(channelID: id), .live)
        let body = Response.Body(asyncStream: { writer in
            var sequence = first - 1
            var unlogged: Int64 = 0
            var loggedAt = Date()
            do {
                try await writer.writeBuffer(initSegment)
                unlogged += Int64(initSegment.readableBytes)
                while true {
                    let version = store.version
                    if let fragment = store.fragment(after: sequence) {
                        try await writer.writeBuffer(fragment.bytes)
                        sequence = fragment.sequence
                        unlogged += Int64(fragment.bytes.readableBytes)
                        if Date().timeIntervalSince(loggedAt) > 10 {
                            logged?(200, unlogged)
                            unlogged = 0
                            loggedAt = Date()
                        }
                        continue
                    }
                    guard await store.waitForChange(from: version, timeout: 10) || !store.isEnded else { break }
                }
            } catch {
                // The viewer went away.
            }
            logged?(200, unlogged)
            try? await writer.write(.end)
        })
        return Response(status: .ok, headers: headers, body: body)
    }

    /// GET /live/:handle/ll.m3u8?_HLS_msn=&_HLS_part=&_HLS_skip=YES — the LL-HLS media playlist; with `_HLS_msn`
    /// it is held until that segment (or part) is in it.
    func playlist(req: Request) async throws -> Response {
        let (_, store) = try await liveStore(req)
        let msn = try Self.number(req, "_HLS_msn")
        let part = try Self.number(req, "_HLS_part")
        if part != nil && msn == nil { throw Abort(.badRequest, reason: "_HLS_part needs _HLS_msn (RFC 8216bis §6.2.5.2).") }
        let skip = ["YES", "v2"].contains(req.query[String.self, at: "_HLS_skip"] ?? "")
        var playlist = store.playlist
        if let msn {
            let deadline = Date().addingTimeInterval(Self.holdLimit(playlist))
            while true {
                let version = store.version
                playlist = store.playlist
                switch playlist.readiness(msn: msn, part: part) {
                case .ready: break
                case .tooFar:
                    throw Abort(.badRequest, reason: "_HLS_msn=\(msn) is further ahead than the playlist will be soon.")
                case .wait:
                    let left = deadline.timeIntervalSinceNow
                    guard left > 0 else { throw Abort(.serviceUnavailable, reason: "The stream did not reach \(msn) in time.") }
                    _ = await store.waitForChange(from: version, timeout: left)
                    continue
                }
                break
            }
        }
        guard !playlist.segments.isEmpty else { throw Abort(.notFound, reason: "The stream is starting: no segment yet.") }
        var headers = HTTPHeaders()
        headers.add(name: .contentType, value: "application/vnd.apple.mpegurl")
        headers.add(name: .cacheControl, value: "no-cache")
        return Response(status: .ok, headers: headers, body: .init(string: playlist.render(skip: skip)))
    }

    /// GET /live/:handle/ll/:file — `init-G.mp4`, a segment `G-MSN.m4s` or a part `G-MSN.PART.m4s`; a part or
    /// segment that is about to exist (the preload hint) is waited for.
    func file(req: Request) async throws -> Response {
        let (id, store) = try await liveStore(req)
        let file = req.parameters.get("file") ?? ""
        var headers = HTTPHeaders()
        if file == "init-\(store.generation).mp4", let initSegment = store.initSegment {
            headers.add(name: .contentType, value: "video/mp4")
            headers.add(name: "X-Codecs", value: store.codecs)  // for MSE players, which must name them
            headers.add(name: .cacheControl, value: "public, max-age=3600")
            return Response(status: .ok, headers: headers, body: .init(buffer: initSegment))
        }
        guard let name = LLHLSPlaylist.parse(file: file), name.generation == store.generation else {
            throw Abort(.notFound, reason: "No such part: it is of an earlier broadcast, or not a part name.")
        }
        var bytes = store.bytes(msn: name.msn, part: name.part)
        if bytes == nil {
            let deadline = Date().addingTimeInterval(Self.holdLimit(store.playlist) + LiveFragmentStore.minSegmentSeconds)
            while bytes == nil, !store.isEnded {
                let version = store.version
                let playlist = store.playlist
                if let first = playlist.segments.first, name.msn < first.msn { break }  // gone
                // A part past the end of a finished segment never comes: say so at once (players go to the next).
                if name.part != nil, playlist.segments.contains(where: { $0.msn == name.msn && $0.complete }) { break }
                if playlist.readiness(msn: name.msn, part: name.part) == .tooFar { break }
                let left = deadline.timeIntervalSinceNow
                guard left > 0 else { break }
                _ = await store.waitForChange(from: version, timeout: left)
                bytes = store.bytes(msn: name.msn, part: name.part)
            }
        }
        guard let bytes else { throw Abort(.notFound, reason: "\(file) is not there: the stream moved on, or it is not coming.") }
        headers.add(name: .contentType, value: "video/iso.segment")
        headers.add(name: .cacheControl, value: "public, max-age=60")
        req.watchLogger(.live(channelID: id), .live)?(200, Int64(bytes.readableBytes))
        return Response(status: .ok, headers: headers, body: .init(buffer: bytes))
    }

    /// The channel of the path and its fragments on this node; 404 when it is not live here.
    private func liveStore(_ req: Request) async throws -> (Int, LiveFragmentStore) {
        let handle = (req.parameters.get("handle") ?? "").lowercased()
        guard let channel = try await req.catalog.channel(handle: handle), let id = channel.id,
            let store = req.services.live.stream(channelID: id), !store.isEnded
        else {
            throw Abort(.notFound, reason: "@\(handle.prefix(30)) has no low-latency stream on this server: play index.m3u8.")
        }
        return (id, store)
    }

    /// A non-negative whole number from the query, nil when absent; 400 when malformed.
    private static func number(_ req: Request, _ name: String) throws -> Int? {
        guard let raw = req.query[String.self, at: name] else { return nil }
        guard let value = Int(raw), value >= 0, value < 1_000_000_000 else {
            throw Abort(.badRequest, reason: "\(name) must be a whole number, got '\(raw.prefix(20))'.")
        }
        return value
    }
}
