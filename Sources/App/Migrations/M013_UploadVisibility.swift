import Fluent

/// 013: a resumable upload remembers the visibility chosen when it started, for the video it becomes.
struct M013_UploadVisibility: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Upload.schema).field("visibility", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Upload.schema).deleteField("visibility").update()
    }
}
