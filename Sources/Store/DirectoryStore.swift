import Foundation
import Crypto
import Model

/// One stored directory entry: the signed bytes exactly as published, and what was read
/// from them when they were stored (the signed bytes stay the evidence; readers verify them
/// again, docs/hub.md §2).
public struct StoredDirectoryEntry: Sendable, Equatable {
    public let party: String
    public let version: Int64
    public let issued: String
    public let signed: [UInt8]
    /// SHA-256 of `signed`, lowercase hex.
    public let digest: String
    /// Who delivered it: at a hub the TLS peer that posted it, at a node the hub it was
    /// fetched from (or `self` for the node's own entry).
    public let source: String
    public let storedAt: String
}

/// What `DirectoryStore.storeIfNewer` did.
public enum DirectoryStoreOutcome: Sendable, Equatable {
    /// Stored: there was no entry for the Party, or an older one.
    case stored
    /// The same signed bytes are already held: nothing changed.
    case unchanged
    /// A version at least as high is held.
    case notNewer(current: Int64)
}

/// The directory tables (migration `0006-directory`, docs/hub.md §2). At a hub,
/// `directory_entries` holds what Parties posted; at a Party node, the verified entries it
/// fetched (its cache) and its own. `directory_published` is a Party's own entries, every
/// version, as it signed them. This type knows rows and transactions, not CMS: callers
/// verify before they store and after they read.
public struct DirectoryStore: Sendable {
    public static let schemaSQL = """
    CREATE TABLE directory_entries (
        party TEXT PRIMARY KEY NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        issued TEXT NOT NULL,
        signed BLOB NOT NULL,              -- CMS SignedData (DER) exactly as published; never re-signed
        digest TEXT NOT NULL,              -- SHA-256 of signed
        source TEXT NOT NULL,
        stored_at TEXT NOT NULL
    );
    CREATE TABLE directory_published (
        version INTEGER PRIMARY KEY NOT NULL CHECK (version >= 1),
        signed BLOB NOT NULL,
        digest TEXT NOT NULL,
        created TEXT NOT NULL
    );
    """

    public let database: SerialDatabase

    public init(_ store: EventStore) {
        self.database = store.database
    }

    static func now(_ date: Date) -> String { AuditLog.isoTime(date) }

    static func read(_ s: Statement) -> StoredDirectoryEntry {
        StoredDirectoryEntry(party: s.text(0) ?? "", version: s.int64(1), issued: s.text(2) ?? "", signed: s.blob(3),
                             digest: s.text(4) ?? "", source: s.text(5) ?? "", storedAt: s.text(6) ?? "")
    }

    /// Every stored entry, by Party.
    public func entries() throws -> [StoredDirectoryEntry] {
        try database.read { db in
            try db.prepare("SELECT party, version, issued, signed, digest, source, stored_at FROM directory_entries ORDER BY party").rows(Self.read)
        }
    }

    /// The stored entry of `party`.
    public func entry(party: String) throws -> StoredDirectoryEntry? {
        try database.read { db in
            try db.prepare("SELECT party, version, issued, signed, digest, source, stored_at FROM directory_entries WHERE party = ?")
                .bind([.text(party)]).rows(Self.read).first
        }
    }

    /// Stores `signed` as `party`'s entry when its version is higher than the one held (or
    /// none is), with an audit record `action` by `actor` (Party, version, digest, source;
    /// never the entry). One transaction: the check and the write see the same state.
    public func storeIfNewer(party: String, version: Int64, issued: String, signed: [UInt8], source: String,
                             actor: String, action: String, now: Date = Date()) throws -> DirectoryStoreOutcome {
        let digest = SHA256.hexHash(signed)
        return try database.write { db in
            let held = try db.cached("SELECT version, digest FROM directory_entries WHERE party = ?").bind([.text(party)])
            var current: (version: Int64, digest: String)?
            if try held.step() { current = (held.int64(0), held.text(1) ?? "") }
            held.reset()
            if let current {
                if current.digest == digest { return .unchanged }
                if current.version >= version { return .notNewer(current: current.version) }
            }
            try db.cached("""
                INSERT INTO directory_entries(party, version, issued, signed, digest, source, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(party) DO UPDATE SET version = excluded.version, issued = excluded.issued, signed = excluded.signed,
                    digest = excluded.digest, source = excluded.source, stored_at = excluded.stored_at
                """).bind([.text(party), .integer(version), .text(issued), .blob(signed), .text(digest), .text(source), .text(Self.now(now))]).run()
            var detail: JSONObject = ["party": .string(party), "version": .number(String(version)), "sha256": .string(digest),
                                      "source": .string(source)]
            if let current { detail["replaces"] = .number(String(current.version)) }
            try AuditLog.append(db, actor: actor, action: action, detail: JSONWriter.string(.object(detail)), at: now)
            return .stored
        }
    }

    /// Audits a refused or ignored entry: who sent it, the code and reason, its digest and
    /// size (never its bytes).
    public func recordRefusal(actor: String, action: String, code: String, reason: String, party: String?, signed: [UInt8],
                              now: Date = Date()) throws {
        var detail: JSONObject = ["code": .string(code), "reason": .string(reason), "sha256": .string(SHA256.hexHash(signed)),
                                  "bytes": .number(String(signed.count))]
        if let party { detail["party"] = .string(party) }
        try database.write { db in
            _ = try AuditLog.append(db, actor: actor, action: action, detail: JSONWriter.string(.object(detail)), at: now)
        }
    }

    // MARK: - The node's own entries

    /// The highest version this node has signed, 0 before the first.
    public func lastPublishedVersion() throws -> Int64 {
        try database.read { db in
            let statement = try db.prepare("SELECT COALESCE(MAX(version), 0) FROM directory_published")
            _ = try statement.step()
            return statement.int64(0)
        }
    }

    /// Records an entry this node signed (every version is kept), audited as `directory.publish`.
    public func recordPublished(version: Int64, signed: [UInt8], hubs: [String], now: Date = Date()) throws {
        let digest = SHA256.hexHash(signed)
        try database.write { db in
            try db.cached("INSERT INTO directory_published(version, signed, digest, created) VALUES (?, ?, ?, ?)")
                .bind([.integer(version), .blob(signed), .text(digest), .text(Self.now(now))]).run()
            let detail: JSONObject = ["version": .number(String(version)), "sha256": .string(digest),
                                      "hubs": .array(hubs.map(JSONValue.string))]
            try AuditLog.append(db, actor: "operator", action: "directory.publish", detail: JSONWriter.string(.object(detail)), at: now)
        }
    }

    /// The signed bytes of this node's own entry `version`.
    public func published(version: Int64) throws -> [UInt8]? {
        try database.read { db in
            try db.prepare("SELECT signed FROM directory_published WHERE version = ?").bind([.integer(version)]).rows { $0.blob(0) }.first
        }
    }
}
