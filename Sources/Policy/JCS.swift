public import Model
import Crypto

/// RFC 8785 JSON Canonicalization Scheme over `JSONValue`: the bytes an agreement's
/// identity and signatures are computed on, the same in every implementation.
///
/// Members are sorted by their UTF-16 code units, strings are escaped minimally (as
/// ECMAScript `JSON.stringify` does), and every number is re-serialised the way
/// ECMAScript `Number.prototype.toString` writes the IEEE 754 double it denotes.
public enum JCS {
    /// The canonical UTF-8 bytes of `value`; refuses a number that is not a finite double.
    public static func canonicalize(_ value: JSONValue) throws(PolicyError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        try write(value, path: "", into: &out)
        return out
    }

    /// The canonical form as a String.
    public static func canonicalString(_ value: JSONValue) throws(PolicyError) -> String {
        String(decoding: try canonicalize(value), as: UTF8.self)
    }

    /// Lower-case hex SHA-256 of the canonical bytes of `value`.
    public static func sha256Hex(_ value: JSONValue) throws(PolicyError) -> String {
        SHA256.hexHash(try canonicalize(value))
    }

    /// The ECMAScript serialisation of the number written as `text` in a JSON document.
    public static func number(_ text: String, path: String = "") throws(PolicyError) -> String {
        guard let double = Double(text) else {
            throw PolicyError(code: "jcs.number", path: path, reason: "\(where_(path))'\(text)' is not a number")
        }
        return try number(double, path: path)
    }

    /// The ECMAScript `Number.prototype.toString` form of `value` (RFC 8785 §3.2.2.3).
    public static func number(_ value: Double, path: String = "") throws(PolicyError) -> String {
        guard value.isFinite else {
            throw PolicyError(code: "jcs.number", path: path, reason: "\(where_(path))NaN and Infinity have no JSON form (a number beyond the double range is refused)")
        }
        if value == 0 { return "0" }  // both +0 and -0
        // Swift's description gives the shortest digits that round-trip (and the closest
        // of them), as ECMAScript requires; only its layout differs, so take the digits
        // and the decimal exponent from it and lay them out by ECMAScript's rules.
        let negative = value < 0
        let text = (negative ? -value : value).description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...].replacingPlus())!
        }
        var digits: [UInt8] = []
        var pointPosition = 0  // digits before the decimal point
        var seenPoint = false
        for byte in mantissa.utf8 {
            if byte == UInt8(ascii: ".") { seenPoint = true; continue }
            digits.append(byte)
            if !seenPoint { pointPosition += 1 }
        }
        // value = 0.d1d2…dk × 10^n
        var n = pointPosition + exponent
        while let first = digits.first, first == UInt8(ascii: "0") { digits.removeFirst(); n -= 1 }
        while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
        let k = digits.count
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        if k <= n && n <= 21 {
            out += digits
            out += [UInt8](repeating: UInt8(ascii: "0"), count: n - k)
        } else if 0 < n && n <= 21 {
            out += digits[0..<n]
            out.append(UInt8(ascii: "."))
            out += digits[n...]
        } else if -6 < n && n <= 0 {
            out += Array("0.".utf8)
            out += [UInt8](repeating: UInt8(ascii: "0"), count: -n)
            out += digits
        } else {
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            out.append(UInt8(ascii: "e"))
            out.append(n - 1 >= 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
            out += Array(String(abs(n - 1)).utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `a` sorts before `b` by UTF-16 code units (RFC 8785 §3.2.3).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    static func write(_ value: JSONValue, path: String, into out: inout [UInt8]) throws(PolicyError) {
        switch value {
        case .null, .bool, .string:
            JSONWriter.write(value, into: &out)  // literals as-is; strings escaped as JCS requires
        case .number(let text):
            out += Array(try number(text, path: path).utf8)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try write(element, path: "\(path)[\(i)]", into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            let sorted = object.members.sorted { precedes($0.key, $1.key) }
            for (i, member) in sorted.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                try write(member.value, path: path.isEmpty ? member.key : "\(path).\(member.key)", into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func where_(_ path: String) -> String { path.isEmpty ? "" : "\(path): " }
}

extension Substring {
    fileprivate func replacingPlus() -> Substring { first == "+" ? dropFirst() : self }
}
