import Foundation

/// A question before something is removed: the form posts to `action`.
struct ConfirmPage: Encodable {
    var title: String
    var heading: String
    var detail: String
    var action: String
    var button: String
    var cancelURL: String
    /// Asks for a reason (takedowns).
    var askReason = false
}
