public import Foundation
public import Crypto
public import Model
public import Policy
public import Store
import Synchronization

/// An agreement as this node holds it: the document and the Parties whose signatures verified.
public struct HeldAgreement: Sendable {
    public let agreement: Agreement
    public let signedBy: Set<PartyID>

    public init(agreement: Agreement, signedBy: Set<PartyID>) {
        self.agreement = agreement
        self.signedBy = signedBy
    }
}

/// When the cutter closes a delta (DESIGN §7: by count, size or age).
public struct CutLimits: Sendable, Equatable {
    /// Events per delta at most.
    public var maxEvents: Int
    /// Payload bytes per delta, roughly at most (a delta closes once it passes this).
    public var maxPayloadBytes: Int
    /// A partial delta is cut once its oldest event has waited this long.
    public var maxAge: TimeInterval

    /// Values are clamped to sane bounds (1 to 100,000 events, 1 byte to 64 MiB, 0 to 1 hour).
    public init(maxEvents: Int = 1000, maxPayloadBytes: Int = 4 << 20, maxAge: TimeInterval = 1) {
        self.maxEvents = min(max(1, maxEvents), 100_000)
        self.maxPayloadBytes = min(max(1, maxPayloadBytes), 64 << 20)
        self.maxAge = min(max(0, maxAge), 3600)
    }
}

/// The outcome of receiving one delta.
public enum ReceiveOutcome: Sendable {
    /// Applied (or already applied: `replayed`); the signed receipt for the position.
    case applied(receipt: [UInt8], position: Int64, events: Int, replayed: Bool)
    /// Refused; `error.code` is one of the `delta.*` codes of docs/sync.md.
    case refused(SyncError)
}

/// Streams, deltas and receipts for one Party node (docs/sync.md). Pure of networking: the
/// Node layer moves the bytes this type makes and checks.
///
/// Sending: `cut` reads local events past each stream's cursor, keeps those the stream's
/// flow permits for every recipient (redacted by `Evaluation.outbound`), signs them as a
/// delta and stores it in the outbox (durable before anything is sent); `seal` wraps an
/// outbox delta for one recipient at send time. Receiving: `receive` opens, verifies and
/// re-checks a sealed delta and applies it in one transaction, then signs the receipt.
public final class SyncEngine: Sendable {
    public let party: PartyID
    public let identity: PartyCertificateFolder
    public let store: SyncStore
    public let limits: CutLimits
    private let cutting = Mutex(())

    public init(party: PartyID, identity: PartyCertificateFolder, store: EventStore, limits: CutLimits = CutLimits()) {
        self.party = party
        self.identity = identity
        self.store = SyncStore(store)
        self.limits = limits
    }

    // MARK: - Sending

    /// The streams this node originates under `agreements` (active ones only): one per
    /// replicate flow that names this Party as a sender, to the flow's other recipients.
    public func streams(for agreements: [HeldAgreement], at now: Date = Date()) -> [(name: StreamName, held: HeldAgreement, flow: Agreement.Flow, recipients: [PartyID])] {
        let at = Timestamp(epochMilliseconds: Int64(now.timeIntervalSince1970 * 1000))
        var out: [(StreamName, HeldAgreement, Agreement.Flow, [PartyID])] = []
        for held in agreements where Evaluation.isActive(held.agreement, signedBy: held.signedBy, at: at) {
            for flow in held.agreement.flows where flow.action == .replicate && flow.from.contains(party) {
                let recipients = Set(flow.to).subtracting([party]).sorted()
                guard !recipients.isEmpty else { continue }
                out.append((StreamName(origin: party, agreementHash: held.agreement.hash, flow: flow.id), held, flow, recipients))
            }
        }
        return out
    }

