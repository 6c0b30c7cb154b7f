import Fluent
import SQLKit

/// 012: demo channels are marked as such, so their made-up views and subscribers are shown as demo data and left
/// out of the admin's totals. Channels an earlier `videotube demo` made (its handles, no owner) are marked too.
struct M012_DemoContent: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Channel.schema)
            .field("is_demo", .bool, .required, .sql(.default(false)))
            .update()
        try await database.sql().update(Channel.schema)
            .set("is_demo", to: SQLBind(true))
            .where("owner_id", .is, SQLLiteral.null)
            .where("handle", .in, DemoSeeder.channels.map(\.handle))
            .run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Channel.schema).deleteField("is_demo").update()
    }
}
