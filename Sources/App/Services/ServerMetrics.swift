import Fluent
import Foundation
import Prometheus
import SQLKit

/// The numbers `/metrics` shows, in one Prometheus registry per process.
///
/// Counters are bumped where the work happens (media responses, finished transcodes). Gauges that describe state
/// someone else owns — live streams, viewers, chat sockets, the job queue, database connections — are read when
/// Prometheus scrapes, so nothing keeps them in step on the hot paths. Requests by route and status with their
/// latency come from Vapor itself (`http_requests_total`, `http_request_duration_seconds`) once the entry point
/// hands swift-metrics this registry.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    let mediaBytes: Counter
    let mediaResponses: [Int: Counter]
    let staticResponses: [Int: Counter]
    let transcodeSeconds: DurationHistogram
    let transcodes: [String: Counter]
    let liveStreams: Gauge
    let liveViewers: Gauge
    let chatSockets: Gauge
    let jobs: [JobState: Gauge]
    let databaseUp: Gauge
    let databaseSeconds: Gauge
    let databaseConnections: [String: Gauge]
    let storageUp: Gauge

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        mediaBytes = registry.makeCounter(name: "videotube_media_bytes_total", help: "Bytes of media responses sent by the media listener")
        mediaResponses = Dictionary(
            uniqueKeysWithValues: [200, 206, 302, 304, 403, 404, 410, 416].map {
                ($0, registry.makeCounter(name: "videotube_media_responses_total", labels: [("status", String($0))], help: "Media listener responses by status"))
            })
        staticResponses = Dictionary(
            uniqueKeysWithValues: [200, 304].map {
                ($0, registry.makeCounter(name: "videotube_static_responses_total", labels: [("status", String($0))], help: "Static asset responses by status (answered before routing)"))
            })
        transcodeSeconds = registry.makeDurationHistogram(
            name: "videotube_transcode_seconds", labels: [],
            buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600].map { Duration.seconds($0) },
            help: "Wall time of finished processing jobs (transcode, storyboard, thumbnails)")
        transcodes = Dictionary(
            uniqueKeysWithValues: ["done", "retry", "failed"].map {
                ($0, registry.makeCounter(name: "videotube_transcode_jobs_total", labels: [("result", $0)], help: "Processing jobs finished by this process, by result"))
            })
        liveStreams = registry.makeGauge(name: "videotube_live_streams", help: "Live streams published to this node")
        liveViewers = registry.makeGauge(name: "videotube_live_viewers", help: "Viewers of live streams counted on this node")
        chatSockets = registry.makeGauge(name: "videotube_chat_sockets", help: "Open chat WebSockets on this node")
        jobs = Dictionary(
            uniqueKeysWithValues: [JobState.queued, .running, .failed].map {
                ($0, registry.makeGauge(name: "videotube_jobs", labels: [("state", $0.rawValue)], help: "Processing jobs in the shared queue, by state"))
            })
        databaseUp = registry.makeGauge(name: "videotube_database_up", help: "1 when the last scrape's database query succeeded")
        databaseSeconds = registry.makeGauge(name: "videotube_database_query_seconds", help: "How long the scrape's queue-depth query took")
        databaseConnections = Dictionary(
            uniqueKeysWithValues: ["active", "idle"].map {
                ($0, registry.makeGauge(name: "videotube_database_connections", labels: [("state", $0)], help: "PostgreSQL connections to this database (all nodes), by state"))
            })
        storageUp = registry.makeGauge(name: "videotube_storage_up", help: "1 when media storage answered the scrape's check")
    }

    /// Media listener responses (called on a listener thread, a connection's requests summed: two atomic adds).
    public func mediaServed(status: Int, bytes: Int64, requests: Int = 1) {
        mediaResponses[status]?.increment(by: Int64(requests))
        if bytes > 0 { mediaBytes.increment(by: bytes) }
    }

    /// One static asset answered (an atomic add).
    func staticServed(status: Int) {
        staticResponses[status]?.increment()
    }

    /// A processing job this process finished.
    public func jobFinished(result: String, seconds: Double) {
        transcodes[result]?.increment()
        if result == "done" { transcodeSeconds.record(.milliseconds(Int64(seconds * 1000))) }
    }

    /// Reads the gauges that describe other services' state, then renders the text format.
    func scrape(services: AppServices, db: any Database) async -> [UInt8] {
        liveStreams.set(to: Double(services.live.liveCount))
        liveViewers.set(to: Double(services.viewers.localCounts().values.reduce(0, +)))
        chatSockets.set(to: Double(await services.chat.socketCount()))
        let started = ContinuousClock.now
        do {
            let sql = try db.sql()
            struct Row: Decodable { var state: String; var n: Int }
            let rows = try await sql.raw("SELECT state, CAST(COUNT(*) AS BIGINT) AS n FROM processing_jobs GROUP BY state").all(decoding: Row.self)
            for (state, gauge) in jobs { gauge.set(to: Double(rows.first { $0.state == state.rawValue }?.n ?? 0)) }
            if sql.dialect.name == "postgresql" {
                struct Conn: Decodable { var state: String?; var n: Int }
                let conns = try await sql.raw(
                    "SELECT state, CAST(COUNT(*) AS BIGINT) AS n FROM pg_stat_activity WHERE datname = current_database() GROUP BY state"
                ).all(decoding: Conn.self)
                databaseConnections["active"]?.set(to: Double(conns.filter { $0.state == "active" }.map(\.n).reduce(0, +)))
                databaseConnections["idle"]?.set(to: Double(conns.filter { $0.state != "active" }.map(\.n).reduce(0, +)))
            }
            databaseUp.set(to: 1.0)
        } catch {
            databaseUp.set(to: 0.0)
        }
        let elapsed = ContinuousClock.now - started
        databaseSeconds.set(to: Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
        storageUp.set(to: await services.storage.checkReachable() ? 1.0 : 0.0)
        return registry.emitToBuffer()
    }
}
