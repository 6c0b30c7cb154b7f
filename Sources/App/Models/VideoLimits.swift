import Foundation

/// How long what people write about a video may be: the same for the studio, tus and single uploads, URL imports,
/// `videotube import` and `PATCH /api/v1/videos/{id}`. Text a person wrote that is too long is refused with a
/// message saying so (400), never cut; only a title the server takes from a file name is shortened to fit.
public enum VideoLimits {
    public static let title = 100
    public static let description = 5000

    /// What is wrong with a title, a description and a visibility someone gave (nil: not given), as sentences.
    public static func problems(title: String?, description: String?, visibility: String? = nil) -> [String] {
        var problems: [String] = []
        if let visibility, !visibility.isEmpty, Visibility(rawValue: visibility) == nil {
            problems.append("Visibility is public, unlisted or private; '\(visibility.prefix(40))' is none of them.")
        }
        if let title, title.count > Self.title {
            problems.append("A title has at most \(Self.title) characters; this one has \(title.count).")
        }
        if let description, description.count > Self.description {
            problems.append("The description can have at most \(Self.description) characters; this one has \(description.count).")
        }
        return problems
    }

    /// Throws the problems as a `ValidationFailure` (400).
    public static func check(title: String?, description: String?, visibility: String? = nil) throws {
        let problems = problems(title: title, description: description, visibility: visibility)
        guard problems.isEmpty else { throw ValidationFailure(problems: problems) }
    }

    /// The visibility chosen at upload (checked by `check`): public when none was given.
    public static func visibility(_ raw: String?) -> Visibility {
        raw.flatMap { Visibility(rawValue: $0) } ?? .public
    }

    /// A title made from an uploaded file's name: its stem, cut to fit.
    public static func title(fromFilename filename: String) -> String {
        let stem = (((filename as NSString).lastPathComponent) as NSString).deletingPathExtension
        return String((stem.isEmpty ? "Untitled video" : stem).prefix(Self.title))
    }
}
