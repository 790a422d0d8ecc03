import Foundation
import Testing
@testable import Model

/// `DigitalLinkNormalizer` against GS1 Germany's reference `normaliser` (epcis-event-hash-generator 1.9.3).
@Suite struct DigitalLinkNormalizerTests {
    // MARK: Known answers

    @Test(arguments: [
        ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
        ("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"),
        ("urn:epc:id:sgln:0614141.07346.0", "https://id.gs1.org/414/0614141073467"),
        ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"),
        ("urn:epc:id:pgln:4000001.00012", "https://id.gs1.org/417/4000001000128"),
        ("urn:epc:id:giai:4000001.12345", "https://id.gs1.org/8004/400000112345"),
        ("urn:epc:class:lgtin:4023333.002000.998877", "https://id.gs1.org/01/04023333020008/10/998877"),
        ("urn:epc:idpat:sgtin:4012345.044444.*", "https://id.gs1.org/01/04012345444445"),
        ("urn:epc:id:sgtin:0614141.107346.a%2Fb!c", "https://id.gs1.org/01/10614141073464/21/a%2Fb%21c"),
        ("urn:epc:id:cpi:0614141.123ABC.123456789", "https://id.gs1.org/8010/0614141123ABC/8011/123456789"),
        ("https://example.com/gtin/9520123456788/ser/ABC?x=1", "https://id.gs1.org/01/09520123456788/21/ABC"),
        ("https://id.gs1.org/01/09520123456788/10/ABC/21/XYZ", "https://id.gs1.org/01/09520123456788/21/XYZ"),
        ("https://id.gs1.org/01/09520123456788/22/2A/21/XYZ", "https://id.gs1.org/01/09520123456788/21/XYZ"),
        ("https://id.gs1.org/01/09520123456788/22/2A", "https://id.gs1.org/01/09520123456788"),
        ("http://example.org:8080/01/12345670", "https://id.gs1.org/01/00000012345670"),
    ])
    func knownAnswers(input: String, expected: String) {
        #expect(DigitalLinkNormalizer.normalize(input) == expected)
    }

    @Test(arguments: [
        "", "shipping", "1.5", "urn:epc:id:sgtin:0614141.107346", "urn:epc:id:sgtin:0614141.107346.",
        "urn:epc:id:sgtin:06141.41107346.2017", "urn:epc:id:sgtin:0614141.107346.2017 ", "https://example.com",
        "https://ref.gs1.org/cbv/BizStep-shipping", "urn:epcglobal:cbv:bizstep:shipping",
        "urn:epc:id:sscc:0614141.1234567890\n",  // the reference raises ValueError here
    ])
    func noNormalForm(input: String) {
        #expect(DigitalLinkNormalizer.normalize(input) == nil)
    }

    @Test func reproducesReferenceQuirks() {
        // `$` also matches before a final newline, and uri[32:] keeps it.
        #expect(DigitalLinkNormalizer.normalize("urn:epc:id:sgtin:0614141.107346.2017\n") == "https://id.gs1.org/01/10614141073464/21/2017\n")
        // Python's \d is any Unicode decimal digit.
        #expect(DigitalLinkNormalizer.normalize("urn:epc:id:sgtin:\u{660}614141.107346.2017") == "https://id.gs1.org/01/1\u{660}614141073464/21/2017")
        // The dots of id.gs1.org in the later patterns are unescaped.
        #expect(DigitalLinkNormalizer.normalize("https://idXgs1.org/01/09520123456788") == "https://idXgs1.org/01/09520123456788")
    }

    @Test func checkDigits() {
        #expect(DigitalLinkNormalizer.checkDigit("1061414107346") == 4)
        #expect(DigitalLinkNormalizer.checkDigit("061414107346") == 7)
        #expect(DigitalLinkNormalizer.checkDigit("10614141234567890") == 8)
        #expect(DigitalLinkNormalizer.checkDigit("629104150021") == 3)  // GenSpecs 7.9.1 example, GTIN-13
        #expect(DigitalLinkNormalizer.checkDigit("") == 0)
        #expect(DigitalLinkNormalizer.checkDigit("12a") == nil)
    }

    // MARK: Differential vectors

