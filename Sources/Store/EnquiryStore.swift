import Foundation
import Crypto
import Model

/// One enquiry as one side holds it (docs/hub.md §3).
public struct EnquiryRecord: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        /// This node asked.
        case requester
        /// This node was asked.
        case responder
    }

    public let enquiryID: String
    public let role: Role
    public let requester: String
    public let responder: String
    public let agreementHash: String
    public let purpose: String
    public let caseReference: String
    public let uims: [String]
    /// Stored status: requester `sent`, `delivered`, `answered`, `refused`; responder
    /// `pending` (an officer's decision is awaited), `answered`, `refused`. `overdue` is
    /// computed (`status(at:)`).
    public let status: String
    /// Responder: the policy's decision (`autoAnswer`, `manual`, `refuse`).
    public let decision: String?
    /// The answerEnquiry flow (responder → requester).
    public let flow: String?
    /// The stable code of a refusal, and its reason.
    public let code: String?
    public let reason: String?
    /// When it was sent (requester) or received (responder).
    public let created: String
    /// The answer deadline (the agreement's answerWithinHours after `created`).
    public let answerBy: String?
    public let answerByMillis: Int64?
    /// Requester: when the responder (or the hub) accepted the enquiry.
    public let deliveredAt: String?
    /// When the answer was made (responder) or received (requester).
    public let answeredAt: String?
    /// Responder: when the requester accepted the answer.
    public let answerDeliveredAt: String?
    /// The signed enquiry (CMS SignedData, DER) and its SHA-256.
    public let signed: [UInt8]
    public let digest: String
    /// The signed answer and its SHA-256, once made or received (the blob is removed at the
    /// retention deadline of the answer's events; the digest stays).
    public let answerSigned: [UInt8]?
    public let answerDigest: String?
    /// Events in the answer.
    public let answerEvents: Int?
    /// The last delivery error of this side's outgoing message (enquiry or answer).
    public let lastError: String?
    /// `direct`, or the hub's URN when the message came or went through it.
    public let via: String?

    /// The status shown: the stored one, or `overdue` when an answer is still awaited past `answerBy`.
    public func status(at now: Date) -> String {
        let waiting = role == .requester ? (status == "sent" || status == "delivered") : status == "pending"
        if waiting, let deadline = answerByMillis, Int64(now.timeIntervalSince1970 * 1000) > deadline { return "overdue" }
        return status
    }
}

/// A message waiting to be delivered: a signed enquiry (requester) or answer (responder),
/// sealed to the recipient at each attempt.
public struct EnquiryOutboxItem: Sendable, Equatable {
    public let id: Int64
    /// `enquiry` or `answer`.
    public let kind: String
    public let enquiryID: String
    public let recipient: String
    public let agreementHash: String
    public let signed: [UInt8]
    public let attempts: Int
    /// Epoch ms of the next attempt.
    public let nextAttempt: Int64
    public let lastError: String?
}

/// One event of a received answer, kept with its enquiry.
public struct AnswerEventRecord: Sendable, Equatable {
    public let position: Int
    public let hashID: String
    public let declaresError: Bool
    /// The event as the responder's answer flow let us see it (JSON bytes).
    public let event: [UInt8]
    /// The `@context` of its document (JSON bytes), if any.
    public let context: [UInt8]?
    /// Epoch ms after which it is deleted.
    public let retentionDeadline: Int64

    public init(position: Int, hashID: String, declaresError: Bool, event: [UInt8], context: [UInt8]?, retentionDeadline: Int64) {
        self.position = position
        self.hashID = hashID
        self.declaresError = declaresError
        self.event = event
        self.context = context
        self.retentionDeadline = retentionDeadline
    }
}

/// A refused enquiry or answer, kept for status (the audit log has the same).
public struct EnquiryRejection: Sendable, Equatable {
    public let peer: String
    public let kind: String
    public let messageID: String?
    public let code: String
    public let reason: String
    public let at: String
}

