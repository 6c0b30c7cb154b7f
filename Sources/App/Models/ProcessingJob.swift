import Fluent
import Foundation

/// Where a job is: waiting (maybe until `run_after`), held by a worker, or finished one way or the other.
public enum JobState: String, Codable, Sendable {
    case queued, running, done, failed
}

/// A unit of background work kept in the database, so it survives restarts and any node can run it.
/// A worker claims it with a fresh `claim_token`, beats `heartbeat_at` while working, and records each finished
/// step in `done_steps` so a job restarted after a crash carries on from where it was.
public final class ProcessingJob: Model, @unchecked Sendable {
    public static let schema = "processing_jobs"

    // managed
    @ID(custom: "id", generatedBy: .database) public var id: Int?
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "finished_at") public var finishedAt: Date?

    // references
    @Parent(key: "video_id") public var video: Video

    // data
    /// `transcode` for now; one job of a kind per video (a unique key), so a video is never processed twice at once.
    @Field(key: "kind") public var kind: String
    @Field(key: "state") public var state: JobState
    @Field(key: "attempts") public var attempts: Int
    @Field(key: "max_attempts") public var maxAttempts: Int
    /// What it is doing, for people: `Encoding 720p`.
    @Field(key: "stage") public var stage: String
    /// 0–100 over the whole job.
    @Field(key: "progress") public var progress: Double
    /// Comma list of finished step names.
    @Field(key: "done_steps") public var doneSteps: String
    @OptionalField(key: "error") public var error: String?
    @OptionalField(key: "claim_token") public var claimToken: String?
    /// Which server process holds it (`host:port`).
    @OptionalField(key: "node") public var node: String?
    @OptionalField(key: "heartbeat_at") public var heartbeatAt: Date?
    @Field(key: "run_after") public var runAfter: Date

    public init() {}

    public init(videoID: Int, kind: String = "transcode", maxAttempts: Int = 3, now: Date = Date()) {
        self.$video.id = videoID
        self.kind = kind
        self.state = .queued
        self.attempts = 0
        self.maxAttempts = maxAttempts
        self.stage = "Waiting for a worker"
        self.progress = 0
        self.doneSteps = ""
        self.runAfter = now
        self.createdAt = now
    }

    public var finishedSteps: Set<String> { Set(doneSteps.split(separator: ",").map(String.init)) }
}

