import Foundation
import Crypto
import Model

/// What one capture did: counts, and the hash IDs of what was stored and of duplicates.
public struct CaptureResult: Sendable, Equatable, Codable {
    public var captured: Int
    public var duplicates: Int
    /// Hash IDs of newly stored events, in document order.
    public var capturedIDs: [String]
    /// Hash IDs of events already stored before this capture (or earlier in the document).
    public var duplicateIDs: [String]
    /// The hash ID of every event, stored or duplicate, in document order: entry *i* is
    /// event *i*'s.
    public var eventHashIDs: [String]

    public init(captured: Int = 0, duplicates: Int = 0, capturedIDs: [String] = [], duplicateIDs: [String] = [], eventHashIDs: [String] = []) {
        self.captured = captured
        self.duplicates = duplicates
        self.capturedIDs = capturedIDs
        self.duplicateIDs = duplicateIDs
        self.eventHashIDs = eventHashIDs
    }
}

/// An event as stored: its indexed fields, origin and exact raw bytes.
public struct StoredEvent: Sendable, Equatable {
    public let rowID: Int64
    public let hashID: String
    public let declaresError: Bool
    public let type: String
    public let eventTime: String
    public let eventTimeMillis: Int64
    public let timeZoneOffset: String
    public let recordTime: Int64
    public let action: String?
    public let bizStep: String?
    public let disposition: String?
    public let readPoint: String?
    public let bizLocation: String?
    public let origin: String
    public let raw: [UInt8]
}

/// A query over stored events; every condition present must hold (EPCIS 2.0 query
/// semantics for the parameters FedTrace supports).
public struct EventQuery: Sendable, Equatable {
    public var types: [String] = []
    public var actions: [String] = []
    public var bizSteps: [String] = []
    public var dispositions: [String] = []
    public var readPoints: [String] = []
    public var bizLocations: [String] = []
    /// Identifiers in epcList, childEPCs, input/output lists (`MATCH_epc`).
    public var epcs: [String] = []
    /// Identifiers in any role, parentID included (`MATCH_anyEPC`).
    public var anyEPCs: [String] = []
    /// Parent identifiers (`MATCH_parentID`).
    public var parentIDs: [String] = []
    /// Inclusive lower bound on event time, ms since the epoch (`GE_eventTime`).
    public var eventTimeFrom: Int64?
    /// Exclusive upper bound on event time (`LT_eventTime`).
    public var eventTimeBefore: Int64?
    /// Inclusive lower bound on when this node stored the event (`GE_recordTime`).
    public var recordTimeFrom: Int64?
    /// Resume after this row (paging, which walks storage order).
    public var afterRowID: Int64?
    public var limit: Int = 1000
    /// The order of the answer: storage order (the default; what paging needs) or event
    /// time, oldest first (what people reading a list expect), each then by row.
    public var order: Order = .storage

    public enum Order: Sendable {
        case storage
        case eventTime
    }

    public init() {}
}

/// The answer to "where did this pack come from?": the identifiers linked to it by
/// aggregation, up (carton, case, pallet) and down (contents), each with the time the link
/// held, and their events in that time (`TraceWalk` has the rules).
public struct Trace: Sendable {
    /// One identifier of the trace and its relation to the starting UIM.
    public struct Level: Sendable, Equatable {
        public let uim: String
        /// 0 for the starting UIM, negative for containers (−1 = its carton), positive for contents.
        public let depth: Int
        /// For contents (depth > 0), the container it was packed into; nil otherwise.
        public let parent: String?
        /// When the starting UIM was inside this container (depth < 0), or this UIM inside
        /// the starting UIM (depth > 0); `Period.always` for the starting UIM. A container's
        /// events in the trace are those within these periods, a content's those up to
        /// their ends.
        public let periods: [Period]

        public init(uim: String, depth: Int, parent: String?, periods: [Period]) {
            self.uim = uim
            self.depth = depth
            self.parent = parent
            self.periods = periods
        }
    }

