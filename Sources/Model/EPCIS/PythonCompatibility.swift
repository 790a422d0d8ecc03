/// Python's text and number conventions, reproduced exactly where the CBV 2.0 reference
/// hash generator (a Python program) lets them shape the pre-hash string.
enum PythonText {
    /// `str.strip()`: removes leading and trailing characters for which `str.isspace()`
    /// is true (Unicode White_Space, plus the ASCII separators U+001C…U+001F).
    static func strip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.first, let last = scalars.last else { return text }
        if !isSpace(first) && !isSpace(last) { return text }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = scalars.lastIndex(where: { !isSpace($0) })!
        return String(scalars[start...end])
    }

    @inline(__always) static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 {
            return scalar.value == 0x20 || (0x09...0x0D).contains(scalar.value) || (0x1C...0x1F).contains(scalar.value)
        }
        return scalar.properties.isWhitespace
    }
}

/// Python's number formatting as used by the reference generator.
enum PythonNumber {
    /// `str(x)` of the value Python's `json` module makes of a JSON number: an `int` for
    /// integer syntax (exact), a `float` otherwise (shortest round-trip repr).
    static func str(ofJSONNumber text: String) -> String {
        let isInteger = !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        if isInteger {
            let digits = text.hasPrefix("-") ? text.dropFirst() : text[...]
            if digits.allSatisfy({ $0 == "0" }) { return "0" }
            return text
        }
        return repr(Double(text) ?? .nan)
    }

    /// `repr(float)`. Swift's `description` uses the same shortest round-trip digits and
    /// the same switch to exponent notation (below 1e-4 and from 1e16) as Python.
    static func repr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return value.description
    }

    /// `_try_format_numeric`: if `text` is something Python's `float()` accepts, the number
    /// written shortest (integers without `.0`); nil if it is not a number. Infinities and
    /// NaN are left as text (the reference fails or keeps them as written).
    static func canonicalIfNumeric(_ text: String) -> String? {
        let utf8 = text.utf8
        guard let first = utf8.first else { return nil }
        // Cheap exit for the common case: URIs and words never start like a number.
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), 0x09...0x0D, 0x20: break
        default: return nil
        }
        let stripped = PythonText.strip(text)
        guard let cleaned = pythonFloatLiteral(stripped), let value = Double(cleaned), value.isFinite else { return nil }
        if value == value.rounded(.towardZero) {
            return exactInteger(value)
        }
        return repr(value)
    }

    /// Validates Python `float()` decimal syntax (digits with single underscores between
    /// them, optional fraction and exponent) and returns it without underscores.
    static func pythonFloatLiteral(_ text: String) -> String? {
        let b = Array(text.utf8)
        var i = 0
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { out.append(b[i]); i += 1 }
        func digitPart() -> Int {
            var count = 0
            while i < b.count {
                if b[i] >= 0x30 && b[i] <= 0x39 {
                    out.append(b[i]); i += 1; count += 1
                } else if b[i] == UInt8(ascii: "_"), count > 0, i + 1 < b.count, b[i + 1] >= 0x30 && b[i + 1] <= 0x39 {
                    i += 1
                } else {
                    break
                }
            }
            return count
        }
        let integerDigits = digitPart()
        var fractionDigits = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            out.append(b[i]); i += 1
            fractionDigits = digitPart()
        }
        guard integerDigits + fractionDigits > 0 else { return nil }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            out.append(b[i]); i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { out.append(b[i]); i += 1 }
            guard digitPart() > 0 else { return nil }
        }
        guard i == b.count else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// The exact decimal digits of an integral double (Python `str(int(x))`).
    static func exactInteger(_ value: Double) -> String {
        if abs(value) < 9.0e18 { return String(Int64(value)) }
        // value = significand × 2^exponent with a 53-bit integer significand.
        let negative = value < 0
        var limbs: [UInt32] = []  // base 1e9, least significant first
        var significand = UInt64(abs(value).significandBitPattern) | (1 << 52)
        var exponent = Int(abs(value).exponent) - 52
        while significand > 0 { limbs.append(UInt32(significand % 1_000_000_000)); significand /= 1_000_000_000 }
        while exponent > 0 {
            var carry: UInt64 = 0
            for k in limbs.indices {
                let v = UInt64(limbs[k]) * 2 + carry
                limbs[k] = UInt32(v % 1_000_000_000)
                carry = v / 1_000_000_000
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
            exponent -= 1
        }
        var text = String(limbs.last!)
        for limb in limbs.dropLast().reversed() {
            let s = String(limb)
            text += String(repeating: "0", count: 9 - s.count) + s
        }
        return negative ? "-" + text : text
    }
}
