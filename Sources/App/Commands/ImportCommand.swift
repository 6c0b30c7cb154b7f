import Fluent
import Media
import Vapor

/// `videotube import FILE --channel HANDLE [--title T] [--description D] [--owner USERNAME]`
struct ImportCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "file", help: "The video file to import (MP4, WebM, MKV, MOV …).")
        var file: String
        @Option(name: "channel", short: "c", help: "Handle of the channel to add it to; created if missing.")
        var channel: String?
        @Option(name: "title", short: "t", help: "Title (default: the file name).")
        var title: String?
        @Option(name: "description", short: "d", help: "Description.")
        var description: String?
        @Option(name: "owner", short: "o", help: "Username that owns the channel the import creates (an existing channel must be theirs).")
        var owner: String?
        init() {}
    }

    var help: String { "Imports a video file: probes it with ffprobe, stores it, makes a thumbnail." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let channel = signature.channel, !channel.isEmpty else {
            throw ValidationFailure("--channel HANDLE is required: the channel to add the video to")
        }
        let app = context.application
        try await prepareDatabase(app)
        var options = VideoImporter.Options(channelHandle: channel, title: signature.title, description: signature.description ?? "")
        if let owner = signature.owner {
            guard let user = try await User.query(on: app.db).filter(\.$username == owner.lowercased()).first() else {
                throw ValidationFailure("there is no user '\(owner)'; create one with videotube user create \(owner) --email ADDRESS")
            }
            options.ownerID = try user.requireID()
        }
        let video = try await VideoImporter(db: app.db, storage: app.videotube.storage).importFile(at: signature.file, options)
        let codecs = [video.videoCodec, video.audioCodec].compactMap { $0 }.joined(separator: "/")
        context.console.print(
            "Imported video \(video.id ?? 0) \"\(video.title)\" into @\(video.channel.handle): \(video.width)×\(video.height), "
                + "\(String(format: "%.1f", video.duration)) s, \(codecs), \(video.size) bytes")
        context.console.print("It plays now; its HLS renditions and storyboard are made by the running server (videotube serve).")
    }
}
