import Foundation
import NIOConcurrencyHelpers
import Vapor

/// `videotube worker [--workers N]`: a processing node. It claims jobs from the shared database (on PostgreSQL
/// with `FOR UPDATE SKIP LOCKED`), runs them with progress and heartbeats, and takes no HTTP traffic; only its
/// `/metrics` listener answers. SIGINT or SIGTERM stops it; a job in the middle is taken back by another worker
/// once its heartbeat is `VIDEOTUBE_JOB_STALE_SECONDS` old, or by this node when it starts again.
struct WorkerCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "workers", short: "w", help: "Jobs run at once (default VIDEOTUBE_TRANSCODE_WORKERS, or 1).")
        var workers: Int?
        init() {}
    }

    var help: String {
        "Runs processing jobs (transcodes) from the shared database without serving HTTP; start as many as you like."
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let services = app.videotube
        let workers = signature.workers ?? max(services.config.transcodeWorkers, 1)
        guard (1...32).contains(workers) else {
            throw ValidationFailure("--workers must be from 1 to 32, got \(workers)")
        }
        try await prepareDatabase(app)
        try await startMetricsListener(app)
        let runner = JobRunner(
            database: { [unowned app] in app.db }, storage: services.storage, settings: services.config.encoder, workers: workers,
            node: services.config.nodeID, logger: app.logger, staleAfter: TimeInterval(services.config.jobStaleSeconds),
            metrics: services.metrics)
        try await runner.start()
        app.logger.notice("Worker \(services.config.nodeID): running up to \(workers) job(s) at once; SIGTERM or Ctrl-C stops it")
        let signal = await Self.waitForStopSignal()
        app.logger.notice("Worker \(services.config.nodeID): \(signal) received, stopping")
        await runner.stop()
    }

    /// Suspends until SIGINT or SIGTERM arrives; returns its name.
    static func waitForStopSignal() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let queue = DispatchQueue(label: "videotube.worker.signals")
            let once = NIOLockedValueBox<[any DispatchSourceSignal]?>([])
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    guard let sources = once.withLockedValue({ s -> [any DispatchSourceSignal]? in defer { s = nil }; return s }) else { return }
                    sources.forEach { $0.cancel() }
                    continuation.resume(returning: name)
                }
                once.withLockedValue { $0?.append(source) }
                source.resume()
            }
        }
    }
}
