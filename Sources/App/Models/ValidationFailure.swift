import Fluent
import Foundation

/// A rule a value broke, worded for the person who typed it.
public struct ValidationFailure: Error, CustomStringConvertible {
    /// Each broken rule, one sentence each.
    public let problems: [String]
    public var description: String { problems.joined(separator: " ") }
    public init(_ description: String) { problems = [description] }
    public init(problems: [String]) { self.problems = problems }
}
