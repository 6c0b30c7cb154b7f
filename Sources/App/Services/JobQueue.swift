import Fluent
import SQLKit
import Foundation

/// The job queue, kept in the database so jobs outlive the process and any node can take them.
///
/// Claiming, on PostgreSQL, is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`: workers on many
/// nodes each take a different row without waiting on each other's locks. On SQLite (one writer at a time, so
/// no row locks to skip) it is compare-and-set: a worker writes a fresh claim token into a row only
/// `WHERE state = 'queued' AND attempts = <what it read>`, then reads the row back; the one whose token is there
/// owns the job.
public struct JobQueue: Sendable {
    public let db: any Database

    public init(db: any Database) { self.db = db }

    /// Queues processing for a video (once: a second call for the same video is a no-op).
    @discardableResult
    public func enqueue(videoID: Int, maxAttempts: Int = 3) async throws -> ProcessingJob {
        if let existing = try await ProcessingJob.query(on: db).filter(\.$video.$id == videoID).first() { return existing }
        let job = ProcessingJob(videoID: videoID, maxAttempts: maxAttempts)
        try await job.save(on: db)
        return job
    }

    /// Takes the oldest job that is due, or nil when there is none.
    public func claim(node: String, now: Date = Date()) async throws -> ProcessingJob? {
        if let sql = db as? any SQLDatabase, sql.dialect.name == "postgresql" {
            let token = Secrets.token(prefix: "job_")
            struct Claimed: Decodable { var id: Int }
            let claimed = try await sql.raw(
                """
                UPDATE processing_jobs SET state = 'running', claim_token = \(bind: token), node = \(bind: node),
                    heartbeat_at = \(bind: now), attempts = attempts + 1
                WHERE id = (SELECT id FROM processing_jobs WHERE state = 'queued' AND run_after <= \(bind: now)
                            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id
                """
            ).first(decoding: Claimed.self)
            guard let claimed else { return nil }
            return try await ProcessingJob.find(claimed.id, on: db)
        }
        let candidates = try await ProcessingJob.query(on: db)
            .filter(\.$state == .queued).filter(\.$runAfter <= now)
            .sort(\.$id).limit(5).all()
        for candidate in candidates {
            let token = Secrets.token(prefix: "job_")
            try await ProcessingJob.query(on: db)
                .set(\.$state, to: .running).set(\.$claimToken, to: token).set(\.$node, to: node)
                .set(\.$heartbeatAt, to: now).set(\.$attempts, to: candidate.attempts + 1)
                .filter(\.$id == candidate.requireID()).filter(\.$state == .queued)
                .filter(\.$attempts == candidate.attempts)
                .update()
            if let mine = try await ProcessingJob.query(on: db).filter(\.$claimToken == token).first() { return mine }
        }
        return nil
    }

    /// Records liveness and progress; false when the job is no longer this worker's (deleted, or taken back).
    public func beat(_ job: ProcessingJob, stage: String, progress: Double, now: Date = Date()) async throws -> Bool {
        guard let token = job.claimToken else { return false }
        try await ProcessingJob.query(on: db)
            .set(\.$heartbeatAt, to: now).set(\.$stage, to: stage).set(\.$progress, to: (progress * 10).rounded() / 10)
            .filter(\.$id == job.requireID()).filter(\.$claimToken == token)
            .update()
        return try await ProcessingJob.query(on: db).filter(\.$id == job.requireID()).filter(\.$claimToken == token).count() == 1
    }

    /// Marks one step finished, so a restart skips it.
    public func finishStep(_ job: ProcessingJob, _ step: String) async throws {
        var steps = job.doneSteps.split(separator: ",").map(String.init)
        guard !steps.contains(step) else { return }
        steps.append(step)
        job.doneSteps = steps.joined(separator: ",")
        try await ProcessingJob.query(on: db).set(\.$doneSteps, to: job.doneSteps)
            .filter(\.$id == job.requireID()).filter(\.$claimToken == job.claimToken).update()
    }

    public func complete(_ job: ProcessingJob, now: Date = Date()) async throws {
        job.state = .done
        job.stage = "Done"
        job.progress = 100
        job.error = nil
        job.claimToken = nil
        job.finishedAt = now
        try await job.save(on: db)
    }

    /// A failed attempt: back in the queue after a pause while attempts remain, otherwise failed for good.
    /// Returns whether it failed for good.
    @discardableResult
    public func fail(_ job: ProcessingJob, reason: String, now: Date = Date()) async throws -> Bool {
        job.error = String(reason.prefix(1000))
        job.claimToken = nil
        if job.attempts < job.maxAttempts {
            job.state = .queued
            job.stage = "Retrying after an error"
            job.runAfter = now.addingTimeInterval(Double(10 * job.attempts))
            try await job.save(on: db)
            return false
        }
        job.state = .failed
        job.stage = "Failed"
        job.finishedAt = now
        try await job.save(on: db)
        return true
    }

    /// Puts back jobs whose worker is gone: those this node held when it stopped (called at start-up), and any
    /// whose heartbeat is older than `staleAfter` (a node that died). Their finished steps are kept.
    @discardableResult
    public func requeueOrphans(node: String?, staleAfter: TimeInterval, now: Date = Date()) async throws -> Int {
        let orphans = try await ProcessingJob.query(on: db).filter(\.$state == .running)
            .group(.or) {
                $0.filter(\.$heartbeatAt < now.addingTimeInterval(-staleAfter))
                if let node { $0.filter(\.$node == node) }
            }
            .all()
        for job in orphans {
            try await ProcessingJob.query(on: db)
                .set(\.$state, to: .queued).set(\.$claimToken, to: nil).set(\.$stage, to: "Restarting after an interruption")
                .set(\.$runAfter, to: now)
                .filter(\.$id == job.requireID()).filter(\.$claimToken == job.claimToken).update()
        }
        return orphans.count
    }

    /// The processing job of a video, if it has one.
    public func job(videoID: Int) async throws -> ProcessingJob? {
        try await ProcessingJob.query(on: db).filter(\.$video.$id == videoID).first()
    }
}
