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

    /// "1 view", "1.2K views", "0 subscribers": a formatted count with its noun, plural unless exactly one.
    public static func counted(_ n: Int, _ noun: String) -> String {
        "\(count(n)) \(noun)\(n == 1 ? "" : "s")"
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
    /// `1.5 GB`, `640 KB`, `12 bytes` (decimal units, as file managers show them).
    public static func bytes(_ n: Int64) -> String {
        let units = ["KB", "MB", "GB", "TB"]
        guard n >= 1000 else { return "\(n) bytes" }
        var value = Double(n)
        var unit = "bytes"
        for u in units where value >= 1000 {
            value /= 1000
            unit = u
        }
        return value >= 100 || value == value.rounded() ? "\(Int(value.rounded())) \(unit)" : String(format: "%.1f", value) + " " + unit
    }

    public static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        let ss = s < 10 ? "0\(s)" : "\(s)"
        if h > 0 { return "\(h):\(m < 10 ? "0\(m)" : "\(m)"):\(ss)" }
        return "\(m):\(ss)"
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let iso8601Style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)

    /// "Nov 21, 2026" in UTC, for the watch page and "Joined".
    public static func day(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day], from: date)
        return "\(monthNames[(c.month ?? 1) - 1]) \(c.day ?? 1), \(c.year ?? 1970)"
    }

    /// ISO 8601 with milliseconds and `Z`, as Django's JSON encoder writes datetimes; the style is made once,
    /// since every date in every JSON response goes through here.
    public static func iso8601(_ date: Date) -> String {
        iso8601Style.format(date)
    }

    /// "45 seconds", "1 minute", "14 minutes": how long to wait.
    public static func waitText(seconds: Int) -> String {
        seconds < 60 ? counted(seconds, "second") : counted((seconds + 59) / 60, "minute")
    }
}
