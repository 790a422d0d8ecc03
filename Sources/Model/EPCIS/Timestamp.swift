/// An instant parsed from an ISO 8601 / `xsd:dateTimeStamp` string, as EPCIS uses them.
///
/// Kept as whole seconds since the Unix epoch plus microseconds (the precision EPCIS
/// implementations exchange) and the offset written in the source, so both the UTC
/// canonical form (for hashing and indexing) and the local form can be produced exactly.
/// Parsing is hand-written: it runs for every event at capture time.
public struct Timestamp: Sendable, Hashable, Comparable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64
    /// Microseconds within the second, 0…999_999 (digits beyond the sixth are truncated).
    public let microseconds: Int
    /// The offset from UTC written in the source, in minutes; nil when the source had none.
    public let offsetMinutes: Int?

    public init(seconds: Int64, microseconds: Int, offsetMinutes: Int?) {
        self.seconds = seconds
        self.microseconds = microseconds
        self.offsetMinutes = offsetMinutes
    }

    /// The UTC instant `millis` milliseconds after the epoch.
    public init(epochMilliseconds millis: Int64) {
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        self.init(seconds: seconds, microseconds: Int(millis - seconds * 1000) * 1000, offsetMinutes: 0)
    }

    /// Milliseconds since the epoch (microseconds truncated), for indexing and ordering.
    public var epochMilliseconds: Int64 { seconds * 1000 + Int64(microseconds / 1000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.microseconds) < (rhs.seconds, rhs.microseconds)
    }

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM|±HH]`.
    /// With `requireOffset`, a time without a zone designator is refused (EPCIS requires one).
    /// Reads an ISO 8601 date-time. `asReferenceHasher`: only what GS1's reference hash
    /// generator reads as a time (Python's `dateutil`, which refuses hour 24 and second 60
    /// and then keeps the text as written), for time-typed values in the pre-hash; otherwise
    /// 24:00:00 is the end of the day and second 60 (a leap second) is folded into the next
    /// second, as stores written by earlier versions hold such times.
    public static func parse(_ text: String, requireOffset: Bool = true, asReferenceHasher: Bool = false) -> Timestamp? {
        var text = text
        return text.withUTF8 { parse(bytes: $0, requireOffset: requireOffset, asReferenceHasher: asReferenceHasher) }
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>, requireOffset: Bool, asReferenceHasher: Bool = false) -> Timestamp? {
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= bytes.count else { return nil }
            var value = 0
            for k in 0..<count {
                let b = bytes[i + k]
                guard b >= 0x30 && b <= 0x39 else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            i += count
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
              let day = digits(2) else { return nil }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "T") || bytes[i] == UInt8(ascii: "t") else { return nil }
        i += 1
        guard let hour = digits(2), expect(UInt8(ascii: ":")), let minute = digits(2) else { return nil }
        var second = 0
        var micro = 0
        if expect(UInt8(ascii: ":")) {
            guard let s = digits(2) else { return nil }
            second = s
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",") {
                i += 1
                var count = 0
                while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 {
                    if count < 6 { micro = micro * 10 + Int(bytes[i] - 0x30) }
                    count += 1
                    i += 1
                }
                guard count > 0 else { return nil }
                for _ in min(count, 6)..<6 { micro *= 10 }
            }
        }
        var offset: Int?
        if i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "Z") || b == UInt8(ascii: "z") {
                i += 1
                offset = 0
            } else if b == UInt8(ascii: "+") || b == UInt8(ascii: "-") {
                i += 1
                guard let oh = digits(2) else { return nil }
                var om = 0
                if expect(UInt8(ascii: ":")) {
                    guard let m = digits(2) else { return nil }
                    om = m
                } else if i < bytes.count {
                    guard let m = digits(2) else { return nil }
                    om = m
                }
                guard oh <= 23, om <= 59 else { return nil }
                offset = (b == UInt8(ascii: "-") ? -1 : 1) * (oh * 60 + om)
            } else {
                return nil
            }
        }
        guard i == bytes.count else { return nil }
        if requireOffset && offset == nil { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 24, minute <= 59, second <= 60 else { return nil }
        if asReferenceHasher && (hour == 24 || second == 60) { return nil }
        // 24:00:00 is the end of the day; leap second 60 is folded into the next second.
        if hour == 24 && (minute != 0 || second != 0 || micro != 0) { return nil }
        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        var total = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        total -= Int64((offset ?? 0) * 60)
        return Timestamp(seconds: total, microseconds: micro, offsetMinutes: offset)
    }

    /// The canonical UTC form with millisecond precision and `Z`, as the CBV 2.0 event hash
    /// algorithm writes it: microseconds rounded to milliseconds, half to even.
    public var canonicalUTC: String {
        var seconds = self.seconds
        let remainder = microseconds % 1000
        var millis = microseconds / 1000
        if remainder > 500 || (remainder == 500 && millis % 2 == 1) { millis += 1 }
        if millis == 1000 { millis = 0; seconds += 1 }
        return Self.format(seconds: seconds, fraction: millis, fractionDigits: 3, offsetMinutes: 0)
    }

    /// The instant written in its own offset with millisecond precision (for display).
    public var localDescription: String {
        let offset = offsetMinutes ?? 0
        return Self.format(seconds: seconds + Int64(offset * 60), fraction: microseconds / 1000, fractionDigits: 3, offsetMinutes: offset)
    }

    /// `YYYY-MM-DDThh:mm:ss.fff` then `Z` or `±hh:mm`, written as bytes into the string's
    /// own storage (formatting was 3% of the store's writer thread when it went through
    /// `String(Int)` and appends). Each number is written as `String(value)` zero-padded on
    /// the left to its width, exactly as before, quirks included: a negative year (reachable:
    /// `0000-01-01T00:30:00+01:00` is in year −1 in UTC) pads before its sign, `00-1`, and
    /// hash IDs depend on that text.
    static func format(seconds: Int64, fraction: Int, fractionDigits: Int, offsetMinutes: Int) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        // Every number takes at most 20 bytes (sign and 19 digits) or its width.
        let capacity = 9 * 21 + 8 + max(fractionDigits, 0)
        return String(unsafeUninitializedCapacity: capacity) { out in
            var n = 0
            func byte(_ b: UInt8) {
                precondition(n < out.count, "timestamp text longer than its buffer")
                out[n] = b
                n += 1
            }
            // Written in place, last digit first. (Writing them from inside a
            // withUnsafeMutableBytes closure, which changed `n`, made every access to `n` a
            // run-time exclusivity check: 1% of capture.)
            func digits(_ value: Int, _ width: Int) {
                var magnitude = value.magnitude
                var count = 1
                var rest = magnitude / 10
                while rest > 0 { count += 1; rest /= 10 }
                let text = count + (value < 0 ? 1 : 0)
                for _ in text..<max(text, width) { byte(0x30) }
                if value < 0 { byte(UInt8(ascii: "-")) }
                precondition(n + count <= out.count, "timestamp text longer than its buffer")
                var i = n + count
                repeat {
                    i -= 1
                    out[i] = 0x30 + UInt8(magnitude % 10)
                    magnitude /= 10
                } while magnitude > 0
                n += count
            }
            digits(y, 4); byte(UInt8(ascii: "-")); digits(m, 2); byte(UInt8(ascii: "-")); digits(d, 2); byte(UInt8(ascii: "T"))
            digits(secondOfDay / 3600, 2); byte(UInt8(ascii: ":")); digits(secondOfDay / 60 % 60, 2); byte(UInt8(ascii: ":"))
            digits(secondOfDay % 60, 2)
            byte(UInt8(ascii: ".")); digits(fraction, fractionDigits)
            if offsetMinutes == 0 {
                byte(UInt8(ascii: "Z"))
            } else {
                byte(offsetMinutes < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                digits(abs(offsetMinutes) / 60, 2); byte(UInt8(ascii: ":")); digits(abs(offsetMinutes) % 60, 2)
            }
            return n
        }
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z: Int) -> (Int, Int, Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Whether `text` has the form of an RFC 3339 date-time, the form the EPCIS 2.0 JSON
    /// schema gives its times (`format: date-time`): `YYYY-MM-DDThh:mm:ss`, an optional
    /// fraction after a dot, then `Z` or `±hh:mm`; `t` and `z` may be lower case; hours 00–23,
    /// seconds 00–59. The calendar (month 13, February 30) is `parse`'s to check, which
    /// reads more (ISO 8601 shapes the hash algorithm must also read in extension fields,
    /// and times stored or sent by earlier versions); capture holds the event's own times
    /// to both.
    static func hasRFC3339Form(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { hasRFC3339Form($0) }
    }

    private static func hasRFC3339Form(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        func digits(_ range: Range<Int>) -> Bool {
            guard range.upperBound <= b.count else { return false }
            for k in range where b[k] < 0x30 || b[k] > 0x39 { return false }
            return true
        }
        func at(_ i: Int, _ c: UInt8, or other: UInt8? = nil) -> Bool { i < b.count && (b[i] == c || b[i] == other) }
        let dash = UInt8(ascii: "-"), colon = UInt8(ascii: ":")
        guard digits(0..<4), at(4, dash), digits(5..<7), at(7, dash), digits(8..<10), at(10, UInt8(ascii: "T"), or: UInt8(ascii: "t")),
              digits(11..<13), at(13, colon), digits(14..<16), at(16, colon), digits(17..<19) else { return false }
        guard (b[11] - 0x30) * 10 + (b[12] - 0x30) <= 23, (b[17] - 0x30) * 10 + (b[18] - 0x30) <= 59 else { return false }
        var i = 19
        if at(i, UInt8(ascii: ".")) {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
            guard i > start else { return false }
        }
        if at(i, UInt8(ascii: "Z"), or: UInt8(ascii: "z")) { return i + 1 == b.count }
        guard at(i, UInt8(ascii: "+"), or: UInt8(ascii: "-")), digits(i + 1..<i + 3), at(i + 3, colon), digits(i + 4..<i + 6) else { return false }
        return i + 6 == b.count
    }

    /// Whether `text` is a valid `eventTimeZoneOffset` (`±HH:MM`, hours ≤ 14).
    public static func isValidZoneOffset(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 6, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"), b[3] == UInt8(ascii: ":") else { return false }
        let digits = [b[1], b[2], b[4], b[5]]
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        let hours = Int(b[1] - 0x30) * 10 + Int(b[2] - 0x30)
        let minutes = Int(b[4] - 0x30) * 10 + Int(b[5] - 0x30)
        return minutes <= 59 && (hours < 14 || (hours == 14 && minutes == 0))
    }
}