    public let uim: String
    public let levels: [Level]
    /// Events naming any UIM of the trace, oldest first.
    public let events: [StoredEvent]
    /// Which trace UIMs each event names (hash ID → UIMs).
    public let eventUIMs: [Int64: [String]]
    /// True when the contents were cut at `maxUIMs`.
    public let truncated: Bool
}

/// Row counts that cost an index lookup each (for `/metrics`, scraped every few seconds).
public struct EventCounts: Sendable, Equatable, Codable {
    public let events: Int
    public let localEvents: Int
    public let receivedEvents: Int
    public let auditRecords: Int
}

/// Counts for `fedtrace status`: `EventCounts` and two that read the whole UIM index.
public struct StoreCounts: Sendable, Equatable, Codable {
    public let events: Int
    public let localEvents: Int
    public let receivedEvents: Int
    public let uims: Int
    public let aggregationLinks: Int
    public let auditRecords: Int
}

/// The node's database: events, UIM index, aggregation links and the audit log, behind one
/// serial writer. Every write is one transaction, committed durably before it returns.
public final class EventStore: Sendable {
    public let database: SerialDatabase

    /// Opens (or creates) the store at `path`, applies pending migrations and loads the
    /// audit key beside it (made with a store this call creates; `AuditLog.openSeals`).
    public init(path: String) throws {
        let isNewFile = !FileManager.default.fileExists(atPath: path)
        database = try SerialDatabase(path: path)
        try Schema.migrator.migrate(database)
        try AuditLog.openSeals(database, databasePath: path, isNewFile: isNewFile)
    }

    // MARK: - Settings

    /// A node setting, or nil.
    public func setting(_ key: String) throws -> String? {
        try database.read { db in
            let s = try db.cached("SELECT value FROM node_settings WHERE key = ?")
            try s.bind(.text(key), at: 1)
            defer { s.reset() }
            return try s.step() ? s.text(0) : nil
        }
    }

    // MARK: - Capture

    /// Stores the events of one document atomically, with one audit record for the batch.
    ///
    /// An event whose (hash ID, error declaration) is already stored is a duplicate and is
    /// not stored again. `source` names the input (file name or API) for the audit record;
    /// `documentDigest` is the SHA-256 of the exact document bytes.
    ///
    /// The slices are read in order inside the one transaction, so a `ValidatingDocument`'s
    /// first slices are inserted while later ones are still being validated; a slice's
    /// validation error (a `ModelError`) is rethrown as it is and the transaction rolls back,
    /// storing nothing of the document. While it waits for a slice the writer is held.
    public func capture(_ document: some EventSlices, origin: PartyID, actor: String, source: String, documentDigest: String, now: Date = Date()) throws -> CaptureResult {
        let recordTime = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        return try database.write { db in
            let contextID = try Self.storeContext(db, document.context)
            var inserter = try EventInserter(db, origin: origin.urn, recordTime: recordTime, retentionDeadline: nil, expectedEvents: document.eventCount)
            for k in 0..<document.sliceCount {
                let events = try document.events(inSlice: k)
                try inserter.add(events, contextIDs: nil, contextID: contextID)
            }
            let result = try inserter.finish(presorted: document.sortedReferences())
            let detail = JSONWriter.string(.object([
                "source": .string(source), "documentSHA256": .string(documentDigest), "documentKind": .string(document.kind),
                "events": .number(String(document.eventCount)), "captured": .number(String(result.captured)),
                "duplicates": .number(String(result.duplicates)),
            ]))
            try AuditLog.append(db, actor: actor, action: "capture", detail: detail, at: now)
            return result
        }
    }

