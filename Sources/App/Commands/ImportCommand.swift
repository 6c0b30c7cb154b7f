import Media
import Vapor

/// `videotube import FILE --channel HANDLE [--title T] [--description D]`
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
        init() {}
    }

    var help: String { "Imports a video file: probes it with ffprobe, stores it, makes a thumbnail." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let channel = signature.channel, !channel.isEmpty else {
            throw ValidationFailure("--channel HANDLE is required: the channel to add the video to")
        }
        let app = context.application
        try await prepareDatabase(app)
        let options = VideoImporter.Options(channelHandle: channel, title: signature.title, description: signature.description ?? "")
        let video = try await VideoImporter(db: app.db, storage: app.videotube.storage).importFile(at: signature.file, options)
        let codecs = [video.videoCodec, video.audioCodec].compactMap { $0 }.joined(separator: "/")
        context.console.print(
            "Imported video \(video.id ?? 0) \"\(video.title)\" into @\(video.channel.handle): \(video.width)×\(video.height), "
                + "\(String(format: "%.1f", video.duration)) s, \(codecs), \(video.size) bytes")
    }
}
