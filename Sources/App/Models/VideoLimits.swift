import Foundation

/// How long what people write about a video may be: the same for the studio, tus and single uploads, URL imports,
/// `videotube import` and `PATCH /api/v1/videos/{id}`. Text a person wrote that is too long is refused with a
/// message saying so (400), never cut; only a title the server takes from a file name is shortened to fit.
public enum VideoLimits {
    public static let title = 100
    public static let description = 5000

    /// What is wrong with a title, a description and a visibility someone gave (nil: not given), as sentences.
    public static func problems(title: String?, description: String?, visibility: String? = nil) -> [String] {
        faults(title: title, description: description, visibility: visibility).map(\.message)
    }

    /// The problems with the field each is about.
    static func faults(title: String?, description: String?, visibility: String?) -> [(field: String, message: String)] {
        var faults: [(field: String, message: String)] = []
        if let visibility, !visibility.isEmpty, Visibility(rawValue: visibility) == nil {
            faults.append(("visibility", "Visibility is public, unlisted or private; '\(visibility.prefix(40))' is none of them."))
        }
        if let title, title.count > Self.title {
            faults.append(("title", "A title has at most \(Self.title) characters; this one has \(title.count)."))
        }
        if let description, description.count > Self.description {
            faults.append(("description", "The description can have at most \(Self.description) characters; this one has \(description.count)."))
        }
        return faults
    }

    /// Throws the problems as a `ValidationFailure` (422 in the API, 400 on pages).
    public static func check(title: String?, description: String?, visibility: String? = nil) throws {
        let faults = faults(title: title, description: description, visibility: visibility)
        guard faults.isEmpty else { throw ValidationFailure(problems: faults.map(\.message), fields: faults.map(\.field)) }
    }

    /// The visibility chosen at upload (checked by `check`): public when none was given.
    public static func visibility(_ raw: String?) -> Visibility {
        raw.flatMap { Visibility(rawValue: $0) } ?? .public
    }

    /// At most this many tags, each at most `tagLength` characters.
    public static let tagCount = 10
    public static let tagLength = 30

    /// Tags as people type them (comma-separated, in one string or several) made into the stored form: lowercased,
    /// spaces collapsed, a leading `#` dropped, quotes, backslashes and slashes removed (a tag is one path segment of `/tags/{tag}`), duplicates once, the order kept.
    /// Too many or too long ones are refused (400), never cut.
    public static func tags(_ raw: [String]) throws -> [String] {
        let tags = normalizedTags(raw)
        var problems: [String] = []
        if tags.count > tagCount { problems.append("A video has at most \(tagCount) tags; these are \(tags.count).") }
        if let long = tags.first(where: { $0.count > tagLength }) {
            problems.append("A tag has at most \(tagLength) characters; '\(long.prefix(40))' has \(long.count).")
        }
        guard problems.isEmpty else { throw ValidationFailure(problems: problems, fields: ["tags"]) }
        return tags
    }

    /// The normalization of `tags(_:)` without its limits (live streams' tags have their own).
    public static func normalizedTags(_ raw: [String]) -> [String] {
        var tags: [String] = []
        for part in raw.flatMap({ $0.split(separator: ",") }) {
            var scalars = String.UnicodeScalarView()
            for scalar in part.lowercased().unicodeScalars where !"\"\\/".unicodeScalars.contains(scalar) {
                scalars.append(CharacterSet.controlCharacters.contains(scalar) ? " " : scalar)
            }
            var tag = String(scalars).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            while tag.hasPrefix("#") { tag.removeFirst() }
            tag = tag.trimmingCharacters(in: .whitespaces)
            if !tag.isEmpty, !tags.contains(tag) { tags.append(tag) }
        }
        return tags
    }

    /// One tag asked for (a URL's or a query's), normalized as stored; 400 when it has a comma or is too long. What
    /// normalizes to nothing (`"#"`, spaces) is the empty tag, which no video has.
    public static func tag(_ raw: String) throws -> String {
        let tag = normalizedTags([raw]).first ?? ""
        guard !raw.contains(","), tag.count <= tagLength else {
            throw ValidationFailure("'\(raw.prefix(40))' is not a tag: a tag has 1 to \(tagLength) characters and no comma.", field: "tag")
        }
        return tag
    }

    /// The stored form of normalized tags: a JSON array (they hold no quote or backslash to escape).
    public static func encodeTags(_ tags: [String]) -> String {
        "[" + tags.map { "\"" + $0 + "\"" }.joined(separator: ",") + "]"
    }

    /// Tags from their stored JSON array (anything unreadable is none).
    public static func decodeTags(_ json: String?) -> [String] {
        guard let json, json.count > 2, let data = json.data(using: .utf8) else { return [] }
        return (try? JSONDecoder().decode([String].self, from: data)) ?? []
    }

    /// A title made from an uploaded file's name: its stem, cut to fit.
    public static func title(fromFilename filename: String) -> String {
        let stem = (((filename as NSString).lastPathComponent) as NSString).deletingPathExtension
        return String((stem.isEmpty ? "Untitled video" : stem).prefix(Self.title))
    }
}
