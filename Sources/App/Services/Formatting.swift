import Foundation

/// The counts, ages and durations pages show, as YouTube words them.
public enum Formatting {
    /// 999, 1.2K, 12K, 3.4M, 1.1B.
    public static func count(_ n: Int) -> String {
        let value = Double(abs(n))
        let sign = n < 0 ? "-" : ""
        func scaled(_ unit: Double, _ suffix: String) -> String {
            let v = value / unit
            if v < 10 {
                let tenths = (v * 10).rounded(.down) / 10
                let text = tenths == tenths.rounded() ? String(Int(tenths)) : String(format: "%.1f", tenths)
                return sign + text + suffix
            }
            return sign + String(Int(v.rounded(.down))) + suffix
        }
        switch value {
        case ..<1000: return String(n)
        case ..<1_000_000: return scaled(1000, "K")
        case ..<1_000_000_000: return scaled(1_000_000, "M")
        default: return scaled(1_000_000_000, "B")
        }
    }

    /// "just now", "1 minute ago", "5 hours ago", "3 weeks ago", "2 years ago".
    public static func age(of date: Date, now: Date = Date()) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        func ago(_ n: Int, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s") ago" }
        switch seconds {
        case ..<60: return "just now"
        case ..<3600: return ago(seconds / 60, "minute")
        case ..<86400: return ago(seconds / 3600, "hour")
        case ..<(7 * 86400): return ago(seconds / 86400, "day")
        case ..<(30 * 86400): return ago(seconds / (7 * 86400), "week")
        case ..<(365 * 86400): return ago(max(1, seconds / (30 * 86400)), "month")
        default: return ago(seconds / (365 * 86400), "year")
        }
    }

    /// 0:07, 4:05, 1:02:03.
    public static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        let ss = s < 10 ? "0\(s)" : "\(s)"
        if h > 0 { return "\(h):\(m < 10 ? "0\(m)" : "\(m)"):\(ss)" }
        return "\(m):\(ss)"
    }

    /// "Nov 21, 2026" in UTC, for the watch page and "Joined".
    public static func day(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "MMM d, yyyy"
        return f.string(from: date)
    }

    /// ISO 8601 with milliseconds and `Z`, as Django's JSON encoder writes datetimes.
    public static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
