/// Which rows one page of a listing holds. Page numbers come from query strings, so they are clamped before any
/// arithmetic: `page=9223372036854775807` is the last page we count to, not an overflow.
public struct PageWindow: Sendable, Equatable {
    /// Past this a listing answers an empty page (no one pages a hundred thousand screens deep).
    public static let maxPage = 100_000

    public let page: Int
    public let perPage: Int

    /// `page` clamped to 1…`maxPage`; `perPage` to 1…1000.
    public init(page: Int?, perPage: Int) {
        self.page = min(max(page ?? 1, 1), Self.maxPage)
        self.perPage = min(max(perPage, 1), 1000)
    }

    /// Rows to skip and the half-open range Fluent's `range` takes.
    public var offset: Int { (page - 1) * perPage }
    public var rows: Range<Int> { offset..<(offset + perPage) }

    /// The next page's number when `total` rows go beyond this one.
    public func next(total: Int) -> Int? { page < Self.maxPage && offset + perPage < total ? page + 1 : nil }
}
