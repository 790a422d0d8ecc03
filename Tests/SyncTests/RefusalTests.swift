import Foundation
import Testing
import Crypto
import Model
import Policy
import Store
@testable import Sync

/// Deltas the receiver must refuse: each refusal applies nothing, is recorded in
/// delta_rejections and the audit log with its code, and the stream goes on with the next
/// good delta (except a broken chain, which stops it).
@Suite("Refused deltas")
struct RefusalTests {
    static let flow = "kz-to-ua-shipments"
    static let stream = StreamName(origin: Parties.kz, agreementHash: Agreements.bilateral.agreement.hash, flow: flow).description

    /// KZ with `count` deltas of one event each in its outbox, and an empty UA.
    static func pair(deltas count: Int = 3) throws -> (kz: SyncNode, ua: SyncNode, deltas: [OutboxDelta]) {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral], limits: CutLimits(maxEvents: 1))
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        if count > 0 { try kz.capture((1...count).map { Events.commissioning($0) }) }
        let deltas = try kz.cut()
        try #require(deltas.count == count)
        return (kz, ua, deltas)
    }

    /// A local event whose stored bytes no longer unpack is skipped by the cutter (as one it
    /// cannot parse always was), and the events after it still go out.
    @Test func theCutterSkipsADamagedRowAndGoesOn() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral], limits: CutLimits(maxEvents: 1))
        try kz.capture((1...3).map { Events.commissioning($0) })
        let first = try kz.count("SELECT min(id) FROM events")
        try kz.store.database.write { db in
            try db.prepare("UPDATE events SET raw = ? WHERE id = ?").bind([.blob([0x01, 0xFF, 0x00]), .integer(Int64(first))]).run()
        }
        let local = try kz.sync.localEvents(origin: Parties.kz.urn, after: 0, limit: 10)
        #expect(local.map(\.raw.isEmpty) == [true, false, false])
        let deltas = try kz.cut()
        #expect(deltas.count == 2)
    }

    /// The refusal has `code`, and it is the newest row of delta_rejections and the newest
    /// `delta.reject` audit record, naming `peer`.
    static func expectRefused(_ outcome: ReceiveOutcome, _ code: String, at node: SyncNode, peer: String = Parties.kz.urn,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(outcome.refusal?.code == code, "outcome: \(outcome.refusal.map { "\($0.code): \($0.reason)" } ?? "applied")", sourceLocation: sourceLocation)
        let rejection = try node.sync.rejections(limit: 1).first
        #expect(rejection?.code == code, sourceLocation: sourceLocation)
        #expect(rejection?.peer == peer, sourceLocation: sourceLocation)
        let audit = try #require(try node.audit("delta.reject").last, sourceLocation: sourceLocation)
        let detail = try object(Array(audit.detail.utf8))
        #expect(detail["code"] == .string(code), sourceLocation: sourceLocation)
        #expect(audit.actor == peer, sourceLocation: sourceLocation)
    }

    /// Nothing was applied at `node` on the bilateral stream beyond `sequence`, and its audit chain holds.
    static func expectPosition(_ node: SyncNode, _ sequence: Int64, events: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect((try node.sync.position(stream)?.sequence ?? 0) == sequence, sourceLocation: sourceLocation)
        #expect(try node.events().count == events, sourceLocation: sourceLocation)
        #expect(try node.count("SELECT count(*) FROM received_deltas") == Int(sequence), sourceLocation: sourceLocation)
        #expect(try node.store.verifyAudit().isIntact, sourceLocation: sourceLocation)
    }

    // MARK: - Transport and crypto

    @Test("Tampered sealed bytes: delta.seal")
    func tampered() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        let parcel = try kz.parcel(deltas[0])
        var sealed = parcel.sealed
        sealed[sealed.count - 40] ^= 0x01   // inside the ciphertext or the GCM tag
        try Self.expectRefused(ua.receive(sealed: sealed, routing: parcel.routing), "delta.seal", at: ua)
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(parcel).appliedEvents == 1)
        try Self.expectPosition(ua, 1, events: 1)
    }

    @Test("Garbage and half a delta: delta.seal")
    func garbageAndTruncated() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        let parcel = try kz.parcel(deltas[0])
        let garbage = try SecureRandom.bytes(parcel.sealed.count)
        try Self.expectRefused(ua.receive(sealed: garbage, routing: parcel.routing), "delta.seal", at: ua)
        try Self.expectRefused(ua.receive(sealed: [], routing: parcel.routing), "delta.seal", at: ua)
        try Self.expectRefused(ua.receive(sealed: Array(parcel.sealed.prefix(parcel.sealed.count / 2)), routing: parcel.routing), "delta.seal", at: ua)
        try Self.expectRefused(ua.receive(sealed: Array(parcel.sealed.dropLast()), routing: parcel.routing), "delta.seal", at: ua)
        // The signed object itself, unsealed: not AuthEnvelopedData.
        try Self.expectRefused(ua.receive(sealed: deltas[0].signed, routing: parcel.routing), "delta.seal", at: ua)
        #expect(try ua.sync.rejections().count == 5)
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(parcel).appliedEvents == 1)
        try Self.expectPosition(ua, 1, events: 1)
    }

    @Test("Signed by a KZ identity from another root: delta.signature")
    func foreignSigned() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        let impostor = try SyncNode(Parties.kz, identity: SyncPKI.shared.foreignKZ, agreements: [Agreements.bilateral])
        try impostor.capture([Events.commissioning(1)])
        let forged = try #require(try impostor.cut().first)
        #expect(forged.stream == Self.stream)
        // Sealed without the impostor's trust store (our UA certificate does not chain to its root).
        let sealed = try CMS.seal(forged.signed, to: [SyncPKI.shared.ua.sealingCertificate])
        let routing = impostor.engine.routing(of: forged, recipients: [Parties.ua.urn])
        try Self.expectRefused(ua.receive(sealed: sealed, routing: routing), "delta.signature", at: ua)
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(try kz.parcel(deltas[0])).appliedEvents == 1)
        try Self.expectPosition(ua, 1, events: 1)
    }

    @Test("Signed by UA but routed as KZ's: delta.signature")
    func signedByAnotherParty() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        // DE re-signs KZ's content with its own key.
        let content = try CMS.verify(deltas[0].signed, trust: SyncPKI.shared.kz.trust).content
        let resigned = try CMS.sign(content, signer: SyncPKI.shared.de.signingCertificate, key: SyncPKI.shared.de.signingKey)
        let sealed = try CMS.seal(resigned, to: [SyncPKI.shared.ua.sealingCertificate])
        let parcel = try kz.parcel(deltas[0])
        try Self.expectRefused(ua.receive(sealed: sealed, routing: parcel.routing), "delta.signature", at: ua)
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(parcel).appliedEvents == 1)
    }

    @Test("TLS peer other than the origin: delta.identity")
    func tlsPeerIsNotTheOrigin() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        let parcel = try kz.parcel(deltas[0])
        try Self.expectRefused(ua.receive(parcel, tlsPeer: Parties.de.urn), "delta.identity", at: ua, peer: Parties.de.urn)
        // DE claiming to be the origin in the routing header: the signature still names KZ.
        let claimed = DeltaRouting(deltaID: parcel.routing.deltaID, origin: Parties.de.urn, recipients: parcel.routing.recipients,
                                   stream: parcel.routing.stream, sequence: parcel.routing.sequence)
        try Self.expectRefused(ua.receive(sealed: parcel.sealed, routing: claimed, tlsPeer: Parties.de.urn), "delta.header-mismatch", at: ua, peer: Parties.de.urn)
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(parcel).appliedEvents == 1)
        try Self.expectPosition(ua, 1, events: 1)
    }

    @Test("Routing header that disagrees with the signed header: delta.header-mismatch")
    func routingHeaderMismatch() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 2)
        let parcel = try kz.parcel(deltas[0])
        let r = parcel.routing
        let otherStream = StreamName(origin: Parties.kz, agreementHash: Agreements.bilateral.agreement.hash, flow: "another-flow").description
        let variants: [DeltaRouting] = [
            DeltaRouting(deltaID: "urn:uuid:00000000-0000-4000-8000-000000000000", origin: r.origin, recipients: r.recipients, stream: r.stream, sequence: r.sequence),
            DeltaRouting(deltaID: r.deltaID, origin: r.origin, recipients: [Parties.ua.urn, Parties.de.urn], stream: r.stream, sequence: r.sequence),
            DeltaRouting(deltaID: r.deltaID, origin: r.origin, recipients: r.recipients, stream: otherStream, sequence: r.sequence),
            // A stream of another origin than the routing origin.
            DeltaRouting(deltaID: r.deltaID, origin: r.origin, recipients: r.recipients,
                         stream: StreamName(origin: Parties.de, agreementHash: Agreements.bilateral.agreement.hash, flow: Self.flow).description, sequence: r.sequence),
        ]
        for routing in variants {
            try Self.expectRefused(ua.receive(sealed: parcel.sealed, routing: routing), "delta.header-mismatch", at: ua)
        }
        // Delta 2 presented as delta 1.
        let second = try kz.parcel(deltas[1])
        let renumbered = DeltaRouting(deltaID: second.routing.deltaID, origin: r.origin, recipients: r.recipients, stream: r.stream, sequence: 1)
        try Self.expectRefused(ua.receive(sealed: second.sealed, routing: renumbered), "delta.header-mismatch", at: ua)
        #expect(try ua.sync.rejections().count == variants.count + 1)
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(parcel).appliedEvents == 1)
        #expect(ua.receive(second).appliedEvents == 1)
        try Self.expectPosition(ua, 2, events: 2)
    }

    // MARK: - Position and chain

    @Test("Replay of an applied delta: the receipt again, nothing applied twice")
    func replay() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 2)
        let first = try kz.parcel(deltas[0])
        let applied = ua.receive(first)
        #expect(applied.appliedEvents == 1)
        let again = ua.receive(first)
        #expect(again.isReplay)
        #expect(again.position == 1)
        #expect(again.receipt == applied.receipt)
        try Self.expectPosition(ua, 1, events: 1)
        #expect(ua.receive(try kz.parcel(deltas[1])).appliedEvents == 1)
        // Delta 1 again, now behind the position: still a replay, answered with the current receipt.
        let late = ua.receive(try kz.parcel(deltas[0]))   // sealed afresh: other bytes, same signed delta
        #expect(late.isReplay)
        #expect(late.position == 2)
        try kz.engine.acceptReceipt(try #require(late.receipt), from: Parties.ua.urn)
        #expect(try kz.sync.progress(recipient: Parties.ua.urn).first?.acknowledged == 2)
        try Self.expectPosition(ua, 2, events: 2)
        #expect(try ua.audit("delta.apply").count == 2)
        #expect(try ua.sync.rejections().isEmpty)
    }

    @Test("The same delta 1000 times is applied once")
    func thousandTimes() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        let parcel = try kz.parcel(deltas[0])
        var applied = 0, replayed = 0
        for _ in 0..<1000 {
            let outcome = ua.receive(parcel)
            if outcome.appliedEvents != nil { applied += 1 } else if outcome.isReplay { replayed += 1 }
        }
        #expect(applied == 1)
        #expect(replayed == 999)
        try Self.expectPosition(ua, 1, events: 1)
        #expect(try ua.audit("delta.apply").count == 1)
        #expect(try ua.sync.rejections().isEmpty)
    }

    @Test("The same delta from many threads at once is applied once")
    func concurrentDeliveries() async throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        let parcel = try kz.parcel(deltas[0])
        let outcomes = await withTaskGroup(of: ReceiveOutcome.self) { group in
            for _ in 0..<16 { group.addTask { ua.receive(parcel) } }
            var all: [ReceiveOutcome] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        #expect(outcomes.filter { $0.appliedEvents != nil }.count == 1)
        #expect(outcomes.filter(\.isReplay).count == 15)
        #expect(outcomes.allSatisfy { $0.refusal == nil })
        try Self.expectPosition(ua, 1, events: 1)
    }

    @Test("An older sequence with another hash: delta.replay")
    func replayWithAnotherHash() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 2)
        #expect(ua.receive(try kz.parcel(deltas[0])).appliedEvents == 1)
        // KZ starting over from an empty store makes another delta 1.
        let restarted = try SyncNode(Parties.kz, agreements: [Agreements.bilateral])
        try restarted.capture([Events.commissioning(50)])
        let other = try #require(try restarted.cut().first)
        #expect(other.sequence == 1)
        #expect(other.deltaHash != deltas[0].deltaHash)
        try Self.expectRefused(ua.receive(try restarted.parcel(other)), "delta.replay", at: ua)
        try Self.expectPosition(ua, 1, events: 1)
        #expect(ua.receive(try kz.parcel(deltas[1])).appliedEvents == 1)
        try Self.expectPosition(ua, 2, events: 2)
    }

    @Test("A sequence far ahead: delta.gap with the expected sequence, and no rejection record")
    func gap() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 3)
        let outcome = ua.receive(try kz.parcel(deltas[2]))
        #expect(outcome.refusal?.code == "delta.gap")
        #expect(outcome.refusal?.expected == 1)
        #expect(outcome.refusal?.httpStatus == 409)
        #expect(try ua.sync.rejections().isEmpty)
        #expect(try ua.audit("delta.reject").isEmpty)
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(try kz.parcel(deltas[0])).appliedEvents == 1)
        #expect(ua.receive(try kz.parcel(deltas[2])).refusal?.expected == 2)
        #expect(ua.receive(try kz.parcel(deltas[1])).appliedEvents == 1)
        #expect(ua.receive(try kz.parcel(deltas[2])).appliedEvents == 1)
        try Self.expectPosition(ua, 3, events: 3)
        #expect(try ua.sync.rejections().isEmpty)
    }

    @Test("A broken previousDeltaHash: delta.chain stops the stream; later deltas get delta.stopped")
    func brokenChain() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 3)
        #expect(ua.receive(try kz.parcel(deltas[0])).appliedEvents == 1)
        // A KZ that lost its store cuts its own 1 and 2; its 2 does not continue our 1.
        let restarted = try SyncNode(Parties.kz, agreements: [Agreements.bilateral], limits: CutLimits(maxEvents: 1))
        try restarted.capture([Events.commissioning(60), Events.commissioning(61)])
        let other = try restarted.cut()
        try #require(other.count == 2)
        try Self.expectRefused(ua.receive(try restarted.parcel(other[1])), "delta.chain", at: ua)
        let position = try #require(try ua.sync.position(Self.stream))
        #expect(position.stopped != nil)
        #expect(position.sequence == 1)
        #expect(try ua.audit("stream.stop").count == 1)
        // The genuine next delta is refused while the stream is stopped.
        try Self.expectRefused(ua.receive(try kz.parcel(deltas[1])), "delta.stopped", at: ua)
        try Self.expectRefused(ua.receive(try kz.parcel(deltas[2])), "delta.stopped", at: ua)
        try Self.expectPosition(ua, 1, events: 1)
    }

    @Test("A first delta whose previousDeltaHash is not zeros: delta.chain")
    func brokenChainAtTheStart() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 2)
        _ = kz
        let forged = try HandMade.parcel(events: [try HandMade.inScope(1)], previous: String(repeating: "1", count: 64))
        try Self.expectRefused(ua.receive(forged), "delta.chain", at: ua)
        #expect(try ua.sync.position(Self.stream)?.stopped != nil)
        try Self.expectRefused(ua.receive(try kz.parcel(deltas[0])), "delta.stopped", at: ua)
        try Self.expectPosition(ua, 0, events: 0)
    }

    // MARK: - Agreement and content

    @Test("An agreement not held here: delta.agreement")
    func unknownAgreement() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        ua.agreements = [Agreements.trilateral]
        let parcel = try kz.parcel(deltas[0])
        try Self.expectRefused(ua.receive(parcel), "delta.agreement", at: ua)
        try Self.expectPosition(ua, 0, events: 0)
        // Once the agreement is held, the same delta applies.
        ua.agreements = [Agreements.bilateral]
        #expect(ua.receive(parcel).appliedEvents == 1)
    }

    @Test("An agreement held here but no longer active: delta.agreement")
    func inactiveAgreement() throws {
        let (kz, ua, deltas) = try Self.pair(deltas: 1)
        let parcel = try kz.parcel(deltas[0])
        // UA holds the agreement with only its own signature verified.
        ua.agreements = [HeldAgreement(agreement: Agreements.bilateral.agreement, signedBy: [Parties.ua])]
        try Self.expectRefused(ua.receive(parcel), "delta.agreement", at: ua)
        try Self.expectPosition(ua, 0, events: 0)
        ua.agreements = [Agreements.bilateral]
        #expect(ua.receive(parcel).appliedEvents == 1)
    }

    @Test("A hand-made delta carrying a field the flow does not allow: delta.out-of-scope")
    func fieldNotAllowed() throws {
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        var event = try HandMade.inScope(1)
        var ilmd = try #require(event.event["ilmd"]?.objectValue)
        ilmd["tt:machineID"] = "KZ-F0001-M01"   // (c): not in the flow's fields
        event = DeltaEvent(hashID: event.hashID, declaresError: false, context: event.context, event: { var e = event.event; e["ilmd"] = .object(ilmd); return e }())
        let outcome = ua.receive(try HandMade.parcel(events: [try HandMade.inScope(2), event]))
        try Self.expectRefused(outcome, "delta.out-of-scope", at: ua)
        #expect(outcome.refusal?.reason.contains("ilmd.tt:machineID") == true)
        // A member no element maps at all.
        var extra = try HandMade.inScope(3)
        extra = DeltaEvent(hashID: extra.hashID, declaresError: false, context: extra.context, event: { var e = extra.event; e["example:internalBatch"] = "B-77"; return e }())
        try Self.expectRefused(ua.receive(try HandMade.parcel(events: [extra])), "delta.out-of-scope", at: ua)
        try Self.expectPosition(ua, 0, events: 0)
        // The same events, properly redacted, apply.
        #expect(ua.receive(try HandMade.parcel(events: [try HandMade.inScope(2), try HandMade.inScope(1)])).appliedEvents == 2)
        try Self.expectPosition(ua, 1, events: 2)
    }

    @Test("A hand-made delta with an event outside the row filter: delta.out-of-scope")
    func outsideRowFilter() throws {
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        for outside in [Events.commissioning(1, market: "DE"), Events.packing(1), Events.commissioning(1, category: "other-tobacco"),
                        Events.commissioning(1, time: "2025-06-01T00:00:00.000Z")] {
            let outcome = ua.receive(try HandMade.parcel(events: [try HandMade.inScope(9), try HandMade.redacted(outside)]))
            try Self.expectRefused(outcome, "delta.out-of-scope", at: ua)
            #expect(outcome.refusal?.reason.hasPrefix("event 1:") == true)
        }
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(try HandMade.parcel(events: [try HandMade.inScope(9)])).appliedEvents == 1)
    }

    @Test("A hand-made delta on a flow that does not go to UA, or not from KZ: delta.agreement")
    func wrongFlow() throws {
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        // ua-answers-kz goes from UA to KZ.
        let outcome = ua.receive(try HandMade.parcel(events: [try HandMade.inScope(1)], flow: "ua-answers-kz"))
        try Self.expectRefused(outcome, "delta.agreement", at: ua)
        let unknown = ua.receive(try HandMade.parcel(events: [try HandMade.inScope(1)], flow: "no-such-flow"))
        try Self.expectRefused(unknown, "delta.agreement", at: ua)
        #expect(try ua.events().isEmpty)
    }

    @Test("A hand-made delta on an answerEnquiry flow from KZ to UA (wider fields, longer retention): delta.agreement")
    func notAReplicateFlow() throws {
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        let answers = try #require(Agreements.bilateral.agreement.flow("kz-answers-ua"))
        #expect(answers.action == .answerEnquiry)
        // Redacted by the answer flow: keeps (b) tt:facilityID, which the replicate flow does not share.
        let event = try Events.document([Events.commissioning(1)]).events[0]
        let wide = DeltaEvent(hashID: event.hashID, declaresError: false, context: 0, event: Redaction.redact(event.body, flow: answers).event)
        #expect(wide.event["ilmd"]?.objectValue?["tt:facilityID"] != nil)
        let outcome = ua.receive(try HandMade.parcel(events: [wide], flow: "kz-answers-ua"))
        try Self.expectRefused(outcome, "delta.agreement", at: ua)
        #expect(try ua.events().isEmpty)
    }

    @Test("A payload digest, event count, error flag or hash ID that disagrees with the payload, or an invalid event: delta.payload")
    func payloadMismatch() throws {
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        let events = [try HandMade.inScope(1)]
        try Self.expectRefused(ua.receive(try HandMade.parcel(events: events, payloadDigest: String(repeating: "ab", count: 32))), "delta.payload", at: ua)
        try Self.expectRefused(ua.receive(try HandMade.parcel(events: events, eventCount: 2)), "delta.payload", at: ua)
        let flagged = DeltaEvent(hashID: events[0].hashID, declaresError: true, context: events[0].context, event: events[0].event)
        try Self.expectRefused(ua.receive(try HandMade.parcel(events: [flagged])), "delta.payload", at: ua)
        let badHash = DeltaEvent(hashID: "sha-256:abc", declaresError: false, context: events[0].context, event: events[0].event)
        try Self.expectRefused(ua.receive(try HandMade.parcel(events: [badHash])), "delta.payload", at: ua)
        var invalid = events[0].event
        invalid["eventTime"] = "yesterday"
        try Self.expectRefused(ua.receive(try HandMade.parcel(events: [DeltaEvent(hashID: events[0].hashID, declaresError: false, context: 0, event: invalid)])),
                               "delta.payload", at: ua)
        try Self.expectPosition(ua, 0, events: 0)
        #expect(ua.receive(try HandMade.parcel(events: events)).appliedEvents == 1)
    }
}

