/// Appends JSON text to a byte buffer directly, without building an object tree, so the
/// generator can write hundreds of thousands of events per second.
///
/// The caller writes structure (`{`, `"key":`, `,`) as literal text; values that come from
/// configuration go through `string(_:)`, which escapes them.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends literal JSON text as is (no escaping: only for text written in this module).
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends bytes as is (pre-rendered JSON fragments).
    @inline(__always)
    mutating func raw(_ fragment: [UInt8]) {
        bytes.append(contentsOf: fragment)
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    /// Appends `text` as a quoted JSON string, escaping quotes, backslashes and control characters.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        Self.appendEscaped(text, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends a non-negative or negative integer in decimal.
    mutating func integer(_ value: Int) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
        }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) {
                bytes.append(buffer[index])
            }
        }
    }

    /// Appends `value` as exactly `width` decimal digits (the value must fit).
    @inline(__always)
    mutating func digits(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Appends `value` (below 36^10) as ten base-36 characters `[0-9A-Z]`.
    @inline(__always)
    mutating func alphanumeric10(_ value: UInt64) {
        let start = bytes.count
        bytes.append(contentsOf: Self.tenZeros)
        var rest = value
        bytes.withUnsafeMutableBufferPointer { buffer in
            var position = start + 9
            while position >= start {
                let digit = Int(rest % 36)
                buffer[position] = digit < 10 ? UInt8(ascii: "0") + UInt8(digit) : UInt8(ascii: "A") + UInt8(digit - 10)
                rest /= 36
                position -= 1
            }
        }
    }

    private static let tenZeros: [UInt8] = Array(repeating: UInt8(ascii: "0"), count: 10)

    /// Appends an ISO 8601 timestamp with milliseconds, unquoted: `2025-03-01T06:00:01.250Z`
    /// when `offsetMinutes` is nil, otherwise the local time with its offset
    /// (`2025-03-01T11:00:01.250+05:00`).
    mutating func timestamp(milliseconds: Int64, offsetMinutes: Int? = nil) {
        let local = milliseconds + Int64(offsetMinutes ?? 0) * 60_000
        let days = Int(local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000)
        let millisecondOfDay = Int(local - Int64(days) * 86_400_000)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        digits(year, width: 4)
        byte(UInt8(ascii: "-"))
        digits(month, width: 2)
        byte(UInt8(ascii: "-"))
        digits(day, width: 2)
        byte(UInt8(ascii: "T"))
        digits(millisecondOfDay / 3_600_000, width: 2)
        byte(UInt8(ascii: ":"))
        digits(millisecondOfDay / 60_000 % 60, width: 2)
        byte(UInt8(ascii: ":"))
        digits(millisecondOfDay / 1000 % 60, width: 2)
        byte(UInt8(ascii: "."))
        digits(millisecondOfDay % 1000, width: 3)
        if let offsetMinutes {
            offset(minutes: offsetMinutes)
        } else {
            byte(UInt8(ascii: "Z"))
        }
    }

    /// Appends a time-zone offset `+05:00` / `-03:30`, unquoted.
    mutating func offset(minutes: Int) {
        byte(minutes < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        digits(abs(minutes) / 60, width: 2)
        byte(UInt8(ascii: ":"))
        digits(abs(minutes) % 60, width: 2)
    }

    /// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01
    /// (H. Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `text` as the bytes of a quoted JSON string (for fragments rendered once per run).
    static func quoted(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "\"")]
        appendEscaped(text, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        return bytes
    }

    static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
    }
}
