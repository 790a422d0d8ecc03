import Foundation
import Crypto
import Model

/// One relayed message waiting in a recipient's mailbox at the hub (docs/hub.md §1).
public struct MailboxEntry: Sendable, Equatable {
    public let seq: Int64
    public let recipient: String
    public let kind: String
    public let messageID: String
    public let origin: String
    public let agreement: String
    /// The routing headers as received, in order (JSON object text).
    public let headers: [(String, String)]
    /// The sealed (or, for a receipt, signed) CMS object, never opened here.
    public let body: [UInt8]
    public let receivedAt: String
    public let expiresAt: Int64

    public init(seq: Int64, recipient: String, kind: String, messageID: String, origin: String, agreement: String,
                headers: [(String, String)], body: [UInt8], receivedAt: String, expiresAt: Int64) {
        self.seq = seq
        self.recipient = recipient
        self.kind = kind
        self.messageID = messageID
        self.origin = origin
        self.agreement = agreement
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
        self.expiresAt = expiresAt
    }

    public static func == (lhs: MailboxEntry, rhs: MailboxEntry) -> Bool {
        lhs.seq == rhs.seq && lhs.recipient == rhs.recipient && lhs.messageID == rhs.messageID && lhs.body == rhs.body
            && lhs.headers.map(\.0) == rhs.headers.map(\.0) && lhs.headers.map(\.1) == rhs.headers.map(\.1)
    }
}

/// The hub's mailboxes (migration `0005-mailbox`): store-and-forward of sealed messages it
/// cannot open. Audit records carry kinds, IDs, Parties and sizes — never a body.
public struct MailboxStore: Sendable {
    public static let schemaSQL = """
    CREATE TABLE mailbox (
        seq INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        message_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        agreement TEXT NOT NULL,
        headers TEXT NOT NULL,             -- JSON object of the routing headers
        body BLOB NOT NULL,
        received_at TEXT NOT NULL,
        expires_at INTEGER NOT NULL,       -- epoch ms
        UNIQUE (recipient, origin, message_id)
    );
    CREATE INDEX mailbox_by_recipient ON mailbox(recipient, seq);
    CREATE INDEX mailbox_by_expiry ON mailbox(expires_at);
    """

    public let database: SerialDatabase

    public init(_ store: EventStore) {
        self.database = store.database
    }

