import Testing
import Model
@testable import Policy

@Suite struct AgreementParserTests {
    func refusal(_ bytes: [UInt8]) -> PolicyError? {
        do { _ = try Agreement.parse(bytes); return nil } catch { return error }
    }

    func refusal(_ edit: (inout JSONObject) -> Void) throws -> PolicyError? {
        refusal(try Fixtures.edited(edit))
    }

    @Test func parsesTheBilateralAgreement() throws {
        let a = try Fixtures.agreement()
        #expect(a.id == "kz-ua-2026")
        #expect(a.version == 1 && a.supersedes == nil && a.profile == "fctc-tt-1")
        #expect(a.partyIDs == [Fixtures.kz, Fixtures.ua])
        #expect(a.purposes == [.illicitTradeDetection, .investigation])
        #expect(a.flows.map(\.id) == ["kz-to-ua-shipments", "ua-answers-kz", "kz-answers-ua"])
        let flow = a.flows[0]
        #expect(flow.rowFilter.eventTypes == [.object])
        #expect(flow.rowFilter.bizSteps == ["https://ref.gs1.org/cbv/BizStep-commissioning", "https://ref.gs1.org/cbv/BizStep-shipping"])
        #expect(flow.rowFilter.productCategories == [.cigarettes])
        #expect(flow.rowFilter.destinationCountry == .recipient)
        #expect(flow.rowFilter.dispositions == nil)
        #expect(flow.fields == [.a, .f, .g, .h, .j])
        #expect(flow.duties == Agreement.Duties(retentionDays: 365, receipts: true))
        #expect(a.flows[1].rowFilter == Agreement.RowFilter(eventTypes: nil, bizSteps: nil, dispositions: nil, productCategories: nil, sourceCountry: nil, destinationCountry: nil, eventTimeFrom: nil, eventTimeBefore: nil))
        #expect(a.onwardTransfer == .forbidden)
        #expect(a.relay.viaHub == Fixtures.hub)
        #expect(a.enquiry == Agreement.EnquiryTerms(mode: .autoUpTo, maxUIMs: 100, answerWithinHours: 72))
        #expect(a.termination == Agreement.Termination(noticeDays: 90, receivedData: .retainUntilRetention))
        #expect(a.hash.utf8.count == 64)
    }