    /// Cuts every delta that is due: full ones (count or size), and a partial one once its
    /// oldest event is older than `limits.maxAge` (or at once with `flush`). Opens streams for
    /// newly active agreements and closes those whose agreement is no longer active. Returns
    /// the deltas stored.
    @discardableResult
    public func cut(agreements: [HeldAgreement], now: Date = Date(), flush: Bool = false) throws -> [OutboxDelta] {
        try cutting.withLock { _ in
            let wanted = streams(for: agreements, at: now)
            let wantedNames = Set(wanted.map { $0.name.description })
            for stream in try store.outboundStreams() where !stream.closed && !wantedNames.contains(stream.stream) {
                try store.closeStream(stream.stream, reason: "agreement no longer active or flow removed", now: now)
            }
            var made: [OutboxDelta] = []
            for (name, held, flow, recipients) in wanted {
                var stream = try store.openStream(name.description, agreementHash: held.agreement.hash, flow: flow.id,
                                                  recipients: recipients.map(\.urn), now: now)
                while true {
                    guard let first = try store.firstPendingRecordTime(origin: party.urn, after: stream.cursor) else { break }
                    let events = try store.localEvents(origin: party.urn, after: stream.cursor, limit: limits.maxEvents * 4)
                    let waited = now.timeIntervalSince1970 - Double(first) / 1000
                    let (delta, cursor, complete) = try build(stream: stream, held: held, flow: flow, recipients: recipients, candidates: events, now: now)
                    if let delta {
                        if !complete && !flush && waited < limits.maxAge { break }  // partial and young: wait for more
                        try store.appendDelta(delta, cursor: cursor, now: now)
                        made.append(delta)
                    } else {
                        try store.advanceCursor(stream.stream, to: cursor)
                    }
                    stream = try store.outboundStreams().first { $0.stream == stream.stream } ?? stream
                    if delta == nil && events.count < limits.maxEvents * 4 { break }
                }
            }
            return made
        }
    }

    /// Builds the next delta of `stream` from `candidates` (local events after its cursor):
    /// returns it (nil when none matched), the cursor after the events consumed, and whether
    /// it is full (count or size) rather than partial.
    func build(stream: OutboundStream, held: HeldAgreement, flow: Agreement.Flow, recipients: [PartyID], candidates: [StoredEvent],
               now: Date) throws -> (OutboxDelta?, Int64, Bool) {
        let at = Timestamp(epochMilliseconds: Int64(now.timeIntervalSince1970 * 1000))
        var chosen: [DeltaEvent] = []
        var chosenRows: [Int64] = []
        var cursor = stream.cursor
        var bytes = 0
        var complete = false
        for event in candidates {
            cursor = event.rowID
            guard case .object(let body)? = try? JSONParser.parse(event.raw, limits: EPCISDocumentParser.limits) else { continue }
            var redacted: JSONObject?
            for recipient in recipients {
                let decision = Evaluation.outbound(event: body, recipient: recipient, origin: party, agreement: held.agreement,
                                                   signedBy: held.signedBy, at: at, onlyFlow: flow.id)
                guard decision.permitted, let r = decision.redactedEvent else { redacted = nil; break }
                redacted = r
            }
            guard let redacted else { continue }
            chosen.append(DeltaEvent(hashID: event.hashID, declaresError: event.declaresError, context: nil, event: redacted))
            chosenRows.append(event.rowID)
            bytes += event.raw.count
            if chosen.count >= limits.maxEvents || bytes >= limits.maxPayloadBytes { complete = true; break }
        }
        guard !chosen.isEmpty else { return (nil, cursor, false) }
        // Each event's document @context travels once per delta, so extension prefixes stay readable.
        let contextOfRow = try store.contextIDs(ofEventRows: chosenRows)
        let bodies = try store.contexts(Set(contextOfRow.values))
        var contextIndex: [Int64: Int] = [:]
        var contexts: [JSONValue] = []
        for (i, row) in chosenRows.enumerated() {
            guard let id = contextOfRow[row], let body = bodies[id] else { continue }
            if contextIndex[id] == nil, let value = try? JSONParser.parse(body) {
                contextIndex[id] = contexts.count
                contexts.append(value)
            }
            if let index = contextIndex[id] {
                let e = chosen[i]
                chosen[i] = DeltaEvent(hashID: e.hashID, declaresError: e.declaresError, context: index, event: e.event)
            }
        }
        let payload = DeltaContent.payload(events: chosen, contexts: contexts)
        let header = DeltaHeader(deltaID: makeUUIDURN(), origin: party, agreementID: held.agreement.id, agreementVersion: held.agreement.version,
                                 agreementHash: held.agreement.hash, flow: flow.id, sequence: stream.lastSequence + 1,
                                 previousDeltaHash: stream.lastHash, recipients: recipients, created: isoTime(now),
                                 eventCount: chosen.count, payloadDigest: SHA256.hexHash(payload))
        let signed = try CMS.sign(DeltaContent.content(header: header, payload: payload), signer: identity.signingCertificate, key: identity.signingKey)
        let delta = OutboxDelta(stream: stream.stream, sequence: header.sequence, deltaID: header.deltaID, deltaHash: SHA256.hexHash(signed),
                                previousHash: header.previousDeltaHash, eventCount: chosen.count, signed: signed, created: header.created)
        return (delta, cursor, complete)
    }