/// The enquiry tables (migration `0007-enquiries`, docs/hub.md §3) behind the store's one
/// serial writer. Rows and transactions only; the Sync module checks messages, the Node
/// layer decides. Every step is audited in the same transaction, with IDs, counts and
/// digests — never a UIM, a case reference or an event field.
public struct EnquiryStore: Sendable {
    public static let schemaSQL = """
    CREATE TABLE enquiries (
        enquiry_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('requester', 'responder')),
        requester TEXT NOT NULL,
        responder TEXT NOT NULL,
        agreement_hash TEXT NOT NULL,
        purpose TEXT NOT NULL,
        case_reference TEXT NOT NULL,
        uims TEXT NOT NULL,                -- JSON array of canonical UIMs
        uim_count INTEGER NOT NULL,
        status TEXT NOT NULL,
        decision TEXT,
        flow TEXT,
        code TEXT,
        reason TEXT,
        created TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        answer_by TEXT,
        answer_by_ms INTEGER,
        delivered_at TEXT,
        answered_at TEXT,
        answer_delivered_at TEXT,
        signed BLOB NOT NULL,              -- the signed enquiry (CMS SignedData, DER)
        digest TEXT NOT NULL,
        answer_signed BLOB,                -- the signed answer (removed at its events' retention deadline)
        answer_digest TEXT,
        answer_events INTEGER,
        last_error TEXT,
        via TEXT,
        PRIMARY KEY (enquiry_id, role)
    ) WITHOUT ROWID;
    CREATE INDEX enquiries_by_counterpart ON enquiries(role, requester, created_ms);
    CREATE TABLE enquiry_answer_events (
        enquiry_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        event_hash_id TEXT NOT NULL,
        declares_error INTEGER NOT NULL,
        event BLOB NOT NULL,               -- the redacted event as answered (JSON)
        context BLOB,                      -- its document's @context (JSON)
        retention_deadline INTEGER NOT NULL,
        PRIMARY KEY (enquiry_id, position)
    ) WITHOUT ROWID;
    CREATE INDEX enquiry_answer_events_by_retention ON enquiry_answer_events(retention_deadline);
    CREATE TABLE enquiry_outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('enquiry', 'answer')),
        enquiry_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        agreement_hash TEXT NOT NULL,
        signed BLOB NOT NULL,              -- sealed to the recipient at each attempt
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt INTEGER NOT NULL,
        last_error TEXT,
        created TEXT NOT NULL,
        UNIQUE (kind, enquiry_id)
    );
    CREATE TABLE enquiry_rejections (
        id INTEGER PRIMARY KEY,
        peer TEXT NOT NULL,
        kind TEXT NOT NULL,
        message_id TEXT,
        code TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX enquiry_rejections_by_peer ON enquiry_rejections(peer, at_ms);
    """

    public let database: SerialDatabase

    public init(_ store: EventStore) {
        self.database = store.database
    }

    static func iso(_ date: Date) -> String { AuditLog.isoTime(date) }
    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    static func audit(_ db: Database, actor: String, action: String, _ detail: JSONObject, at: Date) throws {
        try AuditLog.append(db, actor: actor, action: action, detail: JSONWriter.string(.object(detail)), at: at)
    }

    // MARK: - Reading

    static let columns = """
        enquiry_id, role, requester, responder, agreement_hash, purpose, case_reference, uims, status, decision, flow, code, reason,
        created, answer_by, answer_by_ms, delivered_at, answered_at, answer_delivered_at, signed, digest, answer_signed, answer_digest,
        answer_events, last_error, via
        """

    static func read(_ s: Statement) -> EnquiryRecord {
        let uims = (try? JSONParser.parse(s.blob(7)))?.arrayValue?.compactMap(\.stringValue) ?? []
        return EnquiryRecord(
            enquiryID: s.text(0) ?? "", role: EnquiryRecord.Role(rawValue: s.text(1) ?? "") ?? .requester, requester: s.text(2) ?? "",
            responder: s.text(3) ?? "", agreementHash: s.text(4) ?? "", purpose: s.text(5) ?? "", caseReference: s.text(6) ?? "",
            uims: uims, status: s.text(8) ?? "", decision: s.text(9), flow: s.text(10), code: s.text(11), reason: s.text(12),
            created: s.text(13) ?? "", answerBy: s.text(14), answerByMillis: s.isNull(15) ? nil : s.int64(15), deliveredAt: s.text(16),
            answeredAt: s.text(17), answerDeliveredAt: s.text(18), signed: s.blob(19), digest: s.text(20) ?? "",
            answerSigned: s.isNull(21) ? nil : s.blob(21), answerDigest: s.text(22), answerEvents: s.isNull(23) ? nil : Int(s.int64(23)),
            lastError: s.text(24), via: s.text(25))
    }

