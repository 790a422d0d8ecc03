public import Model

/// One checked condition of a decision, with what was found and what the agreement asks.
public struct Condition: Sendable, Equatable {
    /// The flow the condition belongs to; nil for conditions on the agreement as a whole.
    public let flowID: String?
    /// `signatures`, `validity`, `from`, `to`, or a row-filter member (`bizSteps`, …).
    public let name: String
    /// Where in the event the actual value was read (`bizStep`, `ilmd.tt:productCategory`), or "".
    public let path: String
    public let actual: String
    public let expected: String
    public let passed: Bool
}

/// Whether an event goes to a recipient under an agreement, through which flow, and what they see.
public struct Decision: Sendable, Equatable {
    public let permitted: Bool
    /// The flow that carries the event (nil when denied).
    public let flowID: String?
    /// Agreement conditions, then each evaluated flow's conditions (only the matching flow's when permitted).
    public let conditions: [Condition]
    /// The event as the recipient would receive it (nil when denied).
    public let redactedEvent: JSONObject?
    public let removedFields: [RemovedField]
    /// One line: the flow used, or the first reason it was denied.
    public let reason: String
}

/// The first thing that makes a received delta unacceptable.
public struct Violation: Sendable, Equatable {
    /// The event's index in the delta; nil for a problem with the agreement, flow or sender.
    public let eventIndex: Int?
    public let path: String
    public let rule: String

    public init(eventIndex: Int?, path: String, rule: String) {
        self.eventIndex = eventIndex
        self.path = path
        self.rule = rule
    }
}

/// The receiver's re-check of a delta: accept all of it, or reject it with the first violation.
public struct InboundDecision: Sendable, Equatable {
    public let violation: Violation?
    public var accepted: Bool { violation == nil }

    public init(violation: Violation?) { self.violation = violation }
}

/// What the providing Party does with an enquiry (Art. 8.9).
public struct EnquiryDecision: Sendable, Equatable {
    public enum Outcome: String, Sendable { case autoAnswer, manual, refuse }
    public let outcome: Outcome
    /// The answerEnquiry flow the answer travels on (nil when refused).
    public let flowID: String?
    /// `at` plus the agreement's `answerWithinHours` (nil when refused).
    public let answerBy: Timestamp?
    public let reason: String
}

/// A yes/no policy answer with its reason.
public struct Verdict: Sendable, Equatable {
    public let permitted: Bool
    public let reason: String
}

/// Pure policy decisions (STYLE habit 9): agreement, event and time in; a decision with its
/// reasons out. Signature verification and the clock belong to the caller, which passes the
/// Parties whose signatures verified (`signedBy`) and the instant (`at`).
public enum Evaluation {
    /// The conditions under which an agreement is active: every Party signed, `at` in the window.
    public static func activity(of agreement: Agreement, signedBy: Set<PartyID>, at: Timestamp) -> [Condition] {
        let parties = agreement.partyIDs
        let missing = parties.filter { !signedBy.contains($0) }
        let signed = parties.filter { signedBy.contains($0) }
        return [
            Condition(flowID: nil, name: "signatures", path: "", actual: signed.isEmpty ? "signed by none" : "signed by \(signed.map(\.code).joined(separator: ", "))",
                      expected: "signed by every Party: \(parties.map(\.code).joined(separator: ", "))", passed: missing.isEmpty),
            Condition(flowID: nil, name: "validity", path: "", actual: at.canonicalUTC,
                      expected: "from \(agreement.validity.notBefore.canonicalUTC) to \(agreement.validity.notAfter.canonicalUTC)",
                      passed: agreement.validity.contains(at)),
        ]
    }

    /// Whether the agreement is active for the given verified signers at `at`.
    public static func isActive(_ agreement: Agreement, signedBy: Set<PartyID>, at: Timestamp) -> Bool {
        activity(of: agreement, signedBy: signedBy, at: at).allSatisfy(\.passed)
    }

    /// Would `event`, held by `origin`, go to `recipient`, and which members would it see?
    public static func outbound(event: EPCISEvent, recipient: PartyID, origin: PartyID, agreement: Agreement, signedBy: Set<PartyID>,
                                at: Timestamp, action: Agreement.Flow.Action = .replicate) -> Decision {
        outbound(event: event.body, recipient: recipient, origin: origin, agreement: agreement, signedBy: signedBy, at: at, action: action)
    }