    /// Seals an outbox delta for `recipient` (its sealing certificate, verified to our root).
    public func seal(_ delta: OutboxDelta, to certificates: [Certificate], now: Date = Date()) throws -> [UInt8] {
        try CMS.seal(delta.signed, to: certificates, trust: identity.trust, at: now)
    }

    /// The routing header of an outbox delta.
    public func routing(of delta: OutboxDelta, recipients: [String]) -> DeltaRouting {
        DeltaRouting(deltaID: delta.deltaID, origin: party.urn, recipients: recipients, stream: delta.stream, sequence: delta.sequence)
    }

    /// Checks a peer's sealing certificate: PEM or DER, chains to our root (and CRL), names
    /// `party`, and is fit for sealing.
    public func verifyPeerSealingCertificate(_ bytes: [UInt8], party: String, now: Date = Date()) throws -> Certificate {
        let certificate = try Certificate(bytes: bytes)
        guard certificate.partyURN == party else {
            throw SyncError(code: "peer.certificate", reason: "the sealing certificate names \(certificate.partyURN ?? certificate.subject), not \(party)")
        }
        try identity.trust.verify(certificate, purpose: .sealing, at: now)
        return certificate
    }

    /// Verifies a receipt from `recipient` and records it when it acknowledges a delta of
    /// ours (same stream, a sequence we made, the same hash). Returns the receipt.
    @discardableResult
    public func acceptReceipt(_ signed: [UInt8], from recipient: String, now: Date = Date()) throws -> Receipt {
        let receipt = try Receipt.verify(signed, trust: identity.trust, expectedReceiver: recipient, now: now)
        guard let name = StreamName(receipt.stream), name.origin == party else {
            throw SyncError(code: "receipt.stream", reason: "receipt from \(recipient) names stream \(receipt.stream), not one of ours")
        }
        guard let hash = try store.outboxHash(stream: receipt.stream, sequence: receipt.sequence) else {
            throw SyncError(code: "receipt.sequence", reason: "receipt from \(recipient) acknowledges \(receipt.stream) #\(receipt.sequence), which we never made")
        }
        guard hash == receipt.deltaHash else {
            throw SyncError(code: "receipt.hash", reason: "receipt from \(recipient) for \(receipt.stream) #\(receipt.sequence) names another delta hash")
        }
        // Only a recipient of the stream has a position to acknowledge (recordReceipt would match no row).
        guard try store.progress(recipient: recipient).contains(where: { $0.stream == receipt.stream }) else {
            throw SyncError(code: "receipt.recipient", reason: "\(recipient) is not a recipient of \(receipt.stream)")
        }
        try store.recordReceipt(stream: receipt.stream, recipient: recipient, sequence: receipt.sequence, receipt: signed, now: now)
        return receipt
    }

    // MARK: - Receiving

    /// Receives one sealed delta from `tlsPeer` (the TLS client certificate's Party).
    ///
    /// Checks, in order (docs/sync.md): routing origin = TLS peer; position (gap: 409 with
    /// the expected sequence; stopped stream); open with our sealing key; signature, signer =
    /// origin; signed header = routing header, this node a recipient; payload digest and
    /// count; agreement held here with the same hash and active, flow from origin to us;
    /// chain (sequence, previous hash; replay); each event valid EPCIS and inside the
    /// flow's rows and fields. Then applies it durably and signs the receipt. Every refusal
    /// but a gap is recorded and audited.
    ///
    /// `relayedBy`: the hub the delta came through (docs/hub.md §1). The TLS peer is then the
    /// hub, not the origin; the signer = origin binding is checked as for direct delivery.
    public func receive(sealed: [UInt8], routing: DeltaRouting, tlsPeer: String, relayedBy hub: String? = nil, now: Date = Date(),
                        agreement lookup: (String) throws -> HeldAgreement?) -> ReceiveOutcome {
        do {
            return try receiveChecked(sealed: sealed, routing: routing, tlsPeer: tlsPeer, hub: hub, now: now, lookup: lookup)
        } catch let error as SyncError {
            if error.code != "delta.gap" {
                try? store.recordRejection(DeltaRejection(peer: hub.map { "\(routing.origin) via \($0)" } ?? tlsPeer, stream: routing.stream, sequence: routing.sequence, code: error.code,
                                                          reason: error.reason, at: isoTime(now)), now: now)
            }
            return .refused(error)
        } catch {
            let failure = SyncError(code: "sync.unavailable", reason: "the delta could not be applied now; retry later")
            return .refused(failure)
        }
    }

