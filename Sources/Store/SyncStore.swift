import Foundation
import Crypto
import Model

/// An outbound stream this node originates: (this Party, agreement, flow) to its recipients.
public struct OutboundStream: Sendable, Equatable {
    /// `<origin URN>/<agreement hash>/<flow id>`.
    public let stream: String
    public let agreementHash: String
    public let flow: String
    public let recipients: [String]
    /// The highest `events.id` the cutter has looked at.
    public let cursor: Int64
    /// The sequence number and hash of the newest delta (0 and 64 zeros before the first).
    public let lastSequence: Int64
    public let lastHash: String
    /// Set when the agreement is no longer active here: no new deltas are cut.
    public let closed: Bool
}

/// One delta in the outbox: the signed object (DER) and its chain position.
public struct OutboxDelta: Sendable, Equatable {
    public let stream: String
    public let sequence: Int64
    public let deltaID: String
    public let deltaHash: String
    public let previousHash: String
    public let eventCount: Int
    public let signed: [UInt8]
    public let created: String

    public init(stream: String, sequence: Int64, deltaID: String, deltaHash: String, previousHash: String, eventCount: Int,
                signed: [UInt8], created: String) {
        self.stream = stream
        self.sequence = sequence
        self.deltaID = deltaID
        self.deltaHash = deltaHash
        self.previousHash = previousHash
        self.eventCount = eventCount
        self.signed = signed
        self.created = created
    }
}

/// What the origin knows about one recipient of one stream.
public struct RecipientProgress: Sendable, Equatable {
    public let stream: String
    public let recipient: String
    /// Highest sequence pushed (may exceed `acknowledged` while receipts are in flight).
    public let sent: Int64
    /// Highest sequence with a verified signed receipt.
    public let acknowledged: Int64
    public let acknowledgedAt: String?
    public let receipt: [UInt8]?
    public let lastError: String?
    public let lastErrorAt: String?
}

/// The receiver's position on one stream: the highest sequence applied contiguously.
public struct InboundPosition: Sendable, Equatable {
    public let stream: String
    public let origin: String
    public let agreementHash: String
    public let flow: String
    public let sequence: Int64
    public let deltaHash: String
    public let events: Int64
    public let updatedAt: String
    /// The signed receipt for `sequence`, once made.
    public let receipt: [UInt8]?
    /// Why the stream stopped (a broken hash chain), or nil.
    public let stopped: String?
}

/// A configured federation peer.
public struct Peer: Sendable, Equatable {
    public let party: String
    /// `host:port` of its federation listener.
    public let endpoint: String
    /// Its sealing certificate (PEM), once known.
    public let sealingCertificate: [UInt8]?
    public let addedAt: String
    public let lastSeen: String?
    public let lastError: String?
    public let lastErrorAt: String?

    public init(party: String, endpoint: String, sealingCertificate: [UInt8]?, addedAt: String, lastSeen: String?, lastError: String?, lastErrorAt: String?) {
        self.party = party
        self.endpoint = endpoint
        self.sealingCertificate = sealingCertificate
        self.addedAt = addedAt
        self.lastSeen = lastSeen
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
    }
}

/// A delta this node refused, kept for `status` (the audit log has the same).
public struct DeltaRejection: Sendable, Equatable {
    public let peer: String
    public let stream: String
    public let sequence: Int64
    public let code: String
    public let reason: String
    public let at: String

    public init(peer: String, stream: String, sequence: Int64, code: String, reason: String, at: String) {
        self.peer = peer
        self.stream = stream
        self.sequence = sequence
        self.code = code
        self.reason = reason
        self.at = at
    }
}

/// One purge batch: received events past their retention deadline.
public struct PurgeBatch: Sendable, Equatable {
    public let origin: String
    public let deleted: Int
    /// The latest deadline among the deleted events (epoch ms).
    public let latestDeadline: Int64
}