    /// `outbound` for an event as a JSON object.
    ///
    /// With `onlyFlow`, only that flow is evaluated (a stream carries one flow: an event that an
    /// earlier flow also matches still belongs to this one's stream).
    public static func outbound(event: JSONObject, recipient: PartyID, origin: PartyID, agreement: Agreement, signedBy: Set<PartyID>,
                                at: Timestamp, action: Agreement.Flow.Action = .replicate, onlyFlow: String? = nil) -> Decision {
        var conditions = activity(of: agreement, signedBy: signedBy, at: at)
        let parties = Set(agreement.partyIDs)
        conditions.append(Condition(flowID: nil, name: "origin", path: "", actual: origin.urn, expected: "a Party to the agreement", passed: parties.contains(origin)))
        conditions.append(Condition(flowID: nil, name: "recipient", path: "", actual: recipient.urn, expected: "a Party to the agreement", passed: parties.contains(recipient)))
        let agreementOK = conditions.allSatisfy(\.passed)
        let facts = EventFacts(event)
        var flowConditions: [Condition] = []
        if agreementOK {
            for flow in agreement.flows where flow.action == action && (onlyFlow == nil || flow.id == onlyFlow) {
                let checked = Self.flowConditions(flow, sender: origin, recipient: recipient) + rowConditions(flow, facts: facts, origin: origin, recipient: recipient)
                if checked.allSatisfy(\.passed) {
                    let (redacted, removed) = Redaction.redact(event, flow: flow)
                    return Decision(permitted: true, flowID: flow.id, conditions: conditions + checked, redactedEvent: redacted, removedFields: removed,
                                    reason: "permitted by flow \(flow.id) of agreement \(agreement.id) v\(agreement.version)")
                }
                flowConditions += checked
            }
        }
        let all = conditions + flowConditions
        let reason: String
        if let failed = conditions.first(where: { !$0.passed }) {
            reason = "denied: \(describe(failed))"
        } else if flowConditions.isEmpty {
            reason = "denied: agreement \(agreement.id) has no \(action.rawValue) flow"
        } else {
            reason = "denied: no \(action.rawValue) flow matches (first failure: \(describe(flowConditions.first { !$0.passed }!)))"
        }
        return Decision(permitted: false, flowID: nil, conditions: all, redactedEvent: nil, removedFields: [], reason: reason)
    }

    /// The receiver's re-check of a delta on `flowID` from `sender`: every event must pass the
    /// flow's row filter and carry nothing its allow-list would remove.
    public static func inbound(events: [JSONObject], sender: PartyID, recipient: PartyID, agreement: Agreement, flowID: String,
                               signedBy: Set<PartyID>, at: Timestamp) -> InboundDecision {
        func reject(_ index: Int?, _ path: String, _ rule: String) -> InboundDecision {
            InboundDecision(violation: Violation(eventIndex: index, path: path, rule: rule))
        }
        if let failed = activity(of: agreement, signedBy: signedBy, at: at).first(where: { !$0.passed }) {
            return reject(nil, failed.name, "agreement not active: \(describe(failed))")
        }
        guard let flow = agreement.flow(flowID) else { return reject(nil, "flow", "agreement \(agreement.id) has no flow '\(flowID)'") }
        if let failed = flowConditions(flow, sender: sender, recipient: recipient).first(where: { !$0.passed }) {
            return reject(nil, failed.name, describe(failed))
        }
        for (index, event) in events.enumerated() {
            if let failed = rowConditions(flow, facts: EventFacts(event), origin: sender, recipient: recipient).first(where: { !$0.passed }) {
                return reject(index, failed.path, "outside the row filter: \(describe(failed))")
            }
            let (_, removed) = Redaction.redact(event, flow: flow)
            if let first = removed.first { return reject(index, first.path, "not allowed: \(first.rule)") }
        }
        return InboundDecision(violation: nil)
    }

    /// `inbound` for parsed events.
    public static func inbound(events: [EPCISEvent], sender: PartyID, recipient: PartyID, agreement: Agreement, flowID: String,
                               signedBy: Set<PartyID>, at: Timestamp) -> InboundDecision {
        inbound(events: events.map(\.body), sender: sender, recipient: recipient, agreement: agreement, flowID: flowID, signedBy: signedBy, at: at)
    }