    private func receiveChecked(sealed: [UInt8], routing: DeltaRouting, tlsPeer: String, hub: String?, now: Date,
                                lookup: (String) throws -> HeldAgreement?) throws -> ReceiveOutcome {
        if let hub {
            guard tlsPeer == hub, (try? PartyID(urn: hub))?.kind == .hub else {
                throw SyncError(code: "delta.identity", reason: "\(tlsPeer) is not the hub \(hub) the delta was relayed by")
            }
        } else {
            guard routing.origin == tlsPeer else {
                throw SyncError(code: "delta.identity", reason: "the TLS peer \(tlsPeer) is not the delta's origin \(routing.origin)")
            }
        }
        guard let name = StreamName(routing.stream), name.origin.urn == routing.origin else {
            throw SyncError(code: "delta.header-mismatch", reason: "stream \(routing.stream) does not belong to origin \(routing.origin)")
        }
        let position = try store.position(routing.stream)
        if let stopped = position?.stopped {
            throw SyncError(code: "delta.stopped", reason: "stream \(routing.stream) is stopped here: \(stopped)")
        }
        let current = position?.sequence ?? 0
        if routing.sequence > current + 1 {
            throw SyncError(code: "delta.gap", reason: "delta \(routing.sequence) of \(routing.stream) is ahead: expected \(current + 1)", expected: current + 1)
        }
        // Open and verify.
        let signed: [UInt8]
        do {
            signed = try CMS.open(sealed, certificate: identity.sealingCertificate, key: identity.sealingKey)
        } catch {
            throw SyncError(code: "delta.seal", reason: "cannot open the delta: \((error as? CryptoError)?.reason ?? "not CMS AuthEnvelopedData for us")")
        }
        let verified: VerifiedSignedData
        do {
            verified = try CMS.verify(signed, trust: identity.trust, expectedSigner: routing.origin, now: now)
        } catch {
            throw SyncError(code: "delta.signature", reason: "the delta's signature does not verify for \(routing.origin): \((error as? CryptoError)?.reason ?? "\(error)")")
        }
        let deltaHash = SHA256.hexHash(signed)
        let (header, digest, contexts, entries) = try DeltaContent.parse(verified.content)
        // The signed header must say what the routing header said.
        var mismatches: [String] = []
        if header.deltaID != routing.deltaID { mismatches.append("deltaID") }
        if header.origin.urn != routing.origin { mismatches.append("origin") }
        if header.stream.description != routing.stream { mismatches.append("stream") }
        if header.sequence != routing.sequence { mismatches.append("sequence") }
        if header.recipients.map(\.urn) != routing.recipients { mismatches.append("recipients") }
        guard mismatches.isEmpty else {
            throw SyncError(code: "delta.header-mismatch", reason: "the signed header disagrees with the routing header on \(mismatches.joined(separator: ", "))")
        }
        guard header.recipients.contains(party) else {
            throw SyncError(code: "delta.header-mismatch", reason: "\(party.urn) is not a recipient of this delta")
        }
        guard header.payloadDigest == digest else { throw SyncError(code: "delta.payload", reason: "the payload digest does not match the payload") }
        guard header.eventCount == entries.count else {
            throw SyncError(code: "delta.payload", reason: "the header counts \(header.eventCount) events, the payload holds \(entries.count)")
        }
        // Replays: an applied sequence with the same hash gets the current receipt again.
        if header.sequence <= current {
            guard try store.receivedDeltaHash(stream: routing.stream, sequence: header.sequence) == deltaHash else {
                throw SyncError(code: "delta.replay", reason: "delta \(header.sequence) of \(routing.stream) was applied here with another hash")
            }
            return .applied(receipt: try receipt(for: position!, now: now), position: current, events: 0, replayed: true)
        }
        // The agreement, as this node holds it.
        guard let held = try lookup(header.agreementHash) else {
            throw SyncError(code: "delta.agreement", reason: "agreement \(header.agreementID) v\(header.agreementVersion) (\(header.agreementHash)) is not held here")
        }
        guard held.agreement.id == header.agreementID, held.agreement.version == header.agreementVersion else {
            throw SyncError(code: "delta.agreement", reason: "agreement \(header.agreementHash) is \(held.agreement.id) v\(held.agreement.version) here, not \(header.agreementID) v\(header.agreementVersion)")
        }
        // Deltas replicate: a flow with another action (an enquiry answer) carries other fields and retention.
        if let flow = held.agreement.flow(header.flow), flow.action != .replicate {
            throw SyncError(code: "delta.agreement", reason: "flow \(header.flow) of agreement \(header.agreementID) is \(flow.action.rawValue), not replicate")
        }
        // The chain.
        let expectedPrevious = position?.deltaHash ?? SyncStore.zeroHash
        guard header.previousDeltaHash == expectedPrevious else {
            let reason = "delta \(header.sequence) of \(routing.stream) does not continue the hash chain (previous \(header.previousDeltaHash.prefix(12))…, expected \(expectedPrevious.prefix(12))…)"
            try store.stopStream(routing.stream, origin: routing.origin, agreementHash: header.agreementHash, flow: header.flow, reason: reason, now: now)
            throw SyncError(code: "delta.chain", reason: reason)
        }
        // Every event: valid EPCIS, and inside what the agreement lets this flow carry to us.
        var events: [EPCISEvent] = []
        events.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            let event: EPCISEvent
            do {
                event = try EPCISDocumentParser.validateReceived(entry.event, bytes: verified.content, hashID: entry.hashID, location: "delta event \(index)")
            } catch {
                throw SyncError(code: "delta.payload", reason: error.reason)
            }
            guard event.declaresError == entry.declaresError else {
                throw SyncError(code: "delta.payload", reason: "delta event \(index): declaresError disagrees with the event")
            }
            events.append(event)
        }
        let at = Timestamp(epochMilliseconds: Int64(now.timeIntervalSince1970 * 1000))
        let check = Evaluation.inbound(events: events, sender: header.origin, recipient: party, agreement: held.agreement, flowID: header.flow,
                                       signedBy: held.signedBy, at: at)
        if let violation = check.violation {
            let code = violation.eventIndex == nil ? "delta.agreement" : "delta.out-of-scope"
            throw SyncError(code: code, reason: (violation.eventIndex.map { "event \($0): " } ?? "") + (violation.path.isEmpty ? "" : "\(violation.path): ") + violation.rule)
        }
        let deadline = try Evaluation.retentionDeadline(receivedAt: at, agreement: held.agreement, flowID: header.flow)
        let applied = SyncStore.ReceivedDelta(stream: routing.stream, origin: header.origin.urn, agreementHash: header.agreementHash, flow: header.flow,
                                              sequence: header.sequence, deltaID: header.deltaID, deltaHash: deltaHash,
                                              previousHash: header.previousDeltaHash, signed: signed)
        do {
            _ = try store.applyDelta(applied, events: events, contexts: contexts, contextOfEvent: entries.map(\.context),
                                     retentionDeadline: deadline.epochMilliseconds, now: now)
        } catch let error as StoreError where error.code == "store.sync.replay" || error.code == "store.sync.chain" {
            // Another connection applied it (or a neighbour) first: answer from the position now held.
            guard let now_ = try store.position(routing.stream) else { throw error }
            if now_.sequence >= header.sequence, try store.receivedDeltaHash(stream: routing.stream, sequence: header.sequence) == deltaHash {
                return .applied(receipt: try receipt(for: now_, now: now), position: now_.sequence, events: 0, replayed: true)
            }
            throw SyncError(code: "delta.gap", reason: "delta \(header.sequence) of \(routing.stream) no longer follows: expected \(now_.sequence + 1)", expected: now_.sequence + 1)
        }
        guard let after = try store.position(routing.stream) else { throw SyncError(code: "sync.unavailable", reason: "position lost") }
        return .applied(receipt: try receipt(for: after, now: now), position: after.sequence, events: events.count, replayed: false)
    }

    /// The signed receipt for this node's position on `stream` (made and stored if missing),
    /// or nil before its first delta.
    public func receipt(forStream stream: String, now: Date = Date()) throws -> [UInt8]? {
        guard let position = try store.position(stream), position.sequence > 0 else { return nil }
        return try receipt(for: position, now: now)
    }

    /// The signed receipt for a position: the stored one, or a new one (then stored).
    func receipt(for position: InboundPosition, now: Date) throws -> [UInt8] {
        if let stored = position.receipt { return stored }
        let receipt = Receipt(stream: position.stream, sequence: position.sequence, deltaHash: position.deltaHash, receiver: party.urn, at: isoTime(now))
        let signed = try receipt.sign(certificate: identity.signingCertificate, key: identity.signingKey)
        try store.storeReceipt(stream: position.stream, sequence: position.sequence, receipt: signed)
        return signed
    }
}
