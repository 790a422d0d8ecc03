import Foundation
import Core
public import Crypto
public import Model
import Net
import Policy
public import Store
public import Sync
import Synchronization

/// A message on its way out: the routing header (the hub's envelope headers too) and the
/// sealed body.
public struct EnquiryEnvelope: Sendable {
    public let routing: EnquiryRouting
    public let body: [UInt8]

    public init(routing: EnquiryRouting, body: [UInt8]) {
        self.routing = routing
        self.body = body
    }
}

/// The recipient (or the hub) refused a message with a stable code: final, not retried.
public struct EnquiryDeliveryRefusal: CodedError, Sendable {
    public let code: String
    public let reason: String
    public let status: Int

    public init(code: String, reason: String, status: Int) {
        self.code = code
        self.reason = reason
        self.status = status
    }
}

/// How enquiries and answers leave this node. `DirectEnquiryTransport` POSTs to the
/// recipient's federation endpoint from the peers table; the hub relay adds a transport
/// that sends `enquiry`/`answer` envelopes through the hub (docs/hub.md §1).
public protocol EnquiryTransport: Sendable {
    /// Whether a message to `party` has a way to go now (an endpoint, or a hub).
    func canReach(_ party: String) -> Bool
    /// The recipient's sealing certificate (PEM or DER); the service checks it against the
    /// federation root, the Party and the sealing purpose before every use.
    func sealingCertificate(for party: String) throws -> [UInt8]
    /// Delivers the envelope. Returns how it went (`direct`, or the hub's URN) once the
    /// recipient or the hub accepted it (stored durably); throws `EnquiryDeliveryRefusal`
    /// when it was refused for good, any other error to be retried later.
    func deliver(_ envelope: EnquiryEnvelope) throws -> String
}

/// Finds the Party that issued a UIM (its owner), from the directory's UIM patterns
/// (docs/hub.md §2). Nil: no owner known.
public typealias EnquiryOwnerResolver = @Sendable (String) throws -> PartyID?

/// What became of a received enquiry or answer.
public enum EnquiryIntake: Sendable {
    /// Stored (or held already: `duplicate`); answer `202` with the record's ID.
    case accepted(EnquiryRecord, duplicate: Bool)
    /// Refused with a stable code; recorded and audited.
    case refused(SyncError)
}

/// Enquiries (DESIGN §10, docs/hub.md §3) at one Party node, both sides.
///
/// **Requester**: `send` checks the UIMs, finds the responder (`--to`, or the owner resolver),
/// an active agreement whose policy would take the enquiry, signs it, stores it with an
/// outbox item and delivers it (sealed at each attempt). `receiveAnswer` opens, verifies and
/// re-checks an answer and keeps its events with the enquiry.
///
/// **Responder**: `receiveEnquiry` opens and verifies (signer = requester = origin, responder
/// = us), rate-limits per requester, finds the agreement, asks `Evaluation.enquiry`, and
/// answers at once (trace of each UIM, each event redacted by the answerEnquiry flow, only
/// what this node may share), queues it for an officer (`approve`/`reject`), or refuses.
/// Answers go out through the same outbox.
///
/// All state is in the store, so any instance serves; `shared(for:)` keeps one per data
/// directory in a process, whose worker (started by `NodeServer`) delivers the outbox with
/// backoff, answers what a crash left unanswered and purges expired answer events.
public final class EnquiryService: Sendable {
    public struct Settings: Sendable {
        /// Enquiries (and refused messages) accepted per requester per `rateWindow`.
        public var maxPerWindow = 60
        public var rateWindow: TimeInterval = 60
        /// Enquiries per requester waiting for an officer, at most.
        public var maxPending = 1000
        /// UIMs followed per traced UIM (contents), as `trace --max-uims`.
        public var traceMaxUIMs = 5000
        /// Events per answer, at most (an answer must fit the federation listener's 8 MiB body limit).
        public var maxAnswerEvents = 5000
        /// Largest sealed message read.
        public var maxMessageBytes = 8 << 20
        /// Worker period; delivery retries back off from `minBackoff`, doubling, to `maxBackoff` (with jitter).
        public var tick: TimeInterval = 0.5
        public var minBackoff: TimeInterval = 1
        public var maxBackoff: TimeInterval = 300
        public var purgeInterval: TimeInterval = 60
        public init() {}
    }

    public let node: OpenNode
    public let identity: PartyCertificateFolder
    public let store: EnquiryStore
    let agreementService: AgreementService
    private let log: @Sendable (String) -> Void
    private let state: Mutex<State>
    private let signal = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    struct State {
        var settings: Settings
        var transport: (any EnquiryTransport)?
        var ownerResolver: EnquiryOwnerResolver?
        var running = false
        var stopping = false
        var inFlight: Set<Int64> = []
    }

    var party: PartyID { node.configuration.party }

    /// Loads the node's identity (its certificate folder with signing and sealing keys).
    public init(node: OpenNode, settings: Settings = Settings(), log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        guard FileManager.default.fileExists(atPath: node.directory.certificatesPath + "/signing.pem") else {
            throw NodeError(code: "enquiry.unavailable", reason: "enquiries need the Party's certificate folder with signing and sealing keys at \(node.directory.certificatesPath)")
        }
        do {
            identity = try PartyCertificateFolder.load(from: node.directory.certificatesPath, expectedParty: node.configuration.party.urn)
        } catch let error as CryptoError {
            throw NodeError(code: "enquiry.identity", reason: error.reason)
        }
        self.node = node
        self.log = log
        store = EnquiryStore(node.store)
        agreementService = AgreementService(node: node)
        state = Mutex(State(settings: settings))
    }

    // MARK: - One per data directory

    private static let registry = Mutex<[String: EnquiryService]>([:])

    /// The service for `node`'s data directory in this process, made on first use. The
    /// federation and local API routes, `NodeServer` and the hub relay share it.
    public static func shared(for node: OpenNode, log: @escaping @Sendable (String) -> Void = { _ in }) throws -> EnquiryService {
        let key = URL(fileURLWithPath: node.directory.path).standardizedFileURL.path
        if let existing = registry.withLock({ $0[key] }) { return existing }
        let made = try EnquiryService(node: node, log: log)
        return registry.withLock { registry in
            if let existing = registry[key] { return existing }
            registry[key] = made
            return made
        }
    }

