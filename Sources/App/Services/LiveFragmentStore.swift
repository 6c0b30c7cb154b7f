import Foundation
import Media
import NIOConcurrencyHelpers
import NIOCore

/// The newest fragments of one live stream, in memory, for the low-latency paths: the chunked stream our own player
/// reads (`/live/{handle}/stream.mp4`) and LL-HLS (`/live/{handle}/ll.m3u8`). The packager's ffmpeg writes
/// fragmented MP4 on a pipe; `FMP4Reader` splits it; each fragment (about 200 ms) is one LL-HLS part, and a segment
/// starts at the first keyframe fragment after at least `minSegmentSeconds`.
///
/// Every viewer reads the same `ByteBuffer`s (nothing is copied per viewer), and only the last `keepSegments`
/// segments are kept, so memory is bounded whatever the viewers do. Readers wait for the next fragment without
/// polling: `waitForChange` parks them until `append` or `end` wakes them (or a timeout).
public final class LiveFragmentStore: Sendable {
    public struct Fragment: Sendable {
        /// Counts every fragment of this stream, from 0.
        public var sequence: Int
        public var bytes: ByteBuffer
        public var isKeyframe: Bool
        public var duration: Double
        public var msn: Int
        public var part: Int
    }

    struct Segment {
        var msn: Int
        var fragments: [Fragment]
        var complete: Bool
        var duration: Double { fragments.reduce(0) { $0 + $1.duration } }
    }

    struct State {
        var initSegment: ByteBuffer?
        var codecs = ""
        var timescale: UInt32 = 90_000
        var segments: [Segment] = []
        var nextSequence = 0
        var nextMSN = 0
        var ended = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter = 0
        var version = 0
    }

    /// A new stream (a publisher connecting again) is a new generation: its files have other names.
    public let generation: Int
    public let channelID: Int
    private let state = NIOLockedValueBox(State())

    /// The fragment length ffmpeg is asked for (`-frag_duration`).
    public static let fragmentSeconds = 0.2
    /// PART-TARGET: a fragment is 0.2 s at 10, 15, 20, 25, 30, 50 and 60 fps and 0.21 s at 24; the RFC wants parts
    /// no longer than this and, but for a segment's last, at least 85% of it. Longer ones (the stream's first
    /// fragments, odd frame rates) are served in whole segments only.
    public static let partTarget = 0.22
    /// A segment is at least this long (it ends at the next keyframe after it).
    public static let minSegmentSeconds = 1.0
    /// Segments kept for LL-HLS and late readers: the playlist window.
    public static let keepSegments = 10

    public init(channelID: Int, generation: Int) {
        self.channelID = channelID
        self.generation = generation
    }

    // MARK: writing (the packager)

    /// The stream's init segment (ftyp+moov). A second one in the same stream would change codecs under readers, so
    /// the packager starts a new store instead; here it simply replaces the first.
    public func setInit(_ bytes: [UInt8], info: FMP4Reader.TrackInfo) {
        state.withLockedValue {
            $0.initSegment = ByteBuffer(bytes: bytes)
            $0.codecs = info.codecs
            $0.timescale = info.videoTimescale
        }
        wakeAll(true)
    }

    /// Adds a fragment; a keyframe after `minSegmentSeconds` starts the next segment. Fragments before the first
    /// keyframe are dropped: nothing could be decoded from them.
    public func append(_ fragment: FMP4Reader.Fragment) {
        let appended: Bool = state.withLockedValue { s in
            guard !s.ended else { return false }
            let seconds = fragment.hasVideo ? Double(fragment.videoDuration) / Double(max(1, s.timescale)) : 0
            if s.segments.isEmpty {
                guard fragment.isKeyframe else { return false }
                s.segments.append(Segment(msn: s.nextMSN, fragments: [], complete: false))
                s.nextMSN += 1
            } else if fragment.isKeyframe, let current = s.segments.last, current.duration >= Self.minSegmentSeconds {
                s.segments[s.segments.count - 1].complete = true
                s.segments.append(Segment(msn: s.nextMSN, fragments: [], complete: false))
                s.nextMSN += 1
                if s.segments.count > Self.keepSegments + 1 { s.segments.removeFirst(s.segments.count - Self.keepSegments - 1) }
            }
            let index = s.segments.count - 1
            let item = Fragment(
                sequence: s.nextSequence, bytes: ByteBuffer(bytes: fragment.bytes), isKeyframe: fragment.isKeyframe,
                duration: seconds, msn: s.segments[index].msn, part: s.segments[index].fragments.count)
            s.nextSequence += 1
            s.segments[index].fragments.append(item)
            return true
        }
        if appended { wakeAll(true) }
    }

