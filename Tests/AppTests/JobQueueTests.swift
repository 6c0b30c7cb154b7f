import App
import Fluent
import Foundation
import Testing
import VaporTesting

/// The database job queue: one owner per job, interrupted jobs come back with their finished steps, failures
/// retry a bounded number of times and then end `failed` with the reason.
@Suite("Job queue", .serialized)
struct JobQueueTests {
    @Test("Two workers racing for one job: exactly one gets it")
    func exclusiveClaim() async throws {
        try await withApp { app in
            // given: an imported video has its processing job queued
            let id = try await Fixtures.importVideo(app)
            let queue = JobQueue(db: app.db)

            // when: 8 claims at once
            let claims = try await withThrowingTaskGroup(of: ProcessingJob?.self) { group in
                for n in 0..<8 { group.addTask { try await queue.claim(node: "node-\(n)") } }
                return try await group.reduce(into: [ProcessingJob]()) { if let job = $1 { $0.append(job) } }
            }

            // then
            #expect(claims.count == 1)
            #expect(claims.first?.$video.id == id)
            #expect(claims.first?.attempts == 1)
            #expect(try await queue.claim(node: "late") == nil)
        }
    }

    @Test("Workers racing over several jobs each get a different one, and every job is taken once")
    func claimsSpreadOverJobs() async throws {
        try await withApp { app in
            // given: three videos waiting to be processed
            var ids: Set<Int> = []
            for _ in 0..<3 { ids.insert(try await Fixtures.importVideo(app)) }
            let queue = JobQueue(db: app.db)

            // when: six workers claim at once (PostgreSQL: SKIP LOCKED; SQLite: compare-and-set)
            let claims = try await withThrowingTaskGroup(of: ProcessingJob?.self) { group in
                for n in 0..<6 { group.addTask { try await queue.claim(node: "worker-\(n)") } }
                return try await group.reduce(into: [ProcessingJob]()) { if let job = $1 { $0.append(job) } }
            }

            // then: at most one claim per job, none twice, and what is left is still claimable
            let claimed = claims.map { $0.$video.id }
            #expect(Set(claimed).count == claimed.count)
            #expect(claims.allSatisfy { $0.state == .running && $0.attempts == 1 && $0.claimToken != nil })
            var rest: [Int] = []
            while let job = try await queue.claim(node: "late") { rest.append(job.$video.id) }
            #expect(Set(claimed + rest) == ids)
            #expect(claimed.count + rest.count == 3)
        }
    }

    @Test("A job held by a node that died goes back to the queue with its finished steps; the restarted job finishes")
    func orphansResume() async throws {
        try await withApp { app in
            // given: a worker claimed the job, finished one step, then vanished
            let id = try await Fixtures.importVideo(app)
            let queue = JobQueue(db: app.db)
            let job = try #require(try await queue.claim(node: "crashed"))
            try await queue.finishStep(job, "thumbnail")

            // when: the same node starts again (as after kill -9 and a restart)
            let requeued = try await queue.requeueOrphans(node: "crashed", staleAfter: 3600)

            // then
            #expect(requeued == 1)
            let back = try #require(try await queue.job(videoID: id))
            #expect(back.state == .queued)
            #expect(back.finishedSteps == ["thumbnail"])

            // A silent node's job is taken back by anyone once its heartbeat is stale.
            let again = try #require(try await queue.claim(node: "other"))
            #expect(again.attempts == 2)
            #expect(try await queue.requeueOrphans(node: nil, staleAfter: 3600) == 0)
            #expect(try await queue.requeueOrphans(node: nil, staleAfter: -1) == 1)

            // The runner resumes and finishes it.
            #expect(try await app.videotube.jobs.runNext())
            let done = try #require(try await queue.job(videoID: id))
            #expect(done.state == .done)
            #expect(done.progress == 100)
            let video = try #require(try await Video.find(id, on: app.db))
            #expect(video.status == .ready)
            #expect(!video.renditions.isEmpty)
        }
    }

    @Test("A job that keeps failing retries, then ends failed, and the owner sees the reason")
    func boundedRetries() async throws {
        try await withApp { app in
            // given: an upload whose file disappears before processing
            let owner = try await Accounts.user(app, "rita")
            let token = try await Accounts.token(app, owner)
            _ = try await api(app, .POST, "/api/v1/channels", token: token, json: ["handle": "ritas", "name": "Rita"])
            let file = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.video()))
            let created = try await api(app, .POST, "/api/v1/videos?channel=ritas", token: token, body: ByteBuffer(data: file))
            let id = try #require(created.json["id"] as? Int)
            let video = try #require(try await Video.find(id, on: app.db))
            app.videotube.storage.delete(video.mediaKey)
            let queue = JobQueue(db: app.db)

            // when: every attempt runs (the pause between attempts is skipped by moving run_after)
            for attempt in 1...3 {
                try await ProcessingJob.query(on: app.db).set(\.$runAfter, to: Date.distantPast).update()
                #expect(try await app.videotube.jobs.runNext(), "attempt \(attempt)")
            }

            // then
            #expect(try await app.videotube.jobs.runNext() == false)
            let job = try #require(try await queue.job(videoID: id))
            #expect(job.state == .failed)
            #expect(job.attempts == 3)
            let failed = try #require(try await Video.find(id, on: app.db))
            #expect(failed.status == .failed)
            #expect(failed.failureReason?.contains("missing") == true)
            let status = try await api(app, .GET, "/api/v1/videos/\(id)/processing", token: token)
            #expect(status.json["state"] as? String == "failed")
            #expect((status.json["error"] as? String)?.contains("missing") == true)
        }
    }
}
