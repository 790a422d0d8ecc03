import Foundation
import Testing
import Crypto
import Model
import Policy
import Store
@testable import Sync

/// KZ → UA under the bilateral agreement: what arrives, how it is redacted, kept and acknowledged.
@Suite("Bilateral sync")
struct BilateralSyncTests {
    @Test("Events arrive at UA from KZ, redacted as the flow's fields say, with a deadline and a receipt")
    func happyPath() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral])
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        let captured = try kz.capture([Events.commissioning(1), Events.commissioning(2), Events.shipping(1)])
        #expect(captured.captured == 3)

        let deltas = try kz.cut()
        try #require(deltas.count == 1)
        let delta = deltas[0]
        #expect(delta.sequence == 1)
        #expect(delta.previousHash == SyncStore.zeroHash)
        #expect(delta.eventCount == 3)
        #expect(delta.deltaHash == SHA256.hexHash(delta.signed))
        let stream = StreamName(origin: Parties.kz, agreementHash: Agreements.bilateral.agreement.hash, flow: "kz-to-ua-shipments").description
        #expect(delta.stream == stream)

        let before = Date()
        let outcome = ua.receive(try kz.parcel(delta))
        let after = Date()
        try #require(outcome.refusal == nil, "refused: \(outcome.refusal!.code) \(outcome.refusal!.reason)")
        #expect(outcome.appliedEvents == 3)
        #expect(outcome.position == 1)

        // Origin, hash IDs and raw bytes.
        let flow = try #require(Agreements.bilateral.agreement.flow("kz-to-ua-shipments"))
        let atOrigin = try kz.events()
        let atReceiver = try ua.events()
        #expect(atReceiver.count == 3)
        #expect(atReceiver.allSatisfy { $0.origin == Parties.kz.urn })
        #expect(Set(atReceiver.map(\.hashID)) == Set(captured.capturedIDs))
        #expect(Set(atReceiver.map(\.hashID)) == Set(atOrigin.map(\.hashID)))
        for received in atReceiver {
            let original = try #require(atOrigin.first { $0.hashID == received.hashID })
            let expected = Redaction.redact(try object(original.raw), flow: flow).event
            #expect(received.raw == JSONWriter.serialize(.object(expected)), "raw bytes of \(received.hashID) are not the flow's redaction")
            #expect(received.declaresError == original.declaresError)
            #expect(received.bizStep == original.bizStep)
            #expect(received.eventTimeMillis == original.eventTimeMillis)
        }
        let commissioning = try #require(atReceiver.first { $0.bizStep?.hasSuffix("commissioning") == true })
        let ilmd = try #require(try object(commissioning.raw)["ilmd"]?.objectValue)
        #expect(ilmd["tt:machineID"] == nil)             // (c) not in the flow's fields
        #expect(ilmd["tt:facilityID"] == nil)            // (b)
        #expect(ilmd["tt:productionShift"] == nil)       // (d)
        #expect(ilmd["tt:productionTime"] == nil)        // (d)
        #expect(ilmd["tt:manufactureCountry"] == "KZ")   // (a)
        #expect(ilmd["tt:intendedMarket"] == "UA")       // (f)
        #expect(ilmd["tt:productCategory"] == "cigarettes")  // (g)
        #expect(ilmd["tt:brand"] == "Steppe Gold")       // (g)
        let originalCommissioning = try #require(atOrigin.first { $0.hashID == commissioning.hashID })
        #expect(try object(originalCommissioning.raw)["ilmd"]?.objectValue?["tt:machineID"] == "KZ-F0001-M01")  // still whole at the origin
        let shipping = try object(try #require(atReceiver.first { $0.bizStep?.hasSuffix("shipping") == true }).raw)
        #expect(shipping["example:internalBatch"] == nil)
        #expect(shipping["tt:consignee"]?.objectValue?["tt:note"] == nil)
        #expect(shipping["tt:consignee"]?.objectValue?["tt:name"] == "Importer LLC")   // (j)
        #expect(shipping["tt:transport"]?.objectValue?["tt:vehicle"] == "KZ 123 ABC 02")  // (j)
        #expect(shipping["destinationList"] != nil)     // (h)

        // The receiver keeps the origin's @context with the events, and indexes their UIMs.
        #expect(try ua.count("SELECT count(*) FROM events WHERE context_id IS NULL") == 0)
        let contexts = { (node: SyncNode) in try node.store.database.read { db in try db.prepare("SELECT body FROM contexts").rows { $0.blob(0) } } }
        #expect(try contexts(ua) == contexts(kz))
        #expect(try ua.count("SELECT count(*) FROM uims u JOIN events e ON e.id = u.event_id WHERE e.origin = ?", [.text(Parties.kz.urn)])
                == kz.count("SELECT count(*) FROM uims"))

        // Retention: received events get received-at + 365 days; the origin's own get none.
        let deadlines = try ua.store.database.read { db in
            try db.prepare("SELECT retention_deadline FROM events").rows { $0.isNull(0) ? nil : $0.int64(0) }
        }
        let year: Int64 = 365 * 86_400_000
        for deadline in deadlines {
            let d = try #require(deadline)
            #expect(d >= Int64(before.timeIntervalSince1970 * 1000) - 1000 + year && d <= Int64(after.timeIntervalSince1970 * 1000) + year)
        }
        #expect(try kz.count("SELECT count(*) FROM events WHERE retention_deadline IS NOT NULL") == 0)

        // Position and receipt.
        let position = try #require(try ua.sync.position(stream))
        #expect(position.sequence == 1)
        #expect(position.deltaHash == delta.deltaHash)
        #expect(position.origin == Parties.kz.urn)
        #expect(position.stopped == nil)
        let receipt = try kz.engine.acceptReceipt(try #require(outcome.receipt), from: Parties.ua.urn)
        #expect(receipt.sequence == 1)
        #expect(receipt.deltaHash == delta.deltaHash)
        #expect(receipt.receiver == Parties.ua.urn)
        #expect(receipt.stream == stream)
        let progress = try kz.sync.progress(recipient: Parties.ua.urn)
        #expect(progress.count == 1)
        #expect(progress.first?.acknowledged == 1)
        #expect(progress.first?.receipt == outcome.receipt)

        // Audit: one creation at the origin, one application at the receiver, both chains intact.
        #expect(try kz.audit("delta.create").count == 1)
        #expect(try ua.audit("delta.apply").count == 1)
        #expect(try ua.sync.rejections().isEmpty)
        #expect(try kz.store.verifyAudit().isIntact)
        #expect(try ua.store.verifyAudit().isIntact)
    }

    @Test("A second delta continues the chain and moves the acknowledged position on")
    func secondDeltaContinuesTheChain() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral])
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        try kz.capture([Events.commissioning(1)])
        let first = try kz.push(to: ua)
        #expect(first.map(\.appliedEvents) == [1])
        try kz.capture([Events.commissioning(2), Events.shipping(2)])
        let deltas = try kz.cut()
        try #require(deltas.count == 1)
        #expect(deltas[0].sequence == 2)
        #expect(deltas[0].previousHash == (try kz.sync.outboxHash(stream: deltas[0].stream, sequence: 1)))
        let outcome = ua.receive(try kz.parcel(deltas[0]))
        #expect(outcome.appliedEvents == 2)
        #expect(outcome.position == 2)
        try kz.engine.acceptReceipt(try #require(outcome.receipt), from: Parties.ua.urn)
        #expect(try kz.sync.progress(recipient: Parties.ua.urn).first?.acknowledged == 2)
        #expect(try ua.events().count == 3)
        #expect(try ua.sync.position(deltas[0].stream)?.events == 3)
        #expect(try kz.store.verifyAudit().isIntact)
        #expect(try ua.store.verifyAudit().isIntact)
    }

    @Test("An error declaration travels beside the event it declares, under the same hash ID")
    func errorDeclaration() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral])
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        let event = Events.commissioning(1)
        let declaration = String(event.dropLast()) + #","errorDeclaration":{"declarationTime":"2026-03-04T00:00:00.000Z","reason":"incorrect_data"}}"#
        let original = try kz.capture([event])
        #expect(try kz.push(to: ua).map(\.appliedEvents) == [1])
        let declared = try kz.capture([declaration])
        #expect(declared.capturedIDs == original.capturedIDs)
        #expect(try kz.push(to: ua).map(\.appliedEvents) == [1])
        let atUA = try ua.store.events(hashID: original.capturedIDs[0])
        #expect(atUA.map(\.declaresError) == [false, true])
        #expect(try object(atUA[1].raw)["errorDeclaration"]?.objectValue?["reason"] == "incorrect_data")
        #expect(try kz.sync.progress(recipient: Parties.ua.urn).first?.acknowledged == 2)
    }
}