    /// Stops the shared service of `node`'s directory (if any) and forgets it.
    public static func release(_ node: OpenNode) {
        let key = URL(fileURLWithPath: node.directory.path).standardizedFileURL.path
        let service = registry.withLock { $0.removeValue(forKey: key) }
        service?.stop()
    }

    public var settings: Settings {
        get { state.withLock { $0.settings } }
        set { state.withLock { $0.settings = newValue } }
    }

    /// How messages leave (default: direct to a peer with an endpoint, else through the hub).
    public var transport: any EnquiryTransport {
        get { state.withLock { $0.transport } ?? HubAwareEnquiryTransport(service: self) }
        set { state.withLock { $0.transport = newValue } }
    }

    /// The owner lookup by UIM (default: the directory's UIM code patterns).
    public var ownerResolver: EnquiryOwnerResolver? {
        get {
            if let set = state.withLock({ $0.ownerResolver }) { return set }
            let node = self.node
            let resolver: EnquiryOwnerResolver = { uim in
                // The directory's UIM code patterns (docs/hub.md §2), refreshed from the hubs when nothing matches.
                let directory = DirectoryService(node: node)
                if let owner = try directory.owner(ofUIM: uim) { return owner.party }
                _ = try? directory.refresh()
                return try directory.owner(ofUIM: uim)?.party
            }
            return resolver
        }
        set { state.withLock { $0.ownerResolver = newValue } }
    }

    // MARK: - Agreements

    func statuses(now: Date) throws -> [AgreementStatus] {
        try agreementService.cachedStatuses(at: now)
    }

    static func timestamp(_ date: Date) -> Timestamp { Timestamp(epochMilliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) }

    /// The stable code of an `Evaluation.enquiry` refusal, from the same checks in the same order.
    static func refusalCode(agreement: Agreement, signedBy: Set<PartyID>, purpose: String, uimCount: Int, requester: PartyID,
                            responder: PartyID, at: Timestamp) -> String {
        if !Evaluation.isActive(agreement, signedBy: signedBy, at: at) { return "enquiry.agreement" }
        guard let known = Agreement.Purpose(rawValue: purpose), agreement.purposes.contains(known) else { return "enquiry.purpose" }
        if uimCount < 1 { return "enquiry.form" }
        if !agreement.flows.contains(where: { $0.action == .answerEnquiry && $0.from.contains(responder) && $0.to.contains(requester) }) {
            return "enquiry.no-flow"
        }
        return "enquiry.refused"
    }

    // MARK: - Requester: send