    /// The identity is the JCS hash without signatures: layout, member order and signatures do not change it.
    @Test func hashIgnoresLayoutOrderAndSignatures() throws {
        let a = try Fixtures.agreement()
        #expect(a.hash == JCSHash.of(a.canonicalBytes))
        let reordered = try Fixtures.edited { root in
            root.members.reverse()
            root["signatures"] = [.object(["party": "urn:fctc:party:KZ", "cms": "MIIB+w=="])]
        }
        let b = try Agreement.parse(reordered)
        #expect(b.hash == a.hash)
        #expect(b.signatures == [Agreement.Signature(party: Fixtures.kz, cms: "MIIB+w==")])
        let amended = try Agreement.parse(try Fixtures.edited { $0["legalBasis"] = "Art. 8" })
        #expect(amended.hash != a.hash)
        // The canonical bytes start with the sorted members and carry no signatures.
        let text = String(decoding: a.canonicalBytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"enquiry":{"answerWithinHours":72,"maxUIMs":100,"mode":"autoUpTo"},"flows":"#))
        #expect(!text.contains("signatures"))
    }

    @Test func unknownMemberAtTheTop() throws {
        let e = try refusal { $0["dataController"] = "x" }
        #expect(e?.code == "agreement.unknown-member")
        #expect(e?.path == "dataController")
        #expect(e?.reason.contains("dataController") == true)
    }

    @Test func unknownMemberInsideAFlow() throws {
        let e = try refusal { root in
            guard case .array(var flows) = root["flows"]!, case .object(var flow) = flows[1] else { return }
            flow["priority"] = 1
            flows[1] = .object(flow)
            root["flows"] = .array(flows)
        }
        #expect(e?.code == "agreement.unknown-member")
        #expect(e?.path == "flows[1].priority")
    }

    @Test func unknownMemberInARowFilter() {
        let text = Fixtures.bilateral.replacingFirst(#""eventTimeFrom""#, with: #""packagingColour": "red", "eventTimeFrom""#)
        let e = refusal(Array(text.utf8))
        #expect(e?.code == "agreement.unknown-member")
        #expect(e?.path == "flows[0].rowFilter.packagingColour")
    }

    @Test func unknownMemberInDutiesAndEnquiryAndParties() {
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""retentionDays": 365"#, with: #""retentionDays": 365, "shareWithIndustry": true"#).utf8))?.path == "flows[0].duties.shareWithIndustry")
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""answerWithinHours": 72"#, with: #""answerWithinHours": 72, "escalate": "x""#).utf8))?.path == "enquiry.escalate")
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""competentAuthority": "State Customs"#, with: #""email": "x", "competentAuthority": "State Customs"#).utf8))?.path == "parties[1].email")
    }

    @Test func unknownProfile() throws {
        let e = try refusal { $0["profile"] = "fctc-tt-2" }
        #expect(e?.code == "agreement.profile")
        #expect(e?.path == "profile")
    }

    @Test func industryIsNeverAParty() {
        let text = Fixtures.bilateral.replacingFirst(#""party": "urn:fctc:party:UA""#, with: #""party": "https://id.gs1.org/417/4820001000007""#)
        let e = refusal(Array(text.utf8))
        #expect(e?.code == "agreement.party")
        #expect(e?.path == "parties[1].party")
        #expect(e?.reason.contains("Art. 8.12") == true)
        // The hub is not a Party either, nor may it appear in a flow.
        let hubFlow = Fixtures.bilateral.replacingFirst(#""to": ["urn:fctc:party:UA"]"#, with: #""to": ["urn:fctc:hub:gsp"]"#)
        #expect(refusal(Array(hubFlow.utf8))?.path == "flows[0].to[0]")
    }

    @Test func wrongTypesNameTheirPath() throws {
        #expect(try refusal { $0["version"] = "1" }?.path == "version")
        #expect(try refusal { $0["version"] = .number("1.5") }?.path == "version")
        #expect(try refusal { $0["purposes"] = "investigation" }?.path == "purposes")
        #expect(try refusal { $0["purposes"] = ["marketing"] }?.path == "purposes[0]")
        #expect(try refusal { $0["validity"] = .object(["notBefore": "2026-01-01", "notAfter": "2027-01-01T00:00:00Z"]) }?.path == "validity.notBefore")
        #expect(try refusal { $0["onwardTransfer"] = .object(["allowed": true]) }?.path == "onwardTransfer.allowed")
        #expect(try refusal { $0["relay"] = .object(["viaHub": "urn:fctc:party:KZ"]) }?.path == "relay.viaHub")
        #expect(try refusal { $0["supersedes"] = "abc" }?.path == "supersedes")
        #expect(try refusal { $0["id"] = nil }?.code == "agreement.missing")
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""eventTypes": ["ObjectEvent"]"#, with: #""eventTypes": "ObjectEvent""#).utf8))?.path == "flows[0].rowFilter.eventTypes")
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""bizSteps": ["commissioning", "shipping"]"#, with: #""bizSteps": ["commissioning", "smuggling"]"#).utf8))?.path == "flows[0].rowFilter.bizSteps[1]")
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""fields": ["a", "f""#, with: #""fields": ["a", "k""#).utf8))?.path == "flows[0].fields[1]")
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""receipts": true"#, with: #""receipts": false"#).utf8))?.path == "flows[0].duties.receipts")
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""destinationCountry": "recipient""#, with: #""destinationCountry": "ukraine""#).utf8))?.path == "flows[0].rowFilter.destinationCountry")
        #expect(refusal(Array(Fixtures.bilateral.replacingFirst(#""mode": "autoUpTo""#, with: #""mode": "always""#).utf8))?.path == "enquiry.mode")
    }

    @Test func malformedAndDuplicateKeysAreRefused() {
        #expect(refusal(Array("{".utf8))?.code == "agreement.json")
        #expect(refusal(Array(#"{"id": "a", "id": "b"}"#.utf8))?.code == "agreement.json")
        #expect(refusal(Array("[]".utf8))?.code == "agreement.type")
    }

    /// Lint sees every issue, not just the first.
    @Test func readerCollectsEveryIssue() throws {
        let result = AgreementParser.read(try Fixtures.edited { root in
            root["x"] = 1
            root["profile"] = "other"
        })
        #expect(result.issues.map(\.path) == ["x", "profile"])
        #expect(result.agreement == nil)
        let unknownOnly = AgreementParser.read(try Fixtures.edited { $0["x"] = 1 })
        #expect(unknownOnly.agreement != nil)
    }
}

enum JCSHash {
    static func of(_ bytes: [UInt8]) -> String {
        // Recompute from a fresh parse of the canonical bytes: canonical form is a fixed point.
        try! JCS.sha256Hex(try! JSONParser.parse(bytes))
    }
}

extension String {
    /// `self` with the first occurrence of `target` replaced (test fixtures only; no Foundation).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        let chars = Array(self), t = Array(target)
        guard t.count <= chars.count else { fatalError("fixture text not found: \(target)") }
        for start in 0...(chars.count - t.count) where Array(chars[start..<start + t.count]) == t {
            return String(chars[..<start]) + replacement + String(chars[(start + t.count)...])
        }
        fatalError("fixture text not found: \(target)")
    }
}
