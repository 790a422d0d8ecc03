import Testing
import Model
@testable import Policy

@Suite struct LintTests {
    func codes(_ text: String) -> [String] { Lint.check(Array(text.utf8)).map { "\($0.code) \($0.path)" } }

    @Test func theExampleIsClean() throws {
        #expect(Lint.check(Array(Fixtures.bilateral.utf8)) == [])
    }

    @Test func unknownTermsAreFindingsNotStops() throws {
        let bytes = try Fixtures.edited { root in
            root["dataController"] = "x"
            root["validity"] = .object(["notBefore": "2027-01-01T00:00:00Z", "notAfter": "2026-01-01T00:00:00Z"])
        }
        let findings = Lint.check(bytes)
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
        #expect(codes(text) == ["lint.not-a-party flows[0].to[2]", "lint.self-flow flows[0]", "lint.duplicate-flow flows[2].id"])
    }

    @Test func filtersTheReceiverCannotRecheck() {
        let text = Fixtures.bilateral.replacingFirst(#""fields": ["a", "f", "g", "h", "j"]"#, with: #""fields": ["a", "h"]"#)
        #expect(codes(text) == ["lint.unverifiable-filter flows[0].rowFilter.productCategories", "lint.unverifiable-filter flows[0].rowFilter.destinationCountry"])
        let transactions = Fixtures.bilateral.replacingFirst(#""eventTypes": ["ObjectEvent"]"#, with: #""eventTypes": ["ObjectEvent", "TransactionEvent"]"#)
        #expect(Lint.check(Array(transactions.utf8)).map(\.severity) == [.warning])
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
        #expect(Lint.check(amendment) == [])
    }
}
