import Testing
@testable import Model

/// The numeric and whitespace conventions the reference hash generator inherits from Python.
@Suite struct PythonCompatibilityTests {
    @Test(arguments: [
        ("200", "200"), ("200.0", "200"), ("200.5", "200.5"), ("+5", "5"), ("-0", "0"), ("-0.0", "0"), ("1e3", "1000"),
        ("1_000", "1000"), (".5", "0.5"), ("5.", "5"), ("0.00001", "1e-05"), ("1.5e-7", "1.5e-07"), ("0.1", "0.1"),
        ("1e16", "10000000000000000"), ("1e20", "100000000000000000000"), ("12345678901234567890", "12345678901234567168"),
        ("007", "7"), (" 42 ", "42"),
    ])
    func numericCanonical(input: String, expected: String) {
        #expect(PythonNumber.canonicalIfNumeric(input) == expected)
    }

    @Test(arguments: ["abc", "1__0", "_1", "1_", "1e", "0x10", "nan", "inf", "-Infinity", "1.2.3", "", "1e400", "urn:epc:id:sgtin:1.2.3"])
    func notNumeric(input: String) {
        #expect(PythonNumber.canonicalIfNumeric(input) == nil)
    }

    @Test func jsonNumbersAsPythonStr() {
        #expect(PythonNumber.str(ofJSONNumber: "4") == "4")
        #expect(PythonNumber.str(ofJSONNumber: "-0") == "0")
        #expect(PythonNumber.str(ofJSONNumber: "12.10") == "12.1")
        #expect(PythonNumber.str(ofJSONNumber: "2e2") == "200.0")
        #expect(PythonNumber.str(ofJSONNumber: "1e400") == "inf")
    }

    @Test func stripMatchesPython() {
        #expect(PythonText.strip("  a b \t\n") == "a b")
        #expect(PythonText.strip("\u{00A0}x\u{2003}") == "x")
        #expect(PythonText.strip("\u{1C}x") == "x")
        #expect(PythonText.strip("   ") == "")
        #expect(PythonText.strip("plain") == "plain")
    }
}
