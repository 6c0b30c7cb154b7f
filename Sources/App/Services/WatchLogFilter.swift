import Fluent
import Foundation
import Media
import Vapor

/// Filters of the admin watch log; every field optional.
struct WatchLogFilter: Content {
    var video: Int?
    /// A username.
    var user: String?
    /// `media`, `stream`, `download`, `hls` or `live`.
    var source: String?
    var status: Int?
    /// Days, `YYYY-MM-DD`, inclusive.
    var from: String?
    var to: String?
    var page: Int?
}
