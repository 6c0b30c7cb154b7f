import FluentPostgresDriver
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import SQLKit

/// Carries chat events to every app node's `ChatHub`. An event is one line of text (see `ChatHub.Event`).
protocol ChatBus: Sendable {
    /// Starts delivering events (this node's and other nodes') to `deliver`; returns once delivery is live.
    func start(_ deliver: @escaping @Sendable (String) async -> Void) async
    func publish(_ event: String) async
    func stop() async
    /// Whether other nodes hear this node's events (and so need its viewer counts).
    var isShared: Bool { get }
}

/// One process: events go straight to this node's hub.
final class LocalChatBus: ChatBus {
    private let deliver = NIOLockedValueBox<(@Sendable (String) async -> Void)?>(nil)
    var isShared: Bool { false }

    func start(_ deliver: @escaping @Sendable (String) async -> Void) async { self.deliver.withLockedValue { $0 = deliver } }
    func publish(_ event: String) async { await deliver.withLockedValue { $0 }?(event) }
    func stop() async { deliver.withLockedValue { $0 = nil } }
}

/// Several nodes on one PostgreSQL server: `NOTIFY videotube_chat` carries each event to every node that
/// `LISTEN`s, this one included, over one connection per node kept open (and re-opened) for the purpose.
final class PostgresChatBus: ChatBus {
    static let channel = "videotube_chat"
    private let configuration: PostgresConnection.Configuration
    private let database: @Sendable () -> any Database
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let listener = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let fallback = NIOLockedValueBox<(@Sendable (String) async -> Void)?>(nil)
    var isShared: Bool { true }

    init(url: String, database: @escaping @Sendable () -> any Database, eventLoop: any EventLoop, logger: Logger) throws {
        self.configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        self.database = database
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func start(_ deliver: @escaping @Sendable (String) async -> Void) async {
        fallback.withLockedValue { $0 = deliver }
        let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
        let task = Task { [configuration, eventLoop, logger] in
            var attempt = 0
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(on: eventLoop, configuration: configuration, id: 0, logger: logger).get()
                    attempt = 0
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: Self.channel) { notifications in
                            readyContinuation.yield()
                            for try await notification in notifications { await deliver(notification.payload) }
                        }
                    } onCancel: {
                        connection.close().whenComplete { _ in }
                    }
                    try? await connection.close().get()
                } catch {
                    if Task.isCancelled { break }
                    attempt += 1
                    logger.warning("Chat: the PostgreSQL listener stopped (\(error)); reconnecting")
                }
                readyContinuation.yield()  // never keep a joining socket waiting on a database that is down
                try? await Task.sleep(nanoseconds: UInt64(min(attempt, 5)) * 500_000_000 + 100_000_000)
            }
            readyContinuation.finish()
        }
        listener.withLockedValue { $0 = task }
        // Until the first LISTEN is in place a message from another node could be missed: wait for it (briefly).
        var iterator = ready.makeAsyncIterator()
        _ = await iterator.next()
    }

    func publish(_ event: String) async {
        do {
            try await database().sql().raw("SELECT pg_notify(\(literal: Self.channel), \(bind: event))").run()
        } catch {
            // The database refused the event: this node's clients still get it.
            logger.warning("Chat: NOTIFY failed (\(error)); delivering on this node only")
            await fallback.withLockedValue { $0 }?(event)
        }
    }

    func stop() async {
        let task = listener.withLockedValue { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }
}
