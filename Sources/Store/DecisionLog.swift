import Foundation
import Model

/// One recorded policy decision (issue 6 item 7): an outbound permit/deny of one event to a
/// Party, or an inbound accept/reject of a received delta. Store does not interpret it.
public struct DecisionRecord: Sendable, Equatable {
    public enum Direction: String, Sendable, CaseIterable {
        case outbound
        case inbound
    }

    public enum Outcome: String, Sendable, CaseIterable {
        /// Outbound: the event goes (redacted) to the counterpart.
        case permit
        /// Outbound: the event does not go.
        case deny
        /// Inbound: the whole delta is accepted.
        case accept
        /// Inbound: the whole delta is rejected.
        case reject
    }

    /// Row number, increasing in recording order (0 before recording).
    public let seq: Int64
    public let direction: Direction
    /// When the decision was made, ISO 8601 UTC with milliseconds.
    public let at: String
    /// The agreement decided under; "" when no stored agreement names both Parties.
    public let agreementHash: String
    /// The flow that carried (or was to carry) the data, if any.
    public let flowID: String?
    /// The recipient (outbound) or the sender (inbound), as a Party URN.
    public let counterpart: String
    /// The event decided on (outbound), or the event that violated the agreement (inbound), if any.
    public let eventHashID: String?
    public let outcome: Outcome
    /// JSON text: an array of reason strings (the first one is the summary).
    public let reasons: String

    public init(seq: Int64 = 0, direction: Direction, at: String, agreementHash: String, flowID: String?, counterpart: String,
                eventHashID: String?, outcome: Outcome, reasons: String) {
        self.seq = seq
        self.direction = direction
        self.at = at
        self.agreementHash = agreementHash
        self.flowID = flowID
        self.counterpart = counterpart
        self.eventHashID = eventHashID
        self.outcome = outcome
        self.reasons = reasons
    }

    /// The reasons as strings (empty if the stored text is not a JSON array of strings).
    public var reasonList: [String] {
        ((try? JSONParser.parse(Array(reasons.utf8)))?.arrayValue ?? []).compactMap(\.stringValue)
    }
}

/// Which decisions to list; every condition present must hold. Newest first.
public struct DecisionQuery: Sendable, Equatable {
    /// An agreement hash or a prefix of one.
    public var agreement: String?
    public var counterpart: String?
    public var direction: DecisionRecord.Direction?
    public var outcome: DecisionRecord.Outcome?
    /// Decisions at or after this instant.
    public var since: Date?
    public var limit: Int = 100

    public init(agreement: String? = nil, counterpart: String? = nil, direction: DecisionRecord.Direction? = nil,
                outcome: DecisionRecord.Outcome? = nil, since: Date? = nil, limit: Int = 100) {
        self.agreement = agreement
        self.counterpart = counterpart
        self.direction = direction
        self.outcome = outcome
        self.since = since
        self.limit = limit
    }
}

/// The node's record of every outbound and inbound policy decision (append-only).
public struct DecisionLog: Sendable {
    /// The table, created by migration `0003-decisions`.
    public static let schemaSQL = """
    CREATE TABLE decisions (
        seq INTEGER PRIMARY KEY,
        direction TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
        at TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        agreement_hash TEXT NOT NULL,
        flow_id TEXT,
        counterpart TEXT NOT NULL,      -- Party URN: recipient (outbound) or sender (inbound)
        event_hash_id TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('permit', 'deny', 'accept', 'reject')),
        reasons TEXT NOT NULL           -- JSON array of strings
    );
    CREATE INDEX decisions_by_agreement ON decisions(agreement_hash, seq);
    CREATE INDEX decisions_by_counterpart ON decisions(counterpart, seq);
    CREATE INDEX decisions_by_time ON decisions(at_ms);
    CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
    """

    public let database: SerialDatabase

    public init(_ store: EventStore) {
        self.database = store.database
    }

    /// Records decisions made at `now` (one transaction); returns them with their sequence numbers.
    @discardableResult
    public func record(_ records: [DecisionRecord], now: Date = Date()) throws -> [DecisionRecord] {
        let ms = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        let at = Timestamp(epochMilliseconds: ms).canonicalUTC
        return try database.write { db in
            var out: [DecisionRecord] = []
            for r in records {
                try db.cached("INSERT INTO decisions(direction, at, at_ms, agreement_hash, flow_id, counterpart, event_hash_id, outcome, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                    .bind([.text(r.direction.rawValue), .text(at), .integer(ms), .text(r.agreementHash), r.flowID.map(SQLValue.text) ?? .null,
                           .text(r.counterpart), r.eventHashID.map(SQLValue.text) ?? .null, .text(r.outcome.rawValue), .text(r.reasons)]).run()
                out.append(DecisionRecord(seq: db.lastInsertRowID, direction: r.direction, at: at, agreementHash: r.agreementHash, flowID: r.flowID,
                                          counterpart: r.counterpart, eventHashID: r.eventHashID, outcome: r.outcome, reasons: r.reasons))
            }
            return out
        }
    }

    /// The decisions matching `query`, newest first.
    public func decisions(matching query: DecisionQuery) throws -> [DecisionRecord] {
        var clauses: [String] = []
        var values: [SQLValue] = []
        if let agreement = query.agreement {
            clauses.append("substr(agreement_hash, 1, ?) = ?")
            values += [.integer(Int64(agreement.utf8.count)), .text(agreement.lowercased())]
        }
        if let counterpart = query.counterpart { clauses.append("counterpart = ?"); values.append(.text(counterpart)) }
        if let direction = query.direction { clauses.append("direction = ?"); values.append(.text(direction.rawValue)) }
        if let outcome = query.outcome { clauses.append("outcome = ?"); values.append(.text(outcome.rawValue)) }
        if let since = query.since {
            clauses.append("at_ms >= ?")
            values.append(.integer(Int64((since.timeIntervalSince1970 * 1000).rounded(.up))))
        }
        values.append(.integer(Int64(max(0, query.limit))))
        let sql = "SELECT seq, direction, at, agreement_hash, flow_id, counterpart, event_hash_id, outcome, reasons FROM decisions"
            + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")) + " ORDER BY seq DESC LIMIT ?"
        return try database.read { db in
            try db.prepare(sql).bind(values).rows { row in
                DecisionRecord(seq: row.int64(0), direction: DecisionRecord.Direction(rawValue: row.text(1) ?? "") ?? .outbound, at: row.text(2) ?? "",
                               agreementHash: row.text(3) ?? "", flowID: row.isNull(4) ? nil : row.text(4), counterpart: row.text(5) ?? "",
                               eventHashID: row.isNull(6) ? nil : row.text(6), outcome: DecisionRecord.Outcome(rawValue: row.text(7) ?? "") ?? .deny,
                               reasons: row.text(8) ?? "[]")
            }
        }
    }
}
