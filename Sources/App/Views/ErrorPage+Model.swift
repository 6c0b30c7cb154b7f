/// Any error shown as a page (404 and the rest), in the site's frame.
struct ErrorPage: Encodable {
    var title: String
    var status: Int
    var message: String

    init(status: Int, title: String, message: String) {
        self.title = "\(title) · Videotube"
        self.status = status
        self.message = message
    }
}
