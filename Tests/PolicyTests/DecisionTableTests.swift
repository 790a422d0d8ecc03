import Testing
import Model
@testable import Policy

/// Issue 6 item 8: one parameterised test, one row per decision. Each row is
/// (name, agreement variant, what is asked, signers, instant) → expected outcome with the
/// condition, kept member or removed member that decides it.
@Suite struct DecisionTableTests {
    @Test(arguments: DecisionTable.rows) func decision(_ row: DecisionTable.Row) throws {
        let result = AgreementParser.read(Array(row.agreement.utf8))
        if case .refused(let code, let path) = row.expected {
            let issue = result.issues.first
            #expect(issue?.code == code && issue?.path == path, "\(row.name): \(result.issues)")
            #expect(result.agreement == nil || !result.issues.isEmpty)
            return
        }
        #expect(result.issues.isEmpty, "\(row.name): \(result.issues)")
        let agreement = try #require(result.agreement)
        let signers: Set<PartyID> = try row.signers.map { codes in Set(try codes.map(DecisionTable.party)) } ?? Set(agreement.partyIDs)
        let at = try #require(Timestamp.parse(row.at))
        switch row.kind {
        case .outbound(let eventText, let from, let to):
            let event = try #require(JSONParser.parse(Array(eventText.utf8)).objectValue)
            let d = Evaluation.outbound(event: event, recipient: try DecisionTable.party(to), origin: try DecisionTable.party(from),
                                        agreement: agreement, signedBy: signers, at: at)
            switch row.expected {
            case .permit(let flow):
                #expect(d.permitted && d.flowID == flow, "\(row.name): \(d.reason)")
            case .deny(let condition):
                #expect(!d.permitted, "\(row.name): \(d.reason)")
                #expect(d.conditions.first { !$0.passed }?.name == condition, "\(row.name): \(d.reason)")
            case .kept(let path):
                #expect(d.permitted, "\(row.name): \(d.reason)")
                #expect(DecisionTable.value(at: path, in: d.redactedEvent) != nil, "\(row.name): \(path) missing from \(String(describing: d.redactedEvent?.keys))")
                #expect(!d.removedFields.contains { $0.path == path || $0.path.hasPrefix(path + ".") })
            case .removed(let path, let element):
                #expect(d.permitted, "\(row.name): \(d.reason)")
                #expect(DecisionTable.value(at: path, in: d.redactedEvent) == nil, "\(row.name): \(path) still present")
                let removal = d.removedFields.first { $0.path == path || $0.path.hasPrefix(path + ".") }
                let letter = element == "deactivation" ? element : "(\(element))"
                #expect(removal?.rule.contains("Article 8.4.1 \(letter) not in the fields") == true, "\(row.name): \(d.removedFields)")
            default:
                Issue.record("\(row.name): an outbound row expects permit, deny, kept or removed")
            }
        case .enquiry(let requester, let responder, let uims, let purpose):
            let e = Evaluation.enquiry(requester: try DecisionTable.party(requester), responder: try DecisionTable.party(responder), uimCount: uims,
                                       purpose: purpose, agreement: agreement, signedBy: signers, at: at)
            guard case .enquiry(let outcome, let because) = row.expected else {
                Issue.record("\(row.name): an enquiry row expects an enquiry outcome")
                return
            }
            #expect(e.outcome == outcome && e.reason.contains(because), "\(row.name): \(e.outcome) \(e.reason)")
            #expect((e.flowID == nil) == (outcome == .refuse))
        case .inbound(let eventText, let from, let flow):
            let event = try #require(JSONParser.parse(Array(eventText.utf8)).objectValue)
            let d = Evaluation.inbound(events: [event], sender: try DecisionTable.party(from), recipient: try DecisionTable.party("UA"),
                                       agreement: agreement, flowID: flow, signedBy: signers, at: at)
            guard case .inbound(let accepted, let path) = row.expected else {
                Issue.record("\(row.name): an inbound row expects accept or reject")
                return
            }
            #expect(d.accepted == accepted && (d.violation?.path ?? "") == path, "\(row.name): \(String(describing: d.violation))")
        case .parse:
            Issue.record("\(row.name): a parse-only row must expect a refusal")
        }
    }