/// The replication tables (migration `0004-sync`, docs/sync.md) behind the store's one
/// serial writer. This type knows rows and transactions, not CMS or agreements: the Sync
/// module builds and checks deltas and calls it to make each step durable.
public struct SyncStore: Sendable {
    public static let schemaSQL = """
    CREATE TABLE sync_streams (
        stream TEXT PRIMARY KEY NOT NULL,
        agreement_hash TEXT NOT NULL,
        flow TEXT NOT NULL,
        recipients TEXT NOT NULL,          -- space-separated Party URNs
        cursor INTEGER NOT NULL DEFAULT 0, -- events.id scanned up to
        last_sequence INTEGER NOT NULL DEFAULT 0,
        last_hash TEXT NOT NULL,
        closed INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL
    );
    CREATE TABLE outbox (
        stream TEXT NOT NULL REFERENCES sync_streams(stream),
        sequence INTEGER NOT NULL,
        delta_id TEXT NOT NULL UNIQUE,
        delta_hash TEXT NOT NULL,
        previous_hash TEXT NOT NULL,
        event_count INTEGER NOT NULL,
        signed BLOB NOT NULL,              -- CMS SignedData (DER); sealed per recipient at send time
        created TEXT NOT NULL,
        PRIMARY KEY (stream, sequence)
    ) WITHOUT ROWID;
    CREATE TABLE recipient_progress (
        stream TEXT NOT NULL REFERENCES sync_streams(stream),
        recipient TEXT NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0,
        acknowledged INTEGER NOT NULL DEFAULT 0,
        acknowledged_at TEXT,
        receipt BLOB,
        last_error TEXT,
        last_error_at TEXT,
        PRIMARY KEY (stream, recipient)
    ) WITHOUT ROWID;
    CREATE TABLE stream_positions (
        stream TEXT PRIMARY KEY NOT NULL,
        origin TEXT NOT NULL,
        agreement_hash TEXT NOT NULL,
        flow TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        delta_hash TEXT NOT NULL,
        events INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        receipt BLOB,
        stopped TEXT
    );
    CREATE TABLE received_deltas (
        stream TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        delta_hash TEXT NOT NULL,
        delta_id TEXT NOT NULL,
        events INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        signed BLOB NOT NULL,              -- the origin's CMS SignedData (DER): evidence of what was received
        PRIMARY KEY (stream, sequence)
    ) WITHOUT ROWID;
    CREATE TABLE peers (
        party TEXT PRIMARY KEY NOT NULL,
        endpoint TEXT NOT NULL,
        sealing_certificate BLOB,
        added_at TEXT NOT NULL,
        last_seen TEXT,
        last_error TEXT,
        last_error_at TEXT
    );
    CREATE TABLE delta_rejections (
        id INTEGER PRIMARY KEY,
        peer TEXT NOT NULL,
        stream TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        code TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """

    public static let zeroHash = String(repeating: "0", count: 64)

    public let database: SerialDatabase

    public init(_ store: EventStore) {
        self.database = store.database
    }

    static func now(_ date: Date) -> String { AuditLog.isoTime(date) }

    // MARK: - Outbound streams

    /// Every outbound stream, by name.
    public func outboundStreams() throws -> [OutboundStream] {
        try database.read { db in
            try db.prepare("SELECT stream, agreement_hash, flow, recipients, cursor, last_sequence, last_hash, closed FROM sync_streams ORDER BY stream")
                .rows(Self.readStream)
        }
    }

    static func readStream(_ s: Statement) -> OutboundStream {
        OutboundStream(stream: s.text(0) ?? "", agreementHash: s.text(1) ?? "", flow: s.text(2) ?? "",
                       recipients: (s.text(3) ?? "").split(separator: " ").map(String.init), cursor: s.int64(4),
                       lastSequence: s.int64(5), lastHash: s.text(6) ?? zeroHash, closed: s.int64(7) != 0)
    }