    /// The stream stopped: readers finish, playlists end.
    public func end() {
        state.withLockedValue {
            $0.ended = true
            if !$0.segments.isEmpty { $0.segments[$0.segments.count - 1].complete = true }
        }
        wakeAll(false)
    }

    // MARK: reading

    public var isEnded: Bool { state.withLockedValue { $0.ended } }
    public var initSegment: ByteBuffer? { state.withLockedValue { $0.initSegment } }
    public var codecs: String { state.withLockedValue { $0.codecs } }

    /// The newest keyframe fragment's sequence: where a new viewer starts.
    public var newestKeyframe: Int? {
        state.withLockedValue { s in s.segments.last?.fragments.first?.sequence }
    }

    /// The fragment after `sequence` (nil: not there yet). A reader more than `maxLag` seconds behind, or whose next
    /// fragment is already gone, skips to the newest keyframe: a slow viewer loses some video, never memory.
    public func fragment(after sequence: Int, maxLag: Double = 3) -> Fragment? {
        state.withLockedValue { s in
            let all = s.segments.flatMap(\.fragments)
            guard let oldest = all.first, let newest = all.last, sequence < newest.sequence else { return nil }
            let behind = all.filter { $0.sequence > sequence }.reduce(0) { $0 + $1.duration }
            if sequence + 1 < oldest.sequence || behind > maxLag {
                return s.segments.last?.fragments.first
            }
            return all.first { $0.sequence == sequence + 1 }
        }
    }

    /// The LL-HLS playlist as things are now.
    public var playlist: LLHLSPlaylist {
        state.withLockedValue { s in
            LLHLSPlaylist(
                generation: generation,
                segments: s.segments.map { .init(msn: $0.msn, parts: $0.fragments.map(\.duration), complete: $0.complete) },
                partTarget: Self.partTarget, ended: s.ended)
        }
    }

    /// One part's bytes, or a whole segment's (`part` nil; only once it is complete).
    public func bytes(msn: Int, part: Int?) -> ByteBuffer? {
        state.withLockedValue { s in
            guard let segment = s.segments.first(where: { $0.msn == msn }) else { return nil }
            if let part {
                return part >= 0 && part < segment.fragments.count ? segment.fragments[part].bytes : nil
            }
            guard segment.complete else { return nil }
            var whole = ByteBuffer()
            whole.reserveCapacity(segment.fragments.reduce(0) { $0 + $1.bytes.readableBytes })
            for fragment in segment.fragments { whole.writeImmutableBuffer(fragment.bytes) }
            return whole
        }
    }

    /// Bumped by every change; a reader notes it before looking, then waits from it, so a change in between is
    /// not missed.
    public var version: Int { state.withLockedValue { $0.version } }

    /// Waits until something changes after `version` (a fragment, the init, the end) or `timeout` passes; true when
    /// something did and the stream goes on.
    public func waitForChange(from version: Int, timeout: Double) async -> Bool {
        let id = state.withLockedValue { s -> Int in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        return await withCheckedContinuation { continuation in
            let now: Bool? = state.withLockedValue { s in
                if s.ended { return false }
                if s.version != version { return true }
                s.waiters[id] = continuation
                return nil
            }
            if let now {
                continuation.resume(returning: now)
                return
            }
            // Set only once the waiter is registered, so it cannot fire first; woken earlier, it finds nobody.
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
                self?.wake(id, false)
            }
        }
    }

    private func wake(_ id: Int, _ value: Bool) {
        state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume(returning: value)
    }

    private func wakeAll(_ value: Bool) {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Bool, Never>] in
            s.version += 1
            let all = Array(s.waiters.values)
            s.waiters.removeAll()
            return all
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }
}
