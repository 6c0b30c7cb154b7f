import Vapor

/// `videotube demo`: generates demo channels and videos with ffmpeg.
struct DemoCommand: AsyncCommand {
    struct Signature: CommandSignature {
        init() {}
    }

    var help: String { "Creates 3 demo channels with logos and 8 short generated videos." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        try await DemoSeeder(db: app.db, storage: app.videotube.storage, logger: app.logger).run()
    }
}
