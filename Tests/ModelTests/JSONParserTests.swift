import Testing
@testable import Model

@Suite struct JSONParserTests {
    func parse(_ text: String, _ limits: JSONParser.Limits = JSONParser.Limits()) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8), limits: limits)
    }

    func failure(_ bytes: [UInt8], _ limits: JSONParser.Limits = JSONParser.Limits()) -> JSONError? {
        do {
            _ = try JSONParser.parse(bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func keepsMemberOrderAndNumberText() throws {
        let value = try parse(#"{"b": 1.50, "a": [true, false, null], "c": "x\u00e9\n", "d": -0, "e": 1E+3}"#)
        guard case .object(let object) = value else { Issue.record("not an object"); return }
        #expect(object.keys == ["b", "a", "c", "d", "e"])
        #expect(object["b"] == .number("1.50"))
        #expect(object["a"] == [true, false, nil])
        #expect(object["c"] == .string("xé\n"))
        #expect(object["d"] == .number("-0"))
        #expect(object["e"] == .number("1E+3"))
    }

    @Test func surrogatePairsAndUTF8() throws {
        #expect(try parse(#""\ud83d\ude00 ✓""#) == .string("😀 ✓"))
    }

    @Test func sourceRangeCoversTheObject() throws {
        let text = #"[ {"a": 1}, {"b": {"c": 2}} ]"#
        guard case .array(let elements) = try parse(text), case .object(let second) = elements[1] else { Issue.record("shape"); return }
        let bytes = Array(text.utf8)
        #expect(String(decoding: bytes[second.sourceRange!], as: UTF8.self) == #"{"b": {"c": 2}}"#)
    }

    @Test func errorsCarryLineAndColumn() {
        let error = failure(Array("{\n  \"a\": 1,\n  \"b\": tru\n}".utf8))
        #expect(error?.line == 3)
        #expect(error?.column == 8)
        #expect(error?.reason.contains("true") == true)
    }

    @Test(arguments: [
        ("", "json.eof"), ("{", "json.eof"), ("[1,]", "json.syntax"), ("{\"a\" 1}", "json.syntax"), ("01", "json.number"),
        ("1.", "json.number"), ("1e", "json.number"), ("\"\\x\"", "json.string"), ("\"a\u{01}\"", "json.string"),
        ("\"\\ud800\"", "json.string"), ("\"\\udc00\"", "json.string"), ("[1] x", "json.trailing"), ("nul", "json.syntax"),
        ("{\"a\":1,\"a\":2}", "json.duplicate-key"), ("'a'", "json.syntax"),
    ])
    func refusesMalformedInput(text: String, code: String) {
        #expect(failure(Array(text.utf8))?.code == code)
    }

    @Test(arguments: [
        [0x22, 0xC3, 0x22] as [UInt8],            // truncated 2-byte sequence
        [0x22, 0xC0, 0xAF, 0x22],                  // overlong '/'
        [0x22, 0xED, 0xA0, 0x80, 0x22],            // encoded surrogate
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],      // above U+10FFFF
        [0x22, 0xFF, 0x22],                        // never valid
        [0x22, 0xE2, 0x28, 0xA1, 0x22],            // bad continuation
    ])
    func refusesInvalidUTF8(bytes: [UInt8]) {
        #expect(failure(bytes)?.code == "json.utf8")
    }

    @Test func depthLimitStopsDeepNesting() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(failure(deep)?.code == "json.depth")
        var limits = JSONParser.Limits()
        limits.maxDepth = 3
        #expect(failure(Array("[[[[1]]]]".utf8), limits)?.code == "json.depth")
        #expect(failure(Array("[[[1]]]".utf8), limits) == nil)
    }

    @Test func duplicateKeysLastWinsWhenAllowed() throws {
        var limits = JSONParser.Limits()
        limits.duplicateKeys = .lastWins
        let value = try parse(#"{"a": 1, "b": 2, "a": 3}"#, limits)
        #expect(value.objectValue?.keys == ["a", "b"])
        #expect(value.objectValue?["a"] == .number("3"))
    }

    @Test func writerRoundTrips() throws {
        let text = #"{"k":"q\"\\\n\u0001é","n":[1.5e3,-2,true,null],"o":{}}"#
        let value = try parse(text)
        #expect(JSONWriter.string(value) == text)
        #expect(try parse(JSONWriter.string(value)) == value)
    }
}