    /// How `responder` treats an enquiry from `requester` about `uimCount` UIMs for `purpose`.
    public static func enquiry(requester: PartyID, responder: PartyID, uimCount: Int, purpose: String, agreement: Agreement,
                               signedBy: Set<PartyID>, at: Timestamp) -> EnquiryDecision {
        func refuse(_ reason: String) -> EnquiryDecision { EnquiryDecision(outcome: .refuse, flowID: nil, answerBy: nil, reason: reason) }
        if let failed = activity(of: agreement, signedBy: signedBy, at: at).first(where: { !$0.passed }) {
            return refuse("agreement not active: \(describe(failed))")
        }
        guard let known = Agreement.Purpose(rawValue: purpose) else { return refuse("'\(purpose)' is not a purpose the Protocol allows enquiries for") }
        guard agreement.purposes.contains(known) else {
            return refuse("purpose '\(purpose)' is not among the agreement's purposes (\(agreement.purposes.map(\.rawValue).joined(separator: ", ")))")
        }
        guard uimCount >= 1 else { return refuse("an enquiry must name at least one UIM") }
        guard let flow = agreement.flows.first(where: { $0.action == .answerEnquiry && $0.from.contains(responder) && $0.to.contains(requester) }) else {
            return refuse("no answerEnquiry flow from \(responder.urn) to \(requester.urn)")
        }
        let answerBy = at.adding(seconds: Int64(agreement.enquiry.answerWithinHours) * 3600)
        switch agreement.enquiry.mode {
        case .auto:
            return EnquiryDecision(outcome: .autoAnswer, flowID: flow.id, answerBy: answerBy, reason: "the agreement answers enquiries automatically")
        case .manual:
            return EnquiryDecision(outcome: .manual, flowID: flow.id, answerBy: answerBy, reason: "the agreement requires an officer's approval")
        case .autoUpTo:
            guard let limit = agreement.enquiry.maxUIMs else {
                return EnquiryDecision(outcome: .manual, flowID: flow.id, answerBy: answerBy, reason: "autoUpTo without maxUIMs: queued for an officer (fail safe)")
            }
            if uimCount <= limit {
                return EnquiryDecision(outcome: .autoAnswer, flowID: flow.id, answerBy: answerBy, reason: "\(uimCount) UIMs, automatic up to \(limit)")
            }
            return EnquiryDecision(outcome: .manual, flowID: flow.id, answerBy: answerBy, reason: "\(uimCount) UIMs exceed the automatic limit of \(limit)")
        }
    }

    /// When data received on `flowID` at `receivedAt` must be deleted.
    public static func retentionDeadline(receivedAt: Timestamp, agreement: Agreement, flowID: String) throws(PolicyError) -> Timestamp {
        guard let flow = agreement.flow(flowID) else {
            throw PolicyError(code: "policy.flow", path: "flows", reason: "agreement \(agreement.id) has no flow '\(flowID)'")
        }
        return receivedAt.adding(seconds: Int64(flow.duties.retentionDays) * 86_400)
    }

    /// May `holder`, who received data originating at `origin` under `agreement`, pass it to `recipient`? (Art. 21)
    public static func canForward(origin: PartyID, holder: PartyID, recipient: PartyID, agreement: Agreement) -> Verdict {
        let parties = Set(agreement.partyIDs)
        guard parties.contains(origin) else { return Verdict(permitted: false, reason: "\(origin.urn) is not a Party to agreement \(agreement.id)") }
        if holder == origin { return Verdict(permitted: true, reason: "\(origin.urn) holds its own data: its flows decide, not onward transfer") }
        guard parties.contains(holder) else { return Verdict(permitted: false, reason: "\(holder.urn) is not a Party to agreement \(agreement.id)") }
        if recipient == origin { return Verdict(permitted: true, reason: "returning data to its origin \(origin.urn)") }
        switch agreement.onwardTransfer {
        case .forbidden:
            return Verdict(permitted: false, reason: "agreement \(agreement.id) forbids onward transfer of data from \(origin.urn) (Art. 21)")
        case .allowed(let list):
            if list.contains(recipient) { return Verdict(permitted: true, reason: "agreement \(agreement.id) allows onward transfer to \(recipient.urn)") }
            return Verdict(permitted: false, reason: "agreement \(agreement.id) allows onward transfer only to \(list.map(\.urn).joined(separator: ", "))")
        }
    }

    /// May sealed envelopes under `agreement` travel through `hub`? (It can never open them.)
    public static func mayRelay(via hub: PartyID, agreement: Agreement) -> Verdict {
        guard let allowed = agreement.relay.viaHub else { return Verdict(permitted: false, reason: "agreement \(agreement.id) allows no relay: direct delivery only") }
        if allowed == hub { return Verdict(permitted: true, reason: "agreement \(agreement.id) allows relay via \(hub.urn)") }
        return Verdict(permitted: false, reason: "agreement \(agreement.id) allows relay only via \(allowed.urn)")
    }

    // MARK: - Conditions

    /// One line: `flow f: name: actual, expected …`.
    public static func describe(_ c: Condition) -> String {
        "\(c.flowID.map { "flow \($0): " } ?? "")\(c.name): \(c.actual), expected \(c.expected)"
    }

    static func flowConditions(_ flow: Agreement.Flow, sender: PartyID, recipient: PartyID) -> [Condition] {
        [
            Condition(flowID: flow.id, name: "from", path: "", actual: sender.urn, expected: "one of \(list(flow.from.map(\.urn)))", passed: flow.from.contains(sender)),
            Condition(flowID: flow.id, name: "to", path: "", actual: recipient.urn, expected: "one of \(list(flow.to.map(\.urn)))", passed: flow.to.contains(recipient)),
        ]
    }

