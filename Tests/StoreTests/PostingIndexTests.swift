import Foundation
import Testing
import Generator
import Model
@testable import Store

/// The UIM index as sorted runs of packed blocks (migrations 0008 and 0009, `PostingIndex`):
/// merges keep every posting exactly once, lookups see all runs and every block boundary,
/// stores made before 0008 and 0009 keep their index, and a trace reads the same after
/// merges as before.
@Suite struct PostingIndexTests {
    /// Every posting the events of `store` should have, as "uim|event|role" lines.
    func expectedPostings(_ store: EventStore) throws -> [String] {
        try store.database.read { db in
            try db.prepare("SELECT id, raw FROM events ORDER BY id").rows { s in (s.int64(0), try EventStore.unpack(s.blob(1), row: s.int64(0))) }
        }.flatMap { id, raw in PostingIndex.references(ofRaw: raw).map { "\($0.uim)|\(id)|\($0.role.rawValue)" } }.sorted()
    }

    func storedPostings(_ store: EventStore) throws -> [String] {
        try store.database.read { db in
            try db.prepare("SELECT uim, event_id, role FROM uims").rows { s in "\(s.text(0) ?? "")|\(s.int64(1))|\(s.text(2) ?? "")" }
        }.sorted()
    }

    func runs(_ store: EventStore) throws -> [(run: Int64, postings: Int64, level: Int64, stored: Int64)] {
        try store.database.read { db in
            try db.prepare("""
                SELECT r.run, r.postings, r.level, (SELECT coalesce(sum(b.postings), 0) FROM posting_blocks b WHERE b.run = r.run) FROM posting_runs r ORDER BY r.run
                """).rows { s in (s.int64(0), s.int64(1), s.int64(2), s.int64(3)) }
        }
    }

    @Test func levelsGrowByTheFanout() {
        #expect(PostingIndex.level(ofRunWith: 0) == 0)
        #expect(PostingIndex.level(ofRunWith: PostingIndex.baseRun - 1) == 0)
        #expect(PostingIndex.level(ofRunWith: PostingIndex.baseRun) == 1)
        #expect(PostingIndex.level(ofRunWith: PostingIndex.baseRun * PostingIndex.fanout - 1) == 1)
        #expect(PostingIndex.level(ofRunWith: PostingIndex.baseRun * PostingIndex.fanout) == 2)
    }

    @Test func theMigrationsLevelExpressionAgreesWithLevel() throws {
        let directory = try TemporaryDirectory()
        let database = try SerialDatabase(path: directory.path("db.sqlite"))
        var sizes = [0, 1, 100_000_000]
        var size = PostingIndex.baseRun
        for _ in 0...PostingIndex.topLevel { sizes += [size - 1, size, size + 1]; size *= PostingIndex.fanout }
        for n in sizes {
            let sql = try database.read { db in
                try db.prepare("SELECT \(PostingIndex.levelSQL(of: "?1"))").bind([.integer(Int64(n))]).rows { Int($0.int64(0)) }
            }
            #expect(sql == [min(PostingIndex.level(ofRunWith: n), PostingIndex.topLevel)], "\(n) postings")
        }
    }

