import Fluent
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import SQLKit

/// Turns an accepted upload into everything the site serves: a poster, the HLS ladder with its master playlist,
/// the hover storyboard and a faststart MP4. Each step is recorded when it finishes, so a job restarted after a
/// crash carries on; the lowest rendition comes first and is published at once, so the video plays before the
/// ladder is done.
public struct VideoProcessor: Sendable {
    public let db: any Database
    public let storage: any MediaStorage
    public let settings: EncoderSettings
    public let logger: Logger

    public init(db: any Database, storage: any MediaStorage, settings: EncoderSettings, logger: Logger) {
        self.db = db
        self.storage = storage
        self.settings = settings
        self.logger = logger
    }

    /// One piece of work and its share of the whole job's percentage.
    struct Step {
        var name: String
        var stage: String
        var weight: Double
    }

    /// The steps for a video, in order, with weights roughly proportional to their CPU time.
    func steps(for video: Video) -> [Step] {
        let ladder = HLSLadder.plan(sourceWidth: video.width, sourceHeight: video.height, settings: settings)
        var steps = [Step(name: "thumbnail", stage: "Making the thumbnail", weight: 1)]
        for (i, r) in ladder.enumerated() {
            steps.append(Step(name: "hls-\(r.name)", stage: "Encoding \(r.name)", weight: 2 + Double(r.width * r.height) / 40_000))
            if i == 0 { steps.append(Step(name: "storyboard", stage: "Making the storyboard", weight: 3)) }
        }
        steps.append(Step(name: "mp4", stage: "Preparing the download file", weight: 2))
        return steps
    }

    /// Runs the steps not yet finished. `progress` gets the stage and the whole job's percentage as work moves.
    public func process(job: ProcessingJob, queue: JobQueue, progress: @escaping @Sendable (String, Double) -> Void) async throws {
        guard let video = try await Video.find(job.$video.id, on: db) else {
            throw ProcessingFailure("the video was deleted")
        }
        guard let container = VideoContainer(storageKey: video.mediaKey) else {
            throw ProcessingFailure("the stored file is not in a video container Videotube reads")
        }
        // From an object store, the input and what earlier attempts made are fetched to this node first.
        let inputPath: String
        do {
            inputPath = try await storage.fetch(video.mediaKey)
        } catch {
            throw ProcessingFailure("the uploaded file could not be read from storage: \(error)")
        }
        let input = MediaInput(path: inputPath, container: container)
        guard FileManager.default.fileExists(atPath: input.path) else {
            throw ProcessingFailure("the uploaded file is missing from storage")
        }
        if video.assetsKey == nil {
            video.assetsKey = try storage.reserveFolder(prefix: "assets").key
            try await video.save(on: db)
        }
        let assetsKey = video.assetsKey!
        let folder = try await storage.fetchFolder(assetsKey)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let ladder = HLSLadder.plan(sourceWidth: video.width, sourceHeight: video.height, settings: settings)
        let hasAudio = video.audioCodec != nil
        let steps = steps(for: video)
        let total = steps.reduce(0) { $0 + $1.weight }
        var doneWeight = 0.0
        let done = job.finishedSteps

        for step in steps {
            if done.contains(step.name) || (step.name == "thumbnail" && video.thumbnailKey != nil) {
                doneWeight += step.weight
                continue
            }
            let base = doneWeight
            let report: @Sendable (Double) -> Void = { fraction in
                progress(step.stage, min(100, (base + fraction * step.weight) / total * 100))
            }
            report(0)
            switch step.name {
            case "thumbnail":
                let thumb = try storage.reserve(prefix: "thumbnails", fileExtension: "jpg")
                try await FFmpeg.thumbnail(of: input, duration: video.duration, to: thumb.path)
                try await storage.store(thumb.key)
                // Only into an empty slot: the owner may have chosen a thumbnail of their own meanwhile.
                let sql = try db.sql()
                try await sql.update(Video.schema).set("thumbnail_key", to: SQLBind(thumb.key))
                    .where("id", .equal, SQLBind(video.requireID())).where("thumbnail_key", .is, SQLLiteral.null).run()
                let current = try await Video.find(video.requireID(), on: db)?.thumbnailKey
                if current != thumb.key { storage.delete(thumb.key) }
                // (not set on `video`: its later saves write only what changed, never this column)
            case "storyboard":
                let board = Storyboard(duration: video.duration)
                do {
                    try await runFFmpeg(board.arguments(input: input, output: "\(folder)/storyboard.jpg"), video.duration, report)
                } catch {
                    Self.removeFiles(in: folder, named: { $0.hasPrefix("storyboard.") })
                    throw error
                }
                try write(board.webVTT(spriteURL: "storyboard.jpg", duration: video.duration), to: "\(folder)/storyboard.vtt")
                try await storage.storeFolder(assetsKey)
                video.hasStoryboard = true
                try await video.save(on: db)
            case "mp4":
                try await makeDownloadFile(video, input: input, folder: folder, top: ladder.last!, hasAudio: hasAudio, report)
            default:
                guard let rendition = ladder.first(where: { "hls-\($0.name)" == step.name }) else { continue }
                do {
                    try await runFFmpeg(
                        HLSLadder.renditionArguments(
                            input: input, rendition: rendition, folder: folder, hasAudio: hasAudio, settings: settings),
                        video.duration, report)
                } catch {
                    // A rendition cut short (a full disk, a crash of ffmpeg) leaves nothing behind: its segments
                    // would only hold the space the failure's record and the next attempt need.
                    Self.removeFiles(in: folder, named: { $0 == "\(rendition.name).m3u8" || $0.hasPrefix("\(rendition.name)_") })
                    throw error
                }
                // The rendition's files go up before the master playlist that names them.
                try await storage.storeFolder(assetsKey)
                try await publish(video, ladder: ladder, upTo: rendition, folder: folder, hasAudio: hasAudio)
                try await storage.storeFolder(assetsKey)
            }
            try await queue.finishStep(job, step.name)
            doneWeight += step.weight
        }
        // A restarted job may find every step done but the flags not yet set.
        try await publish(video, ladder: ladder, upTo: ladder.last!, folder: folder, hasAudio: hasAudio)
        try await storage.storeFolder(assetsKey)
        video.status = .ready
        video.failureReason = nil
        video.storedBytes = await video.storedFiles(in: storage)
        try await video.save(on: db)
        // Object stores: this node's copies were only working files.
        storage.evict(video.mediaKey)
        storage.evictFolder(assetsKey)
    }

