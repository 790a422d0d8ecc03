public import Model

/// One problem `fedtrace agreement lint` reports.
public struct Finding: Sendable, Equatable {
    public enum Severity: String, Sendable { case error, warning }
    public let severity: Severity
    /// Stable code (`lint.empty-filter`, `agreement.unknown-member`, …).
    public let code: String
    /// JSON path in the agreement (prefixed `agreements[i].` by `overlaps`).
    public let path: String
    public let message: String
}

/// Checks drafts and agreement sets for mistakes that parse but cannot be what the
/// signatories meant. Findings are listed, never thrown: lint keeps going.
public enum Lint {
    /// Every parser issue (unknown terms included) as an error finding, then the semantic checks.
    /// With `at`, also the window against that instant (expired: error; not yet valid: warning).
    public static func check(_ bytes: [UInt8], at: Timestamp? = nil) -> [Finding] {
        let result = AgreementParser.read(bytes)
        var findings = result.issues.map { Finding(severity: .error, code: $0.code, path: $0.path, message: $0.reason) }
        if let agreement = result.agreement { findings += check(agreement, at: at) }
        return findings
    }

    /// Article 8.4.1 elements whose sharing deserves a second look, and why.
    public static let sensitiveElements: [Agreement.Element: String] = [
        .e: "element (e) carries payment records and the first customer's invoice, order and payment (bizTransactionList, tt:firstCustomer): commercial data of a named company",
        .i: "element (i) carries the identity of subsequent purchasers (tt:subsequentPurchaser): personal data when the purchaser is a natural person",
    ]

    /// Semantic checks of a parsed agreement; with `at`, also whether its window has ended or not begun.
    public static func check(_ agreement: Agreement, at: Timestamp? = nil) -> [Finding] {
        var out: [Finding] = []
        func add(_ severity: Finding.Severity, _ code: String, _ path: String, _ message: String) {
            out.append(Finding(severity: severity, code: code, path: path, message: "\(path): \(message)"))
        }
        let parties = agreement.partyIDs
        if Set(parties).count != parties.count { add(.error, "lint.duplicate-party", "parties", "a Party is listed twice") }
        if !(agreement.validity.notBefore < agreement.validity.notAfter) {
            add(.error, "lint.inverted-window", "validity", "notBefore \(agreement.validity.notBefore.canonicalUTC) is not before notAfter \(agreement.validity.notAfter.canonicalUTC): never active")
        }
        if let at, agreement.validity.notBefore < agreement.validity.notAfter {
            if agreement.validity.notAfter < at {
                add(.error, "lint.expired", "validity.notAfter", "the window ended at \(agreement.validity.notAfter.canonicalUTC), before \(at.canonicalUTC): the agreement can never be active again")
            } else if at < agreement.validity.notBefore {
                add(.warning, "lint.not-yet-valid", "validity.notBefore", "the window begins at \(agreement.validity.notBefore.canonicalUTC), after \(at.canonicalUTC): nothing is shared until then")
            }
        }
        if agreement.version == 1 && agreement.supersedes != nil { add(.error, "lint.supersedes", "supersedes", "a first version supersedes nothing: must be null") }
        if agreement.version > 1 && agreement.supersedes == nil { add(.error, "lint.supersedes", "supersedes", "version \(agreement.version) must name the hash of the version it replaces") }
        if agreement.enquiry.mode == .autoUpTo {
            if agreement.enquiry.maxUIMs == nil { add(.error, "lint.enquiry-limit", "enquiry.maxUIMs", "autoUpTo needs maxUIMs (without it every enquiry waits for an officer)") }
        } else if agreement.enquiry.maxUIMs != nil {
            add(.warning, "lint.enquiry-limit", "enquiry.maxUIMs", "only meaningful in autoUpTo mode; ignored in \(agreement.enquiry.mode.rawValue) mode")
        }
        if let limit = agreement.enquiry.maxUIMs, limit <= 0 { add(.error, "lint.enquiry-limit", "enquiry.maxUIMs", "must be 1 or more") }
        if agreement.enquiry.answerWithinHours <= 0 { add(.error, "lint.deadline", "enquiry.answerWithinHours", "must be 1 or more") }
        if agreement.termination.noticeDays < 0 { add(.error, "lint.notice", "termination.noticeDays", "must not be negative") }
        if case .allowed(let list) = agreement.onwardTransfer, list.isEmpty {
            add(.warning, "lint.onward", "onwardTransfer.allowed", "an empty list forbids onward transfer: write false")
        }
        let signers = agreement.signatures.map(\.party)
        for (i, signer) in signers.enumerated() where !parties.contains(signer) {
            add(.error, "lint.signature-party", "signatures[\(i)].party", "\(signer.urn) is not a Party to the agreement")
        }
        var seenFlows: [String: Int] = [:]
        for (i, flow) in agreement.flows.enumerated() {
            let path = "flows[\(i)]"
            if let first = seenFlows[flow.id] { add(.error, "lint.duplicate-flow", "\(path).id", "flow id '\(flow.id)' is already used by flows[\(first)]") } else { seenFlows[flow.id] = i }
            if flow.from.isEmpty { add(.error, "lint.empty-flow", "\(path).from", "no sender: the flow carries nothing") }
            if flow.to.isEmpty { add(.error, "lint.empty-flow", "\(path).to", "no recipient: the flow carries nothing") }
            for (k, p) in flow.from.enumerated() where !parties.contains(p) { add(.error, "lint.not-a-party", "\(path).from[\(k)]", "\(p.urn) is not a Party to the agreement") }
            for (k, p) in flow.to.enumerated() where !parties.contains(p) { add(.error, "lint.not-a-party", "\(path).to[\(k)]", "\(p.urn) is not a Party to the agreement") }
            for p in Set(flow.from).intersection(flow.to).sorted() { add(.error, "lint.self-flow", path, "\(p.urn) is both sender and recipient") }
            let filter = flow.rowFilter
            let recipientDependent = [("sourceCountry", filter.sourceCountry), ("destinationCountry", filter.destinationCountry)]
                .filter { $0.1 == .recipient }.map(\.0)
            if flow.action == .replicate, flow.to.count > 1, let condition = recipientDependent.first {
                add(.warning, "lint.recipient-condition", "\(path).rowFilter.\(condition)",
                    "\"recipient\" in a flow to \(flow.to.count) Parties: one stream carries the flow to all of them, so it shares only events that satisfy the condition for every recipient (usually none); write one flow per recipient")
            }
            let lists: [(String, Int?)] = [("eventTypes", filter.eventTypes?.count), ("bizSteps", filter.bizSteps?.count),
                                           ("dispositions", filter.dispositions?.count), ("productCategories", filter.productCategories?.count)]
            for (name, count) in lists where count == 0 {
                add(.error, "lint.empty-filter", "\(path).rowFilter.\(name)", "an empty list matches no event (omit it to match every value)")
            }
            if let from = filter.eventTimeFrom, let before = filter.eventTimeBefore, !(from < before) {
                add(.error, "lint.empty-filter", "\(path).rowFilter", "eventTimeFrom is not before eventTimeBefore: matches no event")
            }
            for element in flow.fields.sorted() {
                guard let why = sensitiveElements[element] else { continue }
                add(.warning, "lint.sensitive-element", "\(path).fields", "flow '\(flow.id)' (\(flow.from.map(\.code).joined(separator: ","))→\(flow.to.map(\.code).joined(separator: ","))) shares \(why); keep it only if the purpose needs it")
            }
            if flow.duties.retentionDays <= 0 { add(.error, "lint.retention", "\(path).duties.retentionDays", "must be 1 or more days") }
            // The receiver re-checks the row filter on the redacted event, so what it reads must travel.
            let fields = Set(flow.fields)
            if filter.productCategories != nil && !fields.contains(.g) {
                add(.error, "lint.unverifiable-filter", "\(path).rowFilter.productCategories", "filters on product category but element (g) is not shared: the receiver cannot re-check it and would reject every delta")
            }
            if filter.destinationCountry != nil && fields.isDisjoint(with: [.f, .j]) {
                add(.error, "lint.unverifiable-filter", "\(path).rowFilter.destinationCountry", "filters on destination but neither (f) nor (j) is shared: the receiver cannot re-check it")
            }
            if filter.sourceCountry != nil && fields.isDisjoint(with: [.a, .j]) {
                add(.error, "lint.unverifiable-filter", "\(path).rowFilter.sourceCountry", "filters on source country but neither (a) nor (j) is shared: the receiver cannot re-check it")
            }
            let carriesTransactions = filter.eventTypes.map { $0.contains(.transaction) } ?? true
            if carriesTransactions && !fields.contains(.e) {
                add(.warning, "lint.transaction-without-e", "\(path).fields", "TransactionEvents would travel without bizTransactionList (element (e)), which EPCIS requires")
            }
        }
        return out
    }

