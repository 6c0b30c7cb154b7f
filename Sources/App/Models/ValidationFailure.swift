import Fluent
import Foundation

/// A rule a value broke, worded for the person who typed it.
public struct ValidationFailure: Error, CustomStringConvertible {
    /// Each broken rule, one sentence each.
    public let problems: [String]
    /// The request fields at fault (`title`, `handle` …), when known: the API names them beside the message.
    public let fields: [String]
    public var description: String { problems.joined(separator: " ") }
    public init(_ description: String, field: String? = nil) {
        problems = [description]
        fields = field.map { [$0] } ?? []
    }
    public init(problems: [String], fields: [String] = []) {
        self.problems = problems
        var unique: [String] = []
        for field in fields where !unique.contains(field) { unique.append(field) }
        self.fields = unique
    }
}
