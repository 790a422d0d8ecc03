import Foundation
import Core
public import Crypto
public import Model
public import Policy
public import Store

/// Where an agreement stands at an instant, as `agreement list` shows it.
public enum AgreementState: String, Sendable {
    case pendingSignatures = "pending-signatures"
    case active
    case notYetValid = "not-yet-valid"
    case expired
    case superseded
    /// A Party's termination is signed but its notice period runs until `terminationEffective`:
    /// still active for evaluation.
    case terminating
    case terminated
}

/// A stored agreement with its verified signers and its state.
public struct AgreementStatus: Sendable {
    public let agreement: Agreement
    public let stored: StoredAgreement
    /// Parties whose stored signatures verify now (chain, CRL, signing time).
    public let signedBy: Set<PartyID>
    /// Stored signatures that no longer verify (e.g. the signer's certificate was revoked), with the reason.
    public let invalidSignatures: [String: String]
    public let missing: [PartyID]
    public let state: AgreementState
    /// The fully signed amendment that replaced this one, for `superseded`.
    public let supersededBy: String?
    public let terminations: [StoredAgreementTermination]
    /// The earliest `effective` among the terminations (ISO 8601 UTC), if any.
    public let terminationEffective: String?

    /// Whether the agreement permits anything now: `active`, or `terminating` (notice running).
    public var isActive: Bool { state == .active || state == .terminating }

    /// `active`, `pending-signatures (missing: UA)`, `superseded by <hash>`, `terminating (effective <date>)`, …
    public var text: String {
        switch state {
        case .pendingSignatures: "pending-signatures (missing: \(missing.map(\.code).joined(separator: ", ")))"
        case .superseded: "superseded by \(supersededBy ?? "?")"
        case .terminating: "terminating (effective \(terminationEffective ?? "?"))"
        default: state.rawValue
        }
    }
}

/// What `agreement explain` reports: the agreement used and the Policy decision.
public struct Explanation: Sendable {
    public let agreement: Agreement
    public let decision: Decision
    public let origin: PartyID
    public let recipient: PartyID
}

/// Per recipient, what a draft would change against the active agreements (`agreement dry-run`).
public struct DryRunEntry: Sendable, Equatable {
    public let recipient: PartyID
    public var newlySharedEvents = 0
    public var noLongerSharedEvents = 0
    public var newlySharedUIMs: Set<String> = []
    public var noLongerSharedUIMs: Set<String> = []
    /// Member paths the recipient would newly see (kept by the draft, removed or unshared today).
    public var newlyExposedFields: Set<String> = []
}

/// The node's agreement operations: draft, sign, import (verify + store), status, explain,
/// terminate, dry-run. Policy decides; this type does the I/O around it.
public struct AgreementService: Sendable {
    public let node: OpenNode
    public let store: AgreementStore

    public init(node: OpenNode) {
        self.node = node
        self.store = AgreementStore(node.store)
    }

    var party: PartyID { node.configuration.party }
    var actor: String { "cli:\(party.urn)" }

    /// The node's certificate folder (signing key and trust store).
    func certificates(at time: Date = Date()) throws -> PartyCertificateFolder {
        guard FileManager.default.fileExists(atPath: node.directory.certificatesPath) else {
            throw NodeError(code: "node.certs.missing", reason: "\(node.directory.path) has no certificate folder; run 'fedtrace init --certs' first")
        }
        return try PartyCertificateFolder.load(from: node.directory.certificatesPath, expectedParty: party.urn, at: time)
    }

    /// The federation root and CRL from the node's certificate folder (verification only).
    func trustStore() throws -> TrustStore {
        let directory = node.directory.certificatesPath
        guard FileManager.default.fileExists(atPath: directory + "/root.pem") else {
            throw NodeError(code: "node.certs.missing", reason: "\(node.directory.path) has no certificate folder; run 'fedtrace init --certs' first")
        }
        let crl = directory + "/crl.pem"
        return try TrustStore(rootFile: directory + "/root.pem", crlFile: FileManager.default.fileExists(atPath: crl) ? crl : nil)
    }

