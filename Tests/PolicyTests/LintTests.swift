import Testing
import Model
@testable import Policy

@Suite struct LintTests {
    /// Findings other than the (e)/(i) warnings every flow of the fixture's answerEnquiry flows raises.
    func others(_ findings: [Finding]) -> [Finding] { findings.filter { $0.code != "lint.sensitive-element" } }
    func codes(_ text: String) -> [String] { others(Lint.check(Array(text.utf8))).map { "\($0.code) \($0.path)" } }

    @Test func theExampleHasOnlySensitiveElementWarnings() throws {
        let findings = Lint.check(Array(Fixtures.bilateral.utf8))
        // The two answerEnquiry flows share (e) and (i); the replicate flow shares neither.
        #expect(findings.map { "\($0.severity) \($0.code) \($0.path)" } == [
            "warning lint.sensitive-element flows[1].fields", "warning lint.sensitive-element flows[1].fields",
            "warning lint.sensitive-element flows[2].fields", "warning lint.sensitive-element flows[2].fields",
        ])
        #expect(findings[0].message.contains("element (e)") && findings[0].message.contains("payment"))
        #expect(findings[0].message.contains("'ua-answers-kz' (UA→KZ)"))
        #expect(findings[1].message.contains("element (i)") && findings[1].message.contains("personal data"))
        // Without (e) and (i): nothing sensitive (but TransactionEvents would lack bizTransactionList).
        let plain = Fixtures.bilateral.replacingOccurrences(of: #""fields": ["a", "b", "e", "f", "g", "h", "i", "j"]"#, with: #""fields": ["a", "b", "f", "g", "h", "j"]"#)
        #expect(Lint.check(Array(plain.utf8)).map(\.code) == ["lint.transaction-without-e", "lint.transaction-without-e"])
    }

    @Test func aRecipientConditionInAFlowToSeveralPartiesIsAWarning() {
        // The fixture's replicate flow has destinationCountry "recipient": fine with one recipient…
        #expect(!codes(Fixtures.bilateral).contains { $0.hasPrefix("lint.recipient-condition") })
        // …but with two, one stream would share only what satisfies it for both.
        var two = Fixtures.bilateral
        let firstTo = two.range(of: #""to": ["urn:fctc:party:UA"],"#)!   // the replicate flow comes first
        two.replaceSubrange(firstTo, with: #""to": ["urn:fctc:party:UA", "urn:fctc:party:BY"],"#)
        two = two.replacingOccurrences(of: #"{"party": "urn:fctc:party:UA", "competentAuthority": "State Customs Service of Ukraine"}"#,
                                       with: #"{"party": "urn:fctc:party:UA", "competentAuthority": "State Customs Service of Ukraine"}, {"party": "urn:fctc:party:BY", "competentAuthority": "State Customs Committee"}"#)
        let findings = others(Lint.check(Array(two.utf8)))
        #expect(findings.map { "\($0.severity) \($0.code) \($0.path)" }.contains("warning lint.recipient-condition flows[0].rowFilter.destinationCountry"),
                "\(findings.map(\.code))")
        // A flow to several Parties without such a condition raises nothing.
        let plain = two.replacingOccurrences(of: #""destinationCountry": "recipient","#, with: "")
        #expect(plain != two)
        #expect(!codes(plain).contains { $0.hasPrefix("lint.recipient-condition") })
    }

    @Test func windowAgainstAnInstant() {
        let bytes = Array(Fixtures.bilateral.utf8)
        let sensitive = Lint.check(bytes).count
        // Inside the window (both ends inclusive): nothing more.
        #expect(Lint.check(bytes, at: Fixtures.time("2026-06-01T00:00:00Z")).count == sensitive)
        #expect(Lint.check(bytes, at: Fixtures.time("2027-12-31T23:59:59Z")).count == sensitive)
        let expired = Lint.check(bytes, at: Fixtures.time("2028-01-01T00:00:00Z")).filter { !$0.code.hasPrefix("lint.sensitive") }
        #expect(expired.map { "\($0.severity) \($0.code) \($0.path)" } == ["error lint.expired validity.notAfter"])
        #expect(expired[0].message.contains("ended at 2027-12-31T23:59:59.000Z"))
        let early = Lint.check(bytes, at: Fixtures.time("2025-12-31T23:59:59Z")).filter { !$0.code.hasPrefix("lint.sensitive") }
        #expect(early.map { "\($0.severity) \($0.code) \($0.path)" } == ["warning lint.not-yet-valid validity.notBefore"])
        // Without an instant, lint is timeless.
        #expect(Lint.check(bytes).allSatisfy { $0.code == "lint.sensitive-element" })
    }

    @Test func theIndustryAsAPartyIsAFinding() {
        for urn in ["urn:gs1:417:4870001000005", "urn:fctc:industry:steppe-gold", "https://id.gs1.org/417/4870001000005"] {
            let text = Fixtures.bilateral.replacingFirst(#"{"party": "urn:fctc:party:UA", "competentAuthority": "State Customs Service of Ukraine"}"#,
                                                         with: #"{"party": "\#(urn)", "competentAuthority": "Steppe Gold Tobacco JSC"}"#)
            let findings = Lint.check(Array(text.utf8))
            let party = findings.first { $0.code == "agreement.party" }
            #expect(party?.severity == .error, "\(findings)")
            #expect(party?.path == "parties[1].party")
            #expect(party?.message.contains("the tobacco industry never is (Art. 8.12)") == true, "\(String(describing: party))")
            #expect(party?.message.contains(urn) == true)
        }
    }

    @Test func unknownTermsAreFindingsNotStops() throws {
        let bytes = try Fixtures.edited { root in
            root["dataController"] = "x"
            root["validity"] = .object(["notBefore": "2027-01-01T00:00:00Z", "notAfter": "2026-01-01T00:00:00Z"])
        }
        let findings = others(Lint.check(bytes))
        #expect(findings.map(\.code) == ["agreement.unknown-member", "lint.inverted-window"])
        #expect(findings[0].path == "dataController")
    }

    @Test func emptyFiltersAndRetentionAndEnquiryLimit() {
        var text = Fixtures.bilateral.replacingFirst(#""eventTypes": ["ObjectEvent"]"#, with: #""eventTypes": []"#)
        text = text.replacingFirst(#""retentionDays": 365"#, with: #""retentionDays": 0"#)
        text = text.replacingFirst(#""mode": "autoUpTo", "maxUIMs": 100"#, with: #""mode": "autoUpTo""#)
        #expect(codes(text) == ["lint.enquiry-limit enquiry.maxUIMs", "lint.empty-filter flows[0].rowFilter.eventTypes", "lint.retention flows[0].duties.retentionDays"])
    }

    @Test func flowPartiesAndDuplicateIDs() {
        var text = Fixtures.bilateral.replacingFirst(#""to": ["urn:fctc:party:UA"]"#, with: #""to": ["urn:fctc:party:UA", "urn:fctc:party:KZ", "urn:fctc:party:BY"]"#)
        text = text.replacingFirst(#""id": "kz-answers-ua""#, with: #""id": "ua-answers-kz""#)
        #expect(codes(text) == ["lint.not-a-party flows[0].to[2]", "lint.self-flow flows[0]", "lint.recipient-condition flows[0].rowFilter.destinationCountry",
                                "lint.duplicate-flow flows[2].id"])
    }

    @Test func filtersTheReceiverCannotRecheck() {
        let text = Fixtures.bilateral.replacingFirst(#""fields": ["a", "f", "g", "h", "j"]"#, with: #""fields": ["a", "h"]"#)
        #expect(codes(text) == ["lint.unverifiable-filter flows[0].rowFilter.productCategories", "lint.unverifiable-filter flows[0].rowFilter.destinationCountry"])
        let transactions = Fixtures.bilateral.replacingFirst(#""eventTypes": ["ObjectEvent"]"#, with: #""eventTypes": ["ObjectEvent", "TransactionEvent"]"#)
        #expect(others(Lint.check(Array(transactions.utf8))).map(\.severity) == [.warning])
    }

    @Test func overlappingAgreements() throws {
        let a = try Fixtures.agreement()
        let b = try Agreement.parse(Array(Fixtures.bilateral.replacingFirst(#""id": "kz-ua-2026""#, with: #""id": "kz-ua-extra""#)
            .replacingFirst(#""bizSteps": ["commissioning", "shipping"]"#, with: #""bizSteps": ["shipping", "receiving"]"#).utf8))
        let findings = Lint.overlaps([a, b])
        #expect(findings.first?.code == "lint.overlap")
        #expect(findings.first?.message.contains("business steps [https://ref.gs1.org/cbv/BizStep-shipping]") == true)
        // Disjoint business steps, disjoint windows, or an amendment: no overlap.
        let disjoint = try Agreement.parse(Array(Fixtures.bilateral.replacingFirst(#""bizSteps": ["commissioning", "shipping"]"#, with: #""bizSteps": ["receiving"]"#).utf8))
        #expect(Lint.overlaps([a, disjoint]).filter { $0.path == "agreements[0].flows[0]" }.isEmpty)
        let later = try Agreement.parse(Array(Fixtures.bilateral.replacingFirst(#""notBefore": "2026-01-01T00:00:00Z", "notAfter": "2027-12-31T23:59:59Z""#, with: #""notBefore": "2028-01-01T00:00:00Z", "notAfter": "2029-01-01T00:00:00Z""#).utf8))
        #expect(Lint.overlaps([a, later]) == [])
        let amendment = try Agreement.parse(try Fixtures.edited { root in
            root["version"] = 2
            root["supersedes"] = .string(a.hash)
        })
        #expect(Lint.overlaps([a, amendment]) == [])
        #expect(others(Lint.check(amendment)) == [])
    }
}