    /// Every row of `Vectors/digital-link-vectors.tsv`, made by `Vectors/make_dl_vectors.py`
    /// from the reference implementation.
    @Test func referenceVectors() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/digital-link-vectors.tsv")
        let text = try String(contentsOf: url, encoding: .utf8)
        var rows = 0, normalised = 0, mismatches = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("# input\t") {  // the header; inputs may start with "#"
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            try #require(columns.count == 2, "malformed row: \(line)")
            let input = Self.unescape(columns[0])
            let expected: String? = columns[1].isEmpty || columns[1] == "!raise" ? nil : Self.unescape(columns[1])
            let actual = DigitalLinkNormalizer.normalize(input)
            rows += 1
            if expected != nil { normalised += 1 }
            if actual != expected {
                mismatches += 1
                Issue.record("input \(input.debugDescription): expected \(expected.debugDescription), got \(actual.debugDescription)")
            }
        }
        #expect(rows == 10_282)
        #expect(normalised > 1000)
        #expect(mismatches == 0)
    }

    /// The per-document memo gives the normaliser's answer for every vector input, on first
    /// sight, when remembered and after its slot was taken (10,282 inputs, 4,096 slots), and
    /// tells apart strings Swift calls equal but whose code points differ.
    @Test func memoAnswersAsTheNormaliser() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/digital-link-vectors.tsv")
        let inputs = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { Self.unescape($0.split(separator: "\t", omittingEmptySubsequences: false)[0]) }
        #expect(inputs.count > NormalizeMemo.slots)
        let memo = NormalizeMemo()
        var wrong = 0
        for input in inputs + inputs.reversed() + inputs where memo.normalize(input) != DigitalLinkNormalizer.normalize(input) { wrong += 1 }
        #expect(wrong == 0)
        let composed = "https://id.gs1.org/01/09521234543213/21/ABK"         // LATIN CAPITAL K
        let decomposed = "https://id.gs1.org/01/09521234543213/21/AB\u{212A}"  // KELVIN SIGN, canonically K
        #expect(composed == decomposed, "Swift compares canonically")
        #expect(DigitalLinkNormalizer.normalize(composed) != DigitalLinkNormalizer.normalize(decomposed))
        for _ in 0..<2 {
            #expect(memo.normalize(composed) == DigitalLinkNormalizer.normalize(composed))
            #expect(memo.normalize(decomposed) == DigitalLinkNormalizer.normalize(decomposed))
        }
    }

    // MARK: The shortcut for canonical URIs

    @Test(arguments: [
        ("https://id.gs1.org/01/04870001000042/21/9LSTNRQHRX", true),
        ("https://id.gs1.org/01/04870001000042", true),
        ("https://id.gs1.org/01/04870001000042/21/abcdefghij0123456789", true),   // 20 characters
        ("https://id.gs1.org/00/148700010000000017", true),
        ("https://id.gs1.org/414/4870001000110", true),
        ("https://id.gs1.org/01/04870001000042/21/", false),                       // empty serial
        ("https://id.gs1.org/01/04870001000042/21/abcdefghij0123456789X", false),  // 21 characters
        ("https://id.gs1.org/01/04870001000042/21/A%2FB", false),
        ("https://id.gs1.org/01/04870001000042/21/AB\n", false),
        ("https://id.gs1.org/01/0487000100004/21/AB", false),                      // GTIN-13
        ("https://id.gs1.org/01/04870001000042/10/AB", false),                     // a lot
        ("http://id.gs1.org/01/04870001000042/21/AB", false),
        ("https://idXgs1.org/01/04870001000042/21/AB", false),
        ("https://id.gs1.org/00/14870001000000001", false),
        ("https://id.gs1.org/414/4870001000110/254/7", false),
        ("urn:epc:id:sgtin:0614141.107346.2017", false),
    ])
    func shortcutShapes(input: String, expected: Bool) {
        var copy = input
        #expect(copy.withUTF8(DigitalLinkNormalizer.isCanonicalAsIs) == expected)
        if expected { #expect(DigitalLinkNormalizer.normalizeWithoutShortcut(input) == input) }
        #expect(DigitalLinkNormalizer.normalize(input) == DigitalLinkNormalizer.normalizeWithoutShortcut(input))
    }

    /// Every string one edit (a character replaced, inserted or deleted) away from the
    /// shortcut's shapes: wherever the shortcut answers, the patterns give the string back,
    /// and `normalize` always answers as the patterns do.
    @Test func shortcutAnswersOnlyForFixedPoints() {
        let templates = [
            "https://id.gs1.org/01/09521234543213", "https://id.gs1.org/01/09521234543213/21/AB12cd",
            "https://id.gs1.org/01/04870001000042/21/abcdefghij0123456789", "https://id.gs1.org/00/148700010000000017",
            "https://id.gs1.org/414/4870001000110",
        ]
        // "/" and ":" sit either side of the digits (the shortcut tests digits eight at a time).
        let replacements: [String] = ["0", "9", "a", "Z", "/", ":", "@", "`", "\n", " ", "%", "?", "#", ".", "-", "_", "é", "\u{660}", "\u{FF11}"]
        var inputs: [String] = []
        for template in templates {
            let characters = Array(template.unicodeScalars)
            inputs.append(template)
            for i in 0...characters.count {
                if i < characters.count {
                    var deleted = characters
                    deleted.remove(at: i)
                    inputs.append(String(String.UnicodeScalarView(deleted)))
                }
                for replacement in replacements {
                    let scalars = Array(replacement.unicodeScalars)
                    if i < characters.count {
                        var replaced = characters
                        replaced.replaceSubrange(i...i, with: scalars)
                        inputs.append(String(String.UnicodeScalarView(replaced)))
                    }
                    var inserted = characters
                    inserted.insert(contentsOf: scalars, at: i)
                    inputs.append(String(String.UnicodeScalarView(inserted)))
                }
            }
        }
        var taken = 0, declined = 0, wrong = 0
        for input in inputs {
            var copy = input
            let slow = DigitalLinkNormalizer.normalizeWithoutShortcut(input)
            if copy.withUTF8(DigitalLinkNormalizer.isCanonicalAsIs) {
                taken += 1
                if slow != input { wrong += 1; Issue.record("shortcut taken for \(input.debugDescription), patterns give \(slow.debugDescription)") }
            } else {
                declined += 1
            }
            if DigitalLinkNormalizer.normalize(input) != slow { wrong += 1; Issue.record("normalize differs for \(input.debugDescription)") }
        }
        #expect(wrong == 0)
        #expect(taken > 300, "the shortcut is taken for digit and letter replacements (348)")
        #expect(declined > 3000)
    }

    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var result = ""
        var escaping = false
        for character in field {
            if escaping {
                switch character {
                case "t": result.append("\t")
                case "n": result.append("\n")
                case "r": result.append("\r")
                default: result.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
