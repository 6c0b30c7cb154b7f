import Foundation

/// `/admin/users?q=`: accounts with their roles, channels and the actions an admin takes on them.
struct AdminUsersPage: Encodable {
    struct Row: Encodable {
        var id: Int
        var username: String
        var email: String
        var role: String
        var disabled: Bool
        var isSelf: Bool
        var channelsText: String
        var joinedText: String
        var lastLoginText: String
        /// Enable or disable, make admin or user, delete.
        var accessAction: String
        var roleAction: String
        var deleteURL: String
    }
    var title = "Users · Admin · Videotube"
    var searchAction = SiteURL.adminUsers.path
    var query: String
    var users: [Row]

    /// `channelCounts` by owner id; `me` is the admin looking (who cannot act on their own account here).
    init(users: [User], channelCounts: [Int: Int], me: User, query: String) throws {
        self.query = query
        self.users = try users.map { user in
            let id = try user.requireID()
            return Row(
                id: id, username: user.username, email: user.email, role: user.role.rawValue, disabled: user.disabled, isSelf: id == me.id,
                channelsText: Formatting.counted(channelCounts[id] ?? 0, "channel"), joinedText: Formatting.day(user.createdAt),
                lastLoginText: user.lastLoginAt.map { Formatting.age(of: $0) } ?? "never",
                accessAction: SiteURL.adminUserAction(.value(id), .value(user.disabled ? "enable" : "disable")).path,
                roleAction: SiteURL.adminUserAction(.value(id), .value(user.isAdmin ? "demote" : "promote")).path,
                deleteURL: SiteURL.adminUserDelete(.value(id)).path)
        }
    }
}
