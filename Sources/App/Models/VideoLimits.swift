import Foundation

/// How long what people write about a video may be: the same for the studio, tus and single uploads, URL imports,
/// `videotube import` and `PATCH /api/v1/videos/{id}`. Text a person wrote that is too long is refused with a
/// message saying so (400), never cut; only a title the server takes from a file name is shortened to fit.
public enum VideoLimits {
    public static let title = 100
    public static let description = 5000

    /// What is wrong with a title and a description someone wrote (nil: not given), as sentences.
    public static func problems(title: String?, description: String?) -> [String] {
        var problems: [String] = []
        if let title, title.count > Self.title {
            problems.append("A title has at most \(Self.title) characters; this one has \(title.count).")
        }
        if let description, description.count > Self.description {
            problems.append("The description can have at most \(Self.description) characters; this one has \(description.count).")
        }
        return problems
    }

    /// Throws the problems as a `ValidationFailure` (400).
    public static func check(title: String?, description: String?) throws {
        let problems = problems(title: title, description: description)
        guard problems.isEmpty else { throw ValidationFailure(problems: problems) }
    }

    /// A title made from an uploaded file's name: its stem, cut to fit.
    public static func title(fromFilename filename: String) -> String {
        let stem = (((filename as NSString).lastPathComponent) as NSString).deletingPathExtension
        return String((stem.isEmpty ? "Untitled video" : stem).prefix(Self.title))
    }
}
