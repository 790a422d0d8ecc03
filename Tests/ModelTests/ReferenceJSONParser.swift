@testable import Model

/// The recursive JSON parser FedTrace used before `JSONTape` (values built as it reads),
/// kept as the oracle for `JSONTapeTests`: on any input both must accept the same value or
/// fail with the same error.
enum ReferenceJSONParser {
    static func parse(_ bytes: [UInt8], limits: JSONParser.Limits = JSONParser.Limits()) throws(JSONError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONError) in
            var parser = ReferenceCursor(bytes: buffer, limits: limits)
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            if parser.index < buffer.count {
                throw parser.error("json.trailing", "unexpected content after the JSON value")
            }
            return value
        }
    }
}

private struct ReferenceCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: JSONParser.Limits
    var index = 0
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONParser.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    func error(_ code: String, _ reason: String, at offset: Int? = nil) -> JSONError {
        let position = min(offset ?? index, bytes.count)
        var line = 1
        var lineStart = 0
        for i in 0..<position where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        // Column counts characters (not bytes) so it matches what an editor shows.
        var column = 1
        var i = lineStart
        while i < position {
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return JSONError(code: code, reason: reason, offset: position, line: line, column: column)
    }

    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard index < bytes.count else { throw error("json.eof", "unexpected end of input, a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default:
            throw error("json.syntax", "unexpected character \(describe(bytes[index])), a value was expected")
        }
    }

    func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("json.syntax", "invalid literal, expected '\(literal)'") }
        let start = literal.utf8Start
        for i in 0..<count where bytes[index + i] != start[i] {
            throw error("json.syntax", "invalid literal, expected '\(literal)'")
        }
        index += count
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSONObject {
        guard depth <= limits.maxDepth else { throw error("json.depth", "nesting deeper than \(limits.maxDepth) levels") }
        let start = index
        index += 1
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return JSONObject(members, sourceRange: start..<index)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("json.eof", "unexpected end of input inside an object") }
            guard bytes[index] == UInt8(ascii: "\"") else { throw error("json.syntax", "expected a string key in object, found \(describe(bytes[index]))") }
            let keyOffset = index
            let key = try parseString()
            let duplicate = members.firstIndex { $0.key == key }
            if duplicate != nil && limits.duplicateKeys == .reject {
                throw error("json.duplicate-key", "duplicate key \"\(key)\" in object", at: keyOffset)
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("json.syntax", "expected ':' after object key \"\(key)\"") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if let duplicate {
                members[duplicate].value = value
            } else {
                members.append(JSONObject.Member(key: key, value: value))
            }
            skipWhitespace()
            guard index < bytes.count else { throw error("json.eof", "unexpected end of input inside an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return JSONObject(members, sourceRange: start..<index) }
            throw error("json.syntax", "expected ',' or '}' in object, found \(describe(bytes[index]))")
        }
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> [JSONValue] {
        guard depth <= limits.maxDepth else { throw error("json.depth", "nesting deeper than \(limits.maxDepth) levels") }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw error("json.eof", "unexpected end of input inside an array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return elements }
            throw error("json.syntax", "expected ',' or ']' in array, found \(describe(bytes[index]))")
        }
    }

    mutating func parseNumber() throws(JSONError) -> String {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("json.number", "invalid number: a digit is expected") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("json.number", "invalid number: leading zeros are not allowed") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("json.number", "invalid number: a digit must follow the decimal point") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("json.number", "invalid number: the exponent needs digits") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        guard index - start <= 512 else { throw error("json.number", "number longer than 512 characters", at: start) }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    mutating func parseString() throws(JSONError) -> String {
        index += 1 // opening quote
        let start = index
        // Fast path: no escapes, ASCII or valid UTF-8, no control characters.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                guard slice.count <= limits.maxStringBytes else { throw error("json.string", "string longer than \(limits.maxStringBytes) bytes", at: start) }
                return String(decoding: slice, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("json.string", "control character 0x\(String(byte, radix: 16)) in string must be escaped") }
            if byte >= 0x80 { try validateUTF8Sequence() } else { index += 1 }
        }
        guard index < bytes.count else { throw error("json.eof", "unterminated string", at: start - 1) }
        // Slow path: copy with unescaping.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                guard scratch.count <= limits.maxStringBytes else { throw error("json.string", "string longer than \(limits.maxStringBytes) bytes", at: start) }
                return String(decoding: scratch, as: UTF8.self)
            }
            if byte < 0x20 { throw error("json.string", "control character 0x\(String(byte, radix: 16)) in string must be escaped") }
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < bytes.count else { break }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if scalar >= 0xD800 && scalar <= 0xDBFF {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("json.string", "lone high surrogate \\u\(String(scalar, radix: 16)) in string")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard low >= 0xDC00 && low <= 0xDFFF else { throw error("json.string", "invalid low surrogate \\u\(String(low, radix: 16)) in string") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                        throw error("json.string", "lone low surrogate \\u\(String(scalar, radix: 16)) in string")
                    }
                    appendUTF8(scalar)
                default:
                    throw error("json.string", "invalid escape '\\\(Character(Unicode.Scalar(escaped)))' in string", at: index - 2)
                }
                continue
            }
            let sequenceStart = index
            if byte >= 0x80 { try validateUTF8Sequence() } else { index += 1 }
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[sequenceStart..<index]))
        }
        throw error("json.eof", "unterminated string", at: start - 1)
    }

    mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("json.string", "truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error("json.string", "invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80: scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `index` (RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF) and advances past it.
    mutating func validateUTF8Sequence() throws(JSONError) {
        let first = bytes[index]
        let length: Int
        var minimum: UInt32
        var scalar: UInt32
        switch first {
        case 0xC2...0xDF: length = 2; scalar = UInt32(first & 0x1F); minimum = 0x80
        case 0xE0...0xEF: length = 3; scalar = UInt32(first & 0x0F); minimum = 0x800
        case 0xF0...0xF4: length = 4; scalar = UInt32(first & 0x07); minimum = 0x10000
        default: throw error("json.utf8", "invalid UTF-8 byte 0x\(String(first, radix: 16, uppercase: true))")
        }
        guard index + length <= bytes.count else { throw error("json.utf8", "truncated UTF-8 sequence") }
        for i in 1..<length {
            let next = bytes[index + i]
            guard next & 0xC0 == 0x80 else { throw error("json.utf8", "invalid UTF-8 continuation byte 0x\(String(next, radix: 16, uppercase: true))", at: index + i) }
            scalar = scalar << 6 | UInt32(next & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
            throw error("json.utf8", "invalid UTF-8 sequence (overlong, surrogate or out of range)")
        }
        minimum = 0
        index += length
    }
}