    /// The enquiry with `id` in `role` (or either role), or nil.
    public func enquiry(_ id: String, role: EnquiryRecord.Role? = nil) throws -> EnquiryRecord? {
        try database.read { db in
            var sql = "SELECT \(Self.columns) FROM enquiries WHERE enquiry_id = ?"
            var arguments: [SQLValue] = [.text(id)]
            if let role { sql += " AND role = ?"; arguments.append(.text(role.rawValue)) }
            return try db.prepare(sql + " ORDER BY role LIMIT 1").bind(arguments).rows(Self.read).first
        }
    }

    /// Enquiries, newest first, optionally of one role and stored status.
    public func enquiries(role: EnquiryRecord.Role? = nil, status: String? = nil, limit: Int = 1000) throws -> [EnquiryRecord] {
        try database.read { db in
            var conditions: [String] = []
            var arguments: [SQLValue] = []
            if let role { conditions.append("role = ?"); arguments.append(.text(role.rawValue)) }
            if let status { conditions.append("status = ?"); arguments.append(.text(status)) }
            let clause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            arguments.append(.integer(Int64(limit)))
            return try db.prepare("SELECT \(Self.columns) FROM enquiries\(clause) ORDER BY created_ms DESC, enquiry_id LIMIT ?")
                .bind(arguments).rows(Self.read)
        }
    }

    /// The events of the answer to enquiry `id` received here, in answer order.
    public func answerEvents(_ id: String) throws -> [AnswerEventRecord] {
        try database.read { db in
            try db.prepare("SELECT position, event_hash_id, declares_error, event, context, retention_deadline FROM enquiry_answer_events WHERE enquiry_id = ? ORDER BY position")
                .bind([.text(id)]).rows { s in
                    AnswerEventRecord(position: Int(s.int64(0)), hashID: s.text(1) ?? "", declaresError: s.int64(2) != 0, event: s.blob(3),
                                      context: s.isNull(4) ? nil : s.blob(4), retentionDeadline: s.int64(5))
                }
        }
    }

    /// Enquiries received from `requester` since `since`, and messages from it refused since
    /// then (rate limiting counts both; refusals for the rate limit itself are not counted).
    public func recentActivity(from requester: String, since: Date) throws -> Int {
        try database.read { db in
            let from = Self.millis(since)
            let a = try db.cached("SELECT count(*) FROM enquiries WHERE role = 'responder' AND requester = ? AND created_ms >= ?")
                .bind([.text(requester), .integer(from)])
            defer { a.reset() }
            let received = try a.step() ? a.int64(0) : 0
            let b = try db.cached("SELECT count(*) FROM enquiry_rejections WHERE peer = ? AND at_ms >= ? AND code <> 'enquiry.rate-limited'")
                .bind([.text(requester), .integer(from)])
            defer { b.reset() }
            let refused = try b.step() ? b.int64(0) : 0
            return Int(received + refused)
        }
    }

    /// Enquiries from `requester` awaiting an officer here.
    public func pendingCount(from requester: String) throws -> Int {
        try database.read { db in
            let s = try db.cached("SELECT count(*) FROM enquiries WHERE role = 'responder' AND requester = ? AND status = 'pending'")
                .bind([.text(requester)])
            defer { s.reset() }
            return try s.step() ? Int(s.int64(0)) : 0
        }
    }

    /// The newest refusals, newest first.
    public func rejections(limit: Int = 20) throws -> [EnquiryRejection] {
        try database.read { db in
            try db.prepare("SELECT peer, kind, message_id, code, reason, at FROM enquiry_rejections ORDER BY id DESC LIMIT ?")
                .bind([.integer(Int64(limit))]).rows { s in
                    EnquiryRejection(peer: s.text(0) ?? "", kind: s.text(1) ?? "", messageID: s.text(2), code: s.text(3) ?? "",
                                     reason: s.text(4) ?? "", at: s.text(5) ?? "")
                }
        }
    }

    // MARK: - Writing

    /// What a new enquiry row holds.
    public struct NewEnquiry: Sendable {
        public var enquiryID: String
        public var role: EnquiryRecord.Role
        public var requester: String
        public var responder: String
        public var agreementHash: String
        public var purpose: String
        public var caseReference: String
        public var uims: [String]
        public var status: String
        public var decision: String?
        public var flow: String?
        public var code: String?
        public var reason: String?
        public var answerByMillis: Int64?
        public var signed: [UInt8]
        public var via: String?

