import Fluent
import Foundation
import SQLKit
import Vapor

/// `videotube backup FILE`: a consistent copy of the SQLite database, taken while the server runs
/// (`VACUUM INTO`: one read transaction, so writers carry on and the copy is a single moment). PostgreSQL
/// installations use `pg_dump` instead (docs/DEPLOY.md). The media folder is files: copy it with rsync.
struct BackupCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "file", help: "Where to write the copy (must not exist yet).")
        var file: String
        init() {}
    }

    var help: String { "Writes a consistent copy of the SQLite database to FILE while the server keeps running." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let config = app.videotube.config
        guard config.databaseURL == nil else {
            throw ValidationFailure("this installation uses PostgreSQL (DATABASE_URL): back it up with pg_dump, e.g. pg_dump -Fc \"$DATABASE_URL\" > videotube.dump (see docs/DEPLOY.md)")
        }
        let target = URL(fileURLWithPath: signature.file).standardizedFileURL.path
        guard !FileManager.default.fileExists(atPath: target) else {
            throw ValidationFailure("\(target) already exists; choose a new file name (a backup never overwrites)")
        }
        let folder = (target as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationFailure("the folder \(folder) does not exist; create it first")
        }
        guard FileManager.default.fileExists(atPath: config.sqlitePath) else {
            throw ValidationFailure("there is no database at \(config.sqlitePath) yet (VIDEOTUBE_DATA_DIR); nothing to back up")
        }
        let started = Date()
        try await app.db.sql().raw("VACUUM INTO \(bind: target)").run()
        let size = (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? Int) ?? 0
        context.console.print(
            "Backed up \(config.sqlitePath) to \(target) (\(size) bytes, \(String(format: "%.1f", Date().timeIntervalSince(started))) s). "
                + "Media files are in \(config.mediaDirectory): copy them too (rsync -a).")
    }
}
