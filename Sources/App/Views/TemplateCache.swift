import Leaf
import LeafKit
import NIOCore

/// Parsed templates, kept when `enabled` (release builds). Leaf's renderer switches its cache off whenever the
/// environment is `development` — the default for `videotube serve` — by setting `isEnabled` on the shared
/// cache as it makes each request's renderer, so every page was lexed and parsed again from disk. This cache
/// keeps the choice made at start-up and ignores that setter.
final class TemplateCache: LeafCache, @unchecked Sendable {
    private let parsed = DefaultLeafCache()
    private let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled
        parsed.isEnabled = enabled
    }

    var isEnabled: Bool {
        get { enabled }
        set {}  // see the type's comment
    }

    var count: Int { parsed.count }

    func insert(_ document: LeafAST, on loop: any EventLoop, replace: Bool) -> EventLoopFuture<LeafAST> {
        parsed.insert(document, on: loop, replace: replace)
    }

    func retrieve(documentName: String, on loop: any EventLoop) -> EventLoopFuture<LeafAST?> {
        parsed.retrieve(documentName: documentName, on: loop)
    }

    func remove(_ documentName: String, on loop: any EventLoop) -> EventLoopFuture<Bool?> {
        parsed.remove(documentName, on: loop)
    }
}
