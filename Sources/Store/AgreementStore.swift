import Foundation
import Model

/// A stored sharing agreement: its canonical bytes (JCS, without signatures) and the few
/// columns the node looks agreements up by. Store does not interpret agreements (Policy does).
public struct StoredAgreement: Sendable, Equatable {
    /// Lower-case hex SHA-256 of `body` (the agreement's identity).
    public let hash: String
    public let id: String
    public let version: Int
    /// Hash of the version this one amends, if any.
    public let supersedes: String?
    /// Party URNs, in the agreement's order.
    public let parties: [String]
    /// The canonical bytes every Party signs.
    public let body: [UInt8]
    public let importedAt: String

    public init(hash: String, id: String, version: Int, supersedes: String?, parties: [String], body: [UInt8], importedAt: String = "") {
        self.hash = hash
        self.id = id
        self.version = version
        self.supersedes = supersedes
        self.parties = parties
        self.body = body
        self.importedAt = importedAt
    }
}

/// One verified Party signature over an agreement's canonical bytes (detached CMS, DER).
public struct StoredAgreementSignature: Sendable, Equatable {
    public let agreementHash: String
    public let party: String
    /// The CMS signingTime, ISO 8601 UTC.
    public let signingTime: String
    public let cms: [UInt8]

    public init(agreementHash: String, party: String, signingTime: String, cms: [UInt8]) {
        self.agreementHash = agreementHash
        self.party = party
        self.signingTime = signingTime
        self.cms = cms
    }
}

/// A signed termination of an agreement by one Party (attached CMS over a small JSON record).
public struct StoredAgreementTermination: Sendable, Equatable {
    public let agreementHash: String
    public let party: String
    /// When the termination takes effect, ISO 8601 UTC.
    public let effective: String
    public let reason: String
    public let signingTime: String
    public let cms: [UInt8]

    public init(agreementHash: String, party: String, effective: String, reason: String, signingTime: String, cms: [UInt8]) {
        self.agreementHash = agreementHash
        self.party = party
        self.effective = effective
        self.reason = reason
        self.signingTime = signingTime
        self.cms = cms
    }
}

/// What an import changed: whether the agreement was new, and which Parties' signatures were added.
public struct AgreementImportResult: Sendable, Equatable {
    public let newAgreement: Bool
    public let addedSignatures: [String]
}

/// Agreements, their signatures and terminations, kept in the node's store. Callers verify
/// before storing; every change is one durable transaction with its audit record.
public struct AgreementStore: Sendable {
    /// The tables, created by migration `0002-agreements`.
    public static let schemaSQL = """
    CREATE TABLE agreements (
        hash TEXT PRIMARY KEY NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        supersedes TEXT,
        parties TEXT NOT NULL,          -- space-separated Party URNs
        body BLOB NOT NULL,             -- canonical (JCS) bytes without signatures
        imported_at TEXT NOT NULL
    );
    CREATE INDEX agreements_by_id ON agreements(id, version);
    CREATE INDEX agreements_by_supersedes ON agreements(supersedes) WHERE supersedes IS NOT NULL;
    CREATE TABLE agreement_signatures (
        agreement_hash TEXT NOT NULL REFERENCES agreements(hash),
        party TEXT NOT NULL,
        signing_time TEXT NOT NULL,
        cms BLOB NOT NULL,              -- detached CMS SignedData, DER
        PRIMARY KEY (agreement_hash, party)
    ) WITHOUT ROWID;
    CREATE TABLE agreement_terminations (
        agreement_hash TEXT NOT NULL REFERENCES agreements(hash),
        party TEXT NOT NULL,
        effective TEXT NOT NULL,
        reason TEXT NOT NULL,
        signing_time TEXT NOT NULL,
        cms BLOB NOT NULL,              -- attached CMS SignedData over the termination record, DER
        PRIMARY KEY (agreement_hash, party)
    ) WITHOUT ROWID;
    """

    public let database: SerialDatabase

    public init(_ store: EventStore) {
        self.database = store.database
    }

