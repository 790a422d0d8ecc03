import Foundation
import Crypto
import Model
import Policy
import Store
import Sync

/// Read-only looks into a node's SQLite store while its `serve` process runs (WAL: readers
/// never block the writer). Each call opens a connection, reads one consistent snapshot and
/// closes it.
struct StoreView {
    let path: String

    init(_ node: NodeProcess) { path = node.data + "/fedtrace.sqlite" }

    /// Runs `body` inside one read transaction (one snapshot for every query in it).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let database = try Database(path: path, readOnly: true)
        try database.execute("BEGIN")
        defer { try? database.execute("COMMIT") }
        return try body(database)
    }

    struct Event {
        let hashID: String
        let declaresError: Bool
        let origin: String
        let raw: [UInt8]
        let retentionDeadline: Int64?
        var object: JSONObject { (try? JSONParser.parse(raw, limits: EPCISDocumentParser.limits))?.objectValue ?? [:] }
    }

    /// Stored events, optionally of one origin, in storage order.
    func events(origin: String? = nil) throws -> [Event] {
        try read { db in
            var sql = "SELECT hash_id, declares_error, origin, raw, retention_deadline FROM events"
            var arguments: [SQLValue] = []
            if let origin { sql += " WHERE origin = ?"; arguments.append(.text(origin)) }
            return try db.prepare(sql + " ORDER BY id").bind(arguments).rows { s in
                Event(hashID: s.text(0) ?? "", declaresError: s.int64(1) != 0, origin: s.text(2) ?? "", raw: PackedEvent.unpack(s.blob(3)) ?? [],
                      retentionDeadline: s.isNull(4) ? nil : s.int64(4))
            }
        }
    }

    /// Hash IDs of the events of `origin`.
    func hashIDs(origin: String) throws -> [String] {
        try read { db in
            try db.prepare("SELECT hash_id FROM events WHERE origin = ? ORDER BY id").bind([.text(origin)]).rows { $0.text(0) ?? "" }
        }
    }

    func count(origin: String) throws -> Int {
        try read { db in
            try db.prepare("SELECT count(*) FROM events WHERE origin = ?").bind([.text(origin)]).rows { Int($0.int64(0)) }[0]
        }
    }

    struct OutboxRow: Equatable {
        let sequence: Int64
        let deltaID: String
        let deltaHash: String
        let previousHash: String
        let eventCount: Int
        let signed: [UInt8]
    }

    /// The sender's outbox of `stream`, after `sequence`.
    func outbox(_ stream: String, after sequence: Int64 = 0) throws -> [OutboxRow] {
        try read { db in
            try db.prepare("SELECT sequence, delta_id, delta_hash, previous_hash, event_count, signed FROM outbox WHERE stream = ? AND sequence > ? ORDER BY sequence")
                .bind([.text(stream), .integer(sequence)]).rows { s in
                    OutboxRow(sequence: s.int64(0), deltaID: s.text(1) ?? "", deltaHash: s.text(2) ?? "", previousHash: s.text(3) ?? "",
                              eventCount: Int(s.int64(4)), signed: s.blob(5))
                }
        }
    }

    /// The sender's outbox of `stream` in brief (no delta bodies): the last sequence and the events cut.
    func cutSummary(_ stream: String) throws -> (last: Int64, events: Int) {
        try read { db in
            try db.prepare("SELECT coalesce(max(sequence), 0), coalesce(sum(event_count), 0) FROM outbox WHERE stream = ?")
                .bind([.text(stream)]).rows { ($0.int64(0), Int($0.int64(1))) }[0]
        }
    }

    /// The sender's delta hashes of `stream` by sequence (no delta bodies).
    func outboxHashes(_ stream: String) throws -> [Int64: String] {
        try read { db in
            Dictionary(uniqueKeysWithValues: try db.prepare("SELECT sequence, delta_hash FROM outbox WHERE stream = ?").bind([.text(stream)])
                .rows { ($0.int64(0), $0.text(1) ?? "") })
        }
    }

    /// The sender's view of one recipient: (sent, acknowledged).
    func progress(_ stream: String, recipient: String) throws -> (sent: Int64, acknowledged: Int64)? {
        try read { db in
            try db.prepare("SELECT sent, acknowledged FROM recipient_progress WHERE stream = ? AND recipient = ?")
                .bind([.text(stream), .text(recipient)]).rows { ($0.int64(0), $0.int64(1)) }.first
        }
    }

    /// The sender's newest delta of `stream` (0 before the first).
    func lastSequence(_ stream: String) throws -> Int64 {
        try read { db in
            try db.prepare("SELECT last_sequence FROM sync_streams WHERE stream = ?").bind([.text(stream)]).rows { $0.int64(0) }.first ?? 0
        }
    }

    /// The receiver's position on `stream` (0 before the first delta).
    func position(_ stream: String) throws -> Int64 {
        try read { db in
            try db.prepare("SELECT sequence FROM stream_positions WHERE stream = ?").bind([.text(stream)]).rows { $0.int64(0) }.first ?? 0
        }
    }

    struct Received: Equatable {
        let sequence: Int64
        let deltaHash: String
        let events: Int
    }

    /// The receiver's applied deltas of `stream`, its position (sequence, stopped reason),
    /// and its events of `origin`: count and distinct hash IDs, all in one snapshot.
    /// `applies` are the details of the `delta.apply` audit records of `stream`.
    func receiverState(_ stream: String, origin: String) throws -> (deltas: [Received], position: Int64, stopped: String?, events: Int, distinctHashIDs: Int,
                                                                    applies: [JSONObject]) {
        try read { db in
            let deltas = try db.prepare("SELECT sequence, delta_hash, events FROM received_deltas WHERE stream = ? ORDER BY sequence")
                .bind([.text(stream)]).rows { Received(sequence: $0.int64(0), deltaHash: $0.text(1) ?? "", events: Int($0.int64(2))) }
            let position = try db.prepare("SELECT sequence, stopped FROM stream_positions WHERE stream = ?").bind([.text(stream)])
                .rows { ($0.int64(0), $0.text(1)) }.first
            let counts = try db.prepare("SELECT count(*), count(DISTINCT hash_id) FROM events WHERE origin = ?").bind([.text(origin)])
                .rows { (Int($0.int64(0)), Int($0.int64(1))) }[0]
            let applies = try db.prepare("SELECT detail FROM audit_log WHERE action = 'delta.apply' ORDER BY seq").rows { s in
                (try? JSONParser.parse(Array((s.text(0) ?? "").utf8)))?.objectValue ?? [:]
            }.filter { $0["stream"]?.stringValue == stream }
            return (deltas, position?.0 ?? 0, position?.1 ?? nil, counts.0, counts.1, applies)
        }
    }

    /// Audit records with `action`, oldest first, their detail parsed.
    /// Messages waiting in a hub's mailboxes.
    func mailboxDepth() throws -> Int {
        try read { db in
            let s = try db.prepare("SELECT count(*) FROM mailbox")
            return try s.step() ? Int(s.int64(0)) : 0
        }
    }

    func audit(_ action: String) throws -> [JSONObject] {
        try read { db in
            try db.prepare("SELECT detail FROM audit_log WHERE action = ? ORDER BY seq").bind([.text(action)]).rows { s in
                (try? JSONParser.parse(Array((s.text(0) ?? "").utf8)))?.objectValue ?? [:]
            }
        }
    }

    /// The refused deltas kept for `status`, newest first: (peer, stream, sequence, code).
    func rejections() throws -> [(peer: String, stream: String, sequence: Int64, code: String)] {
        try read { db in
            try db.prepare("SELECT peer, stream, sequence, code FROM delta_rejections ORDER BY id DESC").rows { s in
                (s.text(0) ?? "", s.text(1) ?? "", s.int64(2), s.text(3) ?? "")
            }
        }
    }

    /// When each delta of `stream` was applied (`delta.apply` audit times), oldest first.
    func applyTimes(_ stream: String) throws -> [(sequence: Int, at: String)] {
        try read { db in
            try db.prepare("SELECT at, detail FROM audit_log WHERE action = 'delta.apply' ORDER BY seq").rows { s -> (Int, String, String) in
                let detail = (try? JSONParser.parse(Array((s.text(1) ?? "").utf8)))?.objectValue ?? [:]
                return (detail["sequence"]?.int ?? 0, s.text(0) ?? "", detail["stream"]?.stringValue ?? "")
            }.filter { $0.2 == stream }.map { ($0.0, $0.1) }
        }
    }

    /// Audit records with `action` and their times, oldest first.
    func auditTimes(_ action: String) throws -> [String] {
        try read { db in try db.prepare("SELECT at FROM audit_log WHERE action = ? ORDER BY seq").bind([.text(action)]).rows { $0.text(0) ?? "" } }
    }
}

/// The hash IDs carried by one signed delta (verified against the federation root first).
func deltaHashIDs(_ signed: [UInt8], trust: TrustStore, origin: String) throws -> [String] {
    let verified = try CMS.verify(signed, trust: trust, expectedSigner: origin)
    return try DeltaContent.parse(verified.content).events.map(\.hashID)
}

/// Canonical (JCS) text of a JSON object, for comparing events member by member regardless of order.
func canonical(_ object: JSONObject) -> String {
    (try? JCS.canonicalString(.object(object))) ?? JSONWriter.string(.object(object))
}

/// Every member path of an object (`a`, `a.b`, `list[].c`), for reporting what differs.
func memberPaths(_ value: JSONValue, prefix: String = "") -> Set<String> {
    switch value {
    case .object(let o):
        var out: Set<String> = []
        for member in o.members {
            let path = prefix.isEmpty ? member.key : prefix + "." + member.key
            out.insert(path)
            out.formUnion(memberPaths(member.value, prefix: path))
        }
        return out
    case .array(let items):
        return items.reduce(into: Set<String>()) { $0.formUnion(memberPaths($1, prefix: prefix + "[]")) }
    default:
        return []
    }
}
