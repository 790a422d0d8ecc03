import Foundation
import Testing
import Crypto
import Model
import Policy
import Store
@testable import Sync

/// KZ, UA and DE under the trilateral agreement.
@Suite("Multilateral sync")
struct MultilateralSyncTests {
    static let hash = Agreements.trilateral.agreement.hash

    @Test("One flow KZ → {UA, DE}: one sealed delta, both receive it, both receipts are accepted")
    func oneFlowTwoRecipients() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.trilateral])
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.trilateral])
        let de = try SyncNode(Parties.de, agreements: [Agreements.trilateral])
        let captured = try kz.capture([Events.commissioning(1), Events.commissioning(2)])
        let deltas = try kz.cut()
        try #require(deltas.count == 1)
        let stream = StreamName(origin: Parties.kz, agreementHash: Self.hash, flow: "kz-commissioning").description
        #expect(deltas[0].stream == stream)
        let parcel = try kz.parcel(deltas[0])
        #expect(parcel.routing.recipients == [Parties.de.urn, Parties.ua.urn])

        let atUA = ua.receive(parcel)
        let atDE = de.receive(parcel)   // the same sealed bytes
        #expect(atUA.appliedEvents == 2)
        #expect(atDE.appliedEvents == 2)
        let flow = try #require(Agreements.trilateral.agreement.flow("kz-commissioning"))
        let origin = try kz.events()
        for node in [ua, de] {
            let events = try node.events()
            #expect(Set(events.map(\.hashID)) == Set(captured.capturedIDs))
            #expect(events.allSatisfy { $0.origin == Parties.kz.urn })
            for event in events {
                let original = try #require(origin.first { $0.hashID == event.hashID })
                #expect(event.raw == JSONWriter.serialize(.object(Redaction.redact(try object(original.raw), flow: flow).event)))
                let ilmd = try object(event.raw)["ilmd"]?.objectValue
                #expect(ilmd?["tt:machineID"] == nil)
                #expect(ilmd?["tt:intendedMarket"] == nil)   // (f) is not in this flow
                #expect(ilmd?["tt:brand"] == "Steppe Gold")
            }
            #expect(try node.sync.position(stream)?.deltaHash == deltas[0].deltaHash)
            #expect(try node.store.verifyAudit().isIntact)
        }

        try kz.engine.acceptReceipt(try #require(atUA.receipt), from: Parties.ua.urn)
        try kz.engine.acceptReceipt(try #require(atDE.receipt), from: Parties.de.urn)
        let progress = try kz.sync.progress().filter { $0.stream == stream }
        #expect(progress.map(\.recipient) == [Parties.de.urn, Parties.ua.urn])
        #expect(progress.map(\.acknowledged) == [1, 1])
        // A receipt is bound to its signer: UA's receipt does not pass as DE's.
        #expect(throws: SyncError.self) { try kz.engine.acceptReceipt(try #require(atUA.receipt), from: Parties.de.urn) }
        #expect(try kz.store.verifyAudit().isIntact)
    }

    @Test("A flow only to DE cannot be read by UA")
    func flowToDEOnly() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.trilateral])
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.trilateral])
        let de = try SyncNode(Parties.de, agreements: [Agreements.trilateral])
        try kz.capture([Events.shipping(1, destination: "DE")])
        let deltas = try kz.cut()
        try #require(deltas.count == 1)
        let stream = StreamName(origin: Parties.kz, agreementHash: Self.hash, flow: "kz-shipping-to-de").description
        #expect(deltas[0].stream == stream)
        let parcel = try kz.parcel(deltas[0])
        #expect(parcel.routing.recipients == [Parties.de.urn])

        #expect(de.receive(parcel).appliedEvents == 1)
        let refused = ua.receive(parcel)
        #expect(refused.refusal?.code == "delta.seal")
        #expect(try ua.events().isEmpty)
        #expect(try ua.sync.position(stream) == nil)
        #expect(try ua.sync.rejections().map(\.code) == ["delta.seal"])
        #expect(try ua.audit("delta.reject").count == 1)
    }

    @Test("A delta for DE sealed to UA as well is refused by UA: it is not among the signed recipients")
    func sealedToANonRecipient() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.trilateral])
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.trilateral])
        try kz.capture([Events.shipping(1, destination: "DE")])
        let delta = try #require(try kz.cut().first)
        let parcel = try kz.parcel(delta, sealedTo: [Parties.de, Parties.ua])
        #expect(ua.receive(parcel).refusal?.code == "delta.header-mismatch")
        // Claiming UA in the routing header does not help: it disagrees with the signed header.
        let claimed = DeltaRouting(deltaID: parcel.routing.deltaID, origin: parcel.routing.origin, recipients: [Parties.de.urn, Parties.ua.urn],
                                   stream: parcel.routing.stream, sequence: parcel.routing.sequence)
        #expect(ua.receive(sealed: parcel.sealed, routing: claimed).refusal?.code == "delta.header-mismatch")
        #expect(try ua.events().isEmpty)
        #expect(try ua.sync.rejections().count == 2)
    }
}

/// An event two flows permit to one recipient: each stream evaluates its own flow only
/// (`Evaluation.outbound(onlyFlow:)`), so an event an earlier catch-all flow also carries to
/// DE still travels on the KZ → {UA, DE} stream its flow permits.
@Suite("Multilateral sync: overlapping flows")
struct OverlappingFlowTests {
    @Test("An event a catch-all flow to DE also matches still reaches UA on the shared flow")
    func overlappingFlows() throws {
        let text = Agreements.trilateralText.replacingOccurrences(of: #""flows": ["#, with: #"""
            "flows": [{"id": "kz-all-to-de", "from": ["urn:fctc:party:KZ"], "to": ["urn:fctc:party:DE"], "action": "replicate",
                       "rowFilter": {}, "fields": ["a"], "duties": {"retentionDays": 30, "receipts": true}},
            """#)
        let held = Agreements.held(text)
        try #require(held.agreement.flows.map(\.id) == ["kz-all-to-de", "kz-commissioning", "kz-shipping-to-de", "ua-to-de"])
        let kz = try SyncNode(Parties.kz, agreements: [held])
        let ua = try SyncNode(Parties.ua, agreements: [held])
        let captured = try kz.capture([Events.commissioning(1)])
        let deltas = try kz.cut()
        let shared = StreamName(origin: Parties.kz, agreementHash: held.agreement.hash, flow: "kz-commissioning").description
        let delta = try #require(deltas.first { $0.stream == shared })
        #expect(ua.receive(try kz.parcel(delta)).appliedEvents == 1)
        #expect(try ua.events().map(\.hashID) == captured.capturedIDs)
    }
}
