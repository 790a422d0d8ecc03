import Foundation
import Testing
import Model
@testable import Store

/// Events indexed by a 64-bit key of their hash ID (migration 0011, `EventHashKey`).
@Suite struct EventHashKeyTests {
    let pack = "https://id.gs1.org/01/04870001000011/21/PACK1"
    let carton = "https://id.gs1.org/01/14870001000018/21/CARTON1"

    /// The key is the first 8 bytes of SHA-256 of the text (FIPS 180-2 sample digests).
    @Test func keyIsTheFirstEightBytesOfSHA256() {
        #expect(EventHashKey.of("") == Int64(bitPattern: 0xe3b0_c442_98fc_1c14))
        #expect(EventHashKey.of("abc") == Int64(bitPattern: 0xba78_16bf_8f01_cfea))
        // Hash IDs that share their first digits (which a peer chooses) do not share a key.
        let a = "ni:///sha-256;0123456789abcdef" + String(repeating: "0", count: 48) + "?ver=CBV2.0"
        let b = "ni:///sha-256;0123456789abcdef" + String(repeating: "1", count: 48) + "?ver=CBV2.0"
        #expect(EventHashKey.of(a) != EventHashKey.of(b))
    }

    /// Two different hash IDs with the same key are two events; a lookup by hash ID finds
    /// only its own; the same hash ID again is a duplicate.
    @Test func eventsSharingAKeyStaySeparate() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let document = Fixtures.document([Fixtures.object([pack])])
        let real = document.events[0].hashID
        // A row with another hash ID stored under the real one's key (a 64-bit collision,
        // which cannot be found by search, is made by writing the key directly).
        var impostor = Array(real)
        let last = impostor.index(impostor.startIndex, offsetBy: 14 + 63)
        impostor[last] = impostor[last] == "0" ? "1" : "0"
        let other = String(impostor)
        #expect(other != real)
        try store.database.write { db in
            try db.prepare("""
                INSERT INTO events(hash_id, hash_key, type, event_time, event_time_text, time_zone_offset, record_time, action, origin, raw)
                VALUES (?, ?, 'ObjectEvent', 0, '2024-01-01T10:00:00.000Z', '+00:00', 0, 'ADD', 'urn:fctc:party:KZ', X'7B7D')
                """).bind([.text(other), .integer(EventHashKey.of(real))]).run()
        }
        let first = try store.capture(document, origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        #expect(first.captured == 1 && first.duplicates == 0)
        #expect(try store.events(hashID: real).count == 1)
        #expect(try store.database.read { db in
            try db.prepare("SELECT count(*) FROM events WHERE hash_key = ?").bind([.integer(EventHashKey.of(real))]).rows { $0.int64(0) }
        } == [2])
        let again = try store.capture(document, origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        #expect(again.captured == 0 && again.duplicates == 1)
    }

    /// A store as 0010 left it (unique text index, an event and its error declaration)
    /// is rebuilt with the same rows and row IDs, keys filled in, the unique index gone,
    /// the key index there, and capture and trace work as before.
    @Test func aStoreFromBeforeTheKeyIsRebuiltWithTheSameRows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("db.sqlite")
        let original = Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-02T10:00:00Z")
        let declared = String(original.dropLast()) + #","errorDeclaration":{"declarationTime":"2024-02-01T00:00:00Z"}}"#
        let document = Fixtures.document([original, declared])
        do {
            let database = try SerialDatabase(path: path)
            try Migrator(Array(Schema.migrator.migrations.prefix { $0.name != "0011-events-hash-key" })).migrate(database)
            try database.write { db in
                for (i, event) in document.events.enumerated() {
                    try db.prepare("""
                        INSERT INTO events(id, hash_id, declares_error, type, event_time, event_time_text, time_zone_offset, record_time, action, origin, raw, parent)
                        VALUES (?, ?, ?, 'AggregationEvent', 0, '2024-01-02T10:00:00.000Z', '+00:00', 0, 'ADD', 'urn:fctc:party:KZ', ?, ?)
                        """).bind([.integer(Int64(10 + i)), .text(event.hashID), .integer(event.declaresError ? 1 : 0), .blob(event.raw), .text(carton)]).run()
                }
                var encoder = PostingIndex.BlockEncoder()
                var blocks: [PostingIndex.Block] = []
                for (uim, role) in [(carton, "parent"), (pack, "child")].sorted(by: { codePointOrder($0.0, $1.0) < 0 }) {
                    if let block = try encoder.add(uim: uim, eventID: 10, role: role) { blocks.append(block) }
                }
                if let block = encoder.finish() { blocks.append(block) }
                try PostingIndex.append(db, blocks: blocks)
            }
        }
        let store = try EventStore(path: path)
        _ = try store.sealAudit(actor: "upgrade")
        #expect(try Schema.migrator.appliedNames(store.database) == Schema.migrator.migrations.map(\.name))
        let (rows, uniqueIndexes, keyIndex) = try store.database.read { db throws in
            (try db.prepare("SELECT id, hash_id, hash_key, declares_error FROM events ORDER BY id").rows { ($0.int64(0), $0.text(1) ?? "", $0.int64(2), $0.int64(3)) },
             try db.prepare("SELECT count(*) FROM pragma_index_list('events') WHERE \"unique\" = 1").rows { $0.int64(0) },
             try db.prepare("SELECT count(*) FROM pragma_index_list('events') WHERE name = 'events_by_hash_key'").rows { $0.int64(0) })
        }
        #expect(rows.map(\.0) == [10, 11])
        #expect(rows.map(\.1) == document.events.map(\.hashID))
        #expect(rows.map(\.2) == document.events.map { EventHashKey.of($0.hashID) })
        #expect(rows.map(\.3) == [0, 1])
        #expect(uniqueIndexes == [0])
        #expect(keyIndex == [1])
        #expect(try store.events(hashID: document.events[0].hashID).map(\.declaresError) == [false, true])
        #expect(try store.trace(uim: pack).levels.map(\.uim) == [pack, carton])
        let again = try store.capture(document, origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        #expect(again.captured == 0 && again.duplicates == 2)
        let fresh = try store.capture(Fixtures.document([Fixtures.object([pack], step: "shipping")]), origin: Fixtures.kazakhstan,
                                      actor: "t", source: "s", documentDigest: "d")
        #expect(fresh.captured == 1)
    }
}