    /// Sends an enquiry about `uims` for `purpose` and case `caseReference` to `to` (or the
    /// owner the resolver names). Refusals before anything is stored are `NodeError`s with a
    /// stable code (`enquiry.uim`, `enquiry.case`, `enquiry.purpose`, `enquiry.no-owner`,
    /// `enquiry.owners`, `enquiry.responder`, `enquiry.no-agreement`, `enquiry.no-flow`,
    /// `enquiry.no-route`), each audited (`enquiry.refuse-local`). Otherwise the enquiry is
    /// signed, stored (`sent`) and one delivery is attempted at once; the worker retries.
    @discardableResult
    public func send(uims rawUIMs: [String], purpose: String, caseReference: String, to given: PartyID?, now: Date = Date()) throws -> EnquiryRecord {
        func refuse(_ code: String, _ reason: String, responder: PartyID? = nil) throws -> Never {
            var detail: JSONObject = ["code": .string(code), "purpose": .string(String(purpose.prefix(64))), "uims": .number(String(rawUIMs.count))]
            if let responder { detail["responder"] = .string(responder.urn) }
            try? store.audit(actor: "officer", action: "enquiry.refuse-local", detail: detail, now: now)
            throw NodeError(code: code, reason: reason)
        }
        guard !rawUIMs.isEmpty, rawUIMs.count <= Enquiry.maxUIMs else { try refuse("enquiry.uim", "name 1 to \(Enquiry.maxUIMs) UIMs") }
        var uims: [String] = []
        for (index, raw) in rawUIMs.enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            guard Enquiry.isPlausibleUIM(trimmed) else {
                try refuse("enquiry.uim", "UIM \(index + 1) is not an identifier this federation knows (a GS1 Digital Link URI or an EPC URN, at most \(Enquiry.maxUIMBytes) bytes)")
            }
            let canonical = UIMReference.canonical(trimmed)
            if !uims.contains(canonical) { uims.append(canonical) }
        }
        guard !caseReference.isEmpty, caseReference.utf8.count <= Enquiry.maxCaseReferenceBytes,
              !caseReference.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            try refuse("enquiry.case", "the case reference must be 1 to \(Enquiry.maxCaseReferenceBytes) bytes without control characters")
        }
        guard Agreement.Purpose(rawValue: purpose) != nil else {
            try refuse("enquiry.purpose", "'\(purpose.prefix(64))' is not a purpose enquiries may be made for (\(Agreement.Purpose.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        // The responder: given, or the owner of every UIM.
        let responder: PartyID
        if let given {
            responder = given
        } else {
            guard let resolver = ownerResolver else {
                try refuse("enquiry.no-owner", "no directory to find the UIMs' owner here; name the responder with --to")
            }
            var owners: Set<PartyID> = []
            for (index, uim) in uims.enumerated() {
                guard let owner = try resolver(uim) else { try refuse("enquiry.no-owner", "no Party's UIM pattern matches UIM \(index + 1)") }
                owners.insert(owner)
            }
            guard owners.count == 1, let owner = owners.first else {
                try refuse("enquiry.owners", "the UIMs belong to \(owners.count) Parties (\(owners.sorted().map(\.code).joined(separator: ", "))); send one enquiry per owner")
            }
            responder = owner
        }
        guard responder.kind == .party, responder != party else {
            try refuse("enquiry.responder", "\(responder.urn) cannot answer an enquiry from \(party.urn)", responder: responder)
        }
        // An active agreement under which the responder's policy would take it.
        let at = Self.timestamp(now)
        let candidates = try statuses(now: now).filter { $0.isActive && Set($0.agreement.partyIDs).isSuperset(of: [party, responder]) }
        guard !candidates.isEmpty else {
            try refuse("enquiry.no-agreement", "no active agreement between \(party.urn) and \(responder.urn)", responder: responder)
        }
        var chosen: (AgreementStatus, EnquiryDecision)?
        var firstRefusal: (code: String, reason: String)?
        for status in candidates {
            let decision = Evaluation.enquiry(requester: party, responder: responder, uimCount: uims.count, purpose: purpose,
                                              agreement: status.agreement, signedBy: status.signedBy, at: at)
            if decision.outcome != .refuse { chosen = (status, decision); break }
            if firstRefusal == nil {
                let code = Self.refusalCode(agreement: status.agreement, signedBy: status.signedBy, purpose: purpose, uimCount: uims.count,
                                            requester: party, responder: responder, at: at)
                firstRefusal = (code, "agreement \(status.agreement.id) v\(status.agreement.version): \(decision.reason)")
            }
        }
        guard let status = chosen?.0 else {
            let refusal = firstRefusal ?? ("enquiry.no-agreement", "no agreement allows it")
            try refuse(refusal.code, refusal.reason, responder: responder)
        }
        let transport = self.transport
        guard transport.canReach(responder.urn) else {
            try refuse("enquiry.no-route", "no way to reach \(responder.urn): add its endpoint with 'fedtrace peer add'", responder: responder)
        }
        let enquiry = Enquiry.make(requester: party, responder: responder, agreement: status.agreement.hash, uims: uims, purpose: purpose,
                                   caseReference: caseReference, now: now)
        let signed = try EnquiryCodec.sign(enquiry.content, identity: identity)
        let answerBy = Self.timestamp(now).epochMilliseconds + Int64(status.agreement.enquiry.answerWithinHours) * 3_600_000
        try store.recordSent(EnquiryStore.NewEnquiry(
            enquiryID: enquiry.enquiryID, role: .requester, requester: party.urn, responder: responder.urn, agreementHash: status.agreement.hash,
            purpose: purpose, caseReference: caseReference, uims: uims, status: "sent", answerByMillis: answerBy, signed: signed), now: now)
        log("enquiry \(enquiry.enquiryID) to \(responder.urn): \(uims.count) UIM(s), \(purpose)")
        if let item = try store.outbox().first(where: { $0.kind == "enquiry" && $0.enquiryID == enquiry.enquiryID }) {
            deliver(item, transport: transport, wait: true)
        }
        return try store.enquiry(enquiry.enquiryID, role: .requester)!
    }

    // MARK: - Responder: receive

    /// The HTTP status a refusal code answers with.
    public static func httpStatus(of code: String) -> Int {
        if code.hasSuffix(".routing") { return 400 }
        if code.hasSuffix(".identity") { return 403 }
        if code.hasSuffix(".too-large") { return 413 }
        if code == "enquiry.rate-limited" { return 429 }
        if code.hasSuffix(".unavailable") { return 503 }
        return 422
    }

    /// Receives one sealed enquiry from `origin` (direct: the TLS peer; via the hub: the
    /// envelope's `Fedtrace-Origin`, with `viaHub` the hub's URN). `routing`, when given, is
    /// checked against the signed content. Same checks either way: signer = requester =
    /// origin, responder = us; rate limit per requester; the agreement held here names both
    /// Parties (and, via a hub, lets that hub relay). Then the policy decides and an answer
    /// or refusal is queued for the requester. Every refusal is recorded and audited.
    public func receiveEnquiry(sealed: [UInt8], origin: String, viaHub: String? = nil, routing: EnquiryRouting? = nil, now: Date = Date()) -> EnquiryIntake {
        do {
            return try receiveEnquiryChecked(sealed: sealed, origin: origin, viaHub: viaHub, routing: routing, now: now)
        } catch let error as SyncError {
            try? store.recordRejection(peer: origin, kind: "enquiry", messageID: routing?.messageID, code: error.code, reason: error.reason, now: now)
            log("refused enquiry \(routing?.messageID ?? "") from \(origin): \(error.code): \(error.reason)")
            return .refused(error)
        } catch {
            log("enquiry from \(origin) could not be stored: \(error)")
            return .refused(SyncError(code: "enquiry.unavailable", reason: "the enquiry could not be stored now; retry later"))
        }
    }

    private func receiveEnquiryChecked(sealed: [UInt8], origin: String, viaHub: String?, routing: EnquiryRouting?, now: Date) throws -> EnquiryIntake {
        guard let requester = try? PartyID(urn: origin), requester.kind == .party else {
            throw SyncError(code: "enquiry.identity", reason: "\(origin) is not a Party; only Parties make enquiries")
        }
        if let routing {
            guard routing.origin == origin else {
                throw SyncError(code: "enquiry.identity", reason: "the sender \(origin) is not the enquiry's origin \(routing.origin)")
            }
        }
        let settings = self.settings
        // A flood from one Party is refused before any cryptography.
        if try store.recentActivity(from: origin, since: now.addingTimeInterval(-settings.rateWindow)) >= settings.maxPerWindow {
            throw SyncError(code: "enquiry.rate-limited", reason: "more than \(settings.maxPerWindow) enquiries from \(origin) in \(Int(settings.rateWindow)) s; retry later")
        }
        if try store.pendingCount(from: origin) >= settings.maxPending {
            throw SyncError(code: "enquiry.rate-limited", reason: "\(settings.maxPending) enquiries from \(origin) already wait for an officer here")
        }
        guard sealed.count <= settings.maxMessageBytes else {
            throw SyncError(code: "enquiry.too-large", reason: "the enquiry is \(sealed.count) bytes; at most \(settings.maxMessageBytes)")
        }
        let opened: OpenedMessage<Enquiry>
        if let routing {
            opened = try EnquiryCodec.openEnquiry(sealed, routing: routing, us: party, identity: identity, now: now)
        } else {
            let (signed, verified) = try EnquiryCodec.openAndVerify(sealed, kind: .enquiry, origin: origin, identity: identity, now: now)
            let enquiry = try Enquiry(content: verified.content)
            guard enquiry.requester.urn == origin else {
                throw SyncError(code: "enquiry.identity", reason: "the enquiry names \(enquiry.requester.urn) as requester, not its signer \(origin)")
            }
            guard enquiry.responder == party else {
                throw SyncError(code: "enquiry.responder", reason: "the enquiry is addressed to \(enquiry.responder.urn), not \(party.urn)")
            }
            opened = OpenedMessage(message: enquiry, signed: signed, digest: SHA256.hexHash(signed), signingTime: verified.signingTime)
        }
        let enquiry = opened.message
        guard enquiry.requester.urn == origin else {
            throw SyncError(code: "enquiry.identity", reason: "the enquiry names \(enquiry.requester.urn) as requester, not its signer \(origin)")
        }
        // The same enquiry twice is stored once; the same ID with other content is refused.
        if let held = try store.digest(of: enquiry.enquiryID, role: .responder) {
            guard held == opened.digest else {
                throw SyncError(code: "enquiry.replay", reason: "enquiry \(enquiry.enquiryID) is held here with other content")
            }
            return .accepted(try store.enquiry(enquiry.enquiryID, role: .responder)!, duplicate: true)
        }
        // The agreement named must be held here and bind both Parties.
        guard let status = try statuses(now: now).first(where: { $0.stored.hash == enquiry.agreement }) else {
            throw SyncError(code: "enquiry.agreement", reason: "agreement \(enquiry.agreement) is not held here")
        }
        guard Set(status.agreement.partyIDs).isSuperset(of: [party, requester]) else {
            throw SyncError(code: "enquiry.agreement", reason: "agreement \(status.agreement.id) does not bind \(requester.urn) and \(party.urn)")
        }
        if let viaHub {
            let hub = try? PartyID(urn: viaHub)
            let verdict = hub.map { Evaluation.mayRelay(via: $0, agreement: status.agreement) }
            guard let verdict, verdict.permitted else {
                throw SyncError(code: "enquiry.relay", reason: verdict?.reason ?? "\(viaHub) is not a hub")
            }
        }
        // The policy decides.
        let at = Self.timestamp(now)
        let decision = Evaluation.enquiry(requester: requester, responder: party, uimCount: enquiry.uims.count, purpose: enquiry.purpose,
                                          agreement: status.agreement, signedBy: status.signedBy, at: at)
        let answerBy = decision.answerBy?.epochMilliseconds
            ?? at.epochMilliseconds + Int64(status.agreement.enquiry.answerWithinHours) * 3_600_000
        try store.recordReceived(EnquiryStore.NewEnquiry(
            enquiryID: enquiry.enquiryID, role: .responder, requester: requester.urn, responder: party.urn, agreementHash: enquiry.agreement,
            purpose: enquiry.purpose, caseReference: enquiry.caseReference, uims: enquiry.uims.map(UIMReference.canonical),
            status: decision.outcome == .manual ? "pending" : "received", decision: decision.outcome.rawValue, flow: decision.flowID,
            reason: decision.outcome == .refuse ? decision.reason : nil, answerByMillis: answerBy, signed: opened.signed, via: viaHub ?? "direct"), now: now)
        log("enquiry \(enquiry.enquiryID) from \(requester.urn): \(decision.outcome.rawValue) (\(decision.reason))")
        switch decision.outcome {
        case .autoAnswer, .refuse:
            try answer(enquiry.enquiryID, actor: "policy", now: now)
            deliverSoon()
        case .manual:
            break
        }
        return .accepted(try store.enquiry(enquiry.enquiryID, role: .responder)!, duplicate: false)
    }

    // MARK: - Responder: answer

    /// Answers a received enquiry as its stored decision says: `autoAnswer` or an approved
    /// `manual` one → the trace; `refuse` → a signed refusal with the code and reason.
    func answer(_ id: String, actor: String, refusal: (code: String, reason: String)? = nil, now: Date = Date()) throws {
        guard let record = try store.enquiry(id, role: .responder) else {
            throw NodeError(code: "enquiry.unknown", reason: "no enquiry \(id) was received here")
        }
        let requester = try PartyID(urn: record.requester)
        let enquiry = Enquiry(enquiryID: record.enquiryID, requester: requester, responder: party, agreement: record.agreementHash,
                              uims: record.uims, purpose: record.purpose, caseReference: record.caseReference, sent: record.created)
        let at = Self.timestamp(now)
        let status = try statuses(now: now).first { $0.stored.hash == record.agreementHash }
        var answer: EnquiryAnswer
        var withheld = 0
        if let refusal {
            answer = .refusal(of: enquiry, flow: record.flow, code: refusal.code, reason: refusal.reason, now: now)
        } else if record.decision == EnquiryDecision.Outcome.refuse.rawValue {
            let code = status.map { Self.refusalCode(agreement: $0.agreement, signedBy: $0.signedBy, purpose: record.purpose, uimCount: record.uims.count,
                                                     requester: requester, responder: party, at: at) } ?? "enquiry.agreement"
            answer = .refusal(of: enquiry, flow: nil, code: code, reason: record.reason ?? "refused by policy", now: now)
        } else if let status, let flowID = record.flow, status.isActive,
                  Evaluation.enquiry(requester: requester, responder: party, uimCount: record.uims.count, purpose: record.purpose,
                                     agreement: status.agreement, signedBy: status.signedBy, at: at).outcome != .refuse {
            (answer, withheld) = try trace(enquiry, agreement: status, flowID: flowID, now: now)
        } else {
            // The agreement stopped being active (or stopped allowing it) before the answer.
            answer = .refusal(of: enquiry, flow: record.flow, code: "enquiry.agreement",
                              reason: "agreement \(record.agreementHash) no longer allows answering this enquiry here", now: now)
        }
        let signed = try EnquiryCodec.sign(answer.content, identity: identity)
        try store.recordAnswer(enquiryID: id, status: answer.status.rawValue, code: answer.code, reason: answer.reason, answerSigned: signed,
                               events: answer.events.count, withheld: withheld, actor: actor, now: now)
        log("answer to enquiry \(id): \(answer.status.rawValue), \(answer.events.count) event(s)")
    }

    /// The redacted trace of every UIM of `enquiry`: each event this node may share —
    /// its own captured events, and received ones only where every agreement under which
    /// their origin shares with us allows onward transfer to the requester (Art. 21) —
    /// redacted by the answerEnquiry flow. Returns the answer and the count withheld.
    func trace(_ enquiry: Enquiry, agreement held: AgreementStatus, flowID: String, now: Date) throws -> (EnquiryAnswer, Int) {
        let at = Self.timestamp(now)
        let settings = self.settings
        let all = try statuses(now: now).filter(\.isActive)
        var seen: Set<String> = []
        var chosen: [(row: Int64, event: AnswerEvent)] = []
        var withheld = 0
        var forwardable: [String: Bool] = [:]
        // Where the answer is partial, it says so (the officer must not read a cut trace as whole).
        var cutAtEvents = false, cutAtIdentifiers = false
        outer: for uim in enquiry.uims {
            let trace = try node.store.trace(uim: uim, maxUIMs: settings.traceMaxUIMs)
            if trace.truncated { cutAtIdentifiers = true }
            for event in trace.events where seen.insert("\(event.hashID)|\(event.declaresError)").inserted {
                if chosen.count >= settings.maxAnswerEvents { cutAtEvents = true; break outer }
                if event.origin != party.urn {
                    let allowed: Bool
                    if let known = forwardable[event.origin] {
                        allowed = known
                    } else if let origin = try? PartyID(urn: event.origin) {
                        let binding = all.filter { Set($0.agreement.partyIDs).isSuperset(of: [origin, party]) }
                        allowed = !binding.isEmpty && binding.allSatisfy {
                            Evaluation.canForward(origin: origin, holder: party, recipient: enquiry.requester, agreement: $0.agreement).permitted
                        }
                        forwardable[event.origin] = allowed
                    } else {
                        allowed = false
                    }
                    guard allowed else { withheld += 1; continue }
                }
                guard case .object(let body)? = try? JSONParser.parse(event.raw, limits: EPCISDocumentParser.limits) else { withheld += 1; continue }
                let decision = Evaluation.outbound(event: body, recipient: enquiry.requester, origin: party, agreement: held.agreement,
                                                   signedBy: held.signedBy, at: at, action: .answerEnquiry, onlyFlow: flowID)
                guard decision.permitted, let redacted = decision.redactedEvent else { withheld += 1; continue }
                chosen.append((event.rowID, AnswerEvent(hashID: event.hashID, declaresError: event.declaresError, context: nil, event: redacted)))
            }
        }
        // Each event's document @context travels once, so extension prefixes stay readable.
        let sync = SyncStore(node.store)
        let contextOfRow = try sync.contextIDs(ofEventRows: chosen.map(\.row))
        let bodies = try sync.contexts(Set(contextOfRow.values))
        var contextIndex: [Int64: Int] = [:]
        var contexts: [JSONValue] = []
        var events: [AnswerEvent] = []
        for (row, event) in chosen {
            var index: Int?
            if let id = contextOfRow[row], let body = bodies[id] {
                if contextIndex[id] == nil, let value = try? JSONParser.parse(body) {
                    contextIndex[id] = contexts.count
                    contexts.append(value)
                }
                index = contextIndex[id]
            }
            events.append(AnswerEvent(hashID: event.hashID, declaresError: event.declaresError, context: index, event: event.event))
        }
        var notes: [String] = []
        if cutAtIdentifiers { notes.append("the contents were followed down to \(settings.traceMaxUIMs) identifiers per UIM only") }
        if cutAtEvents { notes.append("the answer stops at \(settings.maxAnswerEvents) events") }
        let reason = notes.isEmpty ? nil : "partial answer: " + notes.joined(separator: "; ") + "; ask about fewer or lower-level UIMs for the rest"
        let answer = EnquiryAnswer(enquiryID: enquiry.enquiryID, responder: party, requester: enquiry.requester, agreement: held.agreement.hash,
                                   flow: flowID, status: .answered, code: nil, reason: reason, answered: isoTimeText(now), contexts: contexts, events: events)
        return (answer, withheld)
    }

    func isoTimeText(_ date: Date) -> String { Self.timestamp(date).canonicalUTC }

    /// An officer approves a pending enquiry: it is answered with the trace. Audited
    /// (`enquiry.approve`, then `enquiry.answer`).
    @discardableResult
    public func approve(_ id: String, officer: String = "officer", now: Date = Date()) throws -> EnquiryRecord {
        let record = try pending(id)
        try store.audit(actor: officer, action: "enquiry.approve", detail: ["enquiryID": .string(record.enquiryID)], now: now)
        try answer(record.enquiryID, actor: officer, now: now)
        deliverOwn(record.enquiryID)
        return try store.enquiry(record.enquiryID, role: .responder)!
    }

    /// An officer rejects a pending enquiry: a signed refusal (`enquiry.officer`) with the
    /// reason goes to the requester. Audited (`enquiry.reject-by-officer`, then `enquiry.answer`).
    @discardableResult
    public func reject(_ id: String, reason: String, officer: String = "officer", now: Date = Date()) throws -> EnquiryRecord {
        let record = try pending(id)
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.utf8.count <= 1024 else {
            throw NodeError(code: "enquiry.reason", reason: "a rejection needs a reason of 1 to 1024 bytes (--reason)")
        }
        try store.audit(actor: officer, action: "enquiry.reject-by-officer",
                        detail: ["enquiryID": .string(record.enquiryID), "reasonDigest": .string(SHA256.hexHash(Array(reason.utf8)))], now: now)
        try answer(record.enquiryID, actor: officer, refusal: ("enquiry.officer", reason), now: now)
        deliverOwn(record.enquiryID)
        return try store.enquiry(record.enquiryID, role: .responder)!
    }

    private func pending(_ id: String) throws -> EnquiryRecord {
        guard let record = try find(id), record.role == .responder else {
            throw NodeError(code: "enquiry.unknown", reason: "no enquiry \(id) was received here")
        }
        guard record.status == "pending" else {
            throw NodeError(code: "enquiry.not-pending", reason: "enquiry \(record.enquiryID) is \(record.status), not pending an officer's decision")
        }
        return record
    }

    /// The enquiry named `id`: its full `urn:uuid:…`, the UUID alone, or a unique prefix of it (8+ characters).
    public func find(_ id: String) throws -> EnquiryRecord? {
        let full = id.hasPrefix("urn:uuid:") ? id : "urn:uuid:" + id
        if let exact = try store.enquiry(full.lowercased()) ?? store.enquiry(full) { return exact }
        guard id.count >= 8 else { return nil }
        let matches = try store.enquiries(limit: 100_000).filter { $0.enquiryID.hasPrefix(full.lowercased()) }
        return Set(matches.map(\.enquiryID)).count == 1 ? matches.first : nil
    }

    // MARK: - Requester: receive an answer

    /// Receives one sealed answer from `origin` (the TLS peer, or via the hub the envelope's
    /// origin). Checks: signer = responder = origin, requester = us, an enquiry we sent to
    /// that responder under that agreement and not yet answered (the same answer again is
    /// accepted once); for an answered one, the agreement held here and active, its flow an
    /// answerEnquiry flow from the responder to us, and every event valid EPCIS inside that
    /// flow's rows and fields (`Evaluation.inbound`). The events are kept with the enquiry
    /// until the flow's retention deadline.
    public func receiveAnswer(sealed: [UInt8], origin: String, viaHub: String? = nil, routing: EnquiryRouting? = nil, now: Date = Date()) -> EnquiryIntake {
        do {
            return try receiveAnswerChecked(sealed: sealed, origin: origin, viaHub: viaHub, routing: routing, now: now)
        } catch let error as SyncError {
            try? store.recordRejection(peer: origin, kind: "answer", messageID: routing?.messageID, code: error.code, reason: error.reason, now: now)
            log("refused answer \(routing?.messageID ?? "") from \(origin): \(error.code): \(error.reason)")
            return .refused(error)
        } catch {
            log("answer from \(origin) could not be stored: \(error)")
            return .refused(SyncError(code: "answer.unavailable", reason: "the answer could not be stored now; retry later"))
        }
    }

    private func receiveAnswerChecked(sealed: [UInt8], origin: String, viaHub: String?, routing: EnquiryRouting?, now: Date) throws -> EnquiryIntake {
        guard let responder = try? PartyID(urn: origin), responder.kind == .party else {
            throw SyncError(code: "answer.identity", reason: "\(origin) is not a Party")
        }
        if let routing, routing.origin != origin {
            throw SyncError(code: "answer.identity", reason: "the sender \(origin) is not the answer's origin \(routing.origin)")
        }
        guard sealed.count <= settings.maxMessageBytes else {
            throw SyncError(code: "answer.too-large", reason: "the answer is \(sealed.count) bytes; at most \(settings.maxMessageBytes)")
        }
        let opened: OpenedMessage<EnquiryAnswer>
        if let routing {
            opened = try EnquiryCodec.openAnswer(sealed, routing: routing, us: party, identity: identity, now: now)
        } else {
            let (signed, verified) = try EnquiryCodec.openAndVerify(sealed, kind: .answer, origin: origin, identity: identity, now: now)
            let answer = try EnquiryAnswer(content: verified.content)
            guard answer.responder == responder, answer.requester == party else {
                throw SyncError(code: "answer.identity", reason: "the answer is from \(answer.responder.urn) to \(answer.requester.urn), signed by \(origin)")
            }
            opened = OpenedMessage(message: answer, signed: signed, digest: SHA256.hexHash(signed), signingTime: verified.signingTime)
        }
        let answer = opened.message
        guard answer.responder == responder else {
            throw SyncError(code: "answer.identity", reason: "the answer names \(answer.responder.urn) as responder, not its signer \(origin)")
        }
        guard let record = try store.enquiry(answer.enquiryID, role: .requester), record.responder == origin else {
            throw SyncError(code: "answer.unknown-enquiry", reason: "no enquiry \(answer.enquiryID) was sent from here to \(origin)")
        }
        guard record.agreementHash == answer.agreement else {
            throw SyncError(code: "answer.header-mismatch", reason: "the answer names agreement \(answer.agreement), the enquiry \(record.agreementHash)")
        }
        if let held = record.answerDigest {
            guard held == opened.digest else { throw SyncError(code: "answer.replay", reason: "enquiry \(answer.enquiryID) has another answer already") }
            return .accepted(record, duplicate: true)
        }
        let status = try statuses(now: now).first { $0.stored.hash == answer.agreement }
        if let viaHub {
            let verdict = (try? PartyID(urn: viaHub)).flatMap { hub in status.map { Evaluation.mayRelay(via: hub, agreement: $0.agreement) } }
            guard let verdict, verdict.permitted else { throw SyncError(code: "answer.relay", reason: verdict?.reason ?? "agreement \(answer.agreement) is not held here") }
        }
        var records: [AnswerEventRecord] = []
        if answer.status == .answered {
            guard let status else { throw SyncError(code: "answer.agreement", reason: "agreement \(answer.agreement) is not held here") }
            guard let flowID = answer.flow, let flow = status.agreement.flow(flowID), flow.action == .answerEnquiry else {
                throw SyncError(code: "answer.agreement", reason: "flow \(answer.flow ?? "null") of agreement \(status.agreement.id) is not an answerEnquiry flow")
            }
            let at = Self.timestamp(now)
            let content = try CMS.verify(opened.signed, trust: identity.trust, expectedSigner: origin, now: now).content
            var events: [EPCISEvent] = []
            for (index, entry) in answer.events.enumerated() {
                do {
                    let event = try EPCISDocumentParser.validateReceived(entry.event, bytes: content, hashID: entry.hashID, location: "answer event \(index)")
                    guard event.declaresError == entry.declaresError else {
                        throw SyncError(code: "answer.payload", reason: "answer event \(index): declaresError disagrees with the event")
                    }
                    events.append(event)
                } catch let error as ModelError {
                    throw SyncError(code: "answer.payload", reason: error.reason)
                }
            }
            let check = Evaluation.inbound(events: events, sender: responder, recipient: party, agreement: status.agreement, flowID: flowID,
                                           signedBy: status.signedBy, at: at)
            if let violation = check.violation {
                let code = violation.eventIndex == nil ? "answer.agreement" : "answer.out-of-scope"
                throw SyncError(code: code, reason: (violation.eventIndex.map { "event \($0): " } ?? "") + (violation.path.isEmpty ? "" : "\(violation.path): ") + violation.rule)
            }
            let deadline = try Evaluation.retentionDeadline(receivedAt: at, agreement: status.agreement, flowID: flowID).epochMilliseconds
            for (index, (entry, event)) in zip(answer.events, events).enumerated() {
                let context = entry.context.map { JSONWriter.serialize(answer.contexts[$0]) }
                records.append(AnswerEventRecord(position: index, hashID: entry.hashID, declaresError: entry.declaresError, event: event.raw,
                                                 context: context, retentionDeadline: deadline))
            }
        }
        do {
            try store.recordAnswerReceived(enquiryID: answer.enquiryID, status: answer.status.rawValue, code: answer.code, reason: answer.reason,
                                           answerSigned: opened.signed, events: records, via: viaHub ?? "direct", now: now)
        } catch let error as StoreError where error.code == "store.enquiry.answered" {
            // Another delivery of the same answer got in first.
            let held = try store.enquiry(answer.enquiryID, role: .requester)
            guard let held, held.answerDigest == opened.digest else { throw SyncError(code: "answer.replay", reason: error.reason) }
            return .accepted(held, duplicate: true)
        }
        log("answer to enquiry \(answer.enquiryID) from \(origin): \(answer.status.rawValue), \(records.count) event(s)")
        return .accepted(try store.enquiry(answer.enquiryID, role: .requester)!, duplicate: false)
    }

    // MARK: - Delivery

    /// Seals and delivers one outbox item; records the outcome (delivered, refused for good,
    /// or retry later with backoff).
    /// With `wait`, an attempt already under way (by the worker) is waited for instead of skipped.
    func deliver(_ item: EnquiryOutboxItem, transport: any EnquiryTransport, wait: Bool = false, now: Date = Date()) {
        guard state.withLock({ $0.inFlight.insert(item.id).inserted }) else {
            if wait {
                let deadline = Date().addingTimeInterval(120)
                while state.withLock({ $0.inFlight.contains(item.id) }), Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
            }
            return
        }
        defer { _ = state.withLock { $0.inFlight.remove(item.id) } }
        let kind: EnquiryMessageKind = item.kind == "enquiry" ? .enquiry : .answer
        do {
            let bytes = try transport.sealingCertificate(for: item.recipient)
            let certificate = try Certificate(bytes: bytes)
            guard certificate.partyURN == item.recipient else {
                throw NodeError(code: "peer.certificate", reason: "the sealing certificate names \(certificate.partyURN ?? certificate.subject), not \(item.recipient)")
            }
            let sealed = try EnquiryCodec.seal(item.signed, to: certificate, identity: identity, now: now)
            let routing = EnquiryRouting(kind: kind, messageID: item.enquiryID, origin: party.urn, recipient: item.recipient, agreement: item.agreementHash)
            let via = try transport.deliver(EnquiryEnvelope(routing: routing, body: sealed))
            try store.recordDelivered(item, via: via)
        } catch let refusal as EnquiryDeliveryRefusal {
            log("\(item.recipient) refused \(item.kind) \(item.enquiryID): \(refusal.code): \(refusal.reason)")
            try? store.recordRefusedByPeer(item, code: refusal.code, reason: refusal.reason)
        } catch {
            let reason = (error as? any CodedError).map { "\($0.code): \($0.reason)" } ?? "\(error)"
            let settings = self.settings
            let delay = min(settings.minBackoff * pow(2, Double(min(item.attempts, 20))), settings.maxBackoff) * Double.random(in: 0.75...1.25)
            try? store.recordAttemptFailure(item, error: reason, nextAttempt: Date().addingTimeInterval(delay))
        }
    }

    /// Delivers every due outbox item, each recipient on its own thread so a dead peer delays
    /// nobody else. Returns the number attempted.
    @discardableResult
    public func deliverDue(now: Date = Date()) -> Int {
        guard let due = try? store.dueOutbox(now: now, limit: 200), !due.isEmpty else { return 0 }
        let transport = self.transport
        let byRecipient = Dictionary(grouping: due, by: \.recipient).map(\.value)
        DispatchQueue.concurrentPerform(iterations: byRecipient.count) { index in
            for item in byRecipient[index] { deliver(item, transport: transport) }
        }
        return due.count
    }

    /// Delivers the outbox item of enquiry `id`'s answer now, when there is one.
    private func deliverOwn(_ id: String) {
        guard let item = try? store.outbox().first(where: { $0.kind == "answer" && $0.enquiryID == id }) else { return }
        deliver(item, transport: transport, wait: true)
    }

    /// Wakes the worker (when running) or delivers on a background queue.
    private func deliverSoon() {
        if state.withLock({ $0.running }) {
            signal.signal()
        } else {
            DispatchQueue.global().async { [self] in deliverDue() }
        }
    }

    /// Answers enquiries stored as received but not yet answered (a crash between the two
    /// steps); returns how many.
    @discardableResult
    public func answerLeftovers(now: Date = Date()) -> Int {
        guard let leftovers = try? store.enquiries(role: .responder, status: "received") else { return 0 }
        for record in leftovers {
            do { try answer(record.enquiryID, actor: "policy", now: now) } catch { log("answering \(record.enquiryID) failed: \(error)") }
        }
        return leftovers.count
    }

    // MARK: - Worker

    /// Starts the worker thread: delivers due outbox items every `tick` (and at once when
    /// woken), answers leftovers, purges expired answer events.
    public func start() {
        let started = state.withLock { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            state.stopping = false
            return true
        }
        guard started else { return }
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "fedtrace-enquiries"
        thread.start()
    }

    /// Stops the worker; returns when it has finished its current step.
    public func stop() {
        let wasRunning = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return state.running
        }
        guard wasRunning else { return }
        signal.signal()
        done.wait()
        state.withLock { $0.running = false }
    }

    private func run() {
        var lastPurge = Date.distantPast
        answerLeftovers()
        while !state.withLock({ $0.stopping }) {
            deliverDue()
            let now = Date()
            if now.timeIntervalSince(lastPurge) >= settings.purgeInterval {
                lastPurge = now
                if let purged = try? store.purgeExpiredAnswers(now: now), purged > 0 { log("retention: deleted \(purged) answer events") }
            }
            _ = signal.wait(timeout: .now() + settings.tick)
        }
    }

    // MARK: - Views

    /// The enquiry as `enquiry show --json` and `GET /enquiries/{id}` print it; with
    /// `events`, the answer's events (requester) as the trace.
    public func json(_ record: EnquiryRecord, events: Bool, now: Date = Date()) throws -> JSONValue {
        var object: JSONObject = [
            "enquiryID": .string(record.enquiryID), "role": .string(record.role.rawValue), "status": .string(record.status(at: now)),
            "requester": .string(record.requester), "responder": .string(record.responder), "agreement": .string(record.agreementHash),
            "purpose": .string(record.purpose), "caseReference": .string(record.caseReference),
            "uims": .array(record.uims.map(JSONValue.string)),
            "created": .string(record.created), "answerBy": record.answerBy.map(JSONValue.string) ?? .null,
            "decision": record.decision.map(JSONValue.string) ?? .null, "flow": record.flow.map(JSONValue.string) ?? .null,
            "code": record.code.map(JSONValue.string) ?? .null, "reason": record.reason.map(JSONValue.string) ?? .null,
            "deliveredAt": record.deliveredAt.map(JSONValue.string) ?? .null, "answeredAt": record.answeredAt.map(JSONValue.string) ?? .null,
            "answerDeliveredAt": record.answerDeliveredAt.map(JSONValue.string) ?? .null,
            "answerEvents": record.answerEvents.map { .number(String($0)) } ?? .null,
            "enquiryDigest": .string(record.digest), "answerDigest": record.answerDigest.map(JSONValue.string) ?? .null,
            "lastError": record.lastError.map(JSONValue.string) ?? .null, "via": record.via.map(JSONValue.string) ?? .null,
        ]
        if events {
            object["events"] = .array(try store.answerEvents(record.enquiryID).map { event in
                var item: JSONObject = ["eventHashID": .string(event.hashID), "declaresError": .bool(event.declaresError),
                                        "retentionDeadline": .string(Timestamp(epochMilliseconds: event.retentionDeadline).canonicalUTC)]
                item["event"] = (try? JSONParser.parse(event.event, limits: EPCISDocumentParser.limits)) ?? .null
                if let context = event.context { item["context"] = (try? JSONParser.parse(context)) ?? .null }
                return .object(item)
            })
        }
        return .object(object)
    }
}