    // MARK: - Draft

    /// A template agreement between this node's Party and `others`, valid for a year from
    /// today (UTC): per sender and recipient one replicate flow of shipping ObjectEvents,
    /// filtered on destination = recipient, sharing only (h) and (j). (One flow per recipient:
    /// a stream carries a flow to all its recipients at once, so a recipient-dependent
    /// condition in a flow to several Parties would share nothing.)
    public static func draft(party: PartyID, with others: [PartyID], id: String?, now: Date = Date()) throws -> [UInt8] {
        let parties = [party] + others.filter { $0 != party }
        guard parties.count >= 2, Set(parties).count == parties.count else {
            throw NodeError(code: "agreement.draft.parties", reason: "name at least one other, distinct Party with --with")
        }
        let day = Int64(now.timeIntervalSince1970) / 86_400 * 86_400
        let notBefore = Timestamp(seconds: day, microseconds: 0, offsetMinutes: 0)
        let notAfter = Timestamp(seconds: day + 365 * 86_400 - 1, microseconds: 0, offsetMinutes: 0)
        let year = String(notBefore.canonicalUTC.prefix(4))
        let name = id ?? (parties.map { $0.code.lowercased() }.joined(separator: "-") + "-" + year)
        let flows: [JSONValue] = parties.flatMap { sender in parties.filter { $0 != sender }.map { receiver in
            JSONValue.object([
                "id": .string("\(sender.code.lowercased())-shipments-to-\(receiver.code.lowercased())"),
                "from": .array([.string(sender.urn)]),
                "to": .array([.string(receiver.urn)]),
                "action": "replicate",
                "rowFilter": .object(["eventTypes": ["ObjectEvent"], "bizSteps": ["shipping"], "destinationCountry": "recipient"]),
                "fields": ["h", "j"],
                "duties": .object(["retentionDays": 365, "receipts": true]),
            ])
        } }
        let document: JSONValue = .object([
            "id": .string(name),
            "version": 1,
            "supersedes": nil,
            "profile": "fctc-tt-1",
            "parties": .array(parties.map { .object(["party": .string($0.urn), "competentAuthority": .string("Competent authority of \($0.code) (to be completed)")]) }),
            "validity": .object(["notBefore": .string(notBefore.canonicalUTC), "notAfter": .string(notAfter.canonicalUTC)]),
            "purposes": ["illicit-trade-detection"],
            "legalBasis": "WHO FCTC Protocol to Eliminate Illicit Trade in Tobacco Products, Art. 8 and 21",
            "flows": .array(flows),
            "onwardTransfer": .object(["allowed": false]),
            "relay": .object(["viaHub": nil]),
            "enquiry": .object(["mode": "manual", "answerWithinHours": 72]),
            "termination": .object(["noticeDays": 90, "receivedData": "delete"]),
            "signatures": [],
        ])
        return Array((pretty(document) + "\n").utf8)
    }

