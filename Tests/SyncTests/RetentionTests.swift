import Foundation
import Testing
import Crypto
import Model
import Policy
import Store
@testable import Sync

/// The retention purge at the receiver.
@Suite("Retention purge")
struct RetentionTests {
    @Test("Past the deadline, received events and their UIM rows go, in audited batches; local events stay")
    func purge() throws {
        let (kz, ua, deltas) = try RefusalTests.pair(deltas: 3)
        let own = try ua.capture([Events.commissioning(100, market: "UA", made: "UA"), Events.packing(100)])
        for delta in deltas { #expect(ua.receive(try kz.parcel(delta)).appliedEvents == 1) }
        let kzURN = Parties.kz.urn, uaURN = Parties.ua.urn
        let receivedUIMs = try ua.count("SELECT count(*) FROM uims u JOIN events e ON e.id = u.event_id WHERE e.origin = ?", [.text(kzURN)])
        let localUIMs = try ua.count("SELECT count(*) FROM uims u JOIN events e ON e.id = u.event_id WHERE e.origin = ?", [.text(uaURN)])
        #expect(receivedUIMs == 3)
        #expect(localUIMs > 0)
        let latest = try #require(try ua.store.database.read { db in
            try db.prepare("SELECT max(retention_deadline) FROM events").rows { $0.int64(0) }.first
        })
        let earliest = try #require(try ua.store.database.read { db in
            try db.prepare("SELECT min(retention_deadline) FROM events").rows { $0.int64(0) }.first
        })

        // Before the first deadline: nothing.
        #expect(try ua.sync.purgeExpired(now: Date()).isEmpty)
        #expect(try ua.sync.purgeExpired(now: Date(timeIntervalSince1970: Double(earliest - 1) / 1000)).isEmpty)
        #expect(try ua.events().count == 5)

        // Past the last deadline, two to a batch.
        let batches = try ua.sync.purgeExpired(now: Date(timeIntervalSince1970: Double(latest) / 1000 + 1), batchSize: 2)
        #expect(batches.map(\.deleted) == [2, 1])
        #expect(batches.allSatisfy { $0.origin == kzURN })
        #expect(batches.last?.latestDeadline == latest)
        let left = try ua.events()
        #expect(Set(left.map(\.hashID)) == Set(own.capturedIDs))
        #expect(left.allSatisfy { $0.origin == uaURN })
        #expect(try ua.count("SELECT count(*) FROM uims WHERE event_id NOT IN (SELECT id FROM events)") == 0)
        #expect(try ua.count("SELECT count(*) FROM uims") == localUIMs)

        let audits = try ua.audit("retention.purge")
        #expect(audits.count == 2)
        #expect(try audits.map { try object(Array($0.detail.utf8))["deleted"] } == [.number("2"), .number("1")])
        #expect(try audits.allSatisfy { try object(Array($0.detail.utf8))["origin"] == .string(kzURN) })
        #expect(try ua.store.verifyAudit().isIntact)

        // Nothing more to purge, even much later; the stream position stays, and a replay applies nothing again.
        #expect(try ua.sync.purgeExpired(now: Date(timeIntervalSince1970: Double(latest) / 1000 + 86_400 * 3650)).isEmpty)
        #expect(try ua.sync.position(RefusalTests.stream)?.sequence == 3)
        #expect(ua.receive(try kz.parcel(deltas[0])).isReplay)
        #expect(try ua.events().count == 2)
    }

    @Test("An expired event whose stored bytes no longer unpack still goes, with its UIM rows")
    func damagedRowIsPurged() throws {
        let (kz, ua, deltas) = try RefusalTests.pair(deltas: 2)
        for delta in deltas { #expect(ua.receive(try kz.parcel(delta)).appliedEvents == 1) }
        let kzURN = Parties.kz.urn
        let damaged = try ua.count("SELECT min(id) FROM events WHERE origin = ?", [.text(kzURN)])
        try ua.store.database.write { db in
            try db.prepare("UPDATE events SET raw = ? WHERE id = ?").bind([.blob([0x01, 0xFF, 0x00]), .integer(Int64(damaged))]).run()
        }
        #expect(throws: StoreError.self) { try ua.events() }
        let batches = try ua.sync.purgeExpired(now: Date().addingTimeInterval(86_400 * 3650))
        #expect(batches.map(\.deleted) == [2])
        #expect(try ua.count("SELECT count(*) FROM events WHERE origin = ?", [.text(kzURN)]) == 0)
        #expect(try ua.count("SELECT count(*) FROM uims WHERE event_id NOT IN (SELECT id FROM events)") == 0)
    }

    @Test("The origin's purge never touches its own events")
    func originKeepsItsOwn() throws {
        let (kz, ua, deltas) = try RefusalTests.pair(deltas: 2)
        for delta in deltas { #expect(ua.receive(try kz.parcel(delta)).appliedEvents == 1) }
        #expect(try kz.sync.purgeExpired(now: Date().addingTimeInterval(86_400 * 3650)).isEmpty)
        #expect(try kz.events().count == 2)
        #expect(try kz.audit("retention.purge").isEmpty)
    }

    @Test("A partial purge leaves events whose deadline has not come")
    func partial() throws {
        let (kz, ua, deltas) = try RefusalTests.pair(deltas: 2)
        let t0 = Date()
        #expect(ua.receive(try kz.parcel(deltas[0]), now: t0).appliedEvents == 1)
        #expect(ua.receive(try kz.parcel(deltas[1]), now: t0.addingTimeInterval(86_400)).appliedEvents == 1)
        let purged = try ua.sync.purgeExpired(now: t0.addingTimeInterval(365 * 86_400 + 3600))
        #expect(purged.map(\.deleted) == [1])
        #expect(try ua.events().count == 1)
        #expect(try ua.store.verifyAudit().isIntact)
    }
}