/// Direct delivery (docs/hub.md §3): POST to the recipient's federation listener from the
/// peers table (`fedtrace peer add`) over mutual TLS; the recipient's sealing certificate
/// from the peers table or `GET /fed/v1/certificates` (then stored, as replication does).
public struct DirectEnquiryTransport: EnquiryTransport {
    let service: EnquiryService

    public init(service: EnquiryService) {
        self.service = service
    }

    var peers: SyncStore { SyncStore(service.node.store) }

    func peer(_ party: String) throws -> Peer {
        guard let peer = try peers.peers().first(where: { $0.party == party }) else {
            throw NodeError(code: "enquiry.no-route", reason: "no endpoint for \(party); add it with 'fedtrace peer add'")
        }
        return peer
    }

    public func canReach(_ party: String) -> Bool { (try? peer(party)) != nil }

    public func sealingCertificate(for party: String) throws -> [UInt8] {
        let peer = try peer(party)
        if let stored = peer.sealingCertificate { return stored }
        let response = try client(for: peer).send(HTTPRequest(method: .get, target: "/fed/v1/certificates"))
        guard response.status == 200, case .object(let o)? = try? JSONParser.parse(response.body), case .string(let pem)? = o["sealing"] else {
            throw NodeError(code: "peer.certificates", reason: "\(party) did not return its certificates (status \(response.status))")
        }
        let bytes = Array(pem.utf8)
        let certificate = try Certificate(bytes: bytes)
        guard certificate.partyURN == party else {
            throw NodeError(code: "peer.certificate", reason: "\(party) returned a sealing certificate for \(certificate.partyURN ?? certificate.subject)")
        }
        try service.identity.trust.verify(certificate, purpose: .sealing, at: Date())
        try peers.setPeerCertificate(party: party, sealingCertificate: bytes)
        return bytes
    }

