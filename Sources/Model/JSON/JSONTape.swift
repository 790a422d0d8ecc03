/// A parsed JSON text as one flat array of tokens over the input bytes (a "tape"): no tree
/// of reference-counted values, no string copied until someone asks for it.
///
/// ## Contract
/// - `JSONTape.parse` accepts exactly what `JSONParser` accepts (it *is* the parser:
///   `JSONParser.parse` materialises the tape's root) and fails with the same `JSONError`s.
/// - Token 0 is the root. A value's tokens are contiguous: the value's own token, then its
///   contents in source order; `next(t)` is the index just past them.
///   - object: the token, then for each member a key token (a string) and the value's tokens;
///   - array: the token, then each element's tokens;
///   - string: its span *inside* the quotes; `isEscaped` when it holds a backslash (then
///     `withStringBytes` decodes it; otherwise the span is the UTF-8 text itself);
///   - number: its exact source span; `true`, `false`, `null`: their span.
///   - object and array spans run from the opening bracket to just past the closing one
///     (`JSONObject.sourceRange`).
/// - A repeated key: with `Limits.duplicateKeys == .reject` parsing fails at the repeated
///   key; with `.lastWins` the object is marked, `member(_:_:)` finds the last value, and
///   `forEachMember` gives each key once, where it first appeared, with its last value
///   (what `JSONParser` builds). Detecting repeats scans an object's earlier keys, or uses a
///   set once an object has more than 32 members (so a hostile object costs linear time).
/// - Offsets are `Int32`: the input must be shorter than 2 GiB (longer input is refused).
public struct JSONTape: Sendable {
    public enum Kind: UInt8, Sendable {
        case null, `true`, `false`, number, string, array, object
    }

    struct Token: Sendable {
        var kind: Kind
        /// string: holds an escape; object: has a repeated key.
        var flag: Bool
        var start: Int32
        var end: Int32
        /// The index just past this value's tokens.
        var next: Int32
        /// Members (object) or elements (array).
        var count: Int32
    }

    /// The parsed text.
    public let bytes: [UInt8]
    var tokens: [Token]

    /// Parses one JSON text (surrounding whitespace allowed).
    public static func parse(_ bytes: [UInt8], limits: JSONParser.Limits = JSONParser.Limits()) throws(JSONError) -> JSONTape {
        guard bytes.count < Int(Int32.max) else {
            throw JSONError(code: "json.size", reason: "input of \(bytes.count) bytes is larger than 2 GiB", offset: 0, line: 1, column: 1)
        }
        let tokens = try bytes.withUnsafeBufferPointer { buffer throws(JSONError) -> [Token] in
            var cursor = TapeCursor(bytes: buffer, limits: limits)
            cursor.skipWhitespace()
            try cursor.parseValue(depth: 0)
            cursor.skipWhitespace()
            if cursor.index < buffer.count {
                throw cursor.error("json.trailing", "unexpected content after the JSON value")
            }
            return cursor.tokens
        }
        return JSONTape(bytes: bytes, tokens: tokens)
    }

    /// The tape of an object built in memory: serialised, then parsed (same members in the
    /// same order). Fails only when the object holds a number that is not JSON number text.
    public static func of(_ object: JSONObject) throws(JSONError) -> JSONTape {
        var limits = JSONParser.Limits()
        limits.maxDepth = .max
        limits.maxStringBytes = .max
        return try parse(JSONWriter.serialize(.object(object)), limits: limits)
    }

    // MARK: - Reading

    /// The root value's token.
    public var root: Int { 0 }

    public func kind(_ t: Int) -> Kind { tokens[t].kind }

    /// The index just past value `t`'s tokens.
    public func next(_ t: Int) -> Int { Int(tokens[t].next) }

    /// Members of an object or elements of an array.
    public func count(_ t: Int) -> Int { Int(tokens[t].count) }

    /// The source span: inside the quotes for a string, the whole text otherwise.
    public func span(_ t: Int) -> Range<Int> { Int(tokens[t].start)..<Int(tokens[t].end) }