    @Test func theTableIsLargeAndCoversWhatItMust() {
        let names = DecisionTable.rows.map(\.name)
        #expect(names.count >= 50)
        #expect(Set(names).count == names.count, "row names are unique")
        for element in Agreement.Element.allCases {
            #expect(DecisionTable.rows.contains { if case .removed(_, element.rawValue) = $0.expected { true } else { false } }, "\(element) redacted")
        }
    }
}

enum DecisionTable {
    enum Kind: Sendable {
        /// An event (JSON) from a Party to a Party, on a replicate flow.
        case outbound(event: String, from: String, to: String)
        /// An enquiry about `uims` UIMs for `purpose`.
        case enquiry(requester: String, responder: String, uims: Int, purpose: String)
        /// A one-event delta received by UA from `from` on `flow`.
        case inbound(event: String, from: String, flow: String)
        /// Only parsed.
        case parse
    }

    enum Expected: Sendable {
        case permit(flow: String)
        /// Denied; the first failing condition's name.
        case deny(condition: String)
        /// Permitted and the member at this path kept.
        case kept(path: String)
        /// Permitted and the member at this path removed because element `element` is not allowed.
        case removed(path: String, element: String)
        case enquiry(EnquiryDecision.Outcome, because: String)
        /// Inbound: accepted (path "") or rejected at the violation's path.
        case inbound(accepted: Bool, path: String)
        /// The parser refuses the agreement with this issue at this path.
        case refused(code: String, path: String)
    }

    struct Row: Sendable, CustomTestStringConvertible {
        let name: String
        let agreement: String
        let kind: Kind
        /// Country codes of the Parties whose signatures verify; nil = every Party.
        let signers: [String]?
        let at: String
        let expected: Expected
        var testDescription: String { name }

        init(_ name: String, _ agreement: String, _ kind: Kind, signers: [String]? = nil, at: String = DecisionTable.inside, _ expected: Expected) {
            self.name = name
            self.agreement = agreement
            self.kind = kind
            self.signers = signers
            self.at = at
            self.expected = expected
        }
    }

