import Vapor

extension Request {
    /// 201 Created with `body` as JSON and, when given, where the new thing lives (`Location`).
    func created(_ body: some Content, location: String? = nil) async throws -> Response {
        let response = try await body.encodeResponse(status: .created, for: self)
        if let location { response.headers.replaceOrAdd(name: .location, value: location) }
        return response
    }
}
