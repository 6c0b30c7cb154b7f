import Foundation

/// The reference's password rules (Django's four validators), each failure worded as Django words it:
/// at least 8 characters, not too similar to the username or e-mail, not a common password, not all digits.
public struct PasswordPolicy: Sendable {
    public static let minimumLength = 8
    /// bcrypt reads only the first 72 bytes; longer passwords would silently lose their ends.
    public static let maximumBytes = 72
    static let maxSimilarity = 0.7

    /// Lower-cased common passwords.
    public let common: Set<String>

    public init(common: Set<String>) { self.common = common }

    /// Reads a list with one password per line; `#` lines are comments.
    public static func load(path: String) throws -> PasswordPolicy {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var common = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            common.insert(line.trimmingCharacters(in: .whitespaces).lowercased())
        }
        return PasswordPolicy(common: common)
    }

    /// Every rule the password breaks, in order; empty when it is acceptable.
    public func problems(password: String, username: String, email: String) -> [String] {
        var problems: [String] = []
        if password.count < Self.minimumLength {
            problems.append("This password is too short. It must contain at least \(Self.minimumLength) characters.")
        }
        if password.utf8.count > Self.maximumBytes {
            problems.append("This password is too long. It must contain at most \(Self.maximumBytes) bytes.")
        }
        if let attribute = similarAttribute(password: password, username: username, email: email) {
            problems.append("The password is too similar to the \(attribute).")
        }
        if common.contains(password.lowercased().trimmingCharacters(in: .whitespaces)) {
            problems.append("This password is too common.")
        }
        if !password.isEmpty, password.allSatisfy(\.isNumber) {
            problems.append("This password is entirely numeric.")
        }
        return problems
    }

    /// Django's UserAttributeSimilarityValidator: the password against each attribute and its word parts.
    func similarAttribute(password: String, username: String, email: String) -> String? {
        let password = Array(password.lowercased())
        for (name, value) in [("username", username), ("email address", email)] where !value.isEmpty {
            let value = value.lowercased()
            // A password much longer than the attribute cannot reach the ratio; Django skips it too.
            if Double(password.count) >= 10 * Double(value.count) { continue }
            let parts = [value] + value.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).map(String.init)
            for part in parts where Self.similarity(password, Array(part)) >= Self.maxSimilarity {
                return name
            }
        }
        return nil
    }

    /// Python's `difflib.SequenceMatcher.ratio()`: 2·M / (|a| + |b|), M the characters in matching blocks
    /// found by repeatedly taking the longest common run (Ratcliff/Obershelp).
    static func similarity(_ a: [Character], _ b: [Character]) -> Double {
        let total = a.count + b.count
        guard total > 0 else { return 1 }
        return 2 * Double(matches(a, 0, a.count, b, 0, b.count)) / Double(total)
    }

    private static func matches(_ a: [Character], _ alo: Int, _ ahi: Int, _ b: [Character], _ blo: Int, _ bhi: Int) -> Int {
        guard alo < ahi, blo < bhi else { return 0 }
        var best = (i: alo, j: blo, size: 0)
        // Longest common substring of a[alo..<ahi] and b[blo..<bhi], earliest in a, then in b.
        var previous = [Int](repeating: 0, count: bhi - blo + 1)
        for i in alo..<ahi {
            var current = [Int](repeating: 0, count: bhi - blo + 1)
            for j in blo..<bhi where a[i] == b[j] {
                let length = previous[j - blo] + 1
                current[j - blo + 1] = length
                if length > best.size { best = (i - length + 1, j - length + 1, length) }
            }
            previous = current
        }
        guard best.size > 0 else { return 0 }
        return best.size + matches(a, alo, best.i, b, blo, best.j)
            + matches(a, best.i + best.size, ahi, b, best.j + best.size, bhi)
    }
}
