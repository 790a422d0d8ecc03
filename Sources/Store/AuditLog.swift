import Foundation
import Crypto
import Model

/// One audit record. `detail` is JSON text describing the action; it never carries event
/// payloads, keys or secrets (digests and counts instead).
public struct AuditRecord: Sendable, Equatable, Codable {
    public let seq: Int64
    public let at: String
    public let actor: String
    public let action: String
    public let detail: String
    public let previousHash: String
    public let hash: String

    /// The hash that links this record to its predecessor:
    /// SHA-256 over `previousHash`, then seq, time, actor, action and detail, each
    /// length-prefixed so no two different records share an input.
    public static func chainHash(previous: String, seq: Int64, at: String, actor: String, action: String, detail: String) -> String {
        var hasher = SHA256.Hasher()
        for field in [previous, String(seq), at, actor, action, detail] {
            let bytes = Array(field.utf8)
            hasher.update(Array(String(bytes.count).utf8) + [0x3A])
            hasher.update(bytes)
        }
        return hex(hasher.finalize())
    }
}

/// The outcome of `AuditLog.verify`: the number of good records, or the first bad one.
public struct AuditVerification: Sendable, Equatable {
    public let recordCount: Int
    /// The sequence number of the first record that fails, if any.
    public let firstBadSeq: Int64?
    /// Why it fails.
    public let problem: String?
    public var isIntact: Bool { problem == nil }
}

/// The append-only, hash-chained audit log (DESIGN §11).
///
/// Each record's hash covers the previous record's hash, so editing a record breaks its
/// own hash and deleting one breaks the sequence or the link of the next. The sequence
/// number and hash of the newest record are also kept in `node_settings` so removing the
/// newest records is detected too. Triggers refuse UPDATE and DELETE through SQL; `verify`
/// catches whoever bypasses them with another tool.
public enum AuditLog {
    static let genesis = String(repeating: "0", count: 64)

    /// Appends a record inside the caller's transaction and returns it.
    @discardableResult
    public static func append(_ db: Database, actor: String, action: String, detail: String, at date: Date = Date()) throws -> AuditRecord {
        let last = try db.cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        var previous = genesis
        var seq: Int64 = 1
        if try last.step() {
            seq = last.int64(0) + 1
            previous = last.text(1) ?? genesis
        }
        last.reset()
        let at = isoTime(date)
        let hash = AuditRecord.chainHash(previous: previous, seq: seq, at: at, actor: actor, action: action, detail: detail)
        try db.cached("INSERT INTO audit_log(seq, at, actor, action, detail, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind([.integer(seq), .text(at), .text(actor), .text(action), .text(detail), .text(previous), .text(hash)]).run()
        try db.cached("INSERT INTO node_settings(key, value) VALUES ('audit_head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind([.text("\(seq):\(hash)")]).run()
        return AuditRecord(seq: seq, at: at, actor: actor, action: action, detail: detail, previousHash: previous, hash: hash)
    }

    /// Walks the whole chain and reports the first record that is not as it was written.
    public static func verify(_ db: Database) throws -> AuditVerification {
        let statement = try db.prepare("SELECT seq, at, actor, action, detail, previous_hash, hash FROM audit_log ORDER BY seq")
        var expectedSeq: Int64 = 1
        var previous = genesis
        var count = 0
        while try statement.step() {
            let seq = statement.int64(0)
            let record = AuditRecord(seq: seq, at: statement.text(1) ?? "", actor: statement.text(2) ?? "", action: statement.text(3) ?? "",
                                     detail: statement.text(4) ?? "", previousHash: statement.text(5) ?? "", hash: statement.text(6) ?? "")
            if seq != expectedSeq {
                return AuditVerification(recordCount: count, firstBadSeq: expectedSeq, problem: "record \(expectedSeq) is missing (the next record present is \(seq))")
            }
            if record.previousHash != previous {
                return AuditVerification(recordCount: count, firstBadSeq: seq, problem: "record \(seq) does not link to record \(seq - 1): a record before it was changed or removed")
            }
            let recomputed = AuditRecord.chainHash(previous: previous, seq: seq, at: record.at, actor: record.actor, action: record.action, detail: record.detail)
            if recomputed != record.hash {
                return AuditVerification(recordCount: count, firstBadSeq: seq, problem: "record \(seq) (\(record.action)) was altered: its content no longer matches its hash")
            }
            previous = record.hash
            expectedSeq += 1
            count += 1
        }
        let head = try db.prepare("SELECT value FROM node_settings WHERE key = 'audit_head'")
        if try head.step(), let value = head.text(0) {
            let lastSeq = Int64(value.split(separator: ":").first ?? "") ?? -1
            if lastSeq != expectedSeq - 1 || !value.hasSuffix(":" + previous) {
                return AuditVerification(recordCount: count, firstBadSeq: expectedSeq - 1 == lastSeq ? lastSeq : min(lastSeq, expectedSeq), problem: "the newest record should be \(lastSeq) but the log ends at \(expectedSeq - 1): records were removed from the end")
            }
        } else if count > 0 {
            return AuditVerification(recordCount: count, firstBadSeq: 1, problem: "the audit head marker is missing")
        }
        return AuditVerification(recordCount: count, firstBadSeq: nil, problem: nil)
    }

    /// The newest `limit` records, newest first.
    public static func recent(_ db: Database, limit: Int) throws -> [AuditRecord] {
        try db.prepare("SELECT seq, at, actor, action, detail, previous_hash, hash FROM audit_log ORDER BY seq DESC LIMIT ?")
            .bind([.integer(Int64(limit))])
            .rows { s in
                AuditRecord(seq: s.int64(0), at: s.text(1) ?? "", actor: s.text(2) ?? "", action: s.text(3) ?? "",
                            detail: s.text(4) ?? "", previousHash: s.text(5) ?? "", hash: s.text(6) ?? "")
            }
    }

    public static func isoTime(_ date: Date) -> String {
        Timestamp(epochMilliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down))).canonicalUTC
    }
}