    /// "a string", "an array", … (as `JSONValue.typeDescription`).
    public func typeDescription(_ t: Int) -> String {
        switch tokens[t].kind {
        case .null: return "null"
        case .true, .false: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Calls `body` with a string's UTF-8 bytes (decoded if it holds escapes).
    public func withStringBytes<R>(_ t: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let token = tokens[t]
        if token.flag {
            let decoded = decodeEscaped(Int(token.start), Int(token.end))
            return try decoded.withUnsafeBufferPointer(body)
        }
        return try bytes.withUnsafeBufferPointer { buffer in
            try body(UnsafeBufferPointer(rebasing: buffer[Int(token.start)..<Int(token.end)]))
        }
    }

    /// A string token's text.
    public func string(_ t: Int) -> String {
        withStringBytes(t) { String(decoding: $0, as: UTF8.self) }
    }

    /// A string's text, or nil for any other kind.
    public func stringValue(_ t: Int) -> String? {
        tokens[t].kind == .string ? string(t) : nil
    }

    /// Whether string token `t` is exactly `text`.
    public func stringEquals(_ t: Int, _ text: StaticString) -> Bool {
        let token = tokens[t]
        guard token.kind == .string else { return false }
        if !token.flag && Int(token.end - token.start) != text.utf8CodeUnitCount { return false }
        return withStringBytes(t) { value in
            compareBytes(value.baseAddress, value.count, text.utf8Start, text.utf8CodeUnitCount) == 0
        }
    }

    /// Calls `body` with each element's token of array `t`.
    @inline(__always) public func forEachElement(_ t: Int, _ body: (Int) throws -> Void) rethrows {
        var element = t + 1
        for _ in 0..<Int(tokens[t].count) {
            try body(element)
            element = Int(tokens[element].next)
        }
    }

    /// The value token of the member of object `t` named `key` (the last one if repeated).
    public func member(_ t: Int, _ key: StaticString) -> Int? {
        guard tokens[t].kind == .object else { return nil }  // an array's elements are not keys
        var found: Int?
        var k = t + 1
        for _ in 0..<Int(tokens[t].count) {
            if stringEquals(k, key) {
                found = k + 1
                if !tokens[t].flag { return found }
            }
            k = Int(tokens[k + 1].next)
        }
        return found
    }

    /// Reads many members of object `t` in one pass over its members: `values[i]` becomes
    /// the value token of the member named `names`' *i*-th name (the last one if repeated,
    /// as `member(_:_:)` finds it), or −1 when there is none. (`member(_:_:)` scans the
    /// members once per name: the event validation's 26 lookups were 4% of capture.)
    public func members(_ t: Int, named names: MemberNames, into values: inout [Int]) {
        values.removeAll(keepingCapacity: true)
        values.append(contentsOf: repeatElement(-1, count: names.count))
        guard tokens[t].kind == .object else { return }
        var k = t + 1
        for _ in 0..<Int(tokens[t].count) {
            if let i = withStringBytes(k, { names.map.find($0) }) { values[i] = k + 1 }
            k = Int(tokens[k + 1].next)
        }
    }

    /// Calls `body` with the key token and value token of each member of object `t`, in
    /// source order; a repeated key once, where it first appeared, with its last value.
    public func forEachMember(_ t: Int, _ body: (_ key: Int, _ value: Int) throws -> Void) rethrows {
        var k = t + 1
        if !tokens[t].flag {
            for _ in 0..<Int(tokens[t].count) {
                try body(k, k + 1)
                k = Int(tokens[k + 1].next)
            }
            return
        }
        var keys: [Int] = []
        for _ in 0..<Int(tokens[t].count) {
            keys.append(k)
            k = Int(tokens[k + 1].next)
        }
        var seen = Set<[UInt8]>()
        let names = keys.map { withStringBytes($0) { Array($0) } }
        for (i, key) in keys.enumerated() where seen.insert(names[i]).inserted {
            let last = (i..<keys.count).last { names[$0] == names[i] }!
            try body(key, keys[last] + 1)
        }
    }

    // MARK: - Materialising

    /// Value `t` as a `JSONValue` (objects keep their `sourceRange`).
    public func value(_ t: Int) -> JSONValue {
        let token = tokens[t]
        switch token.kind {
        case .null: return .null
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .number:
            return .number(bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[span(t)]), as: UTF8.self) })
        case .string: return .string(string(t))
        case .array:
            var elements: [JSONValue] = []
            elements.reserveCapacity(Int(token.count))
            forEachElement(t) { elements.append(value($0)) }
            return .array(elements)
        case .object: return .object(object(t))
        }
    }

    /// Object `t` as a `JSONObject`.
    public func object(_ t: Int) -> JSONObject {
        var members: [JSONObject.Member] = []
        members.reserveCapacity(Int(tokens[t].count))
        forEachMember(t) { key, value in members.append(JSONObject.Member(key: string(key), value: self.value(value))) }
        return JSONObject(members, sourceRange: span(t))
    }

    // MARK: - Escapes

    /// The UTF-8 text of an escaped string's span (already checked by the parser).
    func decodeEscaped(_ start: Int, _ end: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        var i = start
        func hex4(_ at: Int) -> UInt32 {
            var value: UInt32 = 0
            for k in at..<(at + 4) {
                let byte = bytes[k]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                default: digit = UInt32(byte - 0x61 + 10)
                }
                value = value << 4 | digit
            }
            return value
        }
        while i < end {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            let escaped = bytes[i + 1]
            i += 2
            switch escaped {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(i)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hex4(i + 2)
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default: out.append(escaped)   // " \ /
            }
        }
        return out
    }
}

