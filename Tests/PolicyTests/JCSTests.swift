import Testing
import Model
@testable import Policy

@Suite struct JCSTests {
    func canonical(_ text: String) throws -> String {
        try JCS.canonicalString(try JSONParser.parse(Array(text.utf8)))
    }

    /// RFC 8785 §3.2.2 (and cyberphone testdata values.json): numbers, escaping, literals.
    @Test func rfcSampleObject() throws {
        let input = #"""
        {
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }
        """#
        #expect(try canonical(input) == #"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#)
    }

    /// RFC 8785 §3.2.2 as UTF-8 bytes (the RFC prints them in hex).
    @Test func rfcSampleBytes() throws {
        let bytes = try JCS.canonicalize(try JSONParser.parse(Array(#"{"numbers":[1E30,4.50,6,2e-3,0.000000000000000000000000001],"escaping":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","other":[null,true,false]}"#.utf8)))
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
        #expect(hex == "7b 22 65 73 63 61 70 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 2c 22 6e 75 6d 62 65 72 73 22 3a 5b 31 65 2b 33 30 2c 34 2e 35 2c 36 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 6f 74 68 65 72 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 7d")
    }

    /// RFC 8785 §3.2.3: sorting by UTF-16 code units (the emoji's surrogates sort before U+FB33).
    @Test func rfcSortingSample() throws {
        let input = #"""
        {
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }
        """#
        #expect(try canonical(input) == "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"דּ\":\"Hebrew Letter Dalet With Dagesh\"}")
    }

    /// cyberphone testdata weird.json: DEL is not escaped, `</script>` neither.
    @Test func cyberphoneWeird() throws {
        let input = #"{"\u20ac":"Euro Sign","1":"One","\u0080":"Control\u007f","\ud83d\ude02":"Smiley","\u00f6":"Latin Small Letter O With Diaeresis","\ufb33":"Hebrew Letter Dalet With Dagesh","</script>":"Browser Challenge"}"#
        #expect(try canonical(input) == "{\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\u{80}\":\"Control\u{7f}\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😂\":\"Smiley\",\"דּ\":\"Hebrew Letter Dalet With Dagesh\"}")
    }

    /// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    @Test(arguments: [
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"),
        ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"),
        ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"),
        ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ])
    func appendixB(bits: String, expected: String) throws {
        let value = Double(bitPattern: UInt64(bits, radix: 16)!)
        #expect(try JCS.number(value) == expected)
    }

    /// Appendix B's NaN and Infinity rows are errors.
    @Test func nonFiniteRefused() {
        for bits in ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"] {
            #expect(throws: PolicyError.self) { try JCS.number(Double(bitPattern: UInt64(bits, radix: 16)!)) }
        }
        // A JSON number beyond the double range has no canonical form either; the path is named.
        #expect(throws: PolicyError(code: "jcs.number", path: "a[1]", reason: "a[1]: NaN and Infinity have no JSON form (a number beyond the double range is refused)")) {
            try JCS.canonicalize(try JSONParser.parse(Array(#"{"a":[1,1e400]}"#.utf8)))
        }
    }

    /// Number texts as they appear in documents.
    @Test(arguments: [
        ("1e21", "1e+21"), ("1E21", "1e+21"), ("1e-7", "1e-7"), ("1.5e-7", "1.5e-7"),
        ("333333333.3333333", "333333333.3333333"), ("0.000001", "0.000001"), ("0.000001e0", "0.000001"),
        ("9007199254740992", "9007199254740992"), ("4.50", "4.5"), ("2e-3", "0.002"), ("1E30", "1e+30"),
        ("-0", "0"), ("-0.0", "0"), ("0", "0"), ("100", "100"), ("1e20", "100000000000000000000"),
        ("123456789012345678901", "123456789012345680000"), ("0.1", "0.1"), ("-1.25", "-1.25"),
        ("1e-6", "0.000001"), ("1.0e+2", "100"), ("12.50e-1", "1.25"), ("5e-324", "5e-324"),
    ])
    func numberTexts(text: String, expected: String) throws {
        #expect(try JCS.number(text) == expected)
    }

    @Test func nestedSortingAndArraysKeepOrder() throws {
        #expect(try canonical(#"{"b":[3,{"z":1,"a":2}],"a":{"d":null,"c":true}}"#) == #"{"a":{"c":true,"d":null},"b":[3,{"a":2,"z":1}]}"#)
    }
}
