#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// HTTP-date formatting and parsing (RFC 9110 §5.6.7), without Foundation's locale-dependent formatters.
public enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, for seconds since 1970.
    public static func format(_ epochSeconds: Int64) -> String {
        var t = time_t(epochSeconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }

    /// Parses IMF-fixdate and the two obsolete forms a recipient must accept (RFC 850 and asctime).
    /// Returns nil for anything else, so an invalid date makes its header be ignored (§13.1.3, §13.1.4).
    public static func parse(_ value: String) -> Int64? {
        let parts = value.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" }).map(String.init)
        var day: Int?, month: Int?, year: Int?, clock: [Int]?
        if parts.count == 6, parts[5] == "GMT" {
            // "Sun, 06 Nov 1994 08:49:37 GMT" or "Sunday, 06-Nov-94 08:49:37 GMT"
            day = Int(parts[1])
            month = months.firstIndex(of: parts[2])
            year = Int(parts[3]).map { $0 < 100 ? ($0 < 70 ? 2000 + $0 : 1900 + $0) : $0 }
            clock = parts[4].split(separator: ":").compactMap { Int($0) }
        } else if parts.count == 5 {
            // "Sun Nov  6 08:49:37 1994"
            month = months.firstIndex(of: parts[1])
            day = Int(parts[2])
            clock = parts[3].split(separator: ":").compactMap { Int($0) }
            year = Int(parts[4])
        }
        guard let day, let month, let year, let clock, clock.count == 3,
            (1...31).contains(day), (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2])
        else { return nil }
        var tm = tm()
        tm.tm_year = Int32(year - 1900)
        tm.tm_mon = Int32(month)
        tm.tm_mday = Int32(day)
        tm.tm_hour = Int32(clock[0])
        tm.tm_min = Int32(clock[1])
        tm.tm_sec = Int32(clock[2])
        return Int64(timegm(&tm))
    }
}
