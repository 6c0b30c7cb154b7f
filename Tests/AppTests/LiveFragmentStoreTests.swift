import App
import Foundation
import Media
import NIOCore
import Testing

@Suite("Live fragments in memory")
struct LiveFragmentStoreTests {
    private func fragment(_ index: Int, keyframeEvery: Int = 5) -> FMP4Reader.Fragment {
        // 200 ms of video at 16000 Hz
        FMP4Reader.Fragment(bytes: [UInt8(index & 0xFF)], isKeyframe: index % keyframeEvery == 0, videoStart: UInt64(index * 3200),
                            videoDuration: 3200, hasVideo: true)
    }

    private func store() -> LiveFragmentStore {
        let store = LiveFragmentStore(channelID: 1, generation: 3)
        store.setInit([1, 2, 3], info: .init(videoTrackID: 1, videoTimescale: 16000, defaultSampleDuration: 533, defaultSampleFlags: 0,
                                             codecs: "avc1.64001f,mp4a.40.2"))
        return store
    }

    @Test("Segments start at keyframes, last at least a second, and only the newest are kept; parts are the fragments")
    func segments() {
        // given a keyframe every 5 fragments (1 s), fed 60 fragments (12 s)
        let store = store()
        for i in 0..<60 { store.append(fragment(i)) }
        // then
        let playlist = store.playlist
        #expect(playlist.generation == 3)
        #expect(playlist.segments.count == LiveFragmentStore.keepSegments + 1)
        #expect(playlist.segments.dropLast().allSatisfy { $0.complete && $0.parts.count == 5 && abs($0.duration - 1) < 1e-9 })
        #expect(playlist.segments.last?.msn == 11 && playlist.segments.last?.parts.count == 5)
        #expect(store.bytes(msn: 11, part: 4)?.readableBytes == 1)
        #expect(store.bytes(msn: 11, part: nil) == nil)  // not complete yet
        #expect(store.bytes(msn: 10, part: nil)?.readableBytes == 5)
        #expect(store.bytes(msn: 0, part: 0) == nil)  // dropped from the window
        #expect(store.newestKeyframe == 55)
    }

    @Test("Fragments before the first keyframe are dropped; a keyframe before a second has passed stays in its segment")
    func firstKeyframe() {
        let store = store()
        for i in 1...4 { store.append(fragment(i)) }  // no keyframe yet
        #expect(store.playlist.segments.isEmpty && store.newestKeyframe == nil)
        for i in 0..<10 { store.append(fragment(i, keyframeEvery: 2)) }  // keyframes every 400 ms
        let segments = store.playlist.segments
        #expect(segments.first?.parts.count == 6 && segments.first?.complete == true)  // 0…5: 1.2 s, then a keyframe
    }

    @Test("A reader follows fragment by fragment; one that falls behind jumps to the newest keyframe")
    func readers() {
        let store = store()
        for i in 0..<12 { store.append(fragment(i)) }
        #expect(store.fragment(after: 5)?.sequence == 6)
        #expect(store.fragment(after: 11) == nil)
        // 3 s behind at most: a reader at fragment 0 of 30 jumps
        for i in 12..<30 { store.append(fragment(i)) }
        #expect(store.fragment(after: 0)?.sequence == 25)
        #expect(store.fragment(after: 20)?.sequence == 21)
    }

    @Test("Waiting readers wake on a new fragment and on the end, and time out otherwise")
    func waiting() async {
        let store = store()
        store.append(fragment(0))
        var version = store.version
        let started = Date()
        #expect(await store.waitForChange(from: version, timeout: 0.2) == false)
        #expect(Date().timeIntervalSince(started) >= 0.19)
        version = store.version
        async let woken = store.waitForChange(from: version, timeout: 10)
        try? await Task.sleep(nanoseconds: 50_000_000)
        store.append(fragment(1))
        #expect(await woken == true)
        // a change between looking and waiting is not missed
        version = store.version
        store.append(fragment(2))
        #expect(await store.waitForChange(from: version, timeout: 10) == true)
        version = store.version
        async let ended = store.waitForChange(from: version, timeout: 10)
        try? await Task.sleep(nanoseconds: 50_000_000)
        store.end()
        #expect(await ended == false && store.isEnded && store.playlist.ended)
    }
}