    static func list(_ items: [String]) -> String { "[\(items.joined(separator: ", "))]" }

    static func rowConditions(_ flow: Agreement.Flow, facts: EventFacts, origin: PartyID, recipient: PartyID) -> [Condition] {
        let filter = flow.rowFilter
        var out: [Condition] = []
        func oneOf(_ name: String, _ path: String, _ actual: String?, _ allowed: [String]?) {
            guard let allowed else { return }
            out.append(Condition(flowID: flow.id, name: name, path: path, actual: actual ?? "absent",
                                 expected: allowed.isEmpty ? "nothing (empty list)" : "one of \(list(allowed))",
                                 passed: actual.map(allowed.contains) ?? false))
        }
        func country(_ name: String, _ match: Agreement.CountryMatch?, _ actual: (path: String, value: String)?, _ defaultPath: String) {
            guard let match else { return }
            let expected: String
            switch match {
            case .country(let code): expected = code
            case .recipient: expected = "\(recipient.code) (the recipient)"
            case .origin: expected = "\(origin.code) (the origin)"
            }
            let code: String
            switch match {
            case .country(let c): code = c
            case .recipient: code = recipient.code
            case .origin: code = origin.code
            }
            out.append(Condition(flowID: flow.id, name: name, path: actual?.path ?? defaultPath, actual: actual?.value ?? "absent", expected: expected, passed: actual?.value == code))
        }
        oneOf("eventTypes", "type", facts.type, filter.eventTypes?.map(\.rawValue))
        oneOf("bizSteps", "bizStep", facts.bizStep, filter.bizSteps)
        oneOf("dispositions", "disposition", facts.disposition, filter.dispositions)
        oneOf("productCategories", facts.productCategory?.path ?? "ilmd.tt:productCategory", facts.productCategory?.value, filter.productCategories?.map(\.rawValue))
        country("sourceCountry", filter.sourceCountry, facts.sourceCountry, "ilmd.tt:manufactureCountry")
        country("destinationCountry", filter.destinationCountry, facts.destinationCountry, "tt:destinationCountry")
        if let from = filter.eventTimeFrom {
            out.append(Condition(flowID: flow.id, name: "eventTimeFrom", path: "eventTime", actual: facts.eventTime?.canonicalUTC ?? "absent",
                                 expected: "at or after \(from.canonicalUTC)", passed: facts.eventTime.map { !($0 < from) } ?? false))
        }
        if let before = filter.eventTimeBefore {
            out.append(Condition(flowID: flow.id, name: "eventTimeBefore", path: "eventTime", actual: facts.eventTime?.canonicalUTC ?? "absent",
                                 expected: "before \(before.canonicalUTC)", passed: facts.eventTime.map { $0 < before } ?? false))
        }
        return out
    }
}

/// What a row filter reads from an event, and where it read it (docs/agreements.md, "rowFilter").
struct EventFacts {
    var type: String?
    var bizStep: String?
    var disposition: String?
    var eventTime: Timestamp?
    var productCategory: (path: String, value: String)?
    var sourceCountry: (path: String, value: String)?
    var destinationCountry: (path: String, value: String)?

    init(_ event: JSONObject) {
        type = event["type"]?.stringValue
        bizStep = event["bizStep"]?.stringValue.map { CBVVocabulary.expand($0, for: .bizStep) ?? CBVVocabulary.webVocabularyFromURN($0) }
        disposition = event["disposition"]?.stringValue.map { CBVVocabulary.expand($0, for: .disposition) ?? CBVVocabulary.webVocabularyFromURN($0) }
        eventTime = event["eventTime"]?.stringValue.flatMap { Timestamp.parse($0) }
        let ilmd = event["ilmd"]?.objectValue
        if let v = ilmd?["tt:productCategory"]?.stringValue { productCategory = ("ilmd.tt:productCategory", v) }
        else if let v = event["tt:productCategory"]?.stringValue { productCategory = ("tt:productCategory", v) }
        if let v = ilmd?["tt:manufactureCountry"]?.stringValue { sourceCountry = ("ilmd.tt:manufactureCountry", v) }
        else if let v = event["tt:intendedRoute"]?.arrayValue?.first?.stringValue { sourceCountry = ("tt:intendedRoute[0]", v) }
        if let v = event["tt:destinationCountry"]?.stringValue { destinationCountry = ("tt:destinationCountry", v) }
        else if let v = ilmd?["tt:intendedMarket"]?.stringValue { destinationCountry = ("ilmd.tt:intendedMarket", v) }
    }
}

extension Timestamp {
    /// The instant `seconds` later, written in the same offset.
    func adding(seconds: Int64) -> Timestamp {
        Timestamp(seconds: self.seconds + seconds, microseconds: microseconds, offsetMinutes: offsetMinutes)
    }
}