    /// Stores a message for `recipient` unless the same (origin, message ID) is already there;
    /// returns its mailbox sequence and whether it was new. Audited when new.
    public func deposit(recipient: String, kind: String, messageID: String, origin: String, agreement: String,
                        headers: [(String, String)], body: [UInt8], ttl: TimeInterval, now: Date = Date()) throws -> (seq: Int64, new: Bool) {
        let headerText = JSONWriter.string(.object(JSONObject(headers.map { JSONObject.Member(key: $0.0, value: .string($0.1)) })))
        let expires = Int64(((now.timeIntervalSince1970 + ttl) * 1000).rounded(.down))
        return try database.write { db in
            let existing = try db.cached("SELECT seq FROM mailbox WHERE recipient = ? AND origin = ? AND message_id = ?")
                .bind([.text(recipient), .text(origin), .text(messageID)])
            if try existing.step() {
                let seq = existing.int64(0)
                existing.reset()
                return (seq, false)
            }
            existing.reset()
            try db.cached("INSERT INTO mailbox(recipient, kind, message_id, origin, agreement, headers, body, received_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind([.text(recipient), .text(kind), .text(messageID), .text(origin), .text(agreement), .text(headerText), .blob(body),
                       .text(AuditLog.isoTime(now)), .integer(expires)]).run()
            let seq = db.lastInsertRowID
            let detail: JSONValue = .object([
                "kind": .string(kind), "messageID": .string(messageID), "origin": .string(origin), "recipient": .string(recipient),
                "agreement": .string(agreement), "bytes": .number(String(body.count)), "bodySHA256": .string(SHA256.hexHash(body)),
                "mailbox": .number(String(seq)),
            ])
            try AuditLog.append(db, actor: origin, action: "relay.accept", detail: JSONWriter.string(detail), at: now)
            return (seq, true)
        }
    }

    /// The entries of `recipient`'s mailbox after `seq`, oldest first, at most `limit`.
    public func entries(recipient: String, after seq: Int64, limit: Int) throws -> [MailboxEntry] {
        try database.read { db in
            try db.prepare("SELECT seq, recipient, kind, message_id, origin, agreement, headers, body, received_at, expires_at FROM mailbox WHERE recipient = ? AND seq > ? ORDER BY seq LIMIT ?")
                .bind([.text(recipient), .integer(seq), .integer(Int64(limit))]).rows { s in
                    var headers: [(String, String)] = []
                    if case .object(let o)? = try? JSONParser.parse(Array((s.text(6) ?? "{}").utf8)) {
                        for member in o.members { if case .string(let v) = member.value { headers.append((member.key, v)) } }
                    }
                    return MailboxEntry(seq: s.int64(0), recipient: s.text(1) ?? "", kind: s.text(2) ?? "", messageID: s.text(3) ?? "",
                                        origin: s.text(4) ?? "", agreement: s.text(5) ?? "", headers: headers, body: s.blob(7),
                                        receivedAt: s.text(8) ?? "", expiresAt: s.int64(9))
                }
        }
    }

    /// Deletes `recipient`'s entries up to `seq` (it processed them durably); returns how many, audited.
    @discardableResult
    public func acknowledge(recipient: String, upTo seq: Int64, now: Date = Date()) throws -> Int {
        try database.write { db in
            try db.cached("DELETE FROM mailbox WHERE recipient = ? AND seq <= ?").bind([.text(recipient), .integer(seq)]).run()
            let deleted = db.changes
            if deleted > 0 {
                let detail: JSONValue = .object(["recipient": .string(recipient), "upTo": .number(String(seq)), "deleted": .number(String(deleted))])
                try AuditLog.append(db, actor: recipient, action: "relay.acknowledged", detail: JSONWriter.string(detail), at: now)
            }
            return deleted
        }
    }

    /// Deletes expired entries (past their TTL), audited with counts per recipient.
    @discardableResult
    public func purgeExpired(now: Date = Date()) throws -> Int {
        let nowMillis = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        return try database.write { db in
            let counts = try db.prepare("SELECT recipient, count(*) FROM mailbox WHERE expires_at <= ? GROUP BY recipient ORDER BY recipient")
                .bind([.integer(nowMillis)]).rows { s in (s.text(0) ?? "", s.int64(1)) }
            guard !counts.isEmpty else { return 0 }
            try db.cached("DELETE FROM mailbox WHERE expires_at <= ?").bind([.integer(nowMillis)]).run()
            for (recipient, count) in counts {
                let detail: JSONValue = .object(["recipient": .string(recipient), "expired": .number(String(count))])
                try AuditLog.append(db, actor: "relay", action: "relay.expire", detail: JSONWriter.string(detail), at: now)
            }
            return counts.reduce(0) { $0 + Int($1.1) }
        }
    }

    /// Entries waiting per recipient (for status and metrics).
    public func depth() throws -> [(recipient: String, entries: Int, bytes: Int)] {
        try database.read { db in
            try db.prepare("SELECT recipient, count(*), coalesce(sum(length(body)), 0) FROM mailbox GROUP BY recipient ORDER BY recipient")
                .rows { s in (s.text(0) ?? "", Int(s.int64(1)), Int(s.int64(2))) }
        }
    }

    /// Records a refused relay request (audited; no body).
    public func recordRefusal(origin: String, code: String, reason: String, now: Date = Date()) throws {
        try database.write { db in
            let detail: JSONValue = .object(["code": .string(code), "reason": .string(reason)])
            try AuditLog.append(db, actor: origin, action: "relay.refuse", detail: JSONWriter.string(detail), at: now)
        }
    }
}