    static let inside = "2026-04-01T00:00:00Z"
    static let allFields = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "deactivation"]

    static func party(_ code: String) throws -> PartyID { try PartyID(country: code) }

    /// `ilmd.tt:brand` or a top-level member.
    static func value(at path: String, in event: JSONObject?) -> JSONValue? {
        let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
        guard let first = event?[parts[0]] else { return nil }
        return parts.count == 1 ? first : first.objectValue?[parts[1]]
    }

    static func quoted(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }

    static func flow(_ id: String = "kz-to-ua", from: [String] = ["KZ"], to: [String] = ["UA"], action: String = "replicate",
                     filter: String = "{}", fields: [String] = allFields, extra: String = "") -> String {
        #"{"id": "\#(id)", "from": \#(quoted(from.map { "urn:fctc:party:\($0)" })), "to": \#(quoted(to.map { "urn:fctc:party:\($0)" })), "action": "\#(action)", "rowFilter": \#(filter), "fields": \#(quoted(fields)), "duties": {"retentionDays": 365, "receipts": true}\#(extra)}"#
    }

    static let answers = flow("ua-answers-kz", from: ["UA"], to: ["KZ"], action: "answerEnquiry")

    /// An agreement variant: Parties (country codes, or a whole identity containing ':'), window, flows, enquiry terms.
    static func agreement(parties: [String] = ["KZ", "UA"], notBefore: String = "2026-01-01T00:00:00Z", notAfter: String = "2027-12-31T23:59:59Z",
                          flows: [String] = [flow(), answers], enquiry: String = #"{"mode": "manual", "answerWithinHours": 72}"#,
                          profile: String = "fctc-tt-1", extra: String = "") -> String {
        let partyList = parties.map { p in
            #"{"party": "\#(p.contains(":") ? p : "urn:fctc:party:" + p)", "competentAuthority": "Competent authority"}"#
        }.joined(separator: ", ")
        return #"""
        {"id": "table", "version": 1, "supersedes": null, "profile": "\#(profile)", "parties": [\#(partyList)],
         "validity": {"notBefore": "\#(notBefore)", "notAfter": "\#(notAfter)"}, "purposes": ["illicit-trade-detection"],
         "legalBasis": "WHO FCTC Protocol, Art. 8", "flows": [\#(flows.joined(separator: ", "))],
         "onwardTransfer": {"allowed": false}, "relay": {"viaHub": null}, "enquiry": \#(enquiry),
         "termination": {"noticeDays": 90, "receivedData": "delete"}, "signatures": []\#(extra)}
        """#
    }

    /// An event carrying a member for every Article 8.4.1 element.
    static func event(type: String = "ObjectEvent", bizStep: String = "shipping", disposition: String = "in_transit", destination: String = "UA",
                      category: String? = "cigarettes", manufacture: String = "KZ", time: String = "2026-03-10T04:00:00.000Z") -> String {
        let categoryTop = category.map { #""tt:productCategory": "\#($0)", "# } ?? ""
        let categoryILMD = category.map { #", "tt:productCategory": "\#($0)""# } ?? ""
        return #"""
        {"type": "\#(type)", "eventTime": "\#(time)", "eventTimeZoneOffset": "+05:00", "epcList": ["https://id.gs1.org/00/048700019000000014"],
         "action": "OBSERVE", "bizStep": "\#(bizStep)", "disposition": "\#(disposition)",
         "readPoint": {"id": "https://id.gs1.org/414/4870001000203"}, "bizLocation": {"id": "https://id.gs1.org/414/4870001000005"},
         "sourceList": [{"type": "owning_party", "source": "https://id.gs1.org/417/4870001000005"}],
         "destinationList": [{"type": "owning_party", "destination": "https://id.gs1.org/417/4820001000007"}],
         "bizTransactionList": [{"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4870001000005:INV-1"}],
         "tt:firstCustomer": {"tt:name": "Import LLC", "tt:identifier": "https://id.gs1.org/417/4820001000007", "tt:country": "UA"},
         "tt:subsequentPurchaser": {"tt:name": "Retail LLC", "tt:identifier": "https://id.gs1.org/417/4820001000014", "tt:country": "UA"},
         \#(categoryTop)"tt:intendedRoute": ["KZ", "RU", "UA"], "tt:pointOfDeparture": "https://id.gs1.org/414/4870001000203",
         "tt:destinationCountry": "\#(destination)",
         "tt:consignee": {"tt:name": "Import LLC", "tt:identifier": "https://id.gs1.org/417/4820001000007", "tt:country": "UA"},
         "tt:transport": {"tt:mode": "road", "tt:vehicle": "KZ 123 ABC 02"}, "tt:deactivationReason": "exported",
         "ilmd": {"tt:manufactureCountry": "\#(manufacture)", "tt:facilityID": "KZ-F0001", "tt:machineID": "KZ-F0001-M01", "tt:productionShift": "1",
                  "tt:productionTime": "2026-03-03T06:00:01.614+05:00", "tt:intendedMarket": "UA", "tt:productDescription": "Filter cigarettes",
                  "tt:brand": "Steppe Gold"\#(categoryILMD)}}
        """#
    }

    static let bilateral = agreement()
    static let out = Kind.outbound(event: event(), from: "KZ", to: "UA")
    static func filtered(_ filter: String) -> String { agreement(flows: [flow(filter: filter), answers]) }
    static func send(_ event: String, to: String = "UA", from: String = "KZ") -> Kind { .outbound(event: event, from: from, to: to) }

    /// Each element's witness member: removed when the element is not allowed, kept when it is.
    static let witnesses: [(element: String, path: String)] = [
        ("a", "ilmd.tt:manufactureCountry"), ("b", "ilmd.tt:facilityID"), ("c", "ilmd.tt:machineID"), ("d", "ilmd.tt:productionShift"),
        ("e", "bizTransactionList"), ("f", "ilmd.tt:intendedMarket"), ("g", "ilmd.tt:brand"), ("h", "sourceList"),
        ("i", "tt:subsequentPurchaser"), ("j", "tt:intendedRoute"), ("deactivation", "tt:deactivationReason"),
    ]

    static let five = ["KZ", "UA", "BY", "GE", "AM"]
    static let multilateral = agreement(parties: five, flows: [
        flow("kz-to-neighbours", to: ["UA", "BY", "GE", "AM"], filter: #"{"destinationCountry": "recipient"}"#),
        flow("ge-to-kz", from: ["GE"], to: ["KZ"], filter: #"{"eventTypes": ["ObjectEvent"]}"#),
    ])

    static let eventTypes = ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"]

    static let rows: [Row] = {
        var rows: [Row] = []
        // Activity: signatures and the validity window.
        rows += [
            Row("bilateral, both signed, inside the window", bilateral, out, .permit(flow: "kz-to-ua")),
            Row("bilateral, UA's signature missing", bilateral, out, signers: ["KZ"], .deny(condition: "signatures")),
            Row("bilateral, no signature", bilateral, out, signers: [], .deny(condition: "signatures")),
            Row("bilateral, terminated by UA: its signature is out of the active set", bilateral, out, signers: ["KZ"], .deny(condition: "signatures")),
            Row("expired (one second after notAfter)", bilateral, out, at: "2028-01-01T00:00:00Z", .deny(condition: "validity")),
            Row("last second of the window (notAfter inclusive)", bilateral, out, at: "2027-12-31T23:59:59Z", .permit(flow: "kz-to-ua")),
            Row("not yet valid (one second before notBefore)", bilateral, out, at: "2025-12-31T23:59:59Z", .deny(condition: "validity")),
            Row("first second of the window (notBefore inclusive)", bilateral, out, at: "2026-01-01T00:00:00Z", .permit(flow: "kz-to-ua")),
            Row("recipient not a Party (BY under KZ–UA)", bilateral, send(event(destination: "BY"), to: "BY"), .deny(condition: "recipient")),
            Row("wrong direction: UA → KZ has no replicate flow", bilateral, send(event(destination: "KZ"), to: "KZ", from: "UA"), .deny(condition: "from")),
        ]
        // Multilateral of five Parties.
        rows += [
            Row("five Parties: KZ → GE, destination GE", multilateral, send(event(destination: "GE"), to: "GE"), .permit(flow: "kz-to-neighbours")),
            Row("five Parties: KZ → AM, destination AM", multilateral, send(event(destination: "AM"), to: "AM"), .permit(flow: "kz-to-neighbours")),
            Row("five Parties: KZ → AM, destination GE", multilateral, send(event(destination: "GE"), to: "AM"), .deny(condition: "destinationCountry")),
            Row("five Parties: AM's signature missing", multilateral, send(event(destination: "GE"), to: "GE"), signers: ["KZ", "UA", "BY", "GE"], .deny(condition: "signatures")),
            Row("five Parties: GE → KZ on its own flow", multilateral, send(event(destination: "KZ"), to: "KZ", from: "GE"), .permit(flow: "ge-to-kz")),
            Row("five Parties: BY → KZ has no flow", multilateral, send(event(destination: "KZ"), to: "KZ", from: "BY"), .deny(condition: "from")),
            Row("five Parties: RU is not one of them", multilateral, send(event(destination: "RU"), to: "RU"), .deny(condition: "recipient")),
        ]
        // Article 8.4.1 elements: redacted when not allowed, kept when allowed.
        for (element, path) in witnesses {
            let without = agreement(flows: [flow(fields: allFields.filter { $0 != element }), answers])
            let only = agreement(flows: [flow(fields: [element]), answers])
            rows.append(Row("element (\(element)) not allowed: \(path) redacted", without, out, .removed(path: path, element: element)))
            rows.append(Row("element (\(element)) allowed alone: \(path) kept", only, out, .kept(path: path)))
        }
        // Destination = recipient, fixed country, source = origin.
        let toRecipient = filtered(#"{"destinationCountry": "recipient"}"#)
        rows += [
            Row("destination = recipient, match (UA)", toRecipient, send(event(destination: "UA")), .permit(flow: "kz-to-ua")),
            Row("destination = recipient, mismatch (MD)", toRecipient, send(event(destination: "MD")), .deny(condition: "destinationCountry")),
            Row("destination fixed UA, match", filtered(#"{"destinationCountry": "UA"}"#), out, .permit(flow: "kz-to-ua")),
            Row("source = origin, match (made in KZ)", filtered(#"{"sourceCountry": "origin"}"#), send(event(manufacture: "KZ")), .permit(flow: "kz-to-ua")),
            Row("source = origin, mismatch (made in CN)", filtered(#"{"sourceCountry": "origin"}"#), send(event(manufacture: "CN")), .deny(condition: "sourceCountry")),
        ]
        // Each event type in and out of the filter.
        for type in eventTypes {
            rows.append(Row("\(type) in the filter", filtered(#"{"eventTypes": ["\#(type)"]}"#), send(event(type: type)), .permit(flow: "kz-to-ua")))
            let other = type == "ObjectEvent" ? "AggregationEvent" : "ObjectEvent"
            rows.append(Row("\(type) out of the filter (\(other) only)", filtered(#"{"eventTypes": ["\#(other)"]}"#), send(event(type: type)), .deny(condition: "eventTypes")))
        }
        // Business steps, dispositions, product categories, time window.
        let shippingOnly = filtered(#"{"bizSteps": ["shipping"]}"#)
        rows += [
            Row("bizStep shipping in [shipping]", shippingOnly, out, .permit(flow: "kz-to-ua")),
            Row("bizStep as CBV URN in [shipping]", shippingOnly, send(event(bizStep: "urn:epcglobal:cbv:bizstep:shipping")), .permit(flow: "kz-to-ua")),
            Row("bizStep receiving not in [shipping]", shippingOnly, send(event(bizStep: "receiving")), .deny(condition: "bizSteps")),
            Row("disposition in_transit in [in_transit]", filtered(#"{"dispositions": ["in_transit"]}"#), out, .permit(flow: "kz-to-ua")),
            Row("disposition active not in [in_transit]", filtered(#"{"dispositions": ["in_transit"]}"#), send(event(disposition: "active")), .deny(condition: "dispositions")),
            Row("category cigarettes in [cigarettes]", filtered(#"{"productCategories": ["cigarettes"]}"#), out, .permit(flow: "kz-to-ua")),
            Row("category other-tobacco not in [cigarettes]", filtered(#"{"productCategories": ["cigarettes"]}"#), send(event(category: "other-tobacco")), .deny(condition: "productCategories")),
            Row("category absent with a category filter", filtered(#"{"productCategories": ["cigarettes"]}"#), send(event(category: nil)), .deny(condition: "productCategories")),
            Row("eventTime at eventTimeFrom (inclusive)", filtered(#"{"eventTimeFrom": "2026-03-10T04:00:00Z"}"#), out, .permit(flow: "kz-to-ua")),
            Row("eventTime before eventTimeFrom", filtered(#"{"eventTimeFrom": "2026-03-10T04:00:01Z"}"#), out, .deny(condition: "eventTimeFrom")),
            Row("eventTime at eventTimeBefore (exclusive)", filtered(#"{"eventTimeBefore": "2026-03-10T04:00:00Z"}"#), out, .deny(condition: "eventTimeBefore")),
            Row("eventTime just before eventTimeBefore", filtered(#"{"eventTimeBefore": "2026-03-10T04:00:00.001Z"}"#), out, .permit(flow: "kz-to-ua")),
        ]
        // Enquiries (KZ asks UA, answered on ua-answers-kz).
        let auto = agreement(enquiry: #"{"mode": "auto", "answerWithinHours": 24}"#)
        let upTo = agreement(enquiry: #"{"mode": "autoUpTo", "maxUIMs": 100, "answerWithinHours": 24}"#)
        func ask(_ uims: Int, _ purpose: String = "illicit-trade-detection", requester: String = "KZ", responder: String = "UA") -> Kind {
            .enquiry(requester: requester, responder: responder, uims: uims, purpose: purpose)
        }
        rows += [
            Row("enquiry, auto mode", auto, ask(5000), .enquiry(.autoAnswer, because: "automatically")),
            Row("enquiry, manual mode", bilateral, ask(1), .enquiry(.manual, because: "officer")),
            Row("enquiry, autoUpTo 100, 100 UIMs", upTo, ask(100), .enquiry(.autoAnswer, because: "automatic up to 100")),
            Row("enquiry, autoUpTo 100, 101 UIMs", upTo, ask(101), .enquiry(.manual, because: "exceed the automatic limit of 100")),
            Row("enquiry refused: purpose not in the agreement", auto, ask(1, "investigation"), .enquiry(.refuse, because: "not among the agreement's purposes")),
            Row("enquiry refused: purpose unknown to the Protocol", auto, ask(1, "marketing"), .enquiry(.refuse, because: "not a purpose")),
            Row("enquiry refused: no answerEnquiry flow KZ → UA", auto, ask(1, requester: "UA", responder: "KZ"), .enquiry(.refuse, because: "no answerEnquiry flow")),
            Row("enquiry refused: agreement expired", auto, ask(1), at: "2028-06-01T00:00:00Z", .enquiry(.refuse, because: "not active")),
            Row("enquiry refused: no UIM named", auto, ask(0), .enquiry(.refuse, because: "at least one UIM")),
        ]
        // Inbound re-check at UA of a one-event delta from KZ.
        let narrow = agreement(flows: [flow(filter: #"{"bizSteps": ["shipping"]}"#, fields: ["h", "j"]), answers])
        let plain = #"{"type": "ObjectEvent", "eventTime": "2026-03-10T04:00:00.000Z", "eventTimeZoneOffset": "+05:00", "epcList": ["https://id.gs1.org/00/048700019000000014"], "action": "OBSERVE", "bizStep": "shipping", "tt:destinationCountry": "UA"}"#
        rows += [
            Row("inbound delta within the flow: accepted", narrow, .inbound(event: plain, from: "KZ", flow: "kz-to-ua"), .inbound(accepted: true, path: "")),
            Row("inbound delta carrying element (e) not allowed: rejected", narrow, .inbound(event: event(), from: "KZ", flow: "kz-to-ua"), .inbound(accepted: false, path: "bizTransactionList")),
            Row("inbound delta outside the row filter: rejected", narrow, .inbound(event: plain.replacingOccurrences(of: "\"shipping\"", with: "\"receiving\""), from: "KZ", flow: "kz-to-ua"), .inbound(accepted: false, path: "bizStep")),
        ]
        // The parser refuses unknown terms (fail closed) and anything but a national Party.
        rows += [
            Row("unknown top-level term refused", agreement(extra: #", "dataController": "x""#), .parse, .refused(code: "agreement.unknown-member", path: "dataController")),
            Row("unknown term inside a flow refused", agreement(flows: [flow(extra: #", "encrypt": true"#)]), .parse, .refused(code: "agreement.unknown-member", path: "flows[0].encrypt")),
            Row("unknown row-filter term refused", filtered(#"{"brand": ["Steppe Gold"]}"#), .parse, .refused(code: "agreement.unknown-member", path: "flows[0].rowFilter.brand")),
            Row("unknown profile refused", agreement(profile: "fctc-tt-2"), .parse, .refused(code: "agreement.profile", path: "profile")),
            Row("the tobacco industry as a Party refused", agreement(parties: ["KZ", "urn:gs1:417:4870001000005"]), .parse, .refused(code: "agreement.party", path: "parties[1].party")),
        ]
        return rows
    }()
}