    /// Indented JSON for a document people edit: objects one member a line, arrays of
    /// scalars on one line. Layout does not change the agreement's hash (JCS).
    public static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .object(let object):
            guard !object.members.isEmpty else { return "{}" }
            let lines = object.members.map { inner + JSONWriter.string(.string($0.key)) + ": " + pretty($0.value, indent: inner) }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            if items.allSatisfy({ if case .object = $0 { false } else if case .array = $0 { false } else { true } }) {
                return "[" + items.map { JSONWriter.string($0) }.joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return JSONWriter.string(value)
        }
    }

    // MARK: - Sign

    /// Parses `bytes` strictly, checks this node's Party is a party, and signs the canonical
    /// bytes (detached CMS, DER) with the node's signing key. Audited.
    public func sign(_ bytes: [UInt8], now: Date = Date()) throws -> (agreement: Agreement, signature: [UInt8]) {
        let agreement = try Agreement.parse(bytes)
        if let error = Lint.check(agreement).first(where: { $0.severity == .error }) {
            throw NodeError(code: "agreement.lint", reason: "refusing to sign: \(error.path.isEmpty ? "" : error.path + ": ")\(error.message)")
        }
        guard agreement.partyIDs.contains(party) else {
            throw NodeError(code: "agreement.not-a-party", reason: "\(party.urn) is not a party to agreement \(agreement.id) (parties: \(agreement.partyIDs.map(\.code).joined(separator: ", ")))")
        }
        let folder = try certificates(at: now)
        let signature = try CMS.sign(agreement.canonicalBytes, signer: folder.signingCertificate, key: folder.signingKey, detached: true)
        try store.audit(actor: actor, action: "agreement.sign",
                        detail: ["agreement": .string(agreement.hash), "id": .string(agreement.id), "version": .number(String(agreement.version))], now: now)
        return (agreement, signature)
    }

    // MARK: - Import

    /// Parses `bytes`, verifies every signature (the `signatures` inside the document and the
    /// `extra` DER files) over the canonical bytes against the node's trust store, and stores
    /// the agreement with them. Any bad signature refuses the whole import: nothing is stored.
    public func importAgreement(_ bytes: [UInt8], signatures extra: [[UInt8]], now: Date = Date()) throws -> (agreement: Agreement, result: AgreementImportResult) {
        let agreement = try Agreement.parse(bytes)
        if let error = Lint.check(agreement).first(where: { $0.severity == .error }) {
            throw NodeError(code: "agreement.lint", reason: "refusing to import: \(error.path.isEmpty ? "" : error.path + ": ")\(error.message)")
        }
        var blobs: [[UInt8]] = []
        for embedded in agreement.signatures {
            guard let data = Data(base64Encoded: embedded.cms) else {
                throw NodeError(code: "agreement.signature.malformed", reason: "the signature of \(embedded.party.urn) in the document is not base64")
            }
            blobs.append(Array(data))
        }
        blobs += extra
        let trust = try certificates(at: now).trust
        let parties = Set(agreement.partyIDs)
        var verified: [PartyID: StoredAgreementSignature] = [:]
        for (index, blob) in blobs.enumerated() {
            let result: VerifiedSignedData
            do {
                result = try CMS.verify(blob, detachedContent: agreement.canonicalBytes, trust: trust, now: now)
            } catch {
                let text = (error as? any CodedError)?.description ?? String(describing: error)
                throw NodeError(code: "agreement.signature.invalid", reason: "signature \(index + 1) does not verify over agreement \(agreement.hash): \(text)")
            }
            guard let signer = try? PartyID(urn: result.signerURN), parties.contains(signer) else {
                throw NodeError(code: "agreement.signature.non-party", reason: "signature \(index + 1) is by \(result.signerURN), not a party to agreement \(agreement.id)")
            }
            guard verified[signer] == nil else {
                throw NodeError(code: "agreement.signature.duplicate", reason: "two signatures by \(signer.urn); one per Party")
            }
            verified[signer] = StoredAgreementSignature(agreementHash: agreement.hash, party: signer.urn,
                                                        signingTime: Self.iso(result.signingTime), cms: blob)
        }
        let stored = StoredAgreement(hash: agreement.hash, id: agreement.id, version: agreement.version, supersedes: agreement.supersedes,
                                     parties: agreement.partyIDs.map(\.urn), body: agreement.canonicalBytes)
        let result = try store.importAgreement(stored, signatures: verified.keys.sorted().map { verified[$0]! }, actor: actor, now: now)
        return (agreement, result)
    }

    // MARK: - Status

    /// Statuses as `statuses(at:)` gives them, shared by every service of this process on
    /// this data directory (`SharedMemo`): rebuilt when an agreement, signature or
    /// termination is stored or the root or CRL file changes, and at least every second
    /// (validity windows).
    public func cachedStatuses(at now: Date = Date()) throws -> [AgreementStatus] {
        let fingerprint = try store.fingerprint() + trustFilesFingerprint(in: node.directory.certificatesPath)
        return try Self.statusMemo.value(for: node.directory.path, fingerprint: fingerprint, now: now) {
            try statuses(at: now)
        }
    }

    static let statusMemo = SharedMemo<[AgreementStatus]>(seconds: 1)

    /// Every stored agreement with its state at `now`.
    public func statuses(at now: Date = Date()) throws -> [AgreementStatus] {
        let instant = Self.timestamp(now)
        let stored = try store.agreements()
        let trust = stored.isEmpty ? nil : try trustStore()
        var base: [(Agreement, StoredAgreement, Set<PartyID>, [StoredAgreementTermination])] = []
        var invalid: [String: [String: String]] = [:]
        for record in stored {
            let agreement = try Agreement.parse(record.body)
            var signers: Set<PartyID> = []
            // Verified at import; checked again so a revocation published since then counts.
            for signature in try store.signatures(of: record.hash) {
                do {
                    let result = try CMS.verify(signature.cms, detachedContent: record.body, trust: trust!, expectedSigner: signature.party, now: now)
                    signers.insert(try PartyID(urn: result.signerURN))
                } catch {
                    invalid[record.hash, default: [:]][signature.party] = (error as? any CodedError)?.description ?? String(describing: error)
                }
            }
            base.append((agreement, record, signers, try store.terminations(of: record.hash)))
        }
        return base.map { agreement, record, signers, terminations in
            let missing = agreement.partyIDs.filter { !signers.contains($0) }
            let replacement = base.first { other in
                other.0.supersedes == record.hash && other.0.partyIDs.allSatisfy(other.2.contains)
            }
            // The earliest termination counts; an unreadable date counts as effective already (fail closed).
            let ending = terminations.map { (Timestamp.parse($0.effective) ?? Timestamp(seconds: .min, microseconds: 0, offsetMinutes: 0), $0.effective) }
                .min { $0.0 < $1.0 }
            var state: AgreementState
            if let ending, !(instant < ending.0) {
                state = .terminated
            } else if !missing.isEmpty {
                state = .pendingSignatures
            } else if replacement != nil {
                state = .superseded
            } else if instant < agreement.validity.notBefore {
                state = .notYetValid
            } else if agreement.validity.notAfter < instant {
                state = .expired
            } else {
                state = .active
            }
            if state == .active, ending != nil { state = .terminating }
            return AgreementStatus(agreement: agreement, stored: record, signedBy: signers, invalidSignatures: invalid[record.hash] ?? [:],
                                   missing: missing, state: state,
                                   supersededBy: replacement?.1.hash, terminations: terminations, terminationEffective: ending?.1)
        }
    }

    /// `Lint.overlaps` warnings between `agreement` and the other stored agreements that are
    /// active, pending or not yet valid (e.g. a second agreement covering the same shipments).
    public func overlaps(with agreement: Agreement, at now: Date = Date()) throws -> [Finding] {
        let others = try statuses(at: now)
            .filter { $0.stored.hash != agreement.hash && [.active, .terminating, .pendingSignatures, .notYetValid].contains($0.state) }
            .map(\.agreement)
        return Lint.overlaps([agreement] + others).filter { $0.path.hasPrefix("agreements[0].") }
    }

    /// The status of the agreement named by hash (or unique hash prefix) or by id (latest version).
    public func status(named name: String, at now: Date = Date()) throws -> AgreementStatus {
        let all = try statuses(at: now)
        if let exact = all.first(where: { $0.stored.hash == name.lowercased() }) { return exact }
        let byID = all.filter { $0.stored.id == name }
        if let latest = byID.max(by: { $0.stored.version < $1.stored.version }) { return latest }
        let prefixed = all.filter { $0.stored.hash.hasPrefix(name.lowercased()) }
        if name.count >= 8, prefixed.count == 1 { return prefixed[0] }
        throw NodeError(code: "agreement.unknown", reason: "no stored agreement has hash or id '\(name)'")
    }

    // MARK: - Explain

    /// Would the stored event `hashID` go to `recipient` under the named agreement (or the
    /// first active agreement with that Party that permits it), and what would it see?
    /// A what-if: nothing is recorded (`decideOutbound` records).
    public func explain(eventHashID: String, recipient: PartyID, agreementName: String?, at now: Date = Date()) throws -> Explanation {
        guard let event = try node.store.events(hashID: eventHashID).first else {
            throw NodeError(code: "agreement.event.unknown", reason: "no stored event has hash ID \(eventHashID)")
        }
        let object = try Self.eventObject(event)
        let origin = (try? PartyID(urn: event.origin)) ?? party
        let candidates: [AgreementStatus]
        if let agreementName {
            candidates = [try status(named: agreementName, at: now)]
        } else {
            candidates = try statuses(at: now).filter { $0.isActive && $0.agreement.partyIDs.contains(recipient) && $0.agreement.partyIDs.contains(origin) }
            guard !candidates.isEmpty else {
                throw NodeError(code: "agreement.none-active", reason: "no active agreement between \(origin.code) and \(recipient.code)")
            }
        }
        let instant = Self.timestamp(now)
        var first: Explanation?
        for candidate in candidates {
            let decision = Evaluation.outbound(event: object, recipient: recipient, origin: origin, agreement: candidate.agreement,
                                               signedBy: candidate.signedBy, at: instant)
            let explanation = Explanation(agreement: candidate.agreement, decision: decision, origin: origin, recipient: recipient)
            if decision.permitted { return explanation }
            if first == nil { first = explanation }
        }
        return first!
    }

    /// The stored event's JSON object (the exact bytes captured).
    static func eventObject(_ event: StoredEvent) throws -> JSONObject {
        guard let object = try JSONParser.parse(event.raw).objectValue else {
            throw NodeError(code: "agreement.event.malformed", reason: "stored event \(event.hashID) is not a JSON object")
        }
        return object
    }

    // MARK: - Decide (recorded)

    /// Decides whether the stored `event` goes to `recipient` now, and records the decision
    /// (the sync layer's outbound check). Only agreements that are active (or terminating) can
    /// permit; the first that permits wins. When none does, the deny is recorded against the
    /// first active agreement naming both Parties, else the latest stored one naming both
    /// (with its state), else against "" (no agreement).
    @discardableResult
    public func decideOutbound(event: StoredEvent, to recipient: PartyID, at now: Date = Date()) throws -> (decision: Decision?, record: DecisionRecord) {
        let object = try Self.eventObject(event)
        let origin = (try? PartyID(urn: event.origin)) ?? party
        let instant = Self.timestamp(now)
        let naming = try statuses(at: now).filter { $0.agreement.partyIDs.contains(recipient) && $0.agreement.partyIDs.contains(origin) }
        var denied: (AgreementStatus, Decision)?
        for candidate in naming where candidate.isActive {
            let decision = Evaluation.outbound(event: object, recipient: recipient, origin: origin, agreement: candidate.agreement,
                                               signedBy: candidate.signedBy, at: instant)
            if decision.permitted {
                let reasons = [decision.reason] + decision.removedFields.map { "removed \($0.path): \($0.rule)" }
                return (decision, try record(.outbound, .permit, agreement: candidate.stored.hash, flow: decision.flowID, counterpart: recipient,
                                              event: event.hashID, reasons: reasons, at: now))
            }
            if denied == nil { denied = (candidate, decision) }
        }
        if let (candidate, decision) = denied {
            let failing = decision.conditions.filter { !$0.passed }.map(Evaluation.describe)
            return (decision, try record(.outbound, .deny, agreement: candidate.stored.hash, flow: nil, counterpart: recipient,
                                          event: event.hashID, reasons: [decision.reason] + failing, at: now))
        }
        if let latest = naming.max(by: { ($0.stored.id, $0.stored.version) < ($1.stored.id, $1.stored.version) }) {
            return (nil, try record(.outbound, .deny, agreement: latest.stored.hash, flow: nil, counterpart: recipient, event: event.hashID,
                                     reasons: ["denied: agreement \(latest.agreement.id) v\(latest.agreement.version) is \(latest.text), not active"], at: now))
        }
        return (nil, try record(.outbound, .deny, agreement: "", flow: nil, counterpart: recipient, event: event.hashID,
                                 reasons: ["denied: no stored agreement between \(origin.code) and \(recipient.code)"], at: now))
    }

    /// The receiver's re-check of a delta from `sender` on `flowID` of the stored agreement
    /// `agreementHash`, recorded (accept, or reject with the violation). An agreement that is
    /// not stored or not active (terminated, superseded, expired, …) rejects the whole delta.
    @discardableResult
    public func decideInbound(events: [EPCISEvent], from sender: PartyID, agreementHash: String, flowID: String,
                              at now: Date = Date()) throws -> (decision: InboundDecision, record: DecisionRecord) {
        let hash = agreementHash.lowercased()
        func reject(_ violation: Violation) throws -> (decision: InboundDecision, record: DecisionRecord) {
            let where_ = violation.eventIndex.map { "event \($0)" + (violation.path.isEmpty ? "" : " at \(violation.path)") } ?? violation.path
            let rule = "rejected: \(violation.rule)"
            return (InboundDecision(violation: violation),
                    try record(.inbound, .reject, agreement: hash, flow: flowID, counterpart: sender,
                               event: violation.eventIndex.flatMap { events.indices.contains($0) ? events[$0].hashID : nil },
                               reasons: where_.isEmpty ? [rule] : [rule, where_], at: now))
        }
        guard let status = try statuses(at: now).first(where: { $0.stored.hash == hash }) else {
            return try reject(Violation(eventIndex: nil, path: "agreement", rule: "agreement \(agreementHash) is not stored here"))
        }
        guard status.isActive else {
            return try reject(Violation(eventIndex: nil, path: "agreement", rule: "agreement \(status.agreement.id) v\(status.agreement.version) is \(status.text), not active"))
        }
        let decision = Evaluation.inbound(events: events, sender: sender, recipient: party, agreement: status.agreement, flowID: flowID,
                                          signedBy: status.signedBy, at: Self.timestamp(now))
        if let violation = decision.violation { return try reject(violation) }
        return (decision, try record(.inbound, .accept, agreement: hash, flow: flowID, counterpart: sender, event: nil,
                                      reasons: ["accepted: \(events.count) event\(events.count == 1 ? "" : "s") within flow \(flowID)"], at: now))
    }

    /// The recorded decisions matching `query`, newest first.
    public func decisions(_ query: DecisionQuery) throws -> [DecisionRecord] {
        try DecisionLog(node.store).decisions(matching: query)
    }

    func record(_ direction: DecisionRecord.Direction, _ outcome: DecisionRecord.Outcome, agreement: String, flow: String?, counterpart: PartyID,
                event: String?, reasons: [String], at now: Date) throws -> DecisionRecord {
        let text = JSONWriter.string(.array(reasons.map(JSONValue.string)))
        let record = DecisionRecord(direction: direction, at: "", agreementHash: agreement, flowID: flow, counterpart: counterpart.urn,
                                    eventHashID: event, outcome: outcome, reasons: text)
        return try DecisionLog(node.store).record([record], now: now)[0]
    }

    // MARK: - Terminate

    /// Signs and stores this Party's termination of a stored agreement. It takes effect after
    /// the agreement's `termination.noticeDays` (from `now`), or at `effective` when that is
    /// later; an earlier `effective` is refused. Until then the agreement is `terminating`.
    public func terminate(name: String, reason: String, effective requested: Date? = nil, now: Date = Date()) throws -> StoredAgreementTermination {
        let status = try status(named: name, at: now)
        guard status.agreement.partyIDs.contains(party) else {
            throw NodeError(code: "agreement.not-a-party", reason: "\(party.urn) is not a party to agreement \(status.agreement.id)")
        }
        let notice = status.agreement.termination.noticeDays
        let earliest = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down) + Double(notice) * 86_400)
        if let requested, requested < earliest {
            throw NodeError(code: "agreement.termination.notice",
                            reason: "agreement \(status.agreement.id) requires \(notice) days' notice: effective no earlier than \(Self.iso(earliest)), not \(Self.iso(requested))")
        }
        let effective = Self.iso(max(earliest, requested ?? earliest))
        let record: JSONValue = .object(["agreement": .string(status.stored.hash), "party": .string(party.urn),
                                         "effective": .string(effective), "reason": .string(reason)])
        let folder = try certificates(at: now)
        let cms = try CMS.sign(JSONWriter.serialize(record), signer: folder.signingCertificate, key: folder.signingKey, detached: false)
        let termination = StoredAgreementTermination(agreementHash: status.stored.hash, party: party.urn, effective: effective,
                                                     reason: reason, signingTime: Self.iso(now), cms: cms)
        try store.terminate(termination, actor: actor, now: now)
        return termination
    }

    /// Verifies another Party's termination record (attached CMS made by `terminate`) against
    /// the node's trust store (chain and CRL at its signing time), checks that it names a
    /// stored agreement, that the signer is a party to it and is the Party the record names,
    /// and that the notice period is respected; then stores it (idempotent: `added` is false
    /// when this exact record is already held) with an audit record. Any failure stores nothing.
    public func importTermination(_ bytes: [UInt8], now: Date = Date()) throws -> (termination: StoredAgreementTermination, added: Bool) {
        let verified: VerifiedSignedData
        do {
            verified = try CMS.verify(bytes, trust: try trustStore(), now: now)
        } catch let error as NodeError {
            throw error
        } catch {
            let text = (error as? any CodedError)?.description ?? String(describing: error)
            throw NodeError(code: "agreement.termination.invalid", reason: "the termination record does not verify: \(text)")
        }
        let malformed = NodeError(code: "agreement.termination.malformed",
                                  reason: "the termination record is not {\"agreement\",\"party\",\"effective\",\"reason\"} with string values")
        guard let object = (try? JSONParser.parse(verified.content))?.objectValue,
              object.keys.count == 4, Set(object.keys) == ["agreement", "party", "effective", "reason"],
              let hash = object["agreement"]?.stringValue, let named = object["party"]?.stringValue,
              let effective = object["effective"]?.stringValue, let reason = object["reason"]?.stringValue,
              let effectiveTime = Timestamp.parse(effective) else { throw malformed }
        guard let stored = try store.agreement(hash: hash.lowercased()) else {
            throw NodeError(code: "agreement.unknown", reason: "the termination names agreement \(hash), which is not stored here")
        }
        let agreement = try Agreement.parse(stored.body)
        guard let signer = try? PartyID(urn: verified.signerURN), agreement.partyIDs.contains(signer) else {
            throw NodeError(code: "agreement.termination.non-party",
                            reason: "the termination is signed by \(verified.signerURN), not a party to agreement \(agreement.id)")
        }
        guard named == signer.urn else {
            throw NodeError(code: "agreement.termination.signer", reason: "the termination names \(named) but is signed by \(signer.urn)")
        }
        let notice = agreement.termination.noticeDays
        let earliest = verified.signingTime.timeIntervalSince1970.rounded(.down) + Double(notice) * 86_400 - CMS.allowedClockSkew
        guard Double(effectiveTime.seconds) >= earliest else {
            throw NodeError(code: "agreement.termination.notice",
                            reason: "the termination signed \(Self.iso(verified.signingTime)) is effective \(effective), before the \(notice) days' notice of agreement \(agreement.id)")
        }
        let termination = StoredAgreementTermination(agreementHash: stored.hash, party: signer.urn, effective: effectiveTime.canonicalUTC,
                                                     reason: reason, signingTime: Self.iso(verified.signingTime), cms: bytes)
        let added = try store.importTermination(termination, actor: actor, now: now)
        return (termination, added)
    }

    // MARK: - Dry run

    /// Evaluates `draft` (as if every Party had signed) against the stored events this node
    /// captured, compared with the currently active agreements, per recipient Party.
    public func dryRun(_ bytes: [UInt8], at now: Date = Date(), limit: Int = 100_000) throws -> (draft: Agreement, entries: [DryRunEntry]) {
        let draft = try Agreement.parse(bytes)
        let instant = Self.timestamp(now)
        let active = try statuses(at: now).filter(\.isActive)
        var query = EventQuery()
        query.limit = limit
        let events = try node.store.events(matching: query).filter { $0.origin == party.urn }
        let recipients = draft.partyIDs.filter { $0 != party }
        var entries: [DryRunEntry] = []
        let allSigned = Set(draft.partyIDs)
        for recipient in recipients {
            var entry = DryRunEntry(recipient: recipient)
            var uimsBefore: Set<String> = []
            var uimsAfter: Set<String> = []
            for event in events {
                let object = try Self.eventObject(event)
                let after = Evaluation.outbound(event: object, recipient: recipient, origin: party, agreement: draft, signedBy: allSigned, at: instant)
                var before: Decision?
                for current in active where current.agreement.partyIDs.contains(recipient) && current.agreement.partyIDs.contains(party) {
                    let decision = Evaluation.outbound(event: object, recipient: recipient, origin: party, agreement: current.agreement,
                                                       signedBy: current.signedBy, at: instant)
                    if decision.permitted { before = decision; break }
                }
                let uims = Self.identifiers(object)
                if before != nil { uimsBefore.formUnion(uims) }
                if after.permitted { uimsAfter.formUnion(uims) }
                switch (before != nil, after.permitted) {
                case (false, true): entry.newlySharedEvents += 1
                case (true, false): entry.noLongerSharedEvents += 1
                default: break
                }
                if let redacted = after.redactedEvent {
                    let seenBefore = before?.redactedEvent.map(Self.paths) ?? []
                    entry.newlyExposedFields.formUnion(Self.paths(redacted).subtracting(seenBefore).subtracting(FieldMap.coreMembers))
                }
            }
            // A UIM counts as newly shared (or lost) only if no event shares it before (or after).
            entry.newlySharedUIMs = uimsAfter.subtracting(uimsBefore)
            entry.noLongerSharedUIMs = uimsBefore.subtracting(uimsAfter)
            entries.append(entry)
        }
        return (draft, entries)
    }

    /// Member paths of an event (top level, and one level into objects such as `ilmd`).
    static func paths(_ object: JSONObject) -> Set<String> {
        var out: Set<String> = []
        for member in object.members {
            if case .object(let inner) = member.value, !inner.members.isEmpty {
                for child in inner.members { out.insert("\(member.key).\(child.key)") }
            } else {
                out.insert(member.key)
            }
        }
        return out
    }

    /// The identifiers an event names (EPC lists and parent).
    static func identifiers(_ object: JSONObject) -> Set<String> {
        var out: Set<String> = []
        for key in ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] {
            for value in object[key]?.arrayValue ?? [] { if let s = value.stringValue { out.insert(s) } }
        }
        if let parent = object["parentID"]?.stringValue { out.insert(parent) }
        return out
    }

    // MARK: - Time

    static func timestamp(_ date: Date) -> Timestamp {
        Timestamp(epochMilliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    static func iso(_ date: Date) -> String {
        Timestamp(seconds: Int64(date.timeIntervalSince1970.rounded(.down)), microseconds: 0, offsetMinutes: 0).canonicalUTC
    }
}
