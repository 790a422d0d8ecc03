import CSQLite
import Foundation
import Testing
import Model
@testable import Store

@Suite struct EventStoreTests {
    let pack1 = "https://id.gs1.org/01/04870001000011/21/PACK1"
    let pack2 = "https://id.gs1.org/01/04870001000011/21/PACK2"
    let carton = "https://id.gs1.org/01/14870001000018/21/CARTON1"
    let pallet = "https://id.gs1.org/00/048700010000000011"

    /// Raw bytes are stored packed (`PackedEvent`) and read back exactly; a row written
    /// before packing (the raw JSON itself) reads as it is; a packed value that no longer
    /// decodes is refused by queries with `store.event.corrupt`.
    @Test func rawBytesAreStoredPackedAndReadBackExactly() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let packs = (1...10).map { "https://id.gs1.org/01/04870001000011/21/PACK\($0)" }
        // The fixture document is these event texts joined, so they are the raw bytes.
        let texts = [Fixtures.object(packs), Fixtures.object([pack1], step: "shipping")]
        let original = texts.map { Array($0.utf8) }
        let document = Fixtures.document(texts)
        _ = try store.capture(document, origin: Fixtures.kazakhstan, actor: "test", source: "a", documentDigest: "d1")
        let stored = try store.database.read { db in
            try db.prepare("SELECT raw FROM events ORDER BY id").rows { $0.blob(0) }
        }
        #expect(stored.first?.first == 0x01 && stored[0].count < original[0].count / 2)
        #expect(try store.events(matching: EventQuery()).map(\.raw) == original)
        // As an older build wrote it.
        try store.database.write { db in
            try db.prepare("UPDATE events SET raw = ? WHERE id = 1").bind([.blob(original[0])]).run()
        }
        #expect(try store.events(matching: EventQuery()).map(\.raw) == original)
        #expect(try store.trace(uim: pack1).levels.isEmpty == false)
        // Damaged: the block cut short by one byte, so that it no longer decodes.
        var damaged = stored[1]
        damaged.removeLast()
        try store.database.write { db in
            try db.prepare("UPDATE events SET raw = ? WHERE id = 2").bind([.blob(damaged)]).run()
        }
        #expect(throws: StoreError.self) { try store.events(matching: EventQuery()) }
        do {
            _ = try store.events(matching: EventQuery())
        } catch let error as StoreError {
            #expect(error.code == "store.event.corrupt")
            #expect(error.reason.contains("row 2"))
        }
    }

    @Test func captureStoresOnceAndReportsDuplicates() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let document = Fixtures.document([Fixtures.object([pack1]), Fixtures.object([pack2])])
        let first = try store.capture(document, origin: Fixtures.kazakhstan, actor: "test", source: "a", documentDigest: "d1")
        #expect(first.captured == 2 && first.duplicates == 0)
        // The same first event inside another document is a duplicate; the new one is captured.
        let overlapping = Fixtures.document([Fixtures.object([pack1]), Fixtures.object([pack1, pack2], step: "shipping")])
        let second = try store.capture(overlapping, origin: Fixtures.kazakhstan, actor: "test", source: "b", documentDigest: "d2")
        #expect(second.captured == 1 && second.duplicates == 1)
        #expect(second.duplicateIDs == [document.events[0].hashID])
        #expect(try store.counts(localOrigin: Fixtures.kazakhstan.urn).events == 3)
        // The counts /metrics reads (no index scan) agree with the full ones.
        let full = try store.counts(localOrigin: Fixtures.kazakhstan.urn)
        let cheap = try store.eventCounts(localOrigin: Fixtures.kazakhstan.urn)
        let same: Bool = [cheap.events, cheap.localEvents, cheap.receivedEvents, cheap.auditRecords] == [full.events, full.localEvents, full.receivedEvents, full.auditRecords]
        #expect(same)
        #expect(full.uims == 2)
        #expect(cheap.events == 3)
        #expect(cheap.auditRecords == 2)
    }

    /// A document stored as its slices are validated: when a late slice fails, the slices
    /// already inserted are rolled back with it, the validation error comes out as it is,
    /// and the store (events, index, audit chain) is as it was; the valid document then
    /// stores every event.
    @Test func aLateSliceThatFailsRollsBackTheSlicesAlreadyInserted() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        _ = try store.capture(Fixtures.document([Fixtures.object([pack1])]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        let before = try store.counts(localOrigin: Fixtures.kazakhstan.urn)
        let count = EPCISDocumentParser.sliceSize * 3 + 1
        var events = (0..<count).map { Fixtures.object(["https://id.gs1.org/01/04870001000011/21/S\($0)"]) }
        func text(_ events: [String]) -> [UInt8] {
            Array(#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[\#(events.joined(separator: ","))]}}"#.utf8)
        }
        let bad = count - 1
        let good = events[bad]
        events[bad] = events[bad].replacingOccurrences(of: "2024-01-01T10:00:00Z", with: "2024-13-01T10:00:00Z")
        do {
            _ = try store.capture(try EPCISDocumentParser.begin(text(events), name: "late.jsonld"), origin: Fixtures.kazakhstan,
                                  actor: "t", source: "late.jsonld", documentDigest: "d")
            Issue.record("a document with an invalid event was stored")
        } catch let error as ModelError {
            #expect(error.reason.hasPrefix("late.jsonld: event \(bad): field 'eventTime'"), "\(error.reason)")
        }
        let after = try store.counts(localOrigin: Fixtures.kazakhstan.urn)
        #expect(after.events == before.events && after.uims == before.uims && after.auditRecords == before.auditRecords)
        #expect(try store.verifyAudit().isIntact)
        events[bad] = good
        let stored = try store.capture(try EPCISDocumentParser.begin(text(events), name: "good.jsonld"), origin: Fixtures.kazakhstan,
                                       actor: "t", source: "good.jsonld", documentDigest: "d")
        #expect(stored.captured == count)
        #expect(try store.counts(localOrigin: Fixtures.kazakhstan.urn).events == before.events + count)
    }

    @Test func errorDeclarationIsStoredBesideTheEventItCorrects() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let original = Fixtures.object([pack1])
        let declared = original.dropLast() + #","errorDeclaration":{"declarationTime":"2024-02-01T00:00:00Z","reason":"incorrect_data"}}"#
        let result = try store.capture(Fixtures.document([original, String(declared)]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        #expect(result.captured == 2)
        let stored = try store.events(hashID: result.capturedIDs[0])
        #expect(stored.map(\.declaresError) == [false, true])
        // Capturing the declaration again is a duplicate of the declaration.
        let again = try store.capture(Fixtures.document([String(declared)]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        #expect(again.duplicates == 1)
    }

    @Test func queriesByIdentifierStepTypeAndTime() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        _ = try store.capture(Fixtures.document([
            Fixtures.object([pack1], time: "2024-01-01T10:00:00Z"),
            Fixtures.object([pack2], time: "2024-01-02T10:00:00Z"),
            Fixtures.aggregation(parent: carton, children: [pack1, pack2], time: "2024-01-03T10:00:00Z"),
            Fixtures.object([carton], step: "shipping", time: "2024-01-04T10:00:00Z", action: "OBSERVE"),
        ]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        var query = EventQuery()
        query.anyEPCs = [pack1]
        #expect(try store.events(matching: query).count == 2)
        query = EventQuery()
        query.epcs = [carton]
        #expect(try store.events(matching: query).count == 1, "MATCH_epc excludes parentID")
        query = EventQuery()
        query.parentIDs = [carton]
        #expect(try store.events(matching: query).map(\.type) == ["AggregationEvent"])
        query = EventQuery()
        query.bizSteps = ["shipping"]
        #expect(try store.events(matching: query).count == 1)
        query.bizSteps = ["urn:epcglobal:cbv:bizstep:shipping"]
        #expect(try store.events(matching: query).count == 1, "old CBV URN form matches too")
        query = EventQuery()
        query.eventTimeFrom = Timestamp.parse("2024-01-02T10:00:00Z")!.epochMilliseconds
        query.eventTimeBefore = Timestamp.parse("2024-01-04T10:00:00Z")!.epochMilliseconds
        #expect(try store.events(matching: query).count == 2)
        query = EventQuery()
        query.types = ["AggregationEvent", "ObjectEvent"]
        query.limit = 3
        let page = try store.events(matching: query)
        #expect(page.count == 3)
        query.afterRowID = page.last!.rowID
        #expect(try store.events(matching: query).count == 1)
        query = EventQuery()
        query.anyEPCs = ["urn:epc:id:sgtin:0614141.107346.2017"]
        #expect(try store.events(matching: query).isEmpty)
    }

    @Test func traceFollowsAggregationUpAndDown() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        _ = try store.capture(Fixtures.document([
            Fixtures.object([pack1, pack2], time: "2024-01-01T10:00:00Z"),
            Fixtures.aggregation(parent: carton, children: [pack1, pack2], time: "2024-01-01T10:05:00Z"),
            Fixtures.aggregation(parent: pallet, children: [carton], time: "2024-01-01T11:00:00Z"),
            Fixtures.object([pallet], step: "shipping", time: "2024-01-03T10:00:00Z", action: "OBSERVE"),
        ]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        let up = try store.trace(uim: pack1)
        #expect(up.levels.map(\.uim) == [pack1, carton, pallet])
        #expect(up.levels.map(\.depth) == [0, -1, -2])
        #expect(up.events.count == 4, "commissioning, both packings and the pallet's shipping")
        let down = try store.trace(uim: pallet)
        #expect(Set(down.levels.map(\.uim)) == [pallet, carton, pack1, pack2])
        #expect(down.levels.first { $0.uim == pack2 }?.depth == 2)
        let cut = try store.trace(uim: pallet, maxUIMs: 2)
        #expect(cut.truncated)
        #expect(try store.trace(uim: "https://id.gs1.org/01/00000000000000/21/NONE").events.isEmpty)
    }

    @Test func captureIsAtomicPerDocument() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        _ = try store.capture(Fixtures.document([Fixtures.object([pack1])]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        // Make the store fail halfway through a document: a trigger refuses the second event.
        try store.database.read { db in
            try db.execute("CREATE TEMP TRIGGER fail_second BEFORE INSERT ON events WHEN (SELECT count(*) FROM events) >= 2 BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END")
        }
        #expect(throws: StoreError.self) {
            try store.capture(Fixtures.document([Fixtures.object([pack2]), Fixtures.object([carton])]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        }
        let counts = try store.counts(localOrigin: Fixtures.kazakhstan.urn)
        #expect(counts.events == 1, "nothing of the failed document stayed")
        #expect(counts.auditRecords == 1)
        #expect(try store.verifyAudit().isIntact)
    }

    @Test func migrationsAreRecordedAndNotReapplied() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("db.sqlite")
        _ = try EventStore(path: path)
        let database = try SerialDatabase(path: path)
        #expect(try Schema.migrator.appliedNames(database) == Schema.migrator.migrations.map(\.name))
        #expect(try Schema.migrator.migrate(database).isEmpty)
        try database.write { db in try db.prepare("INSERT INTO schema_migrations(name) VALUES ('9999-from-the-future')").run() }
        #expect(throws: StoreError.self) { try Schema.migrator.migrate(database) }
    }

    @Test func databaseIsInWALModeWithForeignKeys() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        try store.database.read { db in
            let mode = try db.prepare("PRAGMA journal_mode")
            #expect(try mode.step() && mode.text(0) == "wal")
            let keys = try db.prepare("PRAGMA foreign_keys")
            #expect(try keys.step() && keys.int64(0) == 1)
            let sync = try db.prepare("PRAGMA synchronous")
            #expect(try sync.step() && sync.int64(0) == 2, "FULL: durable before commit returns")
        }
    }

    /// Text is bound with its UTF-8 length: empty text stays text (not NULL), and a NUL
    /// inside does not cut it short.
    @Test func boundTextKeepsEveryByte() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        for value in ["", "plain", "a\u{0}b", "é٠\u{1F600}", String(repeating: "x", count: 100_000)] {
            let back = try store.database.read { db -> (String?, Int64, String) in
                let statement = try db.prepare("SELECT ?1, length(CAST(?1 AS BLOB)), typeof(?1)")
                try statement.bind(.text(value), at: 1)
                _ = try statement.step()
                return (statement.text(0), statement.int64(1), statement.text(2) ?? "")
            }
            #expect(back.0 == value && back.1 == Int64(value.utf8.count) && back.2 == "text")
        }
    }

    /// Borrowed parameters read the caller's bytes while the statement runs (text with
    /// NULs and non-ASCII, empty text, a blob, plain values) and are unbound after it, so
    /// no binding outlives the buffers.
    @Test func borrowedParametersAreReadInPlaceAndUnboundAfterwards() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let text = Array("a\u{0}é٠\u{1F600}".utf8), blob: [UInt8] = [0, 1, 255, 0]
        let (during, after) = try store.database.read { db -> ([String], [String]) in
            let statement = try db.prepare("SELECT typeof(?1), hex(?1), typeof(?2), hex(?2), typeof(?3), ?3, typeof(?4), quote(?5)")
            func row() -> [String] { (0..<8).map { statement.text(Int32($0)) ?? "NULL" } }
            let during = try text.withUnsafeBytes { t in
                try blob.withUnsafeBytes { b in
                    try statement.withBorrowedParameters([.text(t), .blob(b), .value(.integer(7)), .value(.null),
                                                          .text(UnsafeRawBufferPointer(start: nil, count: 0))]) {
                        _ = try statement.step()
                        return row()
                    }
                }
            }
            // Reset as well as unbound (a result row could point into the buffers): stepping
            // again starts over, with every parameter NULL.
            _ = try statement.step()
            return (during, row())
        }
        #expect(during == ["text", text.map { String(format: "%02X", $0) }.joined(), "blob", "0001FF00", "integer", "7", "null", "''"])
        #expect(after == ["null", "", "null", "", "null", "NULL", "null", "NULL"])
    }

    /// A full database (here: SQLite's page limit) names the file and says there is no
    /// space, from a prepared statement and from `execute` alike.
    @Test func aFullDatabaseNamesItsFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("db.sqlite")
        let store = try EventStore(path: path)
        let failure = { (error: any Error) -> Bool in
            guard let error = error as? StoreError else { return false }
            return error.code == "store.sqlite.13" && error.reason.hasPrefix(path + ": no space left for the database")
        }
        try store.database.write { db in
            try db.execute("CREATE TABLE filler(x BLOB)")
            let pages = try db.prepare("PRAGMA page_count").rows { $0.int64(0) }.first ?? 0
            try db.execute("PRAGMA max_page_count=\(pages + 2)")
        }
        #expect(performing: {
            try store.database.write { db in
                let insert = try db.prepare("INSERT INTO filler VALUES (zeroblob(100000))")
                for _ in 0..<100 { try insert.run(); insert.reset() }
            }
        }, throws: failure)
        #expect(performing: {
            try store.database.write { db in try db.execute("INSERT INTO filler VALUES (zeroblob(100000)); INSERT INTO filler VALUES (zeroblob(100000))") }
        }, throws: failure)
    }

    @Test func aNewStoreUsesLargePagesAndAnOldOneKeepsItsOwn() throws {
        let directory = try TemporaryDirectory()
        func pageSize(_ store: EventStore) throws -> Int64 {
            try store.database.read { db in
                let statement = try db.prepare("PRAGMA page_size")
                #expect(try statement.step())
                return statement.int64(0)
            }
        }
        #expect(try pageSize(EventStore(path: directory.path("new.sqlite"))) == Int64(Database.pageBytes))

        // A store created before page_size was set (SQLite's 4 KiB default) keeps its pages.
        let oldPath = directory.path("old.sqlite")
        var handle: OpaquePointer?
        #expect(sqlite3_open(oldPath, &handle) == SQLITE_OK)
        #expect(sqlite3_exec(handle, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE t(x)", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(handle)
        let old = try EventStore(path: oldPath)
        _ = try old.sealAudit(actor: "upgrade")   // an existing file gets its audit key on request
        #expect(try pageSize(old) == 4096)
        let result = try old.capture(Fixtures.document([Fixtures.object(["urn:epc:id:sgtin:4012345.011111.1"])]),
                                     origin: Fixtures.kazakhstan, actor: "test", source: "old", documentDigest: "d")
        #expect(result.captured == 1)
        #expect(try old.verifyAudit().isIntact)
    }
}