    /// Pairs of agreements covering the same (from, to, event type, business step) with the
    /// same action in overlapping validity windows. A version and the one it supersedes are not compared.
    public static func overlaps(_ agreements: [Agreement]) -> [Finding] {
        var out: [Finding] = []
        for i in agreements.indices {
            for j in agreements.indices where j > i {
                let a = agreements[i], b = agreements[j]
                if a.supersedes == b.hash || b.supersedes == a.hash { continue }
                guard !(a.validity.notAfter < b.validity.notBefore) && !(b.validity.notAfter < a.validity.notBefore) else { continue }
                for (fi, fa) in a.flows.enumerated() {
                    for (fj, fb) in b.flows.enumerated() where fa.action == fb.action {
                        let from = Set(fa.from).intersection(fb.from), to = Set(fa.to).intersection(fb.to)
                        guard !from.isEmpty, !to.isEmpty else { continue }
                        guard let types = intersect(fa.rowFilter.eventTypes?.map(\.rawValue), fb.rowFilter.eventTypes?.map(\.rawValue)),
                              let steps = intersect(fa.rowFilter.bizSteps, fb.rowFilter.bizSteps) else { continue }
                        out.append(Finding(severity: .warning, code: "lint.overlap", path: "agreements[\(i)].flows[\(fi)]",
                                           message: "agreements[\(i)].flows[\(fi)] (\(a.id) v\(a.version) \(fa.id)) and agreements[\(j)].flows[\(fj)] (\(b.id) v\(b.version) \(fb.id)) both cover \(from.map(\.code).sorted().joined(separator: ","))→\(to.map(\.code).sorted().joined(separator: ",")), event types \(types), business steps \(steps) in overlapping windows"))
                    }
                }
            }
        }
        return out
    }

    /// The overlap of two optional lists (nil = every value), described; nil when they are disjoint.
    static func intersect(_ a: [String]?, _ b: [String]?) -> String? {
        switch (a, b) {
        case (nil, nil): return "any"
        case (let x?, nil), (nil, let x?): return x.isEmpty ? nil : "[\(x.joined(separator: ", "))]"
        case (let x?, let y?):
            let common = x.filter(y.contains)
            return common.isEmpty ? nil : "[\(common.joined(separator: ", "))]"
        }
    }
}