    /// Stores the agreement (if new) and the signatures not yet held, with one audit record
    /// when anything changed. Re-importing the same agreement and signatures changes nothing.
    public func importAgreement(_ agreement: StoredAgreement, signatures: [StoredAgreementSignature], actor: String,
                                now: Date = Date()) throws -> AgreementImportResult {
        try database.write { db in
            let exists = try db.cached("SELECT 1 FROM agreements WHERE hash = ?").bind([.text(agreement.hash)])
            let known = try exists.step()
            exists.reset()
            if !known {
                try db.cached("INSERT INTO agreements(hash, id, version, supersedes, parties, body, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                    .bind([.text(agreement.hash), .text(agreement.id), .integer(Int64(agreement.version)),
                           agreement.supersedes.map(SQLValue.text) ?? .null, .text(agreement.parties.joined(separator: " ")),
                           .blob(agreement.body), .text(AuditLog.isoTime(now))]).run()
            }
            var added: [String] = []
            for signature in signatures where signature.agreementHash == agreement.hash {
                try db.cached("INSERT OR IGNORE INTO agreement_signatures(agreement_hash, party, signing_time, cms) VALUES (?, ?, ?, ?)")
                    .bind([.text(signature.agreementHash), .text(signature.party), .text(signature.signingTime), .blob(signature.cms)]).run()
                if db.changes > 0 { added.append(signature.party) }
            }
            if !known || !added.isEmpty {
                let detail: JSONValue = .object([
                    "agreement": .string(agreement.hash), "id": .string(agreement.id), "version": .number(String(agreement.version)),
                    "new": .bool(!known), "signatures": .array(added.map(JSONValue.string)),
                ])
                try AuditLog.append(db, actor: actor, action: "agreement.import", detail: JSONWriter.string(detail), at: now)
            }
            return AgreementImportResult(newAgreement: !known, addedSignatures: added)
        }
    }

    /// Stores a termination (the agreement must be stored; one per Party) with its audit record.
    public func terminate(_ termination: StoredAgreementTermination, actor: String, now: Date = Date()) throws {
        try database.write { db in
            let exists = try db.cached("SELECT 1 FROM agreements WHERE hash = ?").bind([.text(termination.agreementHash)])
            let known = try exists.step()
            exists.reset()
            guard known else { throw StoreError(code: "store.agreement.unknown", reason: "no stored agreement has hash \(termination.agreementHash)") }
            try db.cached("INSERT OR IGNORE INTO agreement_terminations(agreement_hash, party, effective, reason, signing_time, cms) VALUES (?, ?, ?, ?, ?, ?)")
                .bind([.text(termination.agreementHash), .text(termination.party), .text(termination.effective), .text(termination.reason),
                       .text(termination.signingTime), .blob(termination.cms)]).run()
            guard db.changes > 0 else {
                throw StoreError(code: "store.agreement.terminated", reason: "\(termination.party) has already terminated agreement \(termination.agreementHash)")
            }
            let detail: JSONValue = .object(["agreement": .string(termination.agreementHash), "party": .string(termination.party),
                                             "effective": .string(termination.effective)])
            try AuditLog.append(db, actor: actor, action: "agreement.terminate", detail: JSONWriter.string(detail), at: now)
        }
    }

    /// Stores another Party's verified termination with an audit record
    /// (`agreement.import-termination`). Returns false, changing nothing, when the same record is
    /// already held; a different record by the same Party is refused.
    public func importTermination(_ termination: StoredAgreementTermination, actor: String, now: Date = Date()) throws -> Bool {
        try database.write { db in
            let exists = try db.cached("SELECT 1 FROM agreements WHERE hash = ?").bind([.text(termination.agreementHash)])
            let known = try exists.step()
            exists.reset()
            guard known else { throw StoreError(code: "store.agreement.unknown", reason: "no stored agreement has hash \(termination.agreementHash)") }
            let held = try db.prepare("SELECT effective, cms FROM agreement_terminations WHERE agreement_hash = ? AND party = ?")
                .bind([.text(termination.agreementHash), .text(termination.party)]).rows { row in (row.text(0) ?? "", row.blob(1)) }
            if let (effective, cms) = held.first {
                if cms == termination.cms { return false }
                throw StoreError(code: "store.agreement.terminated",
                                 reason: "\(termination.party) has already terminated agreement \(termination.agreementHash) with another record (effective \(effective))")
            }
            try db.cached("INSERT INTO agreement_terminations(agreement_hash, party, effective, reason, signing_time, cms) VALUES (?, ?, ?, ?, ?, ?)")
                .bind([.text(termination.agreementHash), .text(termination.party), .text(termination.effective), .text(termination.reason),
                       .text(termination.signingTime), .blob(termination.cms)]).run()
            let detail: JSONValue = .object(["agreement": .string(termination.agreementHash), "party": .string(termination.party),
                                             "effective": .string(termination.effective), "signingTime": .string(termination.signingTime)])
            try AuditLog.append(db, actor: actor, action: "agreement.import-termination", detail: JSONWriter.string(detail), at: now)
            return true
        }
    }

    /// Appends an audit record (e.g. for signing, which stores nothing).
    public func audit(actor: String, action: String, detail: JSONObject, now: Date = Date()) throws {
        try database.write { db in
            _ = try AuditLog.append(db, actor: actor, action: action, detail: JSONWriter.string(.object(detail)), at: now)
        }
    }

    /// Every stored agreement, by id then version.
    /// Row counts of the three tables: they are only ever inserted into, so any change to
    /// what agreement statuses are built from changes this (`SharedMemo`'s fingerprint).
    public func fingerprint() throws -> [String] {
        try database.read { db in
            let s = try db.cached("""
                SELECT (SELECT count(*) FROM agreements), (SELECT count(*) FROM agreement_signatures),
                       (SELECT count(*) FROM agreement_terminations)
                """)
            defer { s.reset() }
            guard try s.step() else { return [] }
            return [String(s.int64(0)), String(s.int64(1)), String(s.int64(2))]
        }
    }

    public func agreements() throws -> [StoredAgreement] {
        try database.read { db in
            try db.prepare("SELECT hash, id, version, supersedes, parties, body, imported_at FROM agreements ORDER BY id, version, hash").rows(Self.agreement)
        }
    }

    /// The stored agreement with this hash, if any.
    public func agreement(hash: String) throws -> StoredAgreement? {
        try database.read { db in
            try db.prepare("SELECT hash, id, version, supersedes, parties, body, imported_at FROM agreements WHERE hash = ?")
                .bind([.text(hash)]).rows(Self.agreement).first
        }
    }

    /// The signatures held for an agreement.
    public func signatures(of hash: String) throws -> [StoredAgreementSignature] {
        try database.read { db in
            try db.prepare("SELECT agreement_hash, party, signing_time, cms FROM agreement_signatures WHERE agreement_hash = ? ORDER BY party")
                .bind([.text(hash)]).rows { row in
                    StoredAgreementSignature(agreementHash: row.text(0) ?? "", party: row.text(1) ?? "", signingTime: row.text(2) ?? "", cms: row.blob(3))
                }
        }
    }

    /// The terminations held for an agreement.
    public func terminations(of hash: String) throws -> [StoredAgreementTermination] {
        try database.read { db in
            try db.prepare("SELECT agreement_hash, party, effective, reason, signing_time, cms FROM agreement_terminations WHERE agreement_hash = ? ORDER BY party")
                .bind([.text(hash)]).rows { row in
                    StoredAgreementTermination(agreementHash: row.text(0) ?? "", party: row.text(1) ?? "", effective: row.text(2) ?? "",
                                               reason: row.text(3) ?? "", signingTime: row.text(4) ?? "", cms: row.blob(5))
                }
        }
    }

    static func agreement(_ row: Statement) -> StoredAgreement {
        StoredAgreement(hash: row.text(0) ?? "", id: row.text(1) ?? "", version: Int(row.int64(2)), supersedes: row.isNull(3) ? nil : row.text(3),
                        parties: (row.text(4) ?? "").split(separator: " ").map(String.init), body: row.blob(5), importedAt: row.text(6) ?? "")
    }
}
