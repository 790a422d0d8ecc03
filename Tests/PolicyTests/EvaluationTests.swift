import Testing
import Model
@testable import Policy

@Suite struct EvaluationTests {
    let agreement = try! Fixtures.agreement()
    let both: Set<PartyID> = [Fixtures.kz, Fixtures.ua]
    let at = Fixtures.time("2026-04-01T00:00:00Z")

    func outbound(_ text: String, to recipient: PartyID = Fixtures.ua, signedBy: Set<PartyID>? = nil, at: Timestamp? = nil) throws -> Decision {
        Evaluation.outbound(event: try Fixtures.event(text), recipient: recipient, origin: Fixtures.kz, agreement: agreement,
                            signedBy: signedBy ?? both, at: at ?? self.at)
    }

    func condition(_ d: Decision, _ name: String) -> Condition? { d.conditions.first { $0.name == name } }

    @Test func commissioningPermittedAndRedactedPerAllowList() throws {
        let d = try outbound(Fixtures.commissioning)
        #expect(d.permitted && d.flowID == "kz-to-ua-shipments")
        #expect(condition(d, "productCategories") == Condition(flowID: "kz-to-ua-shipments", name: "productCategories", path: "ilmd.tt:productCategory", actual: "cigarettes", expected: "one of [cigarettes]", passed: true))
        #expect(condition(d, "destinationCountry")?.path == "ilmd.tt:intendedMarket")
        // Fields a, f, g, h, j: facility (b), machine (c) and shift/time (d) go; recordTime is never shared.
        let e = d.redactedEvent!
        #expect(e.keys == ["type", "eventTime", "eventTimeZoneOffset", "epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation", "ilmd"])
        #expect(e["ilmd"]?.objectValue?.keys == ["tt:manufactureCountry", "tt:intendedMarket", "tt:productDescription", "tt:productCategory", "tt:brand"])
        #expect(d.removedFields.map(\.path) == ["recordTime", "ilmd.tt:facilityID", "ilmd.tt:machineID", "ilmd.tt:productionShift", "ilmd.tt:productionTime"])
        #expect(d.removedFields[0].rule == "not a core EPCIS member and not mapped to any Article 8.4.1 element")
        #expect(d.removedFields[2].rule == "Article 8.4.1 (c) not in the fields of flow kz-to-ua-shipments")
    }

