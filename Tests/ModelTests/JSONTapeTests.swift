import Foundation
import Generator
import Testing
@testable import Model

/// `JSONTape` is the JSON parser: it must accept what the recursive parser it replaced
/// accepted, build the same values, and refuse the rest with the same error at the same place.
@Suite struct JSONTapeTests {
    static func limits(_ duplicates: JSONParser.DuplicateKeys) -> JSONParser.Limits {
        var limits = JSONParser.Limits()
        limits.duplicateKeys = duplicates
        limits.maxDepth = 16
        limits.maxStringBytes = 64
        return limits
    }

    /// Same value, or the same error (code, reason, offset), under both duplicate-key rules.
    static func agree(_ bytes: [UInt8]) -> String? {
        for rule in [JSONParser.DuplicateKeys.reject, .lastWins] {
            let limits = limits(rule)
            let expected = Result { () throws(JSONError) in try ReferenceJSONParser.parse(bytes, limits: limits) }
            let actual = Result { () throws(JSONError) in try JSONParser.parse(bytes, limits: limits) }
            switch (expected, actual) {
            case (.success(let a), .success(let b)):
                if a != b { return "\(rule): different values" }
                if case .object(let x) = a, case .object(let y) = b, x.sourceRange != y.sourceRange { return "\(rule): different source ranges" }
            case (.failure(let a), .failure(let b)):
                if a != b { return "\(rule): expected \(a.code) at \(a.offset) (\(a.reason)), got \(b.code) at \(b.offset) (\(b.reason))" }
            case (.success, .failure(let b)): return "\(rule): refused what the reference accepts: \(b)"
            case (.failure(let a), .success): return "\(rule): accepted what the reference refuses: \(a)"
            }
        }
        return nil
    }