    /// Stores a JSON-LD `@context` once and returns its row ID (nil for no context).
    static func storeContext(_ db: Database, _ context: JSONValue?) throws -> Int64? {
        guard let context else { return nil }
        let body = JSONWriter.serialize(context)
        let digest = SHA256.hexHash(body)
        try db.cached("INSERT INTO contexts(digest, body) VALUES (?, ?) ON CONFLICT(digest) DO NOTHING")
            .bind([.text(digest), .blob(body)]).run()
        let lookup = try db.cached("SELECT id FROM contexts WHERE digest = ?")
        try lookup.bind(.text(digest), at: 1)
        defer { lookup.reset() }
        return try lookup.step() ? lookup.int64(0) : nil
    }

    /// Inserts events and their UIM index postings (one new run, `PostingIndex`) inside the
    /// caller's transaction (`EventInserter` in one go).
    static func insert(_ db: Database, events: [EPCISEvent], contextIDs: [Int64?]?, contextID: Int64?, origin originURN: String,
                       recordTime: Int64, retentionDeadline: Int64?) throws -> CaptureResult {
        var inserter = try EventInserter(db, origin: originURN, recordTime: recordTime, retentionDeadline: retentionDeadline,
                                         expectedEvents: events.count)
        try inserter.add(events, contextIDs: contextIDs, contextID: contextID)
        return try inserter.finish()
    }

    // MARK: - Queries

    static let eventColumns = "e.id, e.hash_id, e.declares_error, e.type, e.event_time_text, e.event_time, e.time_zone_offset, e.record_time, e.action, e.biz_step, e.disposition, e.read_point, e.biz_location, e.origin, e.raw"

    static func readEvent(_ s: Statement) throws -> StoredEvent {
        try readEvent(s, unreadableRawAsEmpty: false)
    }

    /// `readEvent`, or with `unreadableRawAsEmpty`, an event whose stored bytes do not
    /// unpack with empty `raw` (for the sync cutter, which skips events it cannot parse,
    /// as it always did, rather than stop every stream at one damaged row).
    static func readEvent(_ s: Statement, unreadableRawAsEmpty: Bool) throws -> StoredEvent {
        let stored = s.blob(14)
        let raw = unreadableRawAsEmpty ? (PackedEvent.unpack(stored) ?? []) : try unpack(stored, row: s.int64(0))
        return StoredEvent(rowID: s.int64(0), hashID: s.text(1) ?? "", declaresError: s.int64(2) != 0, type: s.text(3) ?? "",
                    eventTime: s.text(4) ?? "", eventTimeMillis: s.int64(5), timeZoneOffset: s.text(6) ?? "", recordTime: s.int64(7),
                    action: s.text(8), bizStep: s.text(9), disposition: s.text(10), readPoint: s.text(11),
                    bizLocation: s.text(12), origin: s.text(13) ?? "", raw: raw)
    }

    /// The raw bytes of a stored `raw` value (`PackedEvent`).
    static func unpack(_ stored: [UInt8], row: Int64) throws -> [UInt8] {
        guard let raw = PackedEvent.unpack(stored) else {
            throw StoreError(code: "store.event.corrupt", reason: "the stored bytes of event row \(row) do not decode; the store file was changed or damaged (restore it from a backup)")
        }
        return raw
    }