    public func deliver(_ envelope: EnquiryEnvelope) throws -> String {
        let peer = try peer(envelope.routing.recipient)
        var headers: HTTPHeaders = ["Content-Type": "application/pkcs7-mime"]
        for (name, value) in envelope.routing.fields { headers.add(name: name, value: value) }
        let target = envelope.routing.kind == .enquiry ? "/fed/v1/enquiries" : "/fed/v1/answers"
        let response: HTTPResponse
        do {
            response = try client(for: peer).send(HTTPRequest(method: .post, target: target, headers: headers, body: envelope.body))
        } catch {
            try? peers.recordPeerError(peer.party, error: (error as? any CodedError).map { "\($0.code): \($0.reason)" } ?? "\(error)")
            throw error
        }
        switch response.status {
        case 200, 202:
            try? peers.recordPeerSeen(peer.party)
            return "direct"
        case 400...499:
            var code = "http.\(response.status)", detail = "status \(response.status)"
            if case .object(let o)? = try? JSONParser.parse(response.body) {
                if case .string(let c)? = o["code"] { code = c }
                if case .string(let d)? = o["detail"] { detail = d }
            }
            throw EnquiryDeliveryRefusal(code: code, reason: detail, status: response.status)
        default:
            throw NodeError(code: "enquiry.peer-unavailable", reason: "\(peer.party) answered \(response.status); retrying later")
        }
    }

    /// A mutual-TLS client for the peer: our transport certificate, the federation root and
    /// CRL, and a server certificate that must name the peer.
    func client(for peer: Peer) throws -> HTTPClient {
        try DirectEnquiryTransport.clients.client(for: peer, node: service.node)
    }

    static let clients = ClientCache()

    /// One HTTP client per (data directory, peer, endpoint), kept for keep-alive.
    final class ClientCache: Sendable {
        private let clients = Mutex<[String: HTTPClient]>([:])

        func client(for peer: Peer, node: OpenNode) throws -> HTTPClient {
            let key = "\(node.directory.path)|\(peer.party)|\(peer.endpoint)"
            if let client = clients.withLock({ $0[key] }) { return client }
            guard let certificates = try CertificateFolder.load(at: node.directory.certificatesPath) else {
                throw NodeError(code: "enquiry.unavailable", reason: "no certificate folder at \(node.directory.certificatesPath)")
            }
            let client = try certificates.federationClient(to: peer.party, endpoint: peer.endpoint, maxBodyBytes: 1 << 20,
                                                           requestTimeout: .seconds(60), maxIdleConnections: 2)
            return clients.withLock { clients in
                if let existing = clients[key] { return existing }
                clients[key] = client
                return client
            }
        }
    }
}