    @Test func shippingKeepsElementJAndDropsUnknownExtensions() throws {
        let d = try outbound(Fixtures.shipping)
        #expect(d.permitted)
        #expect(condition(d, "destinationCountry") == Condition(flowID: "kz-to-ua-shipments", name: "destinationCountry", path: "tt:destinationCountry", actual: "UA", expected: "UA (the recipient)", passed: true))
        #expect(condition(d, "productCategories")?.path == "tt:productCategory")
        let e = d.redactedEvent!
        #expect(e["tt:consignee"]?.objectValue?.keys == ["tt:name", "tt:identifier", "tt:country"])
        #expect(e["tt:transport"] != nil && e["tt:intendedRoute"] != nil && e["sourceList"] != nil && e["tt:pointOfDeparture"] != nil)
        #expect(d.removedFields == [
            RemovedField(path: "tt:consignee.tt:note", rule: "not a core EPCIS member and not mapped to any Article 8.4.1 element"),
            RemovedField(path: "example:internalBatch", rule: "not a core EPCIS member and not mapped to any Article 8.4.1 element"),
        ])
    }

    @Test func eachRowFilterConditionCanDeny() throws {
        // eventTypes
        var d = try outbound(Fixtures.transaction)
        #expect(!d.permitted)
        #expect(condition(d, "eventTypes") == Condition(flowID: "kz-to-ua-shipments", name: "eventTypes", path: "type", actual: "TransactionEvent", expected: "one of [ObjectEvent]", passed: false))
        // bizSteps
        d = try outbound(Fixtures.shipping.replacingFirst(#""bizStep": "shipping""#, with: #""bizStep": "receiving""#))
        #expect(!d.permitted && condition(d, "bizSteps")?.actual == "https://ref.gs1.org/cbv/BizStep-receiving")
        // productCategories (value and absence)
        d = try outbound(Fixtures.shipping.replacingFirst(#""tt:productCategory": "cigarettes""#, with: #""tt:productCategory": "other-tobacco""#))
        #expect(!d.permitted && condition(d, "productCategories")?.actual == "other-tobacco")
        d = try outbound(Fixtures.shipping.replacingFirst(#""tt:productCategory": "cigarettes","#, with: ""))
        #expect(!d.permitted && condition(d, "productCategories")?.actual == "absent")
        // destinationCountry = recipient
        d = try outbound(Fixtures.shipping.replacingFirst(#""tt:destinationCountry": "UA""#, with: #""tt:destinationCountry": "MD""#))
        #expect(!d.permitted)
        #expect(condition(d, "destinationCountry") == Condition(flowID: "kz-to-ua-shipments", name: "destinationCountry", path: "tt:destinationCountry", actual: "MD", expected: "UA (the recipient)", passed: false))
        #expect(d.reason == "denied: no replicate flow matches (first failure: flow kz-to-ua-shipments: destinationCountry: MD, expected UA (the recipient))")
        // eventTimeFrom
        d = try outbound(Fixtures.shipping.replacingFirst("2026-03-10T04:00:00.000Z", with: "2025-12-31T23:59:59.000Z"))
        #expect(!d.permitted && condition(d, "eventTimeFrom")?.passed == false)
        #expect(d.redactedEvent == nil && d.removedFields.isEmpty)
    }

    @Test func dispositionsSourceCountryAndEventTimeBefore() throws {
        let text = Fixtures.bilateral.replacingFirst(#""eventTimeFrom": "2026-01-01T00:00:00Z""#,
            with: #""eventTimeBefore": "2026-03-05T00:00:00Z", "dispositions": ["active"], "sourceCountry": "origin""#)
        let a = try Agreement.parse(Array(text.utf8))
        let ok = Evaluation.outbound(event: try Fixtures.event(Fixtures.commissioning), recipient: Fixtures.ua, origin: Fixtures.kz, agreement: a, signedBy: both, at: at)
        #expect(ok.permitted)
        #expect(ok.conditions.first { $0.name == "sourceCountry" }?.expected == "KZ (the origin)")
        let d = Evaluation.outbound(event: try Fixtures.event(Fixtures.shipping), recipient: Fixtures.ua, origin: Fixtures.kz, agreement: a, signedBy: both, at: at)
        #expect(!d.permitted)
        #expect(d.conditions.first { $0.name == "dispositions" }?.passed == false)
        #expect(d.conditions.first { $0.name == "eventTimeBefore" }?.passed == false)
        #expect(d.conditions.first { $0.name == "sourceCountry" } == Condition(flowID: "kz-to-ua-shipments", name: "sourceCountry", path: "tt:intendedRoute[0]", actual: "KZ", expected: "KZ (the origin)", passed: true))
    }

    @Test func flowDirectionAndParties() throws {
        // UA → KZ has no replicate flow; BY is not a Party.
        let back = Evaluation.outbound(event: try Fixtures.event(Fixtures.shipping), recipient: Fixtures.kz, origin: Fixtures.ua, agreement: agreement, signedBy: both, at: at)
        #expect(!back.permitted && back.conditions.first { $0.name == "from" }?.passed == false)
        let by = try outbound(Fixtures.shipping, to: Fixtures.by)
        #expect(!by.permitted && by.reason == "denied: recipient: urn:fctc:party:BY, expected a Party to the agreement")
    }

    @Test func inactiveAgreementDenies() throws {
        let unsigned = try outbound(Fixtures.shipping, signedBy: [Fixtures.kz])
        #expect(!unsigned.permitted)
        #expect(unsigned.reason == "denied: signatures: signed by KZ, expected signed by every Party: KZ, UA")
        let late = try outbound(Fixtures.shipping, at: Fixtures.time("2028-01-01T00:00:00Z"))
        #expect(!late.permitted && late.reason.hasPrefix("denied: validity: 2028-01-01T00:00:00.000Z"))
        #expect(Evaluation.isActive(agreement, signedBy: both, at: Fixtures.time("2027-12-31T23:59:59Z")))
        #expect(!Evaluation.isActive(agreement, signedBy: both, at: Fixtures.time("2025-12-31T23:59:59Z")))
    }

    @Test func inboundAcceptsWhatOutboundProduced() throws {
        let events = try [Fixtures.commissioning, Fixtures.shipping].map { try outbound($0).redactedEvent! }
        let d = Evaluation.inbound(events: events, sender: Fixtures.kz, recipient: Fixtures.ua, agreement: agreement, flowID: "kz-to-ua-shipments", signedBy: both, at: at)
        #expect(d.accepted)
    }

    @Test func inboundRejectsAnExtraMember() throws {
        var events = try [Fixtures.commissioning, Fixtures.shipping].map { try outbound($0).redactedEvent! }
        var ilmd = events[0]["ilmd"]!.objectValue!
        ilmd["tt:machineID"] = "KZ-F0001-M01"
        events[0]["ilmd"] = .object(ilmd)
        let d = Evaluation.inbound(events: events, sender: Fixtures.kz, recipient: Fixtures.ua, agreement: agreement, flowID: "kz-to-ua-shipments", signedBy: both, at: at)
        #expect(d.violation == Violation(eventIndex: 0, path: "ilmd.tt:machineID", rule: "not allowed: Article 8.4.1 (c) not in the fields of flow kz-to-ua-shipments"))
    }

    @Test func inboundRejectsAnOutOfFilterEvent() throws {
        let good = try outbound(Fixtures.shipping).redactedEvent!
        let stray = try Fixtures.event(Fixtures.shipping.replacingFirst(#""tt:destinationCountry": "UA""#, with: #""tt:destinationCountry": "MD""#))
        let (strayRedacted, _) = Redaction.redact(stray.body, flow: agreement.flows[0])
        let d = Evaluation.inbound(events: [good, strayRedacted], sender: Fixtures.kz, recipient: Fixtures.ua, agreement: agreement, flowID: "kz-to-ua-shipments", signedBy: both, at: at)
        #expect(d.violation == Violation(eventIndex: 1, path: "tt:destinationCountry", rule: "outside the row filter: flow kz-to-ua-shipments: destinationCountry: MD, expected UA (the recipient)"))
        // The wrong sender, an unknown flow and an inactive agreement are refused before any event.
        #expect(Evaluation.inbound(events: [good], sender: Fixtures.ua, recipient: Fixtures.ua, agreement: agreement, flowID: "kz-to-ua-shipments", signedBy: both, at: at).violation?.path == "from")
        #expect(Evaluation.inbound(events: [good], sender: Fixtures.kz, recipient: Fixtures.ua, agreement: agreement, flowID: "nope", signedBy: both, at: at).violation?.path == "flow")
        #expect(Evaluation.inbound(events: [good], sender: Fixtures.kz, recipient: Fixtures.ua, agreement: agreement, flowID: "kz-to-ua-shipments", signedBy: [Fixtures.kz], at: at).violation?.path == "signatures")
    }

    @Test func enquiryModes() throws {
        func ask(_ a: Agreement, _ count: Int, purpose: String = "investigation", signedBy: Set<PartyID>? = nil) -> EnquiryDecision {
            Evaluation.enquiry(requester: Fixtures.ua, responder: Fixtures.kz, uimCount: count, purpose: purpose, agreement: a, signedBy: signedBy ?? both, at: at)
        }
        let small = ask(agreement, 100)
        #expect(small.outcome == .autoAnswer && small.flowID == "kz-answers-ua")
        #expect(small.answerBy == Fixtures.time("2026-04-04T00:00:00Z"))
        #expect(ask(agreement, 101).outcome == .manual)
        #expect(ask(agreement, 1, purpose: "prosecution").outcome == .refuse)
        #expect(ask(agreement, 1, purpose: "marketing").outcome == .refuse)
        #expect(ask(agreement, 0).outcome == .refuse)
        #expect(ask(agreement, 1, signedBy: [Fixtures.ua]).reason.hasPrefix("agreement not active: signatures"))
        let auto = try Agreement.parse(Array(Fixtures.bilateral.replacingFirst(#""mode": "autoUpTo", "maxUIMs": 100"#, with: #""mode": "auto""#).utf8))
        #expect(ask(auto, 5000).outcome == .autoAnswer)
        let manual = try Agreement.parse(Array(Fixtures.bilateral.replacingFirst(#""mode": "autoUpTo", "maxUIMs": 100"#, with: #""mode": "manual""#).utf8))
        #expect(ask(manual, 1).outcome == .manual)
        let noLimit = try Agreement.parse(Array(Fixtures.bilateral.replacingFirst(#""mode": "autoUpTo", "maxUIMs": 100"#, with: #""mode": "autoUpTo""#).utf8))
        #expect(ask(noLimit, 1).outcome == .manual)
        // BY is not a Party: there is no flow to it.
        #expect(Evaluation.enquiry(requester: Fixtures.by, responder: Fixtures.kz, uimCount: 1, purpose: "investigation", agreement: agreement, signedBy: both, at: at).outcome == .refuse)
    }

    @Test func retentionDeadline() throws {
        let received = Fixtures.time("2026-04-01T10:30:00.250+02:00")
        let deadline = try Evaluation.retentionDeadline(receivedAt: received, agreement: agreement, flowID: "kz-to-ua-shipments")
        #expect(deadline == Fixtures.time("2027-04-01T10:30:00.250+02:00"))
        #expect(throws: PolicyError.self) { try Evaluation.retentionDeadline(receivedAt: received, agreement: agreement, flowID: "nope") }
    }

    @Test func onwardTransferAndRelay() throws {
        #expect(!Evaluation.canForward(origin: Fixtures.kz, holder: Fixtures.ua, recipient: Fixtures.by, agreement: agreement).permitted)
        #expect(Evaluation.canForward(origin: Fixtures.kz, holder: Fixtures.ua, recipient: Fixtures.kz, agreement: agreement).permitted)
        #expect(Evaluation.canForward(origin: Fixtures.kz, holder: Fixtures.kz, recipient: Fixtures.by, agreement: agreement).permitted)
        let allowing = try Agreement.parse(Array(Fixtures.bilateral.replacingFirst(#""allowed": false"#, with: #""allowed": ["urn:fctc:party:BY"]"#).utf8))
        #expect(Evaluation.canForward(origin: Fixtures.kz, holder: Fixtures.ua, recipient: Fixtures.by, agreement: allowing).permitted)
        #expect(!Evaluation.canForward(origin: Fixtures.kz, holder: Fixtures.ua, recipient: try PartyID(country: "MD"), agreement: allowing).permitted)
        #expect(Evaluation.mayRelay(via: Fixtures.hub, agreement: agreement).permitted)
        #expect(!Evaluation.mayRelay(via: try PartyID(hub: "other"), agreement: agreement).permitted)
        let direct = try Agreement.parse(Array(Fixtures.bilateral.replacingFirst(#""viaHub": "urn:fctc:hub:gsp""#, with: #""viaHub": null"#).utf8))
        #expect(!Evaluation.mayRelay(via: Fixtures.hub, agreement: direct).permitted)
    }

    @Test func elementPathsAreDocumented() {
        #expect(FieldMap.paths(of: .j) == ["tt:consignee.tt:country", "tt:consignee.tt:identifier", "tt:consignee.tt:name", "tt:destinationCountry", "tt:intendedRoute", "tt:pointOfDeparture", "tt:transport.tt:mode", "tt:transport.tt:vehicle"])
        #expect(FieldMap.paths(of: .c) == ["ilmd.tt:machineID"])
    }
}