@inline(__always) func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80: out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | (scalar >> 6)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | (scalar >> 12)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        out.append(UInt8(0xF0 | (scalar >> 18)))
        out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}

/// The strict RFC 8259 grammar, writing tokens (see `JSONParser` for what is refused).
struct TapeCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: JSONParser.Limits
    var index = 0
    var tokens: [JSONTape.Token] = []
    /// Key tokens of the objects being parsed (each object's from its base up).
    var keyStack: [Int32] = []
    /// Decoded keys, for comparing keys with escapes.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONParser.Limits) {
        self.bytes = bytes
        self.limits = limits
        tokens.reserveCapacity(bytes.count / 8 + 1)
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

    @inline(__always) mutating func push(_ kind: JSONTape.Kind, _ start: Int, _ end: Int, flag: Bool = false) {
        tokens.append(JSONTape.Token(kind: kind, flag: flag, start: Int32(start), end: Int32(end), next: Int32(tokens.count + 1), count: 0))
    }

    mutating func parseValue(depth: Int) throws(JSONError) {
        guard index < bytes.count else { throw error("json.eof", "unexpected end of input, a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): try parseString()
        case UInt8(ascii: "t"): try expectLiteral("true", .true)
        case UInt8(ascii: "f"): try expectLiteral("false", .false)
        case UInt8(ascii: "n"): try expectLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
        default:
            throw error("json.syntax", "unexpected character \(describe(bytes[index])), a value was expected")
        }
    }

    func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    mutating func expectLiteral(_ literal: StaticString, _ kind: JSONTape.Kind) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("json.syntax", "invalid literal, expected '\(literal)'") }
        let start = literal.utf8Start
        for i in 0..<count where bytes[index + i] != start[i] {
            throw error("json.syntax", "invalid literal, expected '\(literal)'")
        }
        push(kind, index, index + count)
        index += count
    }

    /// The bytes of key token `k` (decoded when escaped) compared with key token `j`'s.
    func sameKey(_ j: Int32, _ k: Int32) -> Bool {
        let a = tokens[Int(j)], b = tokens[Int(k)]
        if !a.flag && !b.flag {
            guard a.end - a.start == b.end - b.start else { return false }
            return compareBytes(bytes.baseAddress! + Int(a.start), Int(a.end - a.start), bytes.baseAddress! + Int(b.start), Int(b.end - b.start)) == 0
        }
        return keyBytes(j) == keyBytes(k)
    }

    func keyBytes(_ k: Int32) -> [UInt8] {
        let token = tokens[Int(k)]
        let raw = Array(UnsafeBufferPointer(rebasing: bytes[Int(token.start)..<Int(token.end)]))
        return token.flag ? JSONTape(bytes: raw, tokens: []).decodeEscaped(0, raw.count) : raw
    }

    mutating func parseObject(depth: Int) throws(JSONError) {
        guard depth <= limits.maxDepth else { throw error("json.depth", "nesting deeper than \(limits.maxDepth) levels") }
        let start = index
        let me = tokens.count
        push(.object, start, start)
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            finish(me)
            return
        }
        let keyBase = keyStack.count
        defer { keyStack.removeSubrange(keyBase...) }
        var keySet: Set<[UInt8]>?
        var members: Int32 = 0
        var repeated = false
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("json.eof", "unexpected end of input inside an object") }
            guard bytes[index] == UInt8(ascii: "\"") else { throw error("json.syntax", "expected a string key in object, found \(describe(bytes[index]))") }
            let keyOffset = index
            let key = Int32(tokens.count)
            try parseString()
            // A repeated key: the earlier keys of this object, or a set of them once there are many.
            var duplicate = false
            if let set = keySet {
                duplicate = set.contains(keyBytes(key))
                if !duplicate { keySet!.insert(keyBytes(key)) }
            } else {
                for j in keyStack[keyBase...] where sameKey(j, key) { duplicate = true; break }
                keyStack.append(key)
                if keyStack.count - keyBase > 32 { keySet = Set(keyStack[keyBase...].map(keyBytes)) }
            }
            if duplicate {
                if limits.duplicateKeys == .reject {
                    throw error("json.duplicate-key", "duplicate key \"\(String(decoding: keyBytes(key), as: UTF8.self))\" in object", at: keyOffset)
                }
                repeated = true
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("json.syntax", "expected ':' after object key \"\(String(decoding: keyBytes(key), as: UTF8.self))\"")
            }
            index += 1
            skipWhitespace()
            try parseValue(depth: depth)
            members += 1
            skipWhitespace()
            guard index < bytes.count else { throw error("json.eof", "unexpected end of input inside an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                tokens[me].count = members
                tokens[me].flag = repeated
                finish(me)
                return
            }
            throw error("json.syntax", "expected ',' or '}' in object, found \(describe(bytes[index]))")
        }
    }

    /// Closes container token `t` at the current index.
    @inline(__always) mutating func finish(_ t: Int) {
        tokens[t].end = Int32(index)
        tokens[t].next = Int32(tokens.count)
    }

    mutating func parseArray(depth: Int) throws(JSONError) {
        guard depth <= limits.maxDepth else { throw error("json.depth", "nesting deeper than \(limits.maxDepth) levels") }
        let me = tokens.count
        push(.array, index, index)
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            finish(me)
            return
        }
        var elements: Int32 = 0
        while true {
            skipWhitespace()
            try parseValue(depth: depth)
            elements += 1
            skipWhitespace()
            guard index < bytes.count else { throw error("json.eof", "unexpected end of input inside an array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                tokens[me].count = elements
                finish(me)
                return
            }
            throw error("json.syntax", "expected ',' or ']' in array, found \(describe(bytes[index]))")
        }
    }

    mutating func parseNumber() throws(JSONError) {
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
        push(.number, start, index)
    }

    @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Whether none of the eight bytes of `word` is a quote, a backslash, a control
    /// character (< 0x20) or a non-ASCII byte: the string's fast path may skip them all.
    /// (The classic "has a zero byte" test on `word` XOR each byte, with a borrow only
    /// after a byte that already answers "yes": exact, tested against the byte definition.)
    @inline(__always) static func isPlainASCII(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        let control = (word &- 0x2020_2020_2020_2020) & ~word & highs   // some byte < 0x20 (or a borrow after one)
        return word & highs == 0 && control == 0
            && !hasZeroByte(word ^ (ones &* UInt64(UInt8(ascii: "\""))))
            && !hasZeroByte(word ^ (ones &* UInt64(UInt8(ascii: "\\"))))
    }

    /// Checks one string and writes its token; the decoded length counts against
    /// `maxStringBytes`.
    mutating func parseString() throws(JSONError) {
        index += 1 // opening quote
        let start = index
        // Fast path: no escapes, ASCII or valid UTF-8, no control characters.
        while index < bytes.count {
            // Eight bytes at a time while none of them needs a look (most string bytes are
            // plain ASCII: identifiers, times; byte by byte this loop was 4% of capture).
            if index + 8 <= bytes.count && Self.isPlainASCII(UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self)) {
                index += 8
                continue
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                guard index - start <= limits.maxStringBytes else { throw error("json.string", "string longer than \(limits.maxStringBytes) bytes", at: start) }
                push(.string, start, index)
                index += 1
                return
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("json.string", "control character 0x\(String(byte, radix: 16)) in string must be escaped") }
            if byte >= 0x80 { try validateUTF8Sequence() } else { index += 1 }
        }
        guard index < bytes.count else { throw error("json.eof", "unterminated string", at: start - 1) }
        // Escapes: check them, counting the decoded length.
        var decoded = index - start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                guard decoded <= limits.maxStringBytes else { throw error("json.string", "string longer than \(limits.maxStringBytes) bytes", at: start) }
                push(.string, start, index, flag: true)
                index += 1
                return
            }
            if byte < 0x20 { throw error("json.string", "control character 0x\(String(byte, radix: 16)) in string must be escaped") }
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < bytes.count else { break }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    decoded += 1
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
                    decoded += scalar < 0x80 ? 1 : (scalar < 0x800 ? 2 : (scalar < 0x10000 ? 3 : 4))
                default:
                    throw error("json.string", "invalid escape '\\\(Character(Unicode.Scalar(escaped)))' in string", at: index - 2)
                }
                continue
            }
            let sequenceStart = index
            if byte >= 0x80 { try validateUTF8Sequence() } else { index += 1 }
            decoded += index - sequenceStart
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

    /// Validates one multi-byte UTF-8 sequence at `index` (RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF) and advances past it.
    mutating func validateUTF8Sequence() throws(JSONError) {
        let first = bytes[index]
        let length: Int
        let minimum: UInt32
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
        index += length
    }
}

/// A fixed list of member names for `JSONTape.members(_:named:into:)`, each at its index
/// in the list. Names are compared as bytes (after escapes are decoded), as `member` does.
public struct MemberNames: Sendable {
    let map: ByteMap

    public init(_ names: [String]) {
        var map = ByteMap()
        for name in names {
            let inserted = map.insert(name).inserted
            precondition(inserted, "MemberNames: \(name) is listed twice")
        }
        self.map = map
    }

    public var count: Int { map.count }

    /// The index of `name` in the list, or nil.
    public func index(_ name: String) -> Int? {
        map.find(name)
    }
}