    /// Creates the stream (and a progress row per recipient) if new, or reopens it, with an
    /// audit record when anything changed. Returns the stream.
    @discardableResult
    public func openStream(_ stream: String, agreementHash: String, flow: String, recipients: [String], now: Date = Date()) throws -> OutboundStream {
        try database.write { db in
            let existing = try db.prepare("SELECT stream, agreement_hash, flow, recipients, cursor, last_sequence, last_hash, closed FROM sync_streams WHERE stream = ?")
                .bind([.text(stream)]).rows(Self.readStream).first
            if let existing, !existing.closed { return existing }
            if existing == nil {
                try db.cached("INSERT INTO sync_streams(stream, agreement_hash, flow, recipients, last_hash, created) VALUES (?, ?, ?, ?, ?, ?)")
                    .bind([.text(stream), .text(agreementHash), .text(flow), .text(recipients.joined(separator: " ")), .text(Self.zeroHash),
                           .text(Self.now(now))]).run()
                for recipient in recipients {
                    try db.cached("INSERT OR IGNORE INTO recipient_progress(stream, recipient) VALUES (?, ?)").bind([.text(stream), .text(recipient)]).run()
                }
            } else {
                try db.cached("UPDATE sync_streams SET closed = 0 WHERE stream = ?").bind([.text(stream)]).run()
            }
            let detail: JSONValue = .object(["stream": .string(stream), "agreement": .string(agreementHash), "flow": .string(flow),
                                             "recipients": .array(recipients.map(JSONValue.string)), "reopened": .bool(existing != nil)])
            try AuditLog.append(db, actor: "sync", action: "stream.open", detail: JSONWriter.string(detail), at: now)
            return try db.prepare("SELECT stream, agreement_hash, flow, recipients, cursor, last_sequence, last_hash, closed FROM sync_streams WHERE stream = ?")
                .bind([.text(stream)]).rows(Self.readStream)[0]
        }
    }

