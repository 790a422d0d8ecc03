import Foundation
import Model

/// The UIM index as sorted runs (migration 0008): a log-structured merge of postings.
///
/// ## Why
/// The index held one row per (UIM, event, role) in a single B-tree keyed by the UIM text.
/// UIMs are random serial numbers, so a document of 10,000 events (110,000 postings) made
/// 110,000 random inserts and its durable commit wrote nearly every leaf page of the index
/// again: the cost of a capture grew with the size of the store (measured: 9,566 events/s
/// for the postings alone into an empty store, 6,993 at 200,000 events), and on a national
/// store far larger than the page cache each insert would also be a random read.
///
/// ## Contract
/// - **Postings.** `postings(run, uim, event_id, role)`, primary key in that order, WITHOUT
///   ROWID. `uim` is the canonical UIM (`UIMReference.canonical`), `role` a `UIMRole` raw
///   value. A (uim, event_id, role) triple is in exactly one run.
/// - **Runs.** Every write of events (a captured document, an applied delta) appends its new
///   postings as one new run: sorted by (uim, event_id, role) and numbered above every run
///   that exists, so the whole run lands at the right edge of the B-tree (appends, each page
///   written once). `posting_runs(run, postings, level)` lists the live runs (`postings`: rows written
///   into the run; deletes do not lower it, it only guides merging).
/// - **Merges.** In the same transaction, `maintain` merges runs of one level when there are
///   `fanout` of them (size-tiered): the merged run is written once, sorted, under a new
///   number, and the old runs are deleted (contiguous key ranges). A run's level is 0 below
///   `baseRun` postings and one more per factor `fanout` above it, so at most `fanout − 1`
///   runs per level remain and a posting is rewritten about `log_fanout(total / baseRun)`
///   times. Runs at `topLevel` (about 1M postings and more) are not merged again, so no
///   write waits for more than one merge of at most ~4M postings (seconds); above that the
///   runs add up, one index seek per run and lookup (about 60 runs at 10M generated events).
/// - **Reads.** The view `uims(uim, event_id, role)` is `posting_runs CROSS JOIN postings`:
///   a lookup by UIM is one index seek per live run (tens at most) and needs no other
///   change to the queries. Readers see runs and postings of one snapshot (WAL).
/// - **Deletes.** Deleting an event must delete its postings in the same transaction
///   (`remove`): its references are derived again from its stored raw bytes, exactly as
///   at capture (`EPCISDocumentParser.validateReceived`). There is no by-event index.
/// - **Aggregation links.** `events.parent` holds the canonical `parentID` of each event;
///   the `aggregation_links` view joins the child postings of an event to it. Children of a
///   container (trace down) are found from the container's postings (role `parent`) and
///   the children named in those events' raw bytes (`EventStore.trace`, `references(ofRaw:)`).
public enum PostingIndex {
    /// Runs of one level merged together when there are this many.
    static let fanout = 4
    /// Runs with fewer postings than this are level 0.
    static let baseRun = 4096

    /// The level of a run of `postings` rows.
    static func level(ofRunWith postings: Int) -> Int {
        var level = 0
        var size = baseRun
        while postings >= size {
            level += 1
            size *= fanout
        }
        return level
    }

    /// SQL for the level of a run of `postings` rows (an SQL expression), capped at
    /// `topLevel`: `min(level(ofRunWith:), topLevel)`, for migrations that make runs.
    static func levelSQL(of postings: String) -> String {
        var cases: [String] = []
        var size = baseRun
        for level in 0..<topLevel {
            cases.append("WHEN \(postings) < \(size) THEN \(level)")
            size *= fanout
        }
        return "CASE \(cases.joined(separator: " ")) ELSE \(topLevel) END"
    }

    /// One posting before it is stored: the canonical UIM, the event's row ID, the role.
    struct Posting {
        let uim: String
        let eventID: Int64
        let role: String
    }

    /// Appends `postings` as a new run and merges runs as the contract says. Inside the
    /// caller's write transaction.
    static func append(_ db: Database, _ postings: [Posting]) throws {
        guard !postings.isEmpty else { return }
        let order = keyOrder(postings)
        let run = try nextRun(db)
        let insert = try db.cached("INSERT OR IGNORE INTO postings(run, uim, event_id, role) VALUES (?, ?, ?, ?)")
        var stored = 0
        for index in order {
            let posting = postings[index]
            insert.reset()
            try insert.bind(.integer(run), at: 1)
            try insert.bind(.text(posting.uim), at: 2)
            try insert.bind(.integer(posting.eventID), at: 3)
            try insert.bind(.text(posting.role), at: 4)
            try insert.run()
            stored += db.changes
        }
        try db.cached("INSERT INTO posting_runs(run, postings, level) VALUES (?, ?, ?)")
            .bind([.integer(run), .integer(Int64(stored)), .integer(Int64(level(ofRunWith: stored)))]).run()
        try maintain(db)
    }

