import Fluent
import Foundation
import Logging
import Media
import NIOConcurrencyHelpers

/// Why processing stopped, in words for the video's owner.
public struct ProcessingFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