    /// Marks a stream closed (its agreement is no longer active); deltas already cut still go out.
    public func closeStream(_ stream: String, reason: String, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("UPDATE sync_streams SET closed = 1 WHERE stream = ? AND closed = 0").bind([.text(stream)]).run()
            guard db.changes > 0 else { return }
            try AuditLog.append(db, actor: "sync", action: "stream.close",
                                detail: JSONWriter.string(.object(["stream": .string(stream), "reason": .string(reason)])), at: now)
        }
    }

    /// Local events (origin = `origin`) stored after `cursor`, oldest first, at most `limit`.
    public func localEvents(origin: String, after cursor: Int64, limit: Int) throws -> [StoredEvent] {
        try database.read { db in
            try db.cached("SELECT \(EventStore.eventColumns) FROM events e WHERE e.id > ? AND e.origin = ? ORDER BY e.id LIMIT ?")
                .bind([.integer(cursor), .text(origin), .integer(Int64(limit))]).rows { try EventStore.readEvent($0, unreadableRawAsEmpty: true) }
        }
    }

    /// The record time (epoch ms) of the first local event after `cursor`, or nil when none is waiting.
    public func firstPendingRecordTime(origin: String, after cursor: Int64) throws -> Int64? {
        try database.read { db in
            let s = try db.cached("SELECT record_time FROM events WHERE id > ? AND origin = ? ORDER BY id LIMIT 1")
                .bind([.integer(cursor), .text(origin)])
            defer { s.reset() }
            return try s.step() ? s.int64(0) : nil
        }
    }

    /// The `@context` bodies (JSON bytes) by context row ID.
    public func contexts(_ ids: Set<Int64>) throws -> [Int64: [UInt8]] {
        guard !ids.isEmpty else { return [:] }
        return try database.read { db in
            var out: [Int64: [UInt8]] = [:]
            let s = try db.cached("SELECT body FROM contexts WHERE id = ?")
            for id in ids {
                try s.bind(.integer(id), at: 1)
                if try s.step() { out[id] = s.blob(0) }
                s.reset()
            }
            return out
        }
    }

    /// The context row ID of each event row, for those that have one.
    public func contextIDs(ofEventRows rows: [Int64]) throws -> [Int64: Int64] {
        guard !rows.isEmpty else { return [:] }
        return try database.read { db in
            var out: [Int64: Int64] = [:]
            let s = try db.cached("SELECT context_id FROM events WHERE id = ?")
            for row in rows {
                try s.bind(.integer(row), at: 1)
                if try s.step(), !s.isNull(0) { out[row] = s.int64(0) }
                s.reset()
            }
            return out
        }
    }

    /// Appends the next delta of `stream` and moves its cursor, in one durable transaction with
    /// an audit record. Fails with `store.sync.chain` unless `delta.sequence` follows the
    /// stream's last sequence and `delta.previousHash` is its hash (one cutter per stream).
    public func appendDelta(_ delta: OutboxDelta, cursor: Int64, now: Date = Date()) throws {
        try database.write { db in
            let s = try db.cached("SELECT last_sequence, last_hash FROM sync_streams WHERE stream = ?").bind([.text(delta.stream)])
            guard try s.step() else { s.reset(); throw StoreError(code: "store.sync.stream", reason: "no stream \(delta.stream)") }
            let (last, lastHash) = (s.int64(0), s.text(1) ?? "")
            s.reset()
            guard delta.sequence == last + 1, delta.previousHash == lastHash else {
                throw StoreError(code: "store.sync.chain", reason: "delta \(delta.sequence) does not follow \(last) of \(delta.stream)")
            }
            try db.cached("INSERT INTO outbox(stream, sequence, delta_id, delta_hash, previous_hash, event_count, signed, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .bind([.text(delta.stream), .integer(delta.sequence), .text(delta.deltaID), .text(delta.deltaHash), .text(delta.previousHash),
                       .integer(Int64(delta.eventCount)), .blob(delta.signed), .text(delta.created)]).run()
            try db.cached("UPDATE sync_streams SET last_sequence = ?, last_hash = ?, cursor = ? WHERE stream = ?")
                .bind([.integer(delta.sequence), .text(delta.deltaHash), .integer(cursor), .text(delta.stream)]).run()
            let detail: JSONValue = .object(["stream": .string(delta.stream), "sequence": .number(String(delta.sequence)),
                                             "deltaID": .string(delta.deltaID), "deltaHash": .string(delta.deltaHash),
                                             "events": .number(String(delta.eventCount))])
            try AuditLog.append(db, actor: "sync", action: "delta.create", detail: JSONWriter.string(detail), at: now)
        }
    }

    /// Moves a stream's cursor past events that matched none of its flow (no delta to cut).
    public func advanceCursor(_ stream: String, to cursor: Int64) throws {
        try database.write { db in
            try db.cached("UPDATE sync_streams SET cursor = max(cursor, ?) WHERE stream = ?").bind([.integer(cursor), .text(stream)]).run()
        }
    }

    /// Outbox deltas of `stream` after `sequence`, in order, at most `limit`.
    public func outbox(stream: String, after sequence: Int64, limit: Int) throws -> [OutboxDelta] {
        try database.read { db in
            try db.cached("SELECT stream, sequence, delta_id, delta_hash, previous_hash, event_count, signed, created FROM outbox WHERE stream = ? AND sequence > ? ORDER BY sequence LIMIT ?")
                .bind([.text(stream), .integer(sequence), .integer(Int64(limit))]).rows { s in
                    OutboxDelta(stream: s.text(0) ?? "", sequence: s.int64(1), deltaID: s.text(2) ?? "", deltaHash: s.text(3) ?? "",
                                previousHash: s.text(4) ?? "", eventCount: Int(s.int64(5)), signed: s.blob(6), created: s.text(7) ?? "")
                }
        }
    }

    /// The hash of delta `sequence` of `stream` in the outbox, or nil.
    public func outboxHash(stream: String, sequence: Int64) throws -> String? {
        try database.read { db in
            let s = try db.cached("SELECT delta_hash FROM outbox WHERE stream = ? AND sequence = ?").bind([.text(stream), .integer(sequence)])
            defer { s.reset() }
            return try s.step() ? s.text(0) : nil
        }
    }

    /// Progress of every (stream, recipient), optionally for one recipient.
    public func progress(recipient: String? = nil) throws -> [RecipientProgress] {
        try database.read { db in
            var sql = "SELECT stream, recipient, sent, acknowledged, acknowledged_at, receipt, last_error, last_error_at FROM recipient_progress"
            var arguments: [SQLValue] = []
            if let recipient { sql += " WHERE recipient = ?"; arguments.append(.text(recipient)) }
            return try db.prepare(sql + " ORDER BY stream, recipient").bind(arguments).rows { s in
                RecipientProgress(stream: s.text(0) ?? "", recipient: s.text(1) ?? "", sent: s.int64(2), acknowledged: s.int64(3),
                                  acknowledgedAt: s.text(4), receipt: s.isNull(5) ? nil : s.blob(5), lastError: s.text(6), lastErrorAt: s.text(7))
            }
        }
    }

    /// Events in deltas of `stream` after `sequence`, and when the first of those deltas was made.
    public func backlog(stream: String, after sequence: Int64) throws -> (events: Int64, oldest: String?) {
        try database.read { db in
            let s = try db.cached("SELECT coalesce(sum(event_count), 0), min(created) FROM outbox WHERE stream = ? AND sequence > ?")
                .bind([.text(stream), .integer(sequence)])
            defer { s.reset() }
            guard try s.step() else { return (0, nil) }
            return (s.int64(0), s.text(1))
        }
    }

    /// Records that deltas up to `sequence` were pushed to `recipient`.
    public func recordSent(stream: String, recipient: String, sequence: Int64) throws {
        try database.write { db in
            try db.cached("UPDATE recipient_progress SET sent = max(sent, ?) WHERE stream = ? AND recipient = ?")
                .bind([.integer(sequence), .text(stream), .text(recipient)]).run()
        }
    }

    /// Stores a verified receipt when it acknowledges more than the one held; clears the
    /// last error. Returns whether the acknowledged position advanced.
    @discardableResult
    public func recordReceipt(stream: String, recipient: String, sequence: Int64, receipt: [UInt8], now: Date = Date()) throws -> Bool {
        try database.write { db in
            try db.cached("""
                UPDATE recipient_progress SET acknowledged = ?, acknowledged_at = ?, receipt = ?, sent = max(sent, ?), last_error = NULL, last_error_at = NULL
                WHERE stream = ? AND recipient = ? AND acknowledged < ?
                """).bind([.integer(sequence), .text(Self.now(now)), .blob(receipt), .integer(sequence), .text(stream), .text(recipient), .integer(sequence)]).run()
            return db.changes > 0
        }
    }

    /// Records why the last push of `stream` to `recipient` failed (shown in status); audited
    /// when the recipient refused a delta (`audit` true), not for every network retry.
    public func recordSendError(stream: String, recipient: String, error: String, audit: Bool, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("UPDATE recipient_progress SET last_error = ?, last_error_at = ? WHERE stream = ? AND recipient = ?")
                .bind([.text(error), .text(Self.now(now)), .text(stream), .text(recipient)]).run()
            if audit {
                let detail: JSONValue = .object(["stream": .string(stream), "recipient": .string(recipient), "error": .string(error)])
                try AuditLog.append(db, actor: "sync", action: "delta.refused-by-peer", detail: JSONWriter.string(detail), at: now)
            }
        }
    }

    // MARK: - Inbound

    /// The position on `stream`, or nil before its first delta.
    public func position(_ stream: String) throws -> InboundPosition? {
        try database.read { db in try Self.position(db, stream) }
    }

    static let positionColumns = "stream, origin, agreement_hash, flow, sequence, delta_hash, events, updated_at, receipt, stopped"

    static func position(_ db: Database, _ stream: String) throws -> InboundPosition? {
        try db.cached("SELECT \(positionColumns) FROM stream_positions WHERE stream = ?").bind([.text(stream)]).rows(readPosition).first
    }

    static func readPosition(_ s: Statement) -> InboundPosition {
        InboundPosition(stream: s.text(0) ?? "", origin: s.text(1) ?? "", agreementHash: s.text(2) ?? "", flow: s.text(3) ?? "",
                        sequence: s.int64(4), deltaHash: s.text(5) ?? "", events: s.int64(6), updatedAt: s.text(7) ?? "",
                        receipt: s.isNull(8) ? nil : s.blob(8), stopped: s.text(9))
    }

    /// Every inbound position, optionally only those from `origin`.
    public func positions(origin: String? = nil) throws -> [InboundPosition] {
        try database.read { db in
            var sql = "SELECT \(Self.positionColumns) FROM stream_positions"
            var arguments: [SQLValue] = []
            if let origin { sql += " WHERE origin = ?"; arguments.append(.text(origin)) }
            return try db.prepare(sql + " ORDER BY stream").bind(arguments).rows(Self.readPosition)
        }
    }

    /// The hash of a delta applied earlier on `stream`, or nil.
    public func receivedDeltaHash(stream: String, sequence: Int64) throws -> String? {
        try database.read { db in
            let s = try db.cached("SELECT delta_hash FROM received_deltas WHERE stream = ? AND sequence = ?").bind([.text(stream), .integer(sequence)])
            defer { s.reset() }
            return try s.step() ? s.text(0) : nil
        }
    }

    /// What a received delta is, for `applyDelta`.
    public struct ReceivedDelta: Sendable {
        public let stream: String
        public let origin: String
        public let agreementHash: String
        public let flow: String
        public let sequence: Int64
        public let deltaID: String
        public let deltaHash: String
        public let previousHash: String
        /// The signed delta (DER), kept as evidence.
        public let signed: [UInt8]
        public init(stream: String, origin: String, agreementHash: String, flow: String, sequence: Int64, deltaID: String,
                    deltaHash: String, previousHash: String, signed: [UInt8]) {
            self.signed = signed
            self.stream = stream
            self.origin = origin
            self.agreementHash = agreementHash
            self.flow = flow
            self.sequence = sequence
            self.deltaID = deltaID
            self.deltaHash = deltaHash
            self.previousHash = previousHash
        }
    }

    /// Applies a verified, policy-checked delta: its events (origin = the delta's origin, with
    /// `retentionDeadline`), the new position, the delta's hash, and an audit record, in one
    /// durable transaction. Re-checks the chain inside the transaction (`store.sync.chain`) so
    /// two concurrent deliveries of one delta apply it once (the second finds `store.sync.replay`).
    public func applyDelta(_ delta: ReceivedDelta, events: [EPCISEvent], contexts: [JSONValue?], contextOfEvent: [Int?],
                           retentionDeadline: Int64, now: Date = Date()) throws -> CaptureResult {
        let recordTime = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        return try database.write { db in
            let current = try Self.position(db, delta.stream)
            let sequence = current?.sequence ?? 0
            if delta.sequence <= sequence {
                throw StoreError(code: "store.sync.replay", reason: "delta \(delta.sequence) of \(delta.stream) is already applied (position \(sequence))")
            }
            guard delta.sequence == sequence + 1, delta.previousHash == (current?.deltaHash ?? Self.zeroHash) else {
                throw StoreError(code: "store.sync.chain", reason: "delta \(delta.sequence) does not follow position \(sequence) of \(delta.stream)")
            }
            if let stopped = current?.stopped {
                throw StoreError(code: "store.sync.stopped", reason: "stream \(delta.stream) is stopped: \(stopped)")
            }
            var contextIDs: [Int64?] = []
            for context in contexts { contextIDs.append(try EventStore.storeContext(db, context)) }
            let perEvent = contextOfEvent.map { index in index.flatMap { contextIDs.indices.contains($0) ? contextIDs[$0] : nil } }
            let result = try EventStore.insert(db, events: events, contextIDs: perEvent, contextID: nil, origin: delta.origin,
                                               recordTime: recordTime, retentionDeadline: retentionDeadline)
            let at = Self.now(now)
            try db.cached("""
                INSERT INTO stream_positions(stream, origin, agreement_hash, flow, sequence, delta_hash, events, updated_at, receipt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
                ON CONFLICT(stream) DO UPDATE SET sequence = excluded.sequence, delta_hash = excluded.delta_hash,
                    events = events + excluded.events, updated_at = excluded.updated_at, receipt = NULL
                """).bind([.text(delta.stream), .text(delta.origin), .text(delta.agreementHash), .text(delta.flow), .integer(delta.sequence),
                           .text(delta.deltaHash), .integer(Int64(events.count)), .text(at)]).run()
            try db.cached("INSERT INTO received_deltas(stream, sequence, delta_hash, delta_id, events, received_at, signed) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind([.text(delta.stream), .integer(delta.sequence), .text(delta.deltaHash), .text(delta.deltaID),
                       .integer(Int64(events.count)), .text(at), .blob(delta.signed)]).run()
            let detail: JSONValue = .object([
                "stream": .string(delta.stream), "sequence": .number(String(delta.sequence)), "deltaID": .string(delta.deltaID),
                "deltaHash": .string(delta.deltaHash), "events": .number(String(events.count)),
                "stored": .number(String(result.captured)), "duplicates": .number(String(result.duplicates)),
                "retentionDeadline": .string(Timestamp(epochMilliseconds: retentionDeadline).canonicalUTC),
            ])
            try AuditLog.append(db, actor: delta.origin, action: "delta.apply", detail: JSONWriter.string(detail), at: now)
            return result
        }
    }

    /// The signed deltas received on `stream` after `sequence`, in order (evidence export).
    public func receivedDeltas(stream: String, after sequence: Int64 = 0, limit: Int = 1000) throws -> [(sequence: Int64, deltaHash: String, signed: [UInt8])] {
        try database.read { db in
            try db.prepare("SELECT sequence, delta_hash, signed FROM received_deltas WHERE stream = ? AND sequence > ? ORDER BY sequence LIMIT ?")
                .bind([.text(stream), .integer(sequence), .integer(Int64(limit))]).rows { s in (s.int64(0), s.text(1) ?? "", s.blob(2)) }
        }
    }

    /// Keeps the signed receipt for the position it acknowledges (if still current).
    public func storeReceipt(stream: String, sequence: Int64, receipt: [UInt8]) throws {
        try database.write { db in
            try db.cached("UPDATE stream_positions SET receipt = ? WHERE stream = ? AND sequence = ?")
                .bind([.blob(receipt), .text(stream), .integer(sequence)]).run()
        }
    }

    /// Stops a stream whose hash chain broke; it takes no delta until an operator resolves it.
    public func stopStream(_ stream: String, origin: String, agreementHash: String, flow: String, reason: String, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("""
                INSERT INTO stream_positions(stream, origin, agreement_hash, flow, sequence, delta_hash, events, updated_at, stopped)
                VALUES (?, ?, ?, ?, 0, ?, 0, ?, ?)
                ON CONFLICT(stream) DO UPDATE SET stopped = excluded.stopped, updated_at = excluded.updated_at
                """).bind([.text(stream), .text(origin), .text(agreementHash), .text(flow), .text(Self.zeroHash), .text(Self.now(now)), .text(reason)]).run()
            let detail: JSONValue = .object(["stream": .string(stream), "reason": .string(reason)])
            try AuditLog.append(db, actor: "sync", action: "stream.stop", detail: JSONWriter.string(detail), at: now)
        }
    }

    /// Records a refused delta with its audit record.
    public func recordRejection(_ rejection: DeltaRejection, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("INSERT INTO delta_rejections(peer, stream, sequence, code, reason, at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind([.text(rejection.peer), .text(rejection.stream), .integer(rejection.sequence), .text(rejection.code),
                       .text(rejection.reason), .text(rejection.at)]).run()
            // Keep the table bounded: a flood of garbage must not grow it without limit.
            try db.cached("DELETE FROM delta_rejections WHERE id <= (SELECT max(id) FROM delta_rejections) - 10000").run()
            let detail: JSONValue = .object(["peer": .string(rejection.peer), "stream": .string(rejection.stream),
                                             "sequence": .number(String(rejection.sequence)), "code": .string(rejection.code),
                                             "reason": .string(rejection.reason)])
            try AuditLog.append(db, actor: rejection.peer, action: "delta.reject", detail: JSONWriter.string(detail), at: now)
        }
    }

    /// The newest rejections, newest first.
    public func rejections(limit: Int = 20) throws -> [DeltaRejection] {
        try database.read { db in
            try db.prepare("SELECT peer, stream, sequence, code, reason, at FROM delta_rejections ORDER BY id DESC LIMIT ?")
                .bind([.integer(Int64(limit))]).rows { s in
                    DeltaRejection(peer: s.text(0) ?? "", stream: s.text(1) ?? "", sequence: s.int64(2), code: s.text(3) ?? "",
                                   reason: s.text(4) ?? "", at: s.text(5) ?? "")
                }
        }
    }

    // MARK: - Peers

    /// Adds or updates a peer (endpoint, and sealing certificate when given), audited.
    public func addPeer(party: String, endpoint: String, sealingCertificate: [UInt8]?, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("""
                INSERT INTO peers(party, endpoint, sealing_certificate, added_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(party) DO UPDATE SET endpoint = excluded.endpoint,
                    sealing_certificate = coalesce(excluded.sealing_certificate, sealing_certificate)
                """).bind([.text(party), .text(endpoint), sealingCertificate.map(SQLValue.blob) ?? .null, .text(Self.now(now))]).run()
            var detail: JSONObject = ["party": .string(party), "endpoint": .string(endpoint)]
            if let sealingCertificate { detail["sealingCertificateSHA256"] = .string(SHA256.hexHash(sealingCertificate)) }
            try AuditLog.append(db, actor: "operator", action: "peer.add", detail: JSONWriter.string(.object(detail)), at: now)
        }
    }

    /// Stores a peer's sealing certificate learnt from the peer itself (after verification).
    public func setPeerCertificate(party: String, sealingCertificate: [UInt8], now: Date = Date()) throws {
        try database.write { db in
            try db.cached("UPDATE peers SET sealing_certificate = ? WHERE party = ?").bind([.blob(sealingCertificate), .text(party)]).run()
            let detail: JSONValue = .object(["party": .string(party), "sealingCertificateSHA256": .string(SHA256.hexHash(sealingCertificate))])
            try AuditLog.append(db, actor: "sync", action: "peer.certificate", detail: JSONWriter.string(detail), at: now)
        }
    }

    /// Every peer, by Party.
    public func peers() throws -> [Peer] {
        try database.read { db in
            try db.prepare("SELECT party, endpoint, sealing_certificate, added_at, last_seen, last_error, last_error_at FROM peers ORDER BY party").rows { s in
                Peer(party: s.text(0) ?? "", endpoint: s.text(1) ?? "", sealingCertificate: s.isNull(2) ? nil : s.blob(2),
                     addedAt: s.text(3) ?? "", lastSeen: s.text(4), lastError: s.text(5), lastErrorAt: s.text(6))
            }
        }
    }

    /// Records a successful exchange with a peer (clears its last connection error).
    public func recordPeerSeen(_ party: String, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("UPDATE peers SET last_seen = ?, last_error = NULL, last_error_at = NULL WHERE party = ?")
                .bind([.text(Self.now(now)), .text(party)]).run()
        }
    }

    /// Records a failed connection to a peer.
    public func recordPeerError(_ party: String, error: String, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("UPDATE peers SET last_error = ?, last_error_at = ? WHERE party = ?")
                .bind([.text(error), .text(Self.now(now)), .text(party)]).run()
        }
    }

    // MARK: - Retention

    /// Deletes received events whose retention deadline is at or before `now`, in batches of
    /// at most `batchSize`, one transaction and one audit record (`retention.purge`: origin,
    /// count, latest deadline) per batch. Events this node captured have no deadline and are
    /// never touched.
    public func purgeExpired(now: Date = Date(), batchSize: Int = 10_000) throws -> [PurgeBatch] {
        let nowMillis = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        var batches: [PurgeBatch] = []
        while true {
            let batch: [PurgeBatch] = try database.write { db in
                let rows = try db.prepare("""
                    SELECT id, origin, retention_deadline, raw FROM events
                    WHERE retention_deadline IS NOT NULL AND retention_deadline <= ? ORDER BY retention_deadline LIMIT ?
                    """).bind([.integer(nowMillis), .integer(Int64(batchSize))]).rows { s in (s.int64(0), s.text(1) ?? "", s.int64(2), PackedEvent.unpack(s.blob(3)) ?? []) }
                guard !rows.isEmpty else { return [] }
                let delete = try db.cached("DELETE FROM events WHERE id = ?")
                var byOrigin: [String: (Int, Int64)] = [:]
                // A row whose bytes do not unpack gives [] here: `remove` then finds its
                // postings by reading the index, and the row still goes.
                for (id, origin, deadline, raw) in rows {
                    try PostingIndex.remove(db, eventID: id, raw: raw)
                    delete.reset()
                    try delete.bind([.integer(id)]).run()
                    let entry = byOrigin[origin] ?? (0, 0)
                    byOrigin[origin] = (entry.0 + 1, max(entry.1, deadline))
                }
                var out: [PurgeBatch] = []
                for (origin, (count, latest)) in byOrigin.sorted(by: { $0.key < $1.key }) {
                    let detail: JSONValue = .object(["origin": .string(origin), "deleted": .number(String(count)),
                                                     "latestDeadline": .string(Timestamp(epochMilliseconds: latest).canonicalUTC)])
                    try AuditLog.append(db, actor: "retention", action: "retention.purge", detail: JSONWriter.string(detail), at: now)
                    out.append(PurgeBatch(origin: origin, deleted: count, latestDeadline: latest))
                }
                return out
            }
            guard !batch.isEmpty else { break }
            batches += batch
        }
        return batches
    }
}