    /// Events matching `query` in `query.order`, at most `query.limit`.
    public func events(matching query: EventQuery) throws -> [StoredEvent] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        func anyOf(_ column: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            conditions.append("\(column) IN (\(values.map { _ in "?" }.joined(separator: ",")))")
            arguments += values.map(SQLValue.text)
        }
        // UIM conditions are found in the index first (PostingIndex.postings), then become
        // a list of row IDs (a JSON array, so any number of them is one parameter).
        var uimConditions: [(uims: [String], roles: Set<String>?)] = []
        func uimCondition(_ values: [String], roles: [UIMRole]?) {
            guard !values.isEmpty else { return }
            uimConditions.append((values.map(UIMReference.canonical), roles.map { Set($0.map(\.rawValue)) }))
        }
        anyOf("e.type", query.types)
        anyOf("e.action", query.actions)
        anyOf("e.biz_step", query.bizSteps.map { CBVVocabulary.expand($0, for: .bizStep) ?? CBVVocabulary.webVocabularyFromURN($0) })
        anyOf("e.disposition", query.dispositions.map { CBVVocabulary.expand($0, for: .disposition) ?? CBVVocabulary.webVocabularyFromURN($0) })
        anyOf("e.read_point", query.readPoints.map(UIMReference.canonical))
        anyOf("e.biz_location", query.bizLocations.map(UIMReference.canonical))
        uimCondition(query.epcs, roles: [.epc, .child, .input, .output])
        uimCondition(query.anyEPCs, roles: nil)
        uimCondition(query.parentIDs, roles: [.parent])
        if let from = query.eventTimeFrom { conditions.append("e.event_time >= ?"); arguments.append(.integer(from)) }
        if let before = query.eventTimeBefore { conditions.append("e.event_time < ?"); arguments.append(.integer(before)) }
        if let from = query.recordTimeFrom { conditions.append("e.record_time >= ?"); arguments.append(.integer(from)) }
        if let after = query.afterRowID { conditions.append("e.id > ?"); arguments.append(.integer(after)) }
        return try database.read { db in
            for condition in uimConditions {
                var ids = Set<Int64>()
                for uim in condition.uims { ids.formUnion(try Self.eventIDs(db, uim: uim, roles: condition.roles)) }
                conditions.append("e.id IN (SELECT value FROM json_each(?))")
                arguments.append(.text(Self.jsonList(ids)))
            }
            let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            // Paging walks storage order so a cursor (the last row ID) resumes exactly.
            let order = query.order == .eventTime ? "e.event_time, e.id" : "e.id"
            let sql = "SELECT \(Self.eventColumns) FROM events e\(whereClause) ORDER BY \(order) LIMIT ?"
            return try db.prepare(sql).bind(arguments + [.integer(Int64(max(0, query.limit)))]).rows(Self.readEvent)
        }
    }

    /// Row IDs as a JSON array, for `IN (SELECT value FROM json_each(?))`.
    static func jsonList<S: Sequence>(_ ids: S) -> String where S.Element == Int64 {
        "[" + ids.sorted().map(String.init).joined(separator: ",") + "]"
    }

    /// The row IDs of the events that name `uim` in one of `roles` (all roles if nil).
    static func eventIDs(_ db: Database, uim: String, roles: Set<String>? = nil) throws -> [Int64] {
        Array(Set(try PostingIndex.postings(db, uim: uim).filter { roles?.contains($0.role) ?? true }.map(\.eventID))).sorted()
    }

    /// The stored events with this hash ID: the event, and an error declaration of it if any.
    public func events(hashID: String) throws -> [StoredEvent] {
        try database.read { db in
            try db.prepare("SELECT \(Self.eventColumns) FROM events e WHERE e.hash_key = ? AND e.hash_id = ? ORDER BY e.declares_error")
                .bind([.integer(EventHashKey.of(hashID)), .text(hashID)]).rows(Self.readEvent)
        }
    }

    /// Follows aggregation from `uim` up to every container it was in and down to its
    /// contents (at most `maxUIMs` identifiers), through time, with the events of every
    /// level while it was linked (`TraceWalk`).
    public func trace(uim rawUIM: String, maxUIMs: Int = 5000) throws -> Trace {
        let uim = UIMReference.canonical(rawUIM)
        return try database.read { db in
            var walk = TraceWalk(db: db, maxUIMs: maxUIMs)
            try walk.run(from: uim)
            let (events, eventUIMs) = try walk.events()
            return Trace(uim: uim, levels: walk.levels, events: events, eventUIMs: eventUIMs, truncated: walk.truncated)
        }
    }

    /// Event and audit row counts, without reading the UIM index.
    public func eventCounts(localOrigin: String) throws -> EventCounts {
        try database.read { db in
            let events = try Self.count(db, "SELECT count(*) FROM events")
            let local = try Self.count(db, "SELECT count(*) FROM events WHERE origin = ?", [.text(localOrigin)])
            return EventCounts(events: events, localEvents: local, receivedEvents: events - local,
                               auditRecords: try Self.count(db, "SELECT count(*) FROM audit_log"))
        }
    }

    /// Row counts for status displays. Distinct UIMs and aggregation links read the whole
    /// UIM index (seconds on a store of a few hundred thousand events); `eventCounts` does not.
    public func counts(localOrigin: String) throws -> StoreCounts {
        let events = try eventCounts(localOrigin: localOrigin)
        return try database.read { db in
            try db.execute("BEGIN")  // one snapshot for the events and the index
            defer { try? db.execute("COMMIT") }
            let index = try PostingIndex.counts(db)
            return StoreCounts(events: events.events, localEvents: events.localEvents, receivedEvents: events.receivedEvents,
                               uims: index.uims, aggregationLinks: index.aggregationLinks, auditRecords: events.auditRecords)
        }
    }

    static func count(_ db: Database, _ sql: String, _ arguments: [SQLValue] = []) throws -> Int {
        let s = try db.prepare(sql).bind(arguments)
        return try s.step() ? Int(s.int64(0)) : 0
    }

    // MARK: - Backup

    /// Writes a consistent copy of the store to `path` (which must not exist) with
    /// SQLite's online backup, records it in the audit log, and checks the copy's audit
    /// chain. The copy holds every record up to and including the backup's own.
    public func backup(to path: String) throws -> AuditVerification {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(code: "store.backup.exists", reason: "\(path) already exists; choose a new file")
        }
        try audit(actor: "operator", action: "backup", detail: ["to": .string(path)])
        do {
            // The copy is checked with this node's key, which is not copied: a backup store
            // (often kept off-site, less guarded) must not hold what forges this node's log.
            let key = try database.read { db in db.auditKey }
            try database.read { db in try db.backup(to: path) }
            let copy = try SerialDatabase(path: path)
            return try copy.read { db in
                db.auditKey = key
                return try AuditLog.verify(db)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    // MARK: - Audit

    /// Appends an audit record in its own durable transaction.
    @discardableResult
    public func audit(actor: String, action: String, detail: JSONObject) throws -> AuditRecord {
        try database.write { db in try AuditLog.append(db, actor: actor, action: action, detail: JSONWriter.string(.object(detail))) }
    }

    /// After `backup` was restored: moves the audit anchor to the log's head (the log must
    /// verify otherwise), audited. Returns the anchor's record before (if it read) and the
    /// `audit.reanchored` record's.
    public func reanchorAudit(restoredFrom backup: String, actor: String) throws -> (from: Int64?, to: Int64) {
        try AuditLog.reanchor(database, restoredFrom: backup, actor: actor)
    }

    /// Why the audit anchor does not stand on the log, or nil (`AuditLog.anchorProblem`).
    public func auditAnchorProblem() throws -> String? {
        try database.read { db in try AuditLog.anchorProblem(db) }
    }

    /// Whether this store can seal audit records now (`AuditLog.KeyState`).
    public func auditKeyState() throws -> AuditLog.KeyState {
        try database.read { db in try AuditLog.keyState(db) }
    }

    /// Seals the audit log of a store from before the seals (`fedtrace audit seal`): makes
    /// its key, seals the records as they are, and audits that. Returns the records sealed.
    public func sealAudit(actor: String) throws -> Int {
        try AuditLog.sealExisting(database, databasePath: database.path, actor: actor)
    }

    /// Verifies the audit chain. The records and the head marker are read in one read
    /// transaction: read separately, a record another process appends in between (a running
    /// node) looks like records removed from the end.
    public func verifyAudit() throws -> AuditVerification {
        try database.read { db in
            // The anchor first: written after each commit, it cannot then name a record
            // this snapshot lacks unless records were cut.
            let anchor = AuditLog.readAnchor(db)
            try db.execute("BEGIN")
            defer { try? db.execute("COMMIT") }
            return try AuditLog.verify(db, anchor: anchor)
        }
    }

    /// The newest audit records, newest first.
    public func recentAudit(limit: Int) throws -> [AuditRecord] {
        try database.read { db in try AuditLog.recent(db, limit: limit) }
    }

    /// Sets a node setting inside a transaction, with an audit record.
    public func setSettings(_ values: [String: String], actor: String, action: String, detail: JSONObject) throws {
        try database.write { db in
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                try db.cached("INSERT INTO node_settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                    .bind([.text(key), .text(value)]).run()
            }
            try AuditLog.append(db, actor: actor, action: action, detail: JSONWriter.string(.object(detail)))
        }
    }
}

/// Inserts the events of one batch, in any number of calls, inside the caller's
/// transaction; `finish` writes their UIM index postings as one new run (`PostingIndex`).
/// An event whose (hash ID, error declaration) is stored already (before, or earlier in the
/// batch) is counted as a duplicate and left as it is.
///
/// The postings are either collected here and sorted by `finish`, or (`presorted`) taken
/// from the batch's references sorted beforehand with each event's position in the batch
/// as the number: then only the row ID of each position is kept, and as row IDs grow with
/// the position inside one transaction, the order holds (checked; if a row ID ever came
/// out smaller, the postings are rebuilt and sorted here).
struct EventInserter {
    private let db: Database
    private let insertEvent: Statement
    private let findEvent: Statement
    private let origin: String
    private let recordTime: Int64
    private let retentionDeadline: Int64?
    /// The events added, batch by batch (their references become the postings).
    private var added: [[EPCISEvent]] = []
    /// The row ID of each event added, 0 for a duplicate.
    private var rowIDs: [Int64] = []
    private var lastRowID: Int64 = .min
    private var rowIDsGrow = true
    private var result = CaptureResult()
    /// One event's text columns, back to back (reused: see `add`).
    private var texts: [UInt8] = []

    init(_ db: Database, origin: String, recordTime: Int64, retentionDeadline: Int64?, expectedEvents: Int) throws {
        self.db = db
        self.origin = origin
        self.recordTime = recordTime
        self.retentionDeadline = retentionDeadline
        // (hash_id, declares_error) is unique because this, the store's one writer, looks
        // each event up before inserting it in the same transaction (`EventHashKey`).
        insertEvent = try db.cached("""
            INSERT INTO events(hash_id, declares_error, type, event_time, event_time_text, time_zone_offset, record_time,
                action, biz_step, disposition, read_point, biz_location, origin, context_id, raw, retention_deadline, parent, hash_key)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        findEvent = try db.cached("SELECT 1 FROM events WHERE hash_key = ? AND hash_id = ? AND declares_error = ? LIMIT 1")
        rowIDs.reserveCapacity(expectedEvents)
        result.capturedIDs.reserveCapacity(expectedEvents)
        result.eventHashIDs.reserveCapacity(expectedEvents)
    }

    /// Inserts `events`; `contextIDs[i]` (or `contextID` for all) names event *i*'s `@context`.
    mutating func add(_ events: [EPCISEvent], contextIDs: [Int64?]?, contextID: Int64?) throws {
        // Each event is borrowed in place: a `for event in events` copy retained and released
        // every field of every event (4% of the writer's time).
        for index in events.indices {
            try add(events[index], context: contextIDs.map { $0[index] } ?? contextID)
        }
        added.append(events)
    }

    private mutating func add(_ event: borrowing EPCISEvent, context: Int64?) throws {
        result.eventHashIDs.append(event.hashID)
        let key = EventHashKey.of(event.hashID)
        findEvent.reset()
        try findEvent.bind(.integer(key), at: 1)
        try findEvent.bind(.text(event.hashID), at: 2)
        try findEvent.bind(.integer(event.declaresError ? 1 : 0), at: 3)
        if try findEvent.step() {
            findEvent.reset()
            rowIDs.append(0)
            result.duplicates += 1
            result.duplicateIDs.append(event.hashID)
            return
        }
        findEvent.reset()
        insertEvent.reset()
        // The row's text goes into one buffer SQLite reads in place while inserting
        // (binding each value made SQLite allocate and copy it: 2% of capture, on the
        // writer's thread), then the raw bytes are bound where they are.
        texts.removeAll(keepingCapacity: true)
        func stage(_ text: String?) -> Range<Int>? {
            guard var text else { return nil }
            let start = texts.count
            text.withUTF8 { texts.append(contentsOf: $0) }
            return start..<texts.count
        }
        let hashID = stage(event.hashID), type = stage(event.type.rawValue), time = stage(event.eventTime.canonicalUTC)
        let offset = stage(event.eventTimeZoneOffset), action = stage(event.action), bizStep = stage(event.bizStep)
        let disposition = stage(event.disposition), readPoint = stage(event.readPoint), bizLocation = stage(event.bizLocation)
        let origin = stage(self.origin), parent = stage(event.parentID)
        try texts.withUnsafeBytes { buffer in
            func text(_ range: Range<Int>?) -> Statement.BorrowedValue {
                range.map { .text(UnsafeRawBufferPointer(rebasing: buffer[$0])) } ?? .value(.null)
            }
            try event.stored.withUnsafeBytes { raw in
                try insertEvent.withBorrowedParameters([
                    text(hashID), .value(.integer(event.declaresError ? 1 : 0)), text(type),
                    .value(.integer(event.eventTime.epochMilliseconds)), text(time), text(offset), .value(.integer(recordTime)),
                    text(action), text(bizStep), text(disposition), text(readPoint), text(bizLocation), text(origin),
                    .value(context.map(SQLValue.integer) ?? .null), .blob(raw), .value(retentionDeadline.map(SQLValue.integer) ?? .null),
                    text(parent), .value(.integer(key)),
                ]) { try insertEvent.run() }
            }
        }
        let rowID = db.lastInsertRowID
        if rowID <= lastRowID { rowIDsGrow = false }
        lastRowID = rowID
        rowIDs.append(rowID)
        result.captured += 1
        result.capturedIDs.append(event.hashID)
    }

    /// Writes the batch's postings into the UIM index as one sorted run; the batch's counts.
    /// `presorted`, when given, holds the references of exactly the events added, numbered
    /// by their position in the batch.
    consuming func finish(presorted: ReferenceKeys? = nil) throws -> CaptureResult {
        try PostingIndex.append(db, blocks: packedBlocks(presorted: presorted).blocks)
        return result
    }

    /// The new postings packed into blocks in key order, and whether `presorted` gave the
    /// order (false: it was missing or did not fit, and the postings were sorted here).
    func packedBlocks(presorted: ReferenceKeys?) -> (blocks: [PostingIndex.Block], presortedUsed: Bool) {
        let rowIDs = self.rowIDs
        var references = 0
        for events in added { for index in events.indices { references += events[index].uims.count } }
        if let presorted, presorted.isSorted, rowIDsGrow, presorted.keys.count == references,
           presorted.keys.allSatisfy({ $0.number >= 0 && $0.number < Int64(rowIDs.count) }) {
            let blocks = PostingIndex.blocks(of: presorted) { position in
                let id = rowIDs[Int(position)]
                return id == 0 ? nil : id
            }
            return (blocks, true)
        }
        var keys = ReferenceKeys(expectedCount: references)
        var position = 0
        for events in added {
            for index in events.indices {
                defer { position += 1 }
                let id = rowIDs[position]
                guard id != 0 else { continue }
                for reference in events[index].uims { keys.add(uim: reference.uim, number: id, role: reference.role.rawValue) }
            }
        }
        keys.sort()
        return (PostingIndex.blocks(of: keys) { $0 }, false)
    }
}