    /// Rewrites the master playlist with every finished rendition (atomically: write, then rename) and records them.
    private func publish(_ video: Video, ladder: [Rendition], upTo last: Rendition, folder: String, hasAudio: Bool) async throws {
        var variants: [(Rendition, VariantInfo)] = []
        for r in ladder where FileManager.default.fileExists(atPath: "\(folder)/\(r.name).m3u8") {
            variants.append((r, try HLSLadder.measure(rendition: r, folder: folder, hasAudio: hasAudio)))
            if r == last { break }
        }
        try write(HLSLadder.masterPlaylist(variants), to: "\(folder)/master.m3u8")
        video.renditionList = variants.map(\.0.name).joined(separator: ",")
        try await video.save(on: db)
    }

    /// The MP4 kept for download and range streaming: the source's own streams when browsers play them, else the
    /// top rendition's; remuxed with the index first. It replaces the uploaded file.
    private func makeDownloadFile(
        _ video: Video, input: MediaInput, folder: String, top: Rendition, hasAudio: Bool,
        _ report: @escaping @Sendable (Double) -> Void
    ) async throws {
        let copySource = HLSLadder.canCopyToMP4(videoCodec: video.videoCodec, audioCodec: video.audioCodec)
        // Already what we would make (an imported or well-made upload): keep the file, so signed URLs handed out
        // for it stay valid.
        if copySource, ["mp4", "m4v"].contains(StorageKey.fileExtension(of: video.mediaKey)), HLSLadder.isFastStart(path: input.path) {
            report(1)
            return
        }
        let from = copySource ? input : MediaInput.hlsPlaylist("\(folder)/\(top.name).m3u8")
        let output = try storage.reserve(prefix: "videos", fileExtension: "mp4")
        let size: Int64?
        do {
            try await runFFmpeg(HLSLadder.faststartArguments(input: from, output: output.path, hasAudio: hasAudio), video.duration, report)
            size = storage.representation(of: output.key)?.size
            try await storage.store(output.key)
        } catch {
            storage.delete(output.key)
            throw error
        }
        let old = video.mediaKey
        video.mediaKey = output.key
        video.mimeType = "video/mp4"
        video.size = size ?? video.size
        if !copySource {
            video.videoCodec = "h264"
            if hasAudio { video.audioCodec = "aac" }
            video.width = top.width
            video.height = top.height
        }
        try await video.save(on: db)
        if old != output.key { storage.delete(old) }
    }

    private func runFFmpeg(_ arguments: [String], _ duration: Double, _ report: @escaping @Sendable (Double) -> Void) async throws {
        let parser = NIOLockedValueBox(FFmpegProgress(duration: duration))
        try await ProcessRunner.check("ffmpeg", arguments, timeout: max(600, duration * 20)) { line in
            if let fraction = parser.withLockedValue({ $0.feed(Substring(line)) }) { report(fraction) }
        }
    }

    static func removeFiles(in folder: String, named matches: (String) -> Bool) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names where matches(name) { try? FileManager.default.removeItem(atPath: "\(folder)/\(name)") }
    }

    private func write(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw StorageError.io("cannot write \(path)") }
    }
}

