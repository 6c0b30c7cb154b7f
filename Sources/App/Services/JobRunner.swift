import Fluent
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers

/// Runs queued jobs in this process with bounded concurrency (`VIDEOTUBE_TRANSCODE_WORKERS`).
///
/// Each worker claims a job, runs the `VideoProcessor`, and beats the job's heartbeat every second with the
/// current stage and percentage (what the studio shows). When the beat finds the job is no longer its own —
/// the video was deleted, or another node took it back after a long silence — the work is cancelled and
/// ffmpeg stopped. At start-up the jobs this node held when it died are put back in the queue first.
public final class JobRunner: Sendable {
    let database: @Sendable () -> any Database
    let storage: any MediaStorage
    let settings: EncoderSettings
    let workers: Int
    let node: String
    let logger: Logger
    /// A job whose heartbeat is older than this is taken back by any node.
    let staleAfter: TimeInterval
    let metrics: ServerMetrics?
    private let state = NIOLockedValueBox(RunState())

    private struct RunState {
        var tasks: [Task<Void, Never>] = []
        var wakeups = 0
        var stopped = false
    }

    public init(
        database: @escaping @Sendable () -> any Database, storage: any MediaStorage, settings: EncoderSettings,
        workers: Int, node: String, logger: Logger, staleAfter: TimeInterval = 60, metrics: ServerMetrics? = nil
    ) {
        self.metrics = metrics
        self.database = database
        self.storage = storage
        self.settings = settings
        self.workers = workers
        self.node = node
        self.logger = logger
        self.staleAfter = staleAfter
    }

    /// Takes back this node's interrupted jobs, then starts the workers.
    public func start() async throws {
        let requeued = try await JobQueue(db: database()).requeueOrphans(node: node, staleAfter: staleAfter)
        if requeued > 0 { logger.notice("Resuming \(requeued) interrupted processing job(s)") }
        guard workers > 0 else { return }
        let tasks = (0..<workers).map { index in
            Task { [self] in await self.loop(worker: index) }
        }
        state.withLockedValue { $0.tasks = tasks }
    }

    /// Stops the workers; a job in the middle stays `running` under this node and resumes at the next start.
    public func stop() async {
        let tasks = state.withLockedValue { s -> [Task<Void, Never>] in
            s.stopped = true
            return s.tasks
        }
        tasks.forEach { $0.cancel() }
        for task in tasks { await task.value }
    }

    /// Wakes an idle worker: a job was just queued.
    public func wake() {
        state.withLockedValue { $0.wakeups += 1 }
    }

    private func loop(worker: Int) async {
        var lastSweep = Date.distantPast
        while !Task.isCancelled && !state.withLockedValue({ $0.stopped }) {
            do {
                if Date().timeIntervalSince(lastSweep) > staleAfter / 2 {
                    lastSweep = Date()
                    try await JobQueue(db: database()).requeueOrphans(node: nil, staleAfter: staleAfter)
                    try await UploadService.sweepExpired(db: database(), storage: storage)
                }
                if try await runNext() { continue }
            } catch {
                logger.error("Job queue: \(error)")
            }
            await idle(seconds: 2)
        }
    }

    /// Sleeps until woken or `seconds` pass (checking four times a second: cheap, and no continuation bookkeeping).
    private func idle(seconds: Double) async {
        let seen = state.withLockedValue { $0.wakeups }
        for _ in 0..<Int(seconds * 4) {
            try? await Task.sleep(nanoseconds: 250_000_000)
            if Task.isCancelled || state.withLockedValue({ $0.wakeups != seen || $0.stopped }) { return }
        }
    }

    /// Claims and runs one job; false when nothing was due.
    @discardableResult
    public func runNext() async throws -> Bool {
        let db = database()
        let queue = JobQueue(db: db)
        guard let job = try await queue.claim(node: node) else { return false }
        let videoID = job.$video.id
        logger.info("Processing video \(videoID) (attempt \(job.attempts) of \(job.maxAttempts))")
        let latest = NIOLockedValueBox((stage: job.stage, progress: job.progress))
        let processor = VideoProcessor(db: db, storage: storage, settings: settings, logger: logger)
        let work = Task {
            try await processor.process(job: job, queue: queue) { stage, percent in
                latest.withLockedValue { $0 = (stage, percent) }
            }
        }
        // Heartbeat: progress to the database once a second; cancel the work when the job is no longer ours.
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                if Task.isCancelled { break }
                let now = latest.withLockedValue { $0 }
                if let ours = try? await queue.beat(job, stage: now.stage, progress: now.progress), !ours {
                    logger.notice("Video \(videoID): the job was taken away or deleted; stopping")
                    work.cancel()
                    break
                }
            }
        }
        let started = Date()
        let result = await work.result
        beat.cancel()
        await beat.value
        if Task.isCancelled || state.withLockedValue({ $0.stopped }) {
            return true  // shutting down: the job stays ours and resumes at the next start
        }
        switch result {
        case .success:
            try await queue.complete(job)
            metrics?.jobFinished(result: "done", seconds: Date().timeIntervalSince(started))
            logger.info("Video \(videoID) is ready")
        case .failure(let error):
            if error is CancellationError { return true }
            let reason = ProcessingFailure.redacted((error as? ProcessingFailure)?.description ?? "\(error)")
            let final = try await queue.fail(job, reason: reason)
            metrics?.jobFinished(result: final ? "failed" : "retry", seconds: Date().timeIntervalSince(started))
            logger.warning("Video \(videoID): processing failed (\(final ? "giving up" : "will retry")): \(reason)")
            if final, let video = try await Video.find(videoID, on: db) {
                // An imported video that already plays as a file stays up; only a new upload fails outright.
                if video.status == .processing { video.status = .failed }
                video.failureReason = reason
                try await video.save(on: db)
            }
        }
        return true
    }
}