    static let seeds: [String] = [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e\u00e9\n\"x\"","f":-1.5e+3},"a":2}"#,
        #"[1,2,{"k":"v","k":"w","k\u0041":"x","kA":"y"},"\ud83d\ude00",[[[]]],{}]"#,
        #"{"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z","epcList":["urn:epc:id:sgtin:1.2.3"],"q":{"n":0.25}}"#,
        "  \"plain\"  ", "0", "-0.0e-0", "{\"x\":\"\\/\\b\\f\\r\\t\"}",
        // Around the test limit of 64 bytes per string, which counts decoded bytes.
        "[\"" + String(repeating: "\\u00e9", count: 32) + "\"]", "\"" + String(repeating: "a", count: 64) + "\"",
        "{\"k\":\"" + String(repeating: "\\n", count: 63) + "\\ud83d\\ude00\"}",
    ]

    @Test func sameValuesAndErrorsAsTheReferenceOnMutatedInput() {
        var random = SplitMix64(seed: 20261124)
        let alphabet = Array(#"{}[]:,"\ u0123456789abcdefABCDEF-+.eEtrunlfs"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xA0, 0xF0, 0x9F, 0xFF, 0x0A]
        var failures: [String] = []
        for round in 0..<30_000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let position = Int(random.next() % UInt64(bytes.count + 1))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: bytes.insert(byte, at: position)
                case 1: if position < bytes.count { bytes.remove(at: position) }
                default: if position < bytes.count { bytes[position] = byte }
                }
            }
            if let failure = Self.agree(bytes) { failures.append("\(String(decoding: bytes, as: UTF8.self)): \(failure)") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test func sameValuesOnTheGS1ExamplesAndTheFuzzCorpora() throws {
        var files = try FileManager.default.contentsOfDirectory(at: TestData.gs1Examples, includingPropertiesForKeys: nil)
        for corpus in ["EPCISFuzz", "AgreementFuzz", "HTTPFuzz", "CryptoFuzz"] {
            let folder = TestData.repositoryRoot.appendingPathComponent("Fuzz/\(corpus)/corpus")
            files += (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        }
        #expect(files.count > 20)
        for file in files {
            let bytes = try TestData.bytes(file)
            // Full limits for the real documents: the point is the values.
            var limits = EPCISDocumentParser.limits
            let expected = try? ReferenceJSONParser.parse(bytes, limits: limits)
            #expect(expected == (try? JSONParser.parse(bytes, limits: limits)), "\(file.lastPathComponent)")
            limits.duplicateKeys = .reject
            #expect((try? ReferenceJSONParser.parse(bytes, limits: limits)) == (try? JSONParser.parse(bytes, limits: limits)), "\(file.lastPathComponent)")
        }
    }

    @Test func repeatedKeysInALargeObjectAreFoundAndTheLastValueKept() throws {
        // Beyond 32 members the tape checks keys with a set: same results as the scan.
        let members = (0..<5_000).map { #""k\#($0)":\#($0)"# } + [#""k\u0031":"last""#]
        let text = Array(("{" + members.joined(separator: ",") + "}").utf8)
        #expect(Self.agree(text) == nil)
        do {
            _ = try JSONParser.parse(text)
            Issue.record("a repeated key was accepted")
        } catch {
            #expect(error.code == "json.duplicate-key" && error.reason.contains("\"k1\""))
        }
        var limits = JSONParser.Limits()
        limits.duplicateKeys = .lastWins
        let tape = try JSONTape.parse(text, limits: limits)
        #expect(tape.member(tape.root, "k1").map(tape.string) == "last")
        var order: [String] = []
        tape.forEachMember(tape.root) { key, _ in order.append(tape.string(key)) }
        #expect(order.count == 5_000 && order[1] == "k1", "a repeated key keeps its first place")
    }

    /// `members(_:named:into:)` finds, in one pass, what `member(_:_:)` finds name by name:
    /// absent names, escaped keys, repeated keys (last value), keys that are not listed.
    @Test func membersInOnePassAgreeWithMemberByMember() throws {
        let names = MemberNames(["type", "eventTime", "epcList", "", "absent", "k1"])
        #expect(names.count == 6 && names.index("epcList") == 2 && names.index("other") == nil)
        let texts = [
            #"{"type":"ObjectEvent","eventTime":"t","extra":1,"epcList":["a"]}"#,
            #"{"event\u0054ime":"escaped","type":1,"type":2,"":"empty key"}"#,
            #"{}"#,
            #"{"k1":1,"k\u0031":"last","epcListX":3,"epcLis":4}"#,
            #"{"typ\u0065":"escaped key","\u0074ime":1,"epc\u004cist":[],"eventTime":"u","event\u0054ime":"t"}"#,
            #"["type","ObjectEvent","eventTime","t","k1"]"#,   // not an object: no members at all
            #""type""#,
            "{" + (0..<40).map { #""m\#($0)":\#($0)"# }.joined(separator: ",") + #","type":"late","m3":"again"}"#,
        ]
        var limits = JSONParser.Limits()
        limits.duplicateKeys = .lastWins
        var values: [Int] = [7, 7]   // whatever was there is replaced
        for text in texts {
            let tape = try JSONTape.parse(Array(text.utf8), limits: limits)
            tape.members(tape.root, named: names, into: &values)
            #expect(values.count == names.count)
            if tape.kind(tape.root) != .object { #expect(values.allSatisfy { $0 == -1 }, "\(text)") }
            for name in ["type", "eventTime", "epcList", "", "absent", "k1"] as [StaticString] {
                #expect(values[names.index("\(name)")!] == (tape.member(tape.root, name) ?? -1), "\(text): \(name)")
            }
        }
    }

    /// The string scanner's eight-byte test against its byte-by-byte definition: every
    /// byte value at every position, among plain and random neighbours.
    @Test func plainASCIIWordsAreExactlyThoseWithNothingToLookAt() {
        func plain(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") }
        func word(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        var state: UInt64 = 0x243F_6A88_85A3_08D3
        func random() -> UInt8 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        for position in 0..<8 {
            for value in 0...255 {
                for background in [UInt8(ascii: "a"), 0x20, 0x7F, UInt8(ascii: "#"), UInt8(ascii: "]")] {
                    var bytes = [UInt8](repeating: background, count: 8)
                    bytes[position] = UInt8(value)
                    #expect(TapeCursor.isPlainASCII(word(bytes)) == bytes.allSatisfy(plain), "\(bytes)")
                }
            }
        }
        for _ in 0..<100_000 {
            // Mostly printable ASCII, sometimes anything, so both answers come up often.
            let bytes = (0..<8).map { _ in random() % 16 == 0 ? random() : 0x20 + random() % 0x60 }
            #expect(TapeCursor.isPlainASCII(word(bytes)) == bytes.allSatisfy(plain), "\(bytes)")
        }
    }

    /// Strings of every length around the eight-byte steps, with the byte that ends the fast
    /// path (quote, backslash, control, non-ASCII) at every offset, parse as the reference does.
    @Test func stringsAroundTheEightByteStepsAgreeWithTheReference() {
        let specials: [[UInt8]] = [[], Array("\\\"".utf8), Array("\\n".utf8), [0x01], Array("é".utf8), [0xC3], Array("\\u00e9".utf8)]
        for length in 0..<20 {
            for offset in 0...length {
                for special in specials {
                    var body = [UInt8](repeating: UInt8(ascii: "x"), count: length)
                    body.insert(contentsOf: special, at: offset)
                    for text in [[UInt8(ascii: "\"")] + body + [UInt8(ascii: "\"")], [UInt8(ascii: "\"")] + body] {
                        #expect(Self.agree(text) == nil, "\(text)")
                    }
                }
            }
        }
    }

    @Test func theStringLimitCountsDecodedBytes() throws {
        let limits = Self.limits(.reject)
        let atLimit = Array(("\"" + String(repeating: "\\u00e9", count: 32) + "\"").utf8)   // 192 bytes of text, 64 decoded
        #expect(try JSONParser.parse(atLimit, limits: limits) == .string(String(repeating: "é", count: 32)))
        let over = Array(("\"" + String(repeating: "\\u00e9", count: 32) + "x\"").utf8)
        #expect(throws: JSONError.self) { try JSONParser.parse(over, limits: limits) }
        #expect(Self.agree(atLimit) == nil && Self.agree(over) == nil)
    }

    @Test func readingTokensInPlace() throws {
        let text = Array(#"  {"s":"a\"b","n":-12.5e3,"l":[1,{"x":null}],"e":"\u0041\ud83d\ude00","t":true}"#.utf8)
        let tape = try JSONTape.parse(text)
        let root = tape.root
        #expect(tape.kind(root) == .object && tape.span(root) == 2..<text.count)
        #expect(tape.member(root, "s").map(tape.string) == "a\"b")
        #expect(tape.member(root, "e").map { tape.stringEquals($0, "A😀") } == true)
        #expect(tape.member(root, "s").map { tape.stringEquals($0, "a\"c") } == false)
        let number = try #require(tape.member(root, "n"))
        #expect(tape.kind(number) == .number && String(decoding: text[tape.span(number)], as: UTF8.self) == "-12.5e3")
        let list = try #require(tape.member(root, "l"))
        var kinds: [JSONTape.Kind] = []
        tape.forEachElement(list) { kinds.append(tape.kind($0)) }
        #expect(kinds == [.number, .object])
        #expect(tape.next(list) == (try #require(tape.member(root, "e"))) - 1, "next skips the whole array")
        #expect(tape.member(root, "missing") == nil)
        #expect(tape.typeDescription(try #require(tape.member(root, "t"))) == "a boolean")
    }
}