    @Test func runsAtTheTopLevelAreNotMergedAgain() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let top = Int64(PostingIndex.topLevel)
        try store.database.write { db in
            for run in 1...Int64(PostingIndex.fanout + 1) {
                try db.prepare("INSERT INTO posting_runs(run, postings, level) VALUES (?, 5000000, ?)").bind([.integer(run), .integer(top)]).run()
            }
            try PostingIndex.maintain(db)
        }
        #expect(try runs(store).count == PostingIndex.fanout + 1)
        #expect(PostingIndex.level(ofRunWith: 4 * 1_048_576) >= PostingIndex.topLevel, "four level-4 runs make a top-level run")
    }

    @Test func removingAnEventRemovesItsPostingsEvenWhenItsBytesNoLongerParse() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let pack = "https://id.gs1.org/01/04870001000011/21/PACK1"
        _ = try store.capture(Fixtures.document([Fixtures.object([pack]), Fixtures.object([pack], step: "shipping", action: "OBSERVE")]),
                              origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        let raw = try store.events(hashID: try store.capture(Fixtures.document([Fixtures.object([pack], step: "receiving", action: "OBSERVE")]),
                                                             origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d").capturedIDs[0])[0].raw
        #expect(try storedPostings(store) == ["\(pack)|1|epc", "\(pack)|2|epc", "\(pack)|3|epc"])
        try store.database.write { db in
            try PostingIndex.remove(db, eventID: 3, raw: raw)                    // derived from the bytes
            try PostingIndex.remove(db, eventID: 1, raw: Array("not an event".utf8))  // found by scanning
        }
        #expect(try storedPostings(store) == ["\(pack)|2|epc"])
    }

    @Test func postingsAreWrittenInSQLiteKeyOrder() throws {
        // Shared prefixes, a key that is a prefix of another, non-ASCII (byte order is not
        // Swift's String order), one UIM in several events and roles.
        let uims = ["https://id.gs1.org/01/1/21/B", "https://id.gs1.org/01/1/21/A", "https://id.gs1.org/01/1/21/AB", "urn:x:é", "urn:x:e\u{301}",
                    "urn:x:z", "https://id.gs1.org/01/1/21/A"]
        var postings: [PostingIndex.Posting] = []
        for (i, uim) in uims.enumerated() {
            for role in ["parent", "child", "epc"] where (i + role.count) % 2 == 0 || role == "epc" {
                postings.append(PostingIndex.Posting(uim: uim, eventID: Int64(10 - i), role: role))
            }
        }
        let directory = try TemporaryDirectory()
        let database = try SerialDatabase(path: directory.path("db.sqlite"))
        let sqliteOrder = try database.read { db in
            try db.execute("CREATE TEMP TABLE p (uim TEXT, event_id INTEGER, role TEXT, i INTEGER)")
            for (i, p) in postings.enumerated() {
                try db.prepare("INSERT INTO p VALUES (?, ?, ?, ?)").bind([.text(p.uim), .integer(p.eventID), .text(p.role), .integer(Int64(i))]).run()
            }
            return try db.prepare("SELECT i FROM p ORDER BY uim, event_id, role").rows { Int($0.int64(0)) }
        }
        #expect(PostingIndex.sortedKeys(postings).keys.map(\.index) == sqliteOrder)
        #expect(Set(sqliteOrder).count == postings.count)
    }

    /// A document validated in the background sorts its references by position before
    /// the row IDs exist (`ValidatingDocument.sortedReferences`); the store maps positions to
    /// row IDs and leaves duplicates out. The blocks it writes are byte for byte those the
    /// store writes when it sorts the postings itself, with and without duplicates, and
    /// repeated UIMs inside one event.
    @Test func presortedReferencesWriteTheSameBlocksAsTheStoresOwnSort() throws {
        let count = EPCISDocumentParser.sliceSize * 2 + 40
        func text(_ range: Range<Int>) -> [UInt8] {
            let events = range.map { i in
                i % 7 == 0
                    ? Fixtures.aggregation(parent: "https://id.gs1.org/00/0487000100000\(10000 + i % 50)", children: ["https://id.gs1.org/01/04870001000011/21/P\(i)", "https://id.gs1.org/01/04870001000011/21/P\(i + 1)"], time: "2024-01-01T10:00:00Z")
                    : Fixtures.object(["https://id.gs1.org/01/04870001000011/21/P\(i)", "https://id.gs1.org/01/04870001000011/21/Q\(i % 13)", "https://id.gs1.org/01/04870001000011/21/P\(i)"])
            }
            return Array(#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[\#(events.joined(separator: ","))]}}"#.utf8)
        }
        func blocks(_ store: EventStore) throws -> [String] {
            try store.database.read { db in
                try db.prepare("SELECT run, first_uim, postings, data FROM posting_blocks ORDER BY id").rows { s in
                    "\(s.int64(0))|\(s.text(1) ?? "")|\(s.int64(2))|\(s.blob(3))"
                }
            }
        }
        let directory = try TemporaryDirectory()
        let presorted = try EventStore(path: directory.path("presorted.sqlite"))
        let sortedByStore = try EventStore(path: directory.path("store.sqlite"))
        // The second document repeats half of the first (duplicates: no row ID, no postings).
        for (range, name) in [(0..<count, "first"), ((count / 2)..<(count + count / 2), "second")] {
            let started = try EPCISDocumentParser.begin(text(range), name: name)
            #expect(started.sliceCount > 1)
            let a = try presorted.capture(started, origin: Fixtures.kazakhstan, actor: "t", source: name, documentDigest: "d")
            #expect(started.sortedReferences() != nil)
            let b = try sortedByStore.capture(try EPCISDocumentParser.parse(text(range), name: name), origin: Fixtures.kazakhstan,
                                              actor: "t", source: name, documentDigest: "d")
            #expect(a == b)
        }
        #expect(try blocks(presorted) == blocks(sortedByStore))
        #expect(try storedPostings(presorted) == storedPostings(sortedByStore))
        #expect(try storedPostings(presorted).count > count)

        // The inserter takes the presorted order (not its own sort as a silent fallback),
        // and the blocks are those of its own sort; a presorted order that does not fit
        // the events added is not taken.
        let third = try EPCISDocumentParser.begin(text(count..<(count * 2)), name: "third")
        let events = try third.document().events
        try presorted.database.write { db in
            var inserter = try EventInserter(db, origin: Fixtures.kazakhstan.urn, recordTime: 0, retentionDeadline: nil, expectedEvents: events.count)
            try inserter.add(events, contextIDs: nil, contextID: nil)
            let given = inserter.packedBlocks(presorted: third.sortedReferences())
            let own = inserter.packedBlocks(presorted: nil)
            #expect(given.presortedUsed && !own.presortedUsed)
            #expect(given.blocks.map(\.data) == own.blocks.map(\.data))
            #expect(given.blocks.count == own.blocks.count && !own.blocks.isEmpty)
            var mismatched = ReferenceKeys()
            mismatched.add(uim: "urn:x:extra", number: 0, role: "epc")
            mismatched.sort()
            #expect(!inserter.packedBlocks(presorted: mismatched).presortedUsed)
        }
    }

    @Test func documentsBecomeRunsThatMergeWithoutLosingAPosting() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let generator = try SupplyChainGenerator(SupplyChainConfiguration.configuration(approximateEvents: 1500, seed: 3))
        var documents = 0
        try generator.forEachDocument(eventsPerDocument: 100) { bytes in
            let document = try EPCISDocumentParser.parse(bytes, name: "doc")
            _ = try store.capture(document, origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
            documents += 1
            // After every capture: each posting stored once, in a live run, with its run's count.
            let live = try runs(store)
            #expect(live.allSatisfy { $0.postings == $0.stored && $0.level == Int64(PostingIndex.level(ofRunWith: Int($0.postings))) })
            #expect(Dictionary(grouping: live, by: \.level).values.allSatisfy { $0.count < PostingIndex.fanout })
            let orphans = try store.database.read { db in
                try db.prepare("SELECT count(*) FROM posting_blocks WHERE run NOT IN (SELECT run FROM posting_runs)").rows { $0.int64(0) }
            }
            #expect(orphans == [0])
        }
        #expect(documents >= 12)
        #expect(try runs(store).count < documents, "runs were merged")
        #expect(try storedPostings(store) == expectedPostings(store))
        // The status counts (one ordered pass in Swift) agree with the views.
        let (counted, viewed) = try store.database.read { db in
            (try PostingIndex.counts(db),
             try db.prepare("SELECT (SELECT count(DISTINCT uim) FROM uims), (SELECT count(*) FROM aggregation_links)").rows { (Int($0.int64(0)), Int($0.int64(1))) }[0])
        }
        #expect(counted.uims == viewed.0 && counted.aggregationLinks == viewed.1)
        #expect(counted.uims > 1000 && counted.aggregationLinks > 1000)
    }

    @Test func aTraceReadsTheSameWhicheverRunsHoldItsPostings() throws {
        let pack1 = "https://id.gs1.org/01/04870001000011/21/PACK1"
        let pack2 = "https://id.gs1.org/01/04870001000011/21/PACK2"
        let carton = "https://id.gs1.org/01/14870001000018/21/CARTON1"
        let pallet = "https://id.gs1.org/00/048700010000000011"
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        // One event per document: each is its own run until merges.
        let events = [
            Fixtures.object([pack1, pack2], time: "2024-01-01T10:00:00Z"),
            Fixtures.aggregation(parent: carton, children: [pack2, pack1], time: "2024-01-02T10:00:00Z"),
            Fixtures.aggregation(parent: pallet, children: [carton], time: "2024-01-03T10:00:00Z"),
            Fixtures.object([pallet], step: "shipping", time: "2024-01-04T10:00:00Z", action: "OBSERVE"),
            Fixtures.aggregation(parent: carton, children: [pack2], time: "2024-01-05T10:00:00Z", action: "DELETE"),
        ]
        var traces: [String] = []
        func describe(_ trace: Trace) -> String {
            trace.levels.map { "\($0.uim)@\($0.depth)<\($0.parent ?? "-")" }.joined(separator: " ") + " / "
                + trace.events.map { "\($0.rowID)" }.joined(separator: ",")
        }
        for event in events {
            _ = try store.capture(Fixtures.document([event]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        }
        #expect(try runs(store).count == 2, "four one-event runs merged into one, then the fifth")
        traces.append(describe(try store.trace(uim: pallet)))
        traces.append(describe(try store.trace(uim: pack1)))
        // Down from the pallet: the carton, then its packs in key order (the DELETE unpacks nothing
        // here: only ADD links count); up from a pack: carton, pallet. Events of every level.
        #expect(traces[0] == "\(pallet)@0<- \(carton)@1<\(pallet) \(pack1)@2<\(carton) \(pack2)@2<\(carton) / 1,2,3,4,5")
        #expect(traces[1] == "\(pack1)@0<- \(carton)@-1<- \(pallet)@-2<- / 1,2,3,4,5")
        // All in one run (as a store migrated from 0007 starts): the same answers.
        try store.database.write { db in try PostingIndex.merge(db, runs: try db.prepare("SELECT run FROM posting_runs").rows { $0.int64(0) }) }
        #expect(try runs(store).count == 1)
        #expect(describe(try store.trace(uim: pallet)) == traces[0])
        #expect(describe(try store.trace(uim: pack1)) == traces[1])
        #expect(try storedPostings(store) == expectedPostings(store))
    }

    @Test func aStoreFromBeforeTheRunsKeepsItsIndex() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("db.sqlite")
        let carton = "https://id.gs1.org/01/14870001000018/21/CARTON1"
        let pack = "https://id.gs1.org/01/04870001000011/21/PACK1"
        // A store as 0001–0007 left it, with one packing event in the old `uims` table.
        let database = try SerialDatabase(path: path)
        let before = Migrator(Array(Schema.migrator.migrations.prefix { $0.name != "0008-posting-runs" }))
        try before.migrate(database)
        let document = Fixtures.document([Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-02T10:00:00Z")])
        let event = document.events[0]
        try database.write { db in
            try db.prepare("""
                INSERT INTO events(hash_id, type, event_time, event_time_text, time_zone_offset, record_time, action, origin, raw)
                VALUES (?, 'AggregationEvent', 0, '2024-01-02T10:00:00.000Z', '+00:00', 0, 'ADD', 'urn:fctc:party:KZ', ?)
                """).bind([.text(event.hashID), .blob(event.raw)]).run()
            for reference in event.uims {
                try db.prepare("INSERT INTO uims(uim, event_id, role) VALUES (?, 1, ?)").bind([.text(reference.uim), .text(reference.role.rawValue)]).run()
            }
        }
        let store = try EventStore(path: path)
        _ = try store.sealAudit(actor: "upgrade")
        #expect(try Array(Schema.migrator.appliedNames(store.database).drop { $0 != "0008-posting-runs" }.prefix(4)) == ["0008-posting-runs", "0009-posting-blocks", "0010-binary-posting-blocks", "0011-events-hash-key"])
        #expect(try storedPostings(store) == ["\(pack)|1|child", "\(carton)|1|parent"])
        #expect(try runs(store).map(\.postings) == [2])
        #expect(try runs(store).map(\.level) == [0])
        let links = try store.database.read { db in
            try db.prepare("SELECT parent, child, action FROM aggregation_links").rows { "\($0.text(0) ?? "")>\($0.text(1) ?? "") \($0.text(2) ?? "")" }
        }
        #expect(links == ["\(carton)>\(pack) ADD"])
        #expect(try store.trace(uim: pack).levels.map(\.uim) == [pack, carton])
        #expect(try store.trace(uim: carton).levels.map(\.uim) == [carton, pack])
        // New captures add runs beside the migrated one.
        _ = try store.capture(Fixtures.document([Fixtures.object([pack], step: "shipping", time: "2024-01-03T10:00:00Z", action: "OBSERVE")]),
                              origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        #expect(try runs(store).count == 2)
        #expect(try store.trace(uim: pack).events.count == 2)
    }
    /// Many postings of one UIM, and UIMs on both sides of every block boundary.
    @Test func blocksKeepAUIMTogetherAndLookupsFindEveryUIM() throws {
        let directory = try TemporaryDirectory()
        let database = try SerialDatabase(path: directory.path("db.sqlite"))
        try Schema.migrator.migrate(database)
        let busy = "https://id.gs1.org/00/048700010000000011"
        var postings: [PostingIndex.Posting] = (1...(150)).map {
            PostingIndex.Posting(uim: busy, eventID: Int64($0), role: "parent")
        }
        // Odd text survives the blocks and the view's JSON (quote, backslash, control character, non-ASCII).
        let odd = ["urn:x:\"quoted\"", "urn:x:back\\slash", "urn:x:tab\there", "urn:x:é", "urn:x:e\u{301}"]
        let uims = (0..<(1000)).map { "https://id.gs1.org/01/04870001000011/21/P\($0)" } + odd
        for (i, uim) in uims.enumerated() {
            postings.append(PostingIndex.Posting(uim: uim, eventID: Int64(1000 + i), role: "epc"))
            postings.append(PostingIndex.Posting(uim: uim, eventID: Int64(1000 + i), role: "epc"))  // dropped: the same posting
        }
        try database.write { db in try PostingIndex.append(db, blocks: PostingIndex.blocks(of: postings)) }
        try database.read { db in
            let blocks = try db.prepare("SELECT first_uim, postings FROM posting_blocks ORDER BY first_uim").rows { ($0.text(0) ?? "", Int($0.int64(1))) }
            #expect(blocks.count > 4)
            #expect(blocks.reduce(0) { $0 + $1.1 } == 150 + uims.count)
            #expect(blocks.contains { $0.0 == busy && $0.1 >= 150 }, "one block holds every posting of the busy UIM")
            #expect(try PostingIndex.postings(db, uim: busy).count == 150)
            for (i, uim) in uims.enumerated() {
                let found = try PostingIndex.postings(db, uim: uim)
                #expect(found.count == 1 && found[0].eventID == Int64(1000 + i) && found[0].role == "epc", "\(uim)")
            }
            #expect(try PostingIndex.postings(db, uim: "urn:x:not-there").isEmpty)
            #expect(try PostingIndex.postings(db, uim: "").isEmpty)
            // The view decodes the same postings.
            let viewed = try db.prepare("SELECT uim FROM uims WHERE role = 'epc'").rows { $0.text(0) ?? "" }
            #expect(viewed.sorted { codePointOrder($0, $1) < 0 } == uims.sorted { codePointOrder($0, $1) < 0 })
        }
    }

    @Test func aStoreFromBeforeTheBlocksKeepsItsIndex() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("db.sqlite")
        let carton = "https://id.gs1.org/01/14870001000018/21/CARTON1"
        let packs = (0..<(60)).map { "https://id.gs1.org/01/04870001000011/21/PACK\($0)" }
        // A store as 0001–0008 left it: one packing event, its postings as rows in two runs.
        let database = try SerialDatabase(path: path)
        try Migrator(Array(Schema.migrator.migrations.prefix { $0.name != "0009-posting-blocks" })).migrate(database)
        let document = Fixtures.document([Fixtures.aggregation(parent: carton, children: packs, time: "2024-01-02T10:00:00Z")])
        let event = document.events[0]
        try database.write { db in
            try db.prepare("""
                INSERT INTO events(hash_id, type, event_time, event_time_text, time_zone_offset, record_time, action, origin, raw, parent)
                VALUES (?, 'AggregationEvent', 0, '2024-01-02T10:00:00.000Z', '+00:00', 0, 'ADD', 'urn:fctc:party:KZ', ?, ?)
                """).bind([.text(event.hashID), .blob(event.raw), .text(carton)]).run()
            for (i, reference) in event.uims.enumerated() {
                try db.prepare("INSERT INTO postings(run, uim, event_id, role) VALUES (?, ?, 1, ?)")
                    .bind([.integer(Int64(1 + i % 2)), .text(reference.uim), .text(reference.role.rawValue)]).run()
            }
            try db.execute("INSERT INTO posting_runs(run, postings, level) SELECT run, count(*), 0 FROM postings GROUP BY run")
        }
        let store = try EventStore(path: path)
        #expect(try Array(Schema.migrator.appliedNames(store.database).drop { $0 != "0009-posting-blocks" }.prefix(3)) == ["0009-posting-blocks", "0010-binary-posting-blocks", "0011-events-hash-key"])
        #expect(try storedPostings(store) == expectedPostings(store))
        #expect(try storedPostings(store).count == packs.count + 1)
        #expect(try runs(store).map(\.stored) == [Int64(packs.count / 2 + 1), Int64(packs.count / 2)])
        #expect(try store.trace(uim: packs[7]).levels.map(\.uim) == [packs[7], carton])
        #expect(try store.trace(uim: carton).levels.count == packs.count + 1)
        var query = EventQuery()
        query.anyEPCs = [packs[3]]
        #expect(try store.events(matching: query).count == 1)
    }
    /// A store as 0009 left it (blocks of JSON text) is rewritten by 0010 into binary blocks
    /// with the same postings, runs and first UIMs; a JSON block that does not read stops the
    /// upgrade, and the store stays as it was.
    @Test func aStoreWithJSONBlocksKeepsItsIndex() throws {
        let carton = "https://id.gs1.org/01/14870001000018/21/CARTON1"
        let packs = (0..<(400)).map { "https://id.gs1.org/01/04870001000011/21/PACK\($0)" } + ["urn:x:odd-pack-é"]
        let document = Fixtures.document([Fixtures.aggregation(parent: carton, children: packs, time: "2024-01-02T10:00:00Z")])
        let event = document.events[0]
        let references = event.uims.sorted { a, b in
            let byUIM = codePointOrder(a.uim, b.uim)
            return byUIM != 0 ? byUIM < 0 : a.role.rawValue < b.role.rawValue
        }
        func json(_ text: String) -> String {
            var bytes: [UInt8] = []
            JSONWriter.writeString(text, into: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        /// The store, and how many JSON blocks it holds.
        func makeStore(_ path: String, damage: Bool) throws -> Int {
            var blocks = 0
            let database = try SerialDatabase(path: path)
            try Migrator(Array(Schema.migrator.migrations.prefix { $0.name != "0010-binary-posting-blocks" })).migrate(database)
            try database.write { db in
                try db.prepare("""
                    INSERT INTO events(hash_id, type, event_time, event_time_text, time_zone_offset, record_time, action, origin, raw, parent)
                    VALUES (?, 'AggregationEvent', 0, '2024-01-02T10:00:00.000Z', '+00:00', 0, 'ADD', 'urn:fctc:party:KZ', ?, ?)
                    """).bind([.text(event.hashID), .blob(event.raw), .text(carton)]).run()
                // Two runs (odd and even references), each in JSON blocks of 25 postings.
                for run in 1...2 {
                    let mine = references.enumerated().filter { $0.offset % 2 == run - 1 }.map(\.element)
                    for start in stride(from: 0, to: mine.count, by: 25) {
                        let slice = mine[start..<min(start + 25, mine.count)]
                        var text = "[" + slice.map { "[\(json($0.uim)),1,\(json($0.role.rawValue))]" }.joined(separator: ",") + "]"
                        if damage && run == 2 && start == 50 { text = String(text.dropLast()) }
                        try db.prepare("INSERT INTO posting_blocks(run, first_uim, postings, data) VALUES (?, ?, ?, ?)")
                            .bind([.integer(Int64(run)), .text(slice.first!.uim), .integer(Int64(slice.count)), .text(text)]).run()
                        blocks += 1
                    }
                    try db.prepare("INSERT INTO posting_runs(run, postings, level) VALUES (?, ?, 0)").bind([.integer(Int64(run)), .integer(Int64(mine.count))]).run()
                }
            }
            return blocks
        }
        let directory = try TemporaryDirectory()
        let path = directory.path("db.sqlite")
        #expect(try makeStore(path, damage: false) > 10)
        let store = try EventStore(path: path)
        #expect(try Schema.migrator.appliedNames(store.database) == Schema.migrator.migrations.map(\.name))
        #expect(try storedPostings(store) == expectedPostings(store))
        #expect(try storedPostings(store).count == packs.count + 1)
        #expect(try runs(store).map(\.stored) == [Int64((packs.count + 2) / 2), Int64((packs.count + 1) / 2)])
        let (notBinary, found) = try store.database.read { db throws in
            (try db.prepare("SELECT count(*) FROM posting_blocks WHERE typeof(data) <> 'blob'").rows { $0.int64(0) },
             try (packs + [carton]).map { try PostingIndex.postings(db, uim: $0).map(\.eventID) })
        }
        #expect(notBinary == [0])
        #expect(found == Array(repeating: [1], count: packs.count + 1))
        #expect(try store.trace(uim: packs[7]).levels.map(\.uim) == [packs[7], carton])
        #expect(try store.trace(uim: carton).levels.count == packs.count + 1)

        let damaged = directory.path("damaged.sqlite")
        let jsonBlocks = try makeStore(damaged, damage: true)
        #expect { _ = try EventStore(path: damaged) } throws: { ($0 as? StoreError)?.code == "store.index.corrupt" }
        let untouched = try SerialDatabase(path: damaged)
        #expect(try Schema.migrator.appliedNames(untouched).last == "0009-posting-blocks")
        #expect(try untouched.read { db in try db.prepare("SELECT count(*) FROM posting_blocks WHERE typeof(data) = 'text'").rows { $0.int64(0) } } == [Int64(jsonBlocks)])
    }

    @Test func blocksAreReadBackExactlyAndAnythingElseIsACorruptIndex() throws {
        let odd = ["urn:x:\"q\"", "urn:x:b\\s", "urn:x:\u{1}\u{1f}", "urn:x:é", "urn:x:e\u{301}", "urn:x:😀", "", "urn:x:é2"]
        let sorted = odd.sorted(by: { codePointOrder($0, $1) < 0 })
        let ids: [Int64] = [0, 1, 127, 128, 1_000_000_007, Int64.max, -1, Int64.min]
        var encoder = PostingIndex.BlockEncoder()
        for (i, uim) in sorted.enumerated() {
            #expect(try encoder.add(uim: uim, eventID: ids[i], role: i % 2 == 0 ? "epc" : "parent") == nil)
            #expect(try encoder.add(uim: uim, eventID: ids[i], role: "parent") == nil)  // same UIM: shares it whole, or the same posting: dropped
        }
        let finished = encoder.finish()
        let block = try #require(finished)
        #expect(block.data.first == PostingIndex.formatByte)
        #expect(block.firstUIM == Array(sorted[0].utf8))
        let decoded = try PostingIndex.decode(block.data)
        #expect(decoded.map(\.uim) == sorted.indices.flatMap { i in i % 2 == 0 ? [sorted[i], sorted[i]] : [sorted[i]] })
        #expect(decoded.count == block.count && block.count == sorted.count + sorted.count / 2)
        #expect(decoded.map(\.eventID) == sorted.indices.flatMap { i in i % 2 == 0 ? [ids[i], ids[i]] : [ids[i]] })
        #expect(decoded.map(\.role) == sorted.indices.flatMap { i in i % 2 == 0 ? ["epc", "parent"] : ["parent"] })
        // The view's SQL function gives the same postings as JSON text SQLite reads.
        let directory = try TemporaryDirectory()
        let database = try SerialDatabase(path: directory.path("db.sqlite"))
        let viaSQLite = try database.read { db in
            try db.prepare("SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(fedtrace_postings(?))")
                .bind([.blob(block.data)]).rows { "\($0.text(0) ?? "")|\($0.int64(1))|\($0.text(2) ?? "")" }
        }
        #expect(viaSQLite == decoded.map { "\($0.uim)|\($0.eventID)|\($0.role)" })
        #expect(throws: StoreError.self) { try database.read { db in try db.prepare("SELECT fedtrace_postings(x'02')").rows { $0.text(0) } } }
        #expect(throws: StoreError.self) { try database.read { db in try db.prepare("SELECT fedtrace_postings('[]')").rows { $0.text(0) } } }

        // What the encoder never writes.
        let one = try #require(try { var e = PostingIndex.BlockEncoder(); _ = try e.add(uim: "urn:x:b", eventID: 5, role: "epc"); return e.finish() }())
        let bad: [(String, [UInt8])] = [
            ("empty", []), ("JSON text of 0009", Array("[[\"a\",1,\"epc\"]]".utf8)), ("unknown format", [2] + one.data.dropFirst()),
            ("cut in the UIM", Array(one.data.prefix(5))), ("no role", Array(one.data.dropLast())), ("role 0", one.data.dropLast() + [0]),
            ("role 7", one.data.dropLast() + [7]), ("number runs on", [1, 0, 1, 0x62] + [UInt8](repeating: 0xff, count: 11)),
            ("number too large", [1, 0, 1, 0x62] + [UInt8](repeating: 0xff, count: 9) + [0x02, 3]),
            ("first entry shares", [1, 1, 0, 5, 3]), ("shares more than there is", one.data + [8, 0, 6, 3]),
            ("same posting again", one.data + [7, 0, 5, 3]), ("smaller event", one.data + [7, 0, 4, 3]),
            ("smaller UIM", one.data + [0, 1, 0x61, 6, 3]), ("prefix of the UIM before", one.data + [6, 0, 6, 3]),
            ("a shared prefix that is not all of it", one.data + [6, 1, 0x62, 6, 3]),
        ]
        for (name, bytes) in bad {
            #expect(throws: StoreError.self, "\(name)") { try PostingIndex.decode(bytes) }
        }
        #expect(try PostingIndex.decode([PostingIndex.formatByte]).isEmpty)
        #expect(try PostingIndex.decode(one.data + [7, 1, 0x30, 6, 3]).map(\.uim) == ["urn:x:b", "urn:x:b0"])  // a longer UIM after its prefix
        var unknown = PostingIndex.BlockEncoder()
        #expect(throws: StoreError.self) { try unknown.add(uim: "urn:x:a", eventID: 1, role: "owner") }
    }

    /// The encoder's shared-prefix length, word at a time, against a byte loop: every split
    /// point of strings up to 40 bytes, with the difference in each byte of a word.
    @Test func commonPrefixIsTheBytesInCommon() {
        var checked = 0
        for length in 0...40 {
            let a = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) }
            for cut in 0...length {
                for other in [length, cut, max(0, cut - 1), length + 3] {
                    var b = Array(a.prefix(min(other, length)))
                    while b.count < other { b.append(0xFF) }
                    if cut < b.count { b[cut] ^= 0x40 }
                    var plain = 0
                    while plain < min(a.count, b.count) && a[plain] == b[plain] { plain += 1 }
                    let fast = a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in PostingIndex.BlockEncoder.commonPrefix(x, y) } }
                    #expect(fast == plain, "\(a) \(b)")
                    checked += 1
                }
            }
        }
        #expect(checked > 3000)
    }

    /// The role codes are UIMRole's roles, in their text order (so codes order postings as
    /// the text did, and as ReferenceKeys sorts them).
    @Test func roleCodesAreEveryRoleInTextOrder() {
        #expect(PostingIndex.roles == UIMRole.allCases.map(\.rawValue).sorted { codePointOrder($0, $1) < 0 })
        for (i, role) in PostingIndex.roles.enumerated() {
            #expect(PostingIndex.roleCode(role) == UInt8(i + 1))
            #expect(PostingIndex.roleText(UInt8(i + 1)) == role)
        }
    }

    @Test func aTamperedBlockIsReportedNotSkipped() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let pack = "https://id.gs1.org/01/04870001000011/21/PACK1"
        _ = try store.capture(Fixtures.document([Fixtures.object([pack])]), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        try store.database.write { db in try db.execute("UPDATE posting_blocks SET data = '[[\"' || first_uim || '\",1,epc]]'") }
        do {
            _ = try store.trace(uim: pack)
            Issue.record("a trace over a corrupt block answered")
        } catch let error as StoreError {
            #expect(error.code == "store.index.corrupt")
        }
    }
    /// Random damage to a block never crashes the reader: it is refused as corrupt, or
    /// (when the damage leaves bytes the encoder could have written) read as those postings.
    @Test func damagedBlocksAreRefusedOrReadExactly() throws {
        var encoder = PostingIndex.BlockEncoder()
        for (i, uim) in ["urn:x:\"q\"", "urn:x:a", "urn:x:ab", "urn:x:b\\c", "urn:x:é\u{1}"].enumerated() {
            _ = try encoder.add(uim: uim, eventID: Int64(i + 1) * 97, role: "child")
            _ = try encoder.add(uim: uim, eventID: Int64(i + 1) * 97 + 300, role: "parent")
        }
        let finished = encoder.finish()
        let original = try #require(finished).data
        var state: UInt64 = 0x0DDB_A11
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var refused = 0
        for _ in 0..<20_000 {
            var bytes = original
            for _ in 0...(next() % 3) {
                switch next() % 3 {
                case 0: bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next())
                case 1: bytes.remove(at: next() % bytes.count)
                default: bytes.insert([0, 1, 2, 3, 6, 7, 0x7f, 0x80, 0xff, 0x61, 0x3a][next() % 11], at: next() % (bytes.count + 1))
                }
                if bytes.isEmpty { break }
            }
            do {
                let entries = try PostingIndex.decode(bytes)
                var again = PostingIndex.BlockEncoder()
                var blocks = try entries.compactMap { try again.add(uim: $0.uim, eventID: $0.eventID, role: $0.role) }
                if let last = again.finish() { blocks.append(last) }
                // Read back, the entries re-encode to a valid block that reads the same.
                let reread = try blocks.flatMap { try PostingIndex.decode($0.data) }
                #expect(reread.map(\.uim) == entries.map(\.uim) && reread.map(\.eventID) == entries.map(\.eventID) && reread.map(\.role) == entries.map(\.role))
            } catch let error as StoreError {
                #expect(error.code == "store.index.corrupt")
                refused += 1
            }
        }
        #expect(refused > 10_000)
    }
}