        public init(enquiryID: String, role: EnquiryRecord.Role, requester: String, responder: String, agreementHash: String, purpose: String,
                    caseReference: String, uims: [String], status: String, decision: String? = nil, flow: String? = nil, code: String? = nil,
                    reason: String? = nil, answerByMillis: Int64? = nil, signed: [UInt8], via: String? = nil) {
            self.enquiryID = enquiryID
            self.role = role
            self.requester = requester
            self.responder = responder
            self.agreementHash = agreementHash
            self.purpose = purpose
            self.caseReference = caseReference
            self.uims = uims
            self.status = status
            self.decision = decision
            self.flow = flow
            self.code = code
            self.reason = reason
            self.answerByMillis = answerByMillis
            self.signed = signed
            self.via = via
        }
    }

    static func insert(_ db: Database, _ e: NewEnquiry, now: Date) throws {
        let answerBy: SQLValue = e.answerByMillis.map { .text(Timestamp(epochMilliseconds: $0).canonicalUTC) } ?? .null
        try db.cached("""
            INSERT INTO enquiries(enquiry_id, role, requester, responder, agreement_hash, purpose, case_reference, uims, uim_count, status,
                decision, flow, code, reason, created, created_ms, answer_by, answer_by_ms, signed, digest, via)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).bind([
                .text(e.enquiryID), .text(e.role.rawValue), .text(e.requester), .text(e.responder), .text(e.agreementHash), .text(e.purpose),
                .text(e.caseReference), .blob(JSONWriter.serialize(.array(e.uims.map(JSONValue.string)))), .integer(Int64(e.uims.count)),
                .text(e.status), e.decision.map(SQLValue.text) ?? .null, e.flow.map(SQLValue.text) ?? .null, e.code.map(SQLValue.text) ?? .null,
                e.reason.map(SQLValue.text) ?? .null, .text(iso(now)), .integer(millis(now)), answerBy,
                e.answerByMillis.map(SQLValue.integer) ?? .null, .blob(e.signed), .text(SHA256.hexHash(e.signed)), e.via.map(SQLValue.text) ?? .null,
            ]).run()
    }

    static func enqueue(_ db: Database, kind: String, enquiryID: String, recipient: String, agreementHash: String, signed: [UInt8], now: Date) throws {
        try db.cached("""
            INSERT INTO enquiry_outbox(kind, enquiry_id, recipient, agreement_hash, signed, next_attempt, created) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(kind, enquiry_id) DO NOTHING
            """).bind([.text(kind), .text(enquiryID), .text(recipient), .text(agreementHash), .blob(signed), .integer(millis(now)), .text(iso(now))]).run()
    }

    /// Requester: stores a signed enquiry (status `sent`) and queues it for delivery, audited
    /// `enquiry.send` — one transaction, durable before any attempt.
    public func recordSent(_ e: NewEnquiry, now: Date = Date()) throws {
        try database.write { db in
            try Self.insert(db, e, now: now)
            try Self.enqueue(db, kind: "enquiry", enquiryID: e.enquiryID, recipient: e.responder, agreementHash: e.agreementHash, signed: e.signed, now: now)
            try Self.audit(db, actor: e.requester, action: "enquiry.send", [
                "enquiryID": .string(e.enquiryID), "responder": .string(e.responder), "agreement": .string(e.agreementHash),
                "purpose": .string(e.purpose), "uims": .number(String(e.uims.count)), "enquiryDigest": .string(SHA256.hexHash(e.signed)),
                "caseReferenceDigest": .string(SHA256.hexHash(Array(e.caseReference.utf8))),
            ], at: now)
        }
    }

    /// Whether this node already holds enquiry `id` in `role`: nil, or its digest.
    public func digest(of id: String, role: EnquiryRecord.Role) throws -> String? {
        try database.read { db in
            let s = try db.cached("SELECT digest FROM enquiries WHERE enquiry_id = ? AND role = ?").bind([.text(id), .text(role.rawValue)])
            defer { s.reset() }
            return try s.step() ? s.text(0) : nil
        }
    }

    /// Responder: stores a verified enquiry with the policy's decision, audited `enquiry.receive`.
    /// Fails with `store.enquiry.exists` when the ID is already held (the caller checks digests first).
    public func recordReceived(_ e: NewEnquiry, now: Date = Date()) throws {
        try database.write { db in
            if try Self.exists(db, e.enquiryID, role: .responder) {
                throw StoreError(code: "store.enquiry.exists", reason: "enquiry \(e.enquiryID) is already held")
            }
            try Self.insert(db, e, now: now)
            var detail: JSONObject = [
                "enquiryID": .string(e.enquiryID), "requester": .string(e.requester), "agreement": .string(e.agreementHash),
                "purpose": .string(e.purpose), "uims": .number(String(e.uims.count)), "decision": .string(e.decision ?? ""),
                "enquiryDigest": .string(SHA256.hexHash(e.signed)), "via": .string(e.via ?? "direct"),
            ]
            if let answerBy = e.answerByMillis { detail["answerBy"] = .string(Timestamp(epochMilliseconds: answerBy).canonicalUTC) }
            try Self.audit(db, actor: e.requester, action: "enquiry.receive", detail, at: now)
        }
    }

    static func exists(_ db: Database, _ id: String, role: EnquiryRecord.Role) throws -> Bool {
        let s = try db.cached("SELECT 1 FROM enquiries WHERE enquiry_id = ? AND role = ?").bind([.text(id), .text(role.rawValue)])
        defer { s.reset() }
        return try s.step()
    }

    /// Responder: stores the signed answer (status `answered` or `refused`), queues it for
    /// the requester, audited `enquiry.answer` (`actor`: `policy` or the officer). Only a
    /// `pending` enquiry or one just received can be answered, once.
    public func recordAnswer(enquiryID: String, status: String, code: String?, reason: String?, answerSigned: [UInt8], events: Int,
                             withheld: Int, actor: String, now: Date = Date()) throws {
        try database.write { db in
            let s = try db.cached("SELECT status, requester, agreement_hash FROM enquiries WHERE enquiry_id = ? AND role = 'responder'").bind([.text(enquiryID)])
            guard try s.step() else { s.reset(); throw StoreError(code: "store.enquiry.missing", reason: "no enquiry \(enquiryID) received here") }
            let (current, requester, agreement) = (s.text(0) ?? "", s.text(1) ?? "", s.text(2) ?? "")
            s.reset()
            guard current == "pending" || current == "received" else {
                throw StoreError(code: "store.enquiry.answered", reason: "enquiry \(enquiryID) is already \(current)")
            }
            try db.cached("""
                UPDATE enquiries SET status = ?, code = ?, reason = ?, answered_at = ?, answer_signed = ?, answer_digest = ?, answer_events = ?
                WHERE enquiry_id = ? AND role = 'responder'
                """).bind([.text(status), code.map(SQLValue.text) ?? .null, reason.map(SQLValue.text) ?? .null, .text(Self.iso(now)),
                           .blob(answerSigned), .text(SHA256.hexHash(answerSigned)), .integer(Int64(events)), .text(enquiryID)]).run()
            try Self.enqueue(db, kind: "answer", enquiryID: enquiryID, recipient: requester, agreementHash: agreement, signed: answerSigned, now: now)
            var detail: JSONObject = [
                "enquiryID": .string(enquiryID), "requester": .string(requester), "status": .string(status),
                "events": .number(String(events)), "withheld": .number(String(withheld)), "answerDigest": .string(SHA256.hexHash(answerSigned)),
            ]
            if let code { detail["code"] = .string(code) }
            try Self.audit(db, actor: actor, action: "enquiry.answer", detail, at: now)
        }
    }

    /// Marks enquiry `id` (responder side) `pending` after it was stored as received.
    public func setStatus(_ id: String, role: EnquiryRecord.Role, status: String) throws {
        try database.write { db in
            try db.cached("UPDATE enquiries SET status = ? WHERE enquiry_id = ? AND role = ?").bind([.text(status), .text(id), .text(role.rawValue)]).run()
        }
    }

    /// Records an officer's step on a pending enquiry (`enquiry.approve`), audited.
    public func audit(actor: String, action: String, detail: JSONObject, now: Date = Date()) throws {
        try database.write { db in try Self.audit(db, actor: actor, action: action, detail, at: now) }
    }

    // MARK: - Outbox

    /// Outbox items due at `now`, oldest first.
    public func dueOutbox(now: Date = Date(), limit: Int = 100) throws -> [EnquiryOutboxItem] {
        try database.read { db in
            try db.prepare("SELECT id, kind, enquiry_id, recipient, agreement_hash, signed, attempts, next_attempt, last_error FROM enquiry_outbox WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?")
                .bind([.integer(Self.millis(now)), .integer(Int64(limit))]).rows(Self.readOutbox)
        }
    }

    /// Every outbox item (status displays, tests).
    /// Enquiries by role and shown status (the rule of `EnquiryRecord.status(at:)`: waiting
    /// past `answer_by` counts as `overdue`), for `status` and `/metrics`; counted in SQL,
    /// without reading the records.
    public func statusCounts(now: Date = Date()) throws -> [(role: String, status: String, count: Int)] {
        let nowMillis = Int64(now.timeIntervalSince1970 * 1000)
        return try database.read { db in
            try db.prepare("""
                SELECT role, CASE WHEN answer_by_ms IS NOT NULL AND answer_by_ms < ?
                                   AND ((role = 'requester' AND status IN ('sent', 'delivered')) OR (role = 'responder' AND status = 'pending'))
                             THEN 'overdue' ELSE status END AS shown, count(*)
                FROM enquiries GROUP BY role, shown ORDER BY role, shown
                """).bind([.integer(nowMillis)]).rows { s in (role: s.text(0) ?? "", status: s.text(1) ?? "", count: Int(s.int64(2))) }
        }
    }

    /// Messages waiting in the outbox by kind, and how many of them have failed at least once.
    public func outboxCounts() throws -> [(kind: String, waiting: Int, failing: Int)] {
        try database.read { db in
            try db.prepare("SELECT kind, count(*), sum(attempts > 0) FROM enquiry_outbox GROUP BY kind ORDER BY kind")
                .rows { s in (kind: s.text(0) ?? "", waiting: Int(s.int64(1)), failing: Int(s.int64(2))) }
        }
    }

    public func outbox() throws -> [EnquiryOutboxItem] {
        try database.read { db in
            try db.prepare("SELECT id, kind, enquiry_id, recipient, agreement_hash, signed, attempts, next_attempt, last_error FROM enquiry_outbox ORDER BY id")
                .rows(Self.readOutbox)
        }
    }

    static func readOutbox(_ s: Statement) -> EnquiryOutboxItem {
        EnquiryOutboxItem(id: s.int64(0), kind: s.text(1) ?? "", enquiryID: s.text(2) ?? "", recipient: s.text(3) ?? "", agreementHash: s.text(4) ?? "",
                          signed: s.blob(5), attempts: Int(s.int64(6)), nextAttempt: s.int64(7), lastError: s.text(8))
    }

    /// A failed attempt (the recipient was unreachable): retry at `nextAttempt`. Not audited
    /// for every retry; the error shows in `enquiry show` and status.
    public func recordAttemptFailure(_ item: EnquiryOutboxItem, error: String, nextAttempt: Date) throws {
        try database.write { db in
            try db.cached("UPDATE enquiry_outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?")
                .bind([.integer(Self.millis(nextAttempt)), .text(error), .integer(item.id)]).run()
            let role = item.kind == "enquiry" ? "requester" : "responder"
            try db.cached("UPDATE enquiries SET last_error = ? WHERE enquiry_id = ? AND role = ?").bind([.text(error), .text(item.enquiryID), .text(role)]).run()
        }
    }

    /// The recipient (or the hub, `via`) accepted the message: the outbox item is done.
    /// Requester: `sent` → `delivered` (`enquiry.delivered`); responder: the answer's
    /// delivery time (`enquiry.answer-delivered`).
    public func recordDelivered(_ item: EnquiryOutboxItem, via: String, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("DELETE FROM enquiry_outbox WHERE id = ?").bind([.integer(item.id)]).run()
            guard db.changes > 0 else { return }   // another attempt recorded it first
            if item.kind == "enquiry" {
                try db.cached("UPDATE enquiries SET status = CASE WHEN status = 'sent' THEN 'delivered' ELSE status END, delivered_at = ?, last_error = NULL, via = ? WHERE enquiry_id = ? AND role = 'requester'")
                    .bind([.text(Self.iso(now)), .text(via), .text(item.enquiryID)]).run()
                try Self.audit(db, actor: "enquiry", action: "enquiry.delivered",
                               ["enquiryID": .string(item.enquiryID), "responder": .string(item.recipient), "via": .string(via),
                                "attempts": .number(String(item.attempts + 1))], at: now)
            } else {
                try db.cached("UPDATE enquiries SET answer_delivered_at = ?, last_error = NULL WHERE enquiry_id = ? AND role = 'responder'")
                    .bind([.text(Self.iso(now)), .text(item.enquiryID)]).run()
                try Self.audit(db, actor: "enquiry", action: "enquiry.answer-delivered",
                               ["enquiryID": .string(item.enquiryID), "requester": .string(item.recipient), "via": .string(via),
                                "attempts": .number(String(item.attempts + 1))], at: now)
            }
        }
    }

    /// The recipient refused the message with a stable code: the outbox item is dropped.
    /// Requester: the enquiry is `refused` with that code and reason. Responder: the answer's
    /// refusal is kept as its last error. Audited `enquiry.refused-by-peer` / `answer.refused-by-peer`.
    public func recordRefusedByPeer(_ item: EnquiryOutboxItem, code: String, reason: String, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("DELETE FROM enquiry_outbox WHERE id = ?").bind([.integer(item.id)]).run()
            guard db.changes > 0 else { return }
            if item.kind == "enquiry" {
                try db.cached("UPDATE enquiries SET status = 'refused', code = ?, reason = ?, last_error = NULL WHERE enquiry_id = ? AND role = 'requester' AND status IN ('sent', 'delivered')")
                    .bind([.text(code), .text(reason), .text(item.enquiryID)]).run()
            } else {
                try db.cached("UPDATE enquiries SET last_error = ? WHERE enquiry_id = ? AND role = 'responder'")
                    .bind([.text("\(code): \(reason)"), .text(item.enquiryID)]).run()
            }
            try Self.audit(db, actor: item.recipient, action: "\(item.kind).refused-by-peer",
                           ["enquiryID": .string(item.enquiryID), "peer": .string(item.recipient), "code": .string(code),
                            "attempts": .number(String(item.attempts + 1))], at: now)
        }
    }

    /// A signed refusal notice that came back through a hub after the hub had accepted the
    /// message (docs/hub.md §3): for an `enquiry`, the requester's record becomes `refused`
    /// (only from `sent` or `delivered`, and only when `peer` is its responder); for an
    /// `answer`, the responder's record keeps the reason as its last error. Any waiting outbox
    /// item of that message goes. Audited `<kind>.refused-by-peer` with `via`. Returns false
    /// when no record matched (already answered or refused, or not ours).
    @discardableResult
    public func recordRefusalNotice(kind: String, enquiryID: String, peer: String, code: String, reason: String, via: String,
                                    now: Date = Date()) throws -> Bool {
        try database.write { db in
            if kind == "enquiry" {
                try db.cached("UPDATE enquiries SET status = 'refused', code = ?, reason = ?, last_error = NULL WHERE enquiry_id = ? AND role = 'requester' AND responder = ? AND status IN ('sent', 'delivered')")
                    .bind([.text(code), .text(reason), .text(enquiryID), .text(peer)]).run()
            } else {
                try db.cached("UPDATE enquiries SET last_error = ? WHERE enquiry_id = ? AND role = 'responder' AND requester = ?")
                    .bind([.text("\(code): \(reason)"), .text(enquiryID), .text(peer)]).run()
            }
            guard db.changes > 0 else { return false }
            try db.cached("DELETE FROM enquiry_outbox WHERE kind = ? AND enquiry_id = ? AND recipient = ?")
                .bind([.text(kind), .text(enquiryID), .text(peer)]).run()
            try Self.audit(db, actor: peer, action: "\(kind).refused-by-peer",
                           ["enquiryID": .string(enquiryID), "peer": .string(peer), "code": .string(code), "via": .string(via)], at: now)
            return true
        }
    }

    // MARK: - Answers received (requester)

    /// Requester: stores a verified answer to enquiry `enquiryID` — the signed answer, its
    /// events (kept with the enquiry until `retention`), and the status — audited
    /// `enquiry.answer-received`. Fails with `store.enquiry.answered` when an answer is held already.
    public func recordAnswerReceived(enquiryID: String, status: String, code: String?, reason: String?, answerSigned: [UInt8],
                                     events: [AnswerEventRecord], via: String, now: Date = Date()) throws {
        try database.write { db in
            let s = try db.cached("SELECT answer_digest FROM enquiries WHERE enquiry_id = ? AND role = 'requester'").bind([.text(enquiryID)])
            guard try s.step() else { s.reset(); throw StoreError(code: "store.enquiry.missing", reason: "no enquiry \(enquiryID) sent from here") }
            let held = s.text(0)
            s.reset()
            if held != nil { throw StoreError(code: "store.enquiry.answered", reason: "enquiry \(enquiryID) has its answer already") }
            try db.cached("""
                UPDATE enquiries SET status = ?, code = ?, reason = ?, answered_at = ?, answer_signed = ?, answer_digest = ?, answer_events = ?,
                    delivered_at = coalesce(delivered_at, ?), last_error = NULL
                WHERE enquiry_id = ? AND role = 'requester'
                """).bind([.text(status), code.map(SQLValue.text) ?? .null, reason.map(SQLValue.text) ?? .null, .text(Self.iso(now)),
                           .blob(answerSigned), .text(SHA256.hexHash(answerSigned)), .integer(Int64(events.count)), .text(Self.iso(now)),
                           .text(enquiryID)]).run()
            // The enquiry needs no more delivering once it is answered.
            try db.cached("DELETE FROM enquiry_outbox WHERE kind = 'enquiry' AND enquiry_id = ?").bind([.text(enquiryID)]).run()
            let insert = try db.cached("INSERT INTO enquiry_answer_events(enquiry_id, position, event_hash_id, declares_error, event, context, retention_deadline) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for event in events {
                insert.reset()
                try insert.bind([.text(enquiryID), .integer(Int64(event.position)), .text(event.hashID), .integer(event.declaresError ? 1 : 0),
                                 .blob(event.event), event.context.map(SQLValue.blob) ?? .null, .integer(event.retentionDeadline)]).run()
            }
            var detail: JSONObject = [
                "enquiryID": .string(enquiryID), "status": .string(status), "events": .number(String(events.count)),
                "answerDigest": .string(SHA256.hexHash(answerSigned)), "via": .string(via),
            ]
            if let code { detail["code"] = .string(code) }
            if let deadline = events.map(\.retentionDeadline).max() {
                detail["retentionDeadline"] = .string(Timestamp(epochMilliseconds: deadline).canonicalUTC)
            }
            try Self.audit(db, actor: "enquiry", action: "enquiry.answer-received", detail, at: now)
        }
    }

    /// Records a refused enquiry or answer from `peer`, audited `enquiry.reject` / `answer.reject`.
    /// The table keeps the newest 10,000.
    public func recordRejection(peer: String, kind: String, messageID: String?, code: String, reason: String, now: Date = Date()) throws {
        try database.write { db in
            try db.cached("INSERT INTO enquiry_rejections(peer, kind, message_id, code, reason, at, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind([.text(peer), .text(kind), messageID.map(SQLValue.text) ?? .null, .text(code), .text(reason), .text(Self.iso(now)),
                       .integer(Self.millis(now))]).run()
            try db.cached("DELETE FROM enquiry_rejections WHERE id <= (SELECT max(id) FROM enquiry_rejections) - 10000").run()
            var detail: JSONObject = ["peer": .string(peer), "code": .string(code), "reason": .string(reason)]
            if let messageID { detail["enquiryID"] = .string(messageID) }
            try Self.audit(db, actor: peer, action: "\(kind).reject", detail, at: now)
        }
    }

    // MARK: - Retention

    /// Deletes answer events past their retention deadline, and the signed answers that
    /// carried them (their digests stay), one audit record per enquiry (`enquiry.purge`).
    /// Returns the number of events deleted.
    @discardableResult
    public func purgeExpiredAnswers(now: Date = Date()) throws -> Int {
        try database.write { db in
            let expired = try db.prepare("SELECT enquiry_id, count(*) FROM enquiry_answer_events WHERE retention_deadline <= ? GROUP BY enquiry_id")
                .bind([.integer(Self.millis(now))]).rows { s in (s.text(0) ?? "", Int(s.int64(1))) }
            var total = 0
            for (id, count) in expired {
                try db.cached("DELETE FROM enquiry_answer_events WHERE enquiry_id = ? AND retention_deadline <= ?").bind([.text(id), .integer(Self.millis(now))]).run()
                try db.cached("UPDATE enquiries SET answer_signed = NULL WHERE enquiry_id = ? AND role = 'requester'").bind([.text(id)]).run()
                try Self.audit(db, actor: "retention", action: "enquiry.purge", ["enquiryID": .string(id), "deleted": .number(String(count))], at: now)
                total += count
            }
            return total
        }
    }
}