/// Deltas made by hand with KZ's signing key, to present content the cutter never makes.
enum HandMade {
    /// Event `serial` (a commissioning event for UA) as the bilateral flow redacts it, with the origin's hash ID.
    static func inScope(_ serial: Int) throws -> DeltaEvent {
        try redacted(Events.commissioning(serial))
    }

    /// Any event, redacted by the bilateral flow's fields, with its hash ID.
    static func redacted(_ text: String) throws -> DeltaEvent {
        let event = try Events.document([text]).events[0]
        let flow = Agreements.bilateral.agreement.flow(RefusalTests.flow)!
        return DeltaEvent(hashID: event.hashID, declaresError: event.declaresError, context: 0, event: Redaction.redact(event.body, flow: flow).event)
    }

    static func parcel(events: [DeltaEvent], sequence: Int64 = 1, previous: String = SyncStore.zeroHash, flow: String = RefusalTests.flow,
                       held: HeldAgreement = Agreements.bilateral, recipients: [PartyID] = [Parties.ua],
                       payloadDigest: String? = nil, eventCount: Int? = nil) throws -> Parcel {
        let identity = SyncPKI.shared.kz
        let payload = DeltaContent.payload(events: events, contexts: [try JSONParser.parse(Array(Events.context.utf8))])
        let header = DeltaHeader(deltaID: makeUUIDURN(), origin: Parties.kz, agreementID: held.agreement.id, agreementVersion: held.agreement.version,
                                 agreementHash: held.agreement.hash, flow: flow, sequence: sequence, previousDeltaHash: previous,
                                 recipients: recipients, created: isoTime(Date()), eventCount: eventCount ?? events.count,
                                 payloadDigest: payloadDigest ?? SHA256.hexHash(payload))
        let signed = try CMS.sign(DeltaContent.content(header: header, payload: payload), signer: identity.signingCertificate, key: identity.signingKey)
        let sealed = try CMS.seal(signed, to: recipients.map { SyncPKI.shared.folder($0).sealingCertificate })
        let delta = OutboxDelta(stream: header.stream.description, sequence: sequence, deltaID: header.deltaID, deltaHash: SHA256.hexHash(signed),
                                previousHash: previous, eventCount: events.count, signed: signed, created: header.created)
        let routing = DeltaRouting(deltaID: header.deltaID, origin: Parties.kz.urn, recipients: recipients.map(\.urn),
                                   stream: header.stream.description, sequence: sequence)
        return Parcel(delta: delta, sealed: sealed, routing: routing)
    }
}
