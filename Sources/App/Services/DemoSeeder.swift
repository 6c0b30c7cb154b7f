import Fluent
import Foundation
import Logging
import Media

/// Fills an empty catalog with generated channels and short H.264/AAC videos so every page has something to show.
public struct DemoSeeder: Sendable {
    public let db: any Database
    public let storage: any MediaStorage
    public let logger: Logger

    public init(db: any Database, storage: any MediaStorage, logger: Logger) {
        self.db = db
        self.storage = storage
        self.logger = logger
    }

    struct DemoChannel {
        let handle, name, description, color: String
    }

    struct DemoVideo {
        let channel: Int
        let title, description, pattern: String
        let width, height: Int
        let seconds: Double
        let tone, views: Int
        let daysAgo: Double
    }

    static let channels = [
        DemoChannel(
            handle: "testpatterns", name: "Test Patterns Daily",
            description: "Colour bars, moving gradients and everything else a broadcast engineer loves. New pattern every week.",
            color: "0xE53935"),
        DemoChannel(
            handle: "fractal.lab", name: "Fractal Lab",
            description: "Zooms, cellular automata and other mathematical eye candy, rendered right here by ffmpeg.",
            color: "0x1E88E5"),
        DemoChannel(
            handle: "tone-studio", name: "Tone Studio",
            description: "Sine waves at every frequency you can hear, with pictures. Headphones recommended.",
            color: "0x43A047"),
    ]

    static let videos = [
        DemoVideo(channel: 0, title: "Classic test card (720p)", description: "The testsrc2 pattern at 1280×720 with a 440 Hz tone.", pattern: "testsrc2", width: 1280, height: 720, seconds: 6, tone: 440, views: 1_234_567, daysAgo: 400),
        DemoVideo(channel: 0, title: "SMPTE colour bars", description: "Seven bars of colour. Calibrate your monitor!", pattern: "smptebars", width: 854, height: 480, seconds: 5, tone: 1000, views: 48_213, daysAgo: 45),
        DemoVideo(channel: 0, title: "HD bars in a small window", description: "smptehdbars at 640×360.", pattern: "smptehdbars", width: 640, height: 360, seconds: 4, tone: 600, views: 999, daysAgo: 3),
        DemoVideo(channel: 1, title: "Mandelbrot zoom", description: "A slow zoom into the Mandelbrot set.", pattern: "mandelbrot", width: 640, height: 480, seconds: 6, tone: 220, views: 3_400_000, daysAgo: 800),
        DemoVideo(channel: 1, title: "Game of Life, vertical", description: "Conway's Game of Life in portrait, for phones.", pattern: "life", width: 360, height: 640, seconds: 5, tone: 330, views: 12_800, daysAgo: 10),
        DemoVideo(channel: 1, title: "Cellular automaton rule 110", description: "One-dimensional automaton scrolling by.", pattern: "cellauto", width: 640, height: 360, seconds: 4, tone: 550, views: 87, daysAgo: 0.02),
        DemoVideo(channel: 2, title: "RGB test source at 880 Hz", description: "Red, green and blue with an A5 tone.", pattern: "rgbtestsrc", width: 480, height: 270, seconds: 5, tone: 880, views: 5_021, daysAgo: 20),
        DemoVideo(channel: 2, title: "Low hum: 110 Hz over testsrc", description: "An A2 tone under the original testsrc pattern.", pattern: "testsrc", width: 960, height: 540, seconds: 6, tone: 110, views: 250_300, daysAgo: 120),
    ]

    /// Generates and imports everything; logs a line per item so a first start shows progress.
    public func run() async throws {
        let work = NSTemporaryDirectory() + "videotube-demo-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let importer = VideoImporter(db: db, storage: storage)
        var logos: [String] = []
        for channel in Self.channels {
            let (key, path) = try storage.reserve(prefix: "logos", fileExtension: "png")
            try await FFmpeg.generateLogo(to: path, color: channel.color)
            try await storage.store(key)
            logos.append(key)
        }
        let now = Date()
        for (index, demo) in Self.videos.enumerated() {
            let channel = Self.channels[demo.channel]
            logger.info("demo: making video \(index + 1)/\(Self.videos.count): \(demo.title)")
            let file = "\(work)/demo-\(index).mp4"
            try await FFmpeg.generateTestVideo(
                to: file, width: demo.width, height: demo.height, seconds: demo.seconds, pattern: demo.pattern,
                toneHz: demo.tone)
            var options = VideoImporter.Options(channelHandle: channel.handle, title: demo.title, description: demo.description)
            options.createdAt = now.addingTimeInterval(-demo.daysAgo * 86400)
            options.views = demo.views
            options.channelName = channel.name
            options.channelDescription = channel.description
            options.channelLogoKey = logos[demo.channel]
            _ = try await importer.importFile(at: file, options)
            try await Channel.query(on: db).filter(\.$handle == channel.handle).set(\.$isDemo, to: true).update()
            try? FileManager.default.removeItem(atPath: file)
        }
        // Subscriber counts and join dates that make the channel pages look lived-in (each channel is marked as demo
        // data as soon as it exists, so pages say so and the admin's totals leave it out).
        for (index, demo) in Self.channels.enumerated() {
            guard let channel = try await Channel.query(on: db).filter(\.$handle == demo.handle).first() else { continue }
            channel.subscribersCount = [182_000, 1_450_000, 740][index]
            channel.createdAt = now.addingTimeInterval(-Double([900, 1200, 60][index]) * 86400)
            try await channel.save(on: db)
        }
        logger.info("demo: \(Self.channels.count) channels and \(Self.videos.count) videos created")
    }
}