    /// The indices of `postings` in key order (uim, event_id, role), as SQLite's BINARY
    /// collation orders them. The sort runs on the writer's path, so it sorts plain
    /// (offset, length, event, role) records over one byte buffer with `memcmp` rather than
    /// the postings themselves (sorting those, with their reference-counted strings, was
    /// 11% of all capture CPU).
    static func keyOrder(_ postings: [Posting]) -> [Int] {
        struct Key {
            let start: Int
            let count: Int
            let event: Int64
            let role: Int
            let index: Int
        }
        let roles = Set(postings.map(\.role)).sorted { codePointOrder($0, $1) < 0 }
        let roleRank = Dictionary(uniqueKeysWithValues: roles.enumerated().map { ($1, $0) })
        var bytes: [UInt8] = []
        bytes.reserveCapacity(postings.reduce(0) { $0 + $1.uim.utf8.count })
        var keys: [Key] = []
        keys.reserveCapacity(postings.count)
        for (index, posting) in postings.enumerated() {
            let start = bytes.count
            bytes.append(contentsOf: posting.uim.utf8)
            keys.append(Key(start: start, count: bytes.count - start, event: posting.eventID, role: roleRank[posting.role]!, index: index))
        }
        bytes.append(0)  // never empty, so the buffer has an address
        bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            keys.sort { a, b in
                let c = memcmp(base + a.start, base + b.start, min(a.count, b.count))
                if c != 0 { return c < 0 }
                if a.count != b.count { return a.count < b.count }
                if a.event != b.event { return a.event < b.event }
                return a.role < b.role
            }
        }
        return keys.map(\.index)
    }

    /// The number for a new run: above every run that exists (so its rows append).
    static func nextRun(_ db: Database) throws -> Int64 {
        let s = try db.cached("SELECT coalesce(max(run), 0) + 1 FROM posting_runs")
        defer { s.reset() }
        return try s.step() ? s.int64(0) : 1
    }

    /// Runs at this level or above are not merged again: a merge runs inside a write and
    /// holds the one writer, and merging four level-4 runs (≤ 4M postings) already takes
    /// seconds. Above it, runs accumulate (one per ~1–4M postings, one more seek each).
    static let topLevel = 5

    /// Merges runs while some level below `topLevel` holds `fanout` of them (lowest first).
    static func maintain(_ db: Database, topLevel: Int = PostingIndex.topLevel) throws {
        while true {
            let full = try db.cached("SELECT level FROM posting_runs WHERE level < ? GROUP BY level HAVING count(*) >= ? ORDER BY level LIMIT 1")
            try full.bind(.integer(Int64(topLevel)), at: 1)
            try full.bind(.integer(Int64(fanout)), at: 2)
            let level = try full.step() ? full.int64(0) : nil
            full.reset()
            guard let level else { return }
            let runs = try db.cached("SELECT run FROM posting_runs WHERE level = ? ORDER BY run").bind([.integer(level)]).rows { $0.int64(0) }
            try merge(db, runs: runs)
        }
    }

    /// Writes `runs` as one new run and deletes them.
    static func merge(_ db: Database, runs: [Int64]) throws {
        guard runs.count > 1 else { return }
        let run = try nextRun(db)
        let list = runs.map(String.init).joined(separator: ",")
        try db.execute("""
            INSERT INTO postings(run, uim, event_id, role)
            SELECT \(run), uim, event_id, role FROM postings WHERE run IN (\(list)) ORDER BY uim, event_id, role
            """)
        let merged = db.changes
        try db.execute("DELETE FROM postings WHERE run IN (\(list))")
        try db.execute("DELETE FROM posting_runs WHERE run IN (\(list))")
        try db.cached("INSERT INTO posting_runs(run, postings, level) VALUES (?, ?, ?)")
            .bind([.integer(run), .integer(Int64(merged)), .integer(Int64(level(ofRunWith: merged)))]).run()
    }

    /// Deletes the postings of the event `eventID` whose stored raw bytes are `raw`, inside
    /// the caller's transaction (before or after the event row itself).
    static func remove(_ db: Database, eventID: Int64, raw: [UInt8]) throws {
        let delete = try db.cached("""
            DELETE FROM postings WHERE run IN (SELECT run FROM posting_runs) AND uim = ? AND event_id = ? AND role = ?
            """)
        let references = references(ofRaw: raw)
        for reference in references {
            delete.reset()
            try delete.bind([.text(reference.uim), .integer(eventID), .text(reference.role.rawValue)])
            try delete.run()
        }
        if references.isEmpty {
            // Bytes that no longer give their references (they did when stored): scan the
            // index rather than leave postings that a later event with a reused row ID
            // would inherit.
            try db.cached("DELETE FROM postings WHERE event_id = ?").bind([.integer(eventID)]).run()
        }
    }

    /// The UIM references of a stored event, from its raw bytes (as at capture); none if the
    /// bytes no longer parse (they were validated when stored).
    static func references(ofRaw raw: [UInt8]) -> [UIMReference] {
        guard case .object(let object)? = try? JSONParser.parse(raw, limits: EPCISDocumentParser.limits),
              let event = try? EPCISDocumentParser.validateReceived(object, bytes: raw, hashID: "", location: "stored event")
        else { return [] }
        return event.uims
    }
}
