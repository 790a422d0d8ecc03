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

/// The node's secret for sealing its audit log: 32 random bytes in a file of their own beside
/// the database (`<database>.audit-key`, mode 0600, this user's), made when the store file
/// is created (or by `fedtrace audit seal` for a store from before the seals). Back it up
/// with the node's keys, not with the database: without it the log can be read but neither
/// verified nor appended to; with it anyone can forge the log.
public struct AuditKey: Sendable {
    static let length = 32
    let bytes: [UInt8]

    init(_ bytes: [UInt8], path: String) throws(StoreError) {
        guard bytes.count == Self.length else {
            throw StoreError(code: "store.audit.key-invalid", reason: "\(path): an audit key is \(Self.length) bytes, this file has \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Where the audit key of the database at `databasePath` is kept.
    public static func path(forDatabaseAt databasePath: String) -> String { databasePath + ".audit-key" }

    /// The seal of record `seq` with chain hash `hash`.
    func recordSeal(seq: Int64, hash: String) -> String { seal("fedtrace-audit-record", seq, hash) }
    /// The seal of the head marker naming record `seq` with chain hash `hash`; a different
    /// domain from the records', so a record's seal cannot stand in for an older head.
    func headSeal(seq: Int64, hash: String) -> String { seal("fedtrace-audit-head", seq, hash) }
    /// The seal of the anchor file naming record `seq` (a third domain).
    func anchorSeal(seq: Int64, hash: String) -> String { seal("fedtrace-audit-anchor", seq, hash) }

    /// Where the audit anchor of the database at `databasePath` is kept.
    public static func anchorPath(forDatabaseAt databasePath: String) -> String { databasePath + ".audit-anchor" }

    private func seal(_ domain: String, _ seq: Int64, _ hash: String) -> String {
        hex(HMACSHA256.authenticationCode(key: bytes, message: Array("\(domain)\u{0}\(seq)\u{0}\(hash)".utf8)))
    }
}

/// The append-only, hash-chained, sealed audit log (DESIGN §11).
///
/// Contract:
/// - Each record's hash covers the previous record's hash, so editing a record breaks its
///   own hash and deleting one breaks the sequence or the link of the next.
/// - Each record is sealed (`audit_seals`): HMAC-SHA256 of its sequence number and hash
///   under the node's `AuditKey`, which is not in the database. Whoever edits the database
///   with another tool can recompute the chain but not the seals, so a record changed and
///   re-chained is named by its seal.
/// - The head marker (`node_settings.audit_head` = "seq:hash", the newest record, "0:" and
///   the genesis hash for an empty log) is sealed too (`audit_head_seal`), so removing
///   records from the end, or the whole log, is detected: the marker cannot be moved back
///   without the key.
/// - Triggers refuse UPDATE and DELETE through SQL; `verify` catches whoever bypasses them.
///
/// - The anchor (`<database>.audit-anchor`, mode 0600, outside the database) holds the
///   newest record's sequence number and hash, sealed (a third domain), rewritten after
///   each commit that appended records, never moved back. An older sealed head marker put
///   back into the database (the WAL file keeps the `node_settings` page of every commit
///   since its last restart, and every backup holds the head of its day) no longer hides
///   records cut from the end: the anchor names a later record. The anchor may lag the log
///   (a crash between commit and its write), never lead it. After a backup is restored,
///   the anchor names records the restored log does not have: `reanchor` (`fedtrace audit
///   reanchor`) moves it to the log's head, and audits that it did.
///
/// What it cannot catch: someone holding the key file (it is as sensitive as the node's
/// private keys), or someone who can also put back an older anchor file (write access to
/// the data directory as the node's user).
///
/// Every append runs on a connection with the key (`EventStore` loads it); without it an
/// append fails rather than write an unsealed record.
public enum AuditLog {
    static let genesis = String(repeating: "0", count: 64)

    /// Appends a record inside the caller's transaction and returns it.
    @discardableResult
    public static func append(_ db: Database, actor: String, action: String, detail: String, at date: Date = Date()) throws -> AuditRecord {
        guard let key = db.auditKey else { throw keyMissing(db) }
        if !db.skipAnchorCheck {
            if let problem = try anchorProblem(db) {
                throw StoreError(code: "store.audit.cut", reason: "\(problem); nothing more is audited until this is looked into ('fedtrace audit verify'; only after restoring a backup, 'fedtrace audit reanchor')")
            }
            if let failure = db.anchorFailure {
                // The last anchor write failed: catch up first, or refuse (a stalled anchor lets a cut back to it pass).
                let head = try db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").rows { ($0.int64(0), $0.text(1) ?? "") }.first
                if let head, !writeAnchor(db, seq: head.0, hash: head.1) {
                    throw StoreError(code: "store.audit.anchor", reason: "cannot write the audit anchor (\(db.anchorFailure ?? failure)): nothing more is audited until it can be written")
                }
            }
        }
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
        try db.cached("INSERT INTO audit_seals(seq, seal) VALUES (?, ?)").bind([.integer(seq), .text(key.recordSeal(seq: seq, hash: hash))]).run()
        try setHead(db, seq: seq, hash: hash, key: key)
        db.pendingAnchor = (seq, hash)
        return AuditRecord(seq: seq, at: at, actor: actor, action: action, detail: detail, previousHash: previous, hash: hash)
    }

    private static func setHead(_ db: Database, seq: Int64, hash: String, key: AuditKey) throws {
        let upsert = try db.cached("INSERT INTO node_settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        try upsert.bind([.text("audit_head"), .text("\(seq):\(hash)")]).run()
        upsert.reset()
        try upsert.bind([.text("audit_head_seal"), .text(key.headSeal(seq: seq, hash: hash))]).run()
    }

    private static func keyMissing(_ db: Database) -> StoreError {
        let path = db.auditKeyPath ?? "the audit key file"
        if (try? isSealed(db)) == false {
            return StoreError(code: "store.audit.unsealed",
                              reason: "the audit log is not sealed yet (a store from before audit seals): run 'fedtrace audit seal --data DIR' once")
        }
        return StoreError(code: "store.audit.key-missing",
                          reason: "\(path) is missing: the audit log is sealed with it and cannot be verified or appended to; restore the file from the node's key backup")
    }

    /// Loads the audit key of the database at `databasePath` into `database`'s connection.
    ///
    /// A key is made only for a database file this open created (`isNewFile`), and only
    /// where no anchor shows that a store was here before: never because the database looks
    /// empty or unsealed, which whoever edits it could arrange. A store from before the
    /// seals gets its key from `sealExisting` (`fedtrace audit seal`), an operator's
    /// deliberate step. A key that is missing is never replaced: verify and append say so.
    ///
    /// The store's directory must not be writable by group or others (unless sticky):
    /// whoever can rename files there could swap the key or the anchor for older ones.
    ///
    /// A new key is written to `<key>.pending` and renamed into place once the seals are
    /// committed. A `.pending` found at open is put in place only if the log is already
    /// sealed with it (the crash came after the commit); it never seals anything itself, so
    /// renaming the real key to `.pending` gets nothing sealed.
    static func openSeals(_ database: SerialDatabase, databasePath: String, isNewFile: Bool) throws {
        let path = AuditKey.path(forDatabaseAt: databasePath)
        let pending = path + ".pending"
        try checkDirectory(of: databasePath)
        try database.read { db in
            db.auditKeyPath = path
            db.auditAnchorPath = AuditKey.anchorPath(forDatabaseAt: databasePath)
        }
        var key: AuditKey?
        if SecretFile.exists(path) {
            key = try AuditKey(readKey(path), path: path)
            if SecretFile.exists(pending) { SecretFile.remove(pending) }   // a crash between link and unlink
        } else if SecretFile.exists(pending) {
            let candidate = try AuditKey(readKey(pending), path: pending)
            let sealedWithIt = try database.read { db -> Bool in
                guard let head = try setting(db, "audit_head"), let headSeal = try setting(db, "audit_head_seal") else { return false }
                let parts = head.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let seq = Int64(parts[0]) else { return false }
                let unsealed = try db.prepare("SELECT count(*) FROM audit_log a LEFT JOIN audit_seals s ON s.seq = a.seq WHERE s.seq IS NULL").rows { $0.int64(0) }.first ?? 1
                return unsealed == 0 && sameSeal(headSeal, candidate.headSeal(seq: seq, hash: String(parts[1])))
            }
            guard sealedWithIt else {
                throw StoreError(code: "store.audit.pending-key",
                                 reason: "\(pending) was left by a key that sealed nothing here: if a store was being created or sealed when the node stopped, remove it and run 'fedtrace audit seal --data DIR' (or 'init' again); otherwise someone moved the node's key: restore \(path) from the key storage")
            }
            try install(pending, as: path)
            key = candidate
        } else if isNewFile {
            key = try createAndSeal(database, keyPath: path)
        }
        try database.read { db in db.auditKey = key }
    }

    /// Refuses a store directory that group or others may write (without the sticky bit).
    private static func checkDirectory(of databasePath: String) throws {
        let directory = URL(fileURLWithPath: databasePath).deletingLastPathComponent().path
        var status = stat()
        guard stat(directory, &status) == 0 else { return }   // SQLite reports a missing directory itself
        if status.st_mode & 0o022 != 0 && status.st_mode & S_ISVTX == 0 {
            throw StoreError(code: "store.directory-permissions",
                             reason: "\(directory) is writable by group or others (mode \(String(status.st_mode & 0o7777, radix: 8))): whoever can rename files there could swap the audit key or anchor; run chmod go-w \(directory)")
        }
    }

    /// Makes the key of a store that has none and no seals (a store from before them), seals
    /// its records as they are and audits that (`audit.sealed`). Refused when a key, a
    /// pending key, a seal or an anchor exists. Returns the number of records sealed.
    static func sealExisting(_ database: SerialDatabase, databasePath: String, actor: String) throws -> Int {
        let path = AuditKey.path(forDatabaseAt: databasePath)
        guard !SecretFile.exists(path), !SecretFile.exists(path + ".pending") else {
            throw StoreError(code: "store.audit.already-sealed", reason: "\(path) exists: this store's audit log is sealed already")
        }
        guard try !database.read({ db in try isSealed(db) }) else {
            throw StoreError(code: "store.audit.key-missing",
                             reason: "the audit log carries seals but \(path) is missing: restore the key from the node's key storage; a new key would not match them")
        }
        let count = try database.read { db in try db.prepare("SELECT count(*) FROM audit_log").rows { Int($0.int64(0)) }.first ?? 0 }
        let key = try createAndSeal(database, keyPath: path)
        try database.write { db in
            db.auditKey = key
            try append(db, actor: actor, action: "audit.sealed", detail: JSONWriter.string(.object(["records": .number(String(count))])))
        }
        return count
    }

    /// Makes a key, seals the records (as they are) and the head, puts the key in place and
    /// starts the anchor. Refused where an anchor exists: a store was sealed here before.
    private static func createAndSeal(_ database: SerialDatabase, keyPath path: String) throws -> AuditKey {
        let anchorPath = try database.read { db in db.auditAnchorPath } ?? path
        guard !SecretFile.exists(anchorPath) else {
            throw StoreError(code: "store.audit.anchor-exists",
                             reason: "\(anchorPath) exists: a sealed store was here before and its key is gone; restore the key (and the store) from the node's storage instead of sealing afresh")
        }
        let pending = path + ".pending"
        let key = try AuditKey(SecureRandom.bytes(AuditKey.length), path: path)
        do {
            try SecretFile.create(pending, key.bytes)
        } catch let error as CryptoError {
            throw StoreError(code: "store.audit.key-create", reason: error.reason)
        }
        // The newest record as sealed, where the anchor starts.
        let (seq, hash) = try database.write { db -> (Int64, String) in
            let unsealed = try db.prepare("SELECT a.seq, a.hash FROM audit_log a LEFT JOIN audit_seals s ON s.seq = a.seq WHERE s.seq IS NULL ORDER BY a.seq")
                .rows { ($0.int64(0), $0.text(1) ?? "") }
            for (seq, hash) in unsealed {
                try db.cached("INSERT INTO audit_seals(seq, seal) VALUES (?, ?)").bind([.integer(seq), .text(key.recordSeal(seq: seq, hash: hash))]).run()
            }
            let last = try db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").rows { ($0.int64(0), $0.text(1) ?? "") }.first
            let (seq, hash) = last ?? (0, genesis)
            let head = try setting(db, "audit_head")
            if (head == nil && last == nil) || head == "\(seq):\(hash)" {
                try setHead(db, seq: seq, hash: hash, key: key)
            }
            return (seq, hash)
        }
        try install(pending, as: path)
        try AnchorFile.write(anchorPath, seq: seq, hash: hash, key: key, replacing: false)
        try database.read { db in db.auditKey = key }
        return key
    }

    private static func install(_ pending: String, as path: String) throws {
        do {
            try SecretFile.install(pending, as: path)
        } catch let error as CryptoError {
            throw StoreError(code: "store.audit.key-create", reason: error.reason)
        }
    }

    private static func readKey(_ path: String) throws -> [UInt8] {
        do {
            return try SecretFile.read(path)
        } catch let error as CryptoError {
            throw StoreError(code: error.code == "crypto.key.permissions" ? "store.audit.key-permissions" : "store.audit.key-unreadable", reason: error.reason)
        }
    }

    /// What the anchor file says (read before the log is, so it cannot lead the snapshot).
    public enum Anchor: Sendable, Equatable {
        /// No anchor is kept for this connection (a backup copy being checked).
        case notKept
        case missing(String)
        case invalid(String)
        case at(seq: Int64, hash: String)
    }

    /// Reads the anchor of this connection's store.
    static func readAnchor(_ db: Database) -> Anchor {
        guard let path = db.auditAnchorPath, let key = db.auditKey else { return .notKept }
        return AnchorFile.read(path, key: key)
    }

    /// Moves the anchor forward to record `seq` after a commit; false (and the reason kept
    /// on the connection, so the next append refuses until the anchor catches up) when it
    /// could not be written.
    @discardableResult
    static func writeAnchor(_ db: Database, seq: Int64, hash: String) -> Bool {
        guard let path = db.auditAnchorPath, let key = db.auditKey else { return true }
        do {
            try AnchorFile.advance(path, seq: seq, hash: hash, key: key)
            db.anchorFailure = nil
            return true
        } catch {
            db.anchorFailure = (error as? StoreError)?.reason ?? "\(error)"
            return false
        }
    }

    /// Whether the anchor still stands on the log: it names a record the log holds, as it
    /// was. Checked before every append (the node never builds on a cut log, which would
    /// otherwise move the anchor past the cut) and by `serve` at start.
    static func anchorProblem(_ db: Database) throws -> String? {
        switch readAnchor(db) {
        case .notKept: return nil
        case .missing(let path): return "the audit anchor \(path) is missing"
        case .invalid(let reason): return "the audit anchor is not valid: \(reason)"
        case .at(let seq, let hash):
            if seq == 0 { return hash == genesis ? nil : "the audit anchor names record 0 with a hash that is not the genesis" }
            // Cached: this runs before every append.
            let stored = try db.cached("SELECT hash FROM audit_log WHERE seq = ?").bind([.integer(seq)]).rows { $0.text(0) ?? "" }.first
            guard let stored else { return "the audit anchor names record \(seq), which the log does not hold: records were cut from the end" }
            return stored == hash ? nil : "record \(seq) is not the record the audit anchor names: it was replaced"
        }
    }

    /// After a backup was restored: in one write transaction, checks the log (everything but
    /// the anchor), audits the reanchoring (`audit.reanchored`: the backup named, where the
    /// anchor was), then, once committed, starts a new anchor at the new head. Refused when
    /// the log does not verify.
    static func reanchor(_ database: SerialDatabase, restoredFrom backup: String, actor: String) throws -> (from: Int64?, to: Int64) {
        let (from, record, key, path) = try database.write { db -> (Int64?, AuditRecord, AuditKey, String?) in
            guard let key = db.auditKey else { throw keyMissing(db) }
            let before = readAnchor(db)
            let check = try verify(db, anchor: .notKept)
            guard check.isIntact else {
                throw StoreError(code: "store.audit.broken", reason: "the audit log does not verify (\(check.problem ?? "")); the anchor stays where it is")
            }
            var from: Int64?
            if case .at(let seq, _) = before { from = seq }
            var detail: JSONObject = ["restoredFrom": .string(backup), "anchorBefore": from.map { .number(String($0)) } ?? .null,
                                      "headBefore": .number(String(check.recordCount))]
            if case .invalid(let reason) = before { detail["anchorProblem"] = .string(reason) }
            if case .missing = before { detail["anchorProblem"] = .string("missing") }
            db.skipAnchorCheck = true
            defer { db.skipAnchorCheck = false }
            let record = try append(db, actor: actor, action: "audit.reanchored", detail: JSONWriter.string(.object(detail)))
            db.pendingAnchor = nil   // the anchor is replaced below, not advanced
            return (from, record, key, db.auditAnchorPath)
        }
        if let path { try AnchorFile.write(path, seq: record.seq, hash: record.hash, key: key, replacing: true) }
        return (from, record.seq)
    }

    /// Whether appends can be sealed on this connection, and if not, why.
    public enum KeyState: Sendable, Equatable {
        case ready
        /// The log carries seals but the key file is missing.
        case missing(String)
        /// A store from before the seals, not sealed yet (`fedtrace audit seal`).
        case unsealed
    }

    static func keyState(_ db: Database) throws -> KeyState {
        if db.auditKey != nil { return .ready }
        return try isSealed(db) ? .missing(db.auditKeyPath ?? "the audit key file") : .unsealed
    }

    private static func setting(_ db: Database, _ key: String) throws -> String? {
        try db.prepare("SELECT value FROM node_settings WHERE key = ?").bind([.text(key)]).rows { $0.text(0) }.first ?? nil
    }

    /// Whether any part of the log carries a seal (then its key is needed to verify it).
    private static func isSealed(_ db: Database) throws -> Bool {
        let seals = try db.prepare("SELECT count(*) FROM audit_seals").rows { $0.int64(0) }.first ?? 0
        return try seals > 0 || setting(db, "audit_head_seal") != nil
    }

    /// Walks the whole chain and reports the first record that is not as it was written.
    /// `anchor` is the anchor file as read before the log's read transaction began (read
    /// now when not given).
    public static func verify(_ db: Database, anchor given: Anchor? = nil) throws -> AuditVerification {
        let anchor = given ?? readAnchor(db)
        let key = db.auditKey
        if key == nil && db.auditKeyPath != nil {
            // A store's connection without its key: sealed with a missing key, or never sealed.
            return AuditVerification(recordCount: 0, firstBadSeq: nil, problem: "cannot verify: " + keyMissing(db).reason)
        }
        let statement = try db.prepare("""
            SELECT a.seq, a.at, a.actor, a.action, a.detail, a.previous_hash, a.hash, s.seal
            FROM audit_log a LEFT JOIN audit_seals s ON s.seq = a.seq ORDER BY a.seq
            """)
        var expectedSeq: Int64 = 1
        var previous = genesis
        var count = 0
        func bad(_ seq: Int64?, _ problem: String?) -> AuditVerification {
            AuditVerification(recordCount: count, firstBadSeq: seq, problem: problem)
        }
        while try statement.step() {
            let seq = statement.int64(0)
            let record = AuditRecord(seq: seq, at: statement.text(1) ?? "", actor: statement.text(2) ?? "", action: statement.text(3) ?? "",
                                     detail: statement.text(4) ?? "", previousHash: statement.text(5) ?? "", hash: statement.text(6) ?? "")
            if seq != expectedSeq {
                return bad(expectedSeq, "record \(expectedSeq) is missing (the next record present is \(seq))")
            }
            if record.previousHash != previous {
                return bad(seq, "record \(seq) does not link to record \(seq - 1): a record before it was changed or removed")
            }
            let recomputed = AuditRecord.chainHash(previous: previous, seq: seq, at: record.at, actor: record.actor, action: record.action, detail: record.detail)
            if recomputed != record.hash {
                return bad(seq, "record \(seq) (\(record.action)) was altered: its content no longer matches its hash")
            }
            if let key {
                guard let seal = statement.text(7) else {
                    return bad(seq, "record \(seq) (\(record.action)) has no seal: it was written, or its seal removed, without the node's audit key")
                }
                if !sameSeal(seal, key.recordSeal(seq: seq, hash: record.hash)) {
                    return bad(seq, "record \(seq) (\(record.action)) does not match its seal: it was changed and the chain after it recomputed, or the seal was forged")
                }
            }
            previous = record.hash
            expectedSeq += 1
            count += 1
        }
        let lastSeq = expectedSeq - 1
        let head = try setting(db, "audit_head")
        let headParts = head?.split(separator: ":", maxSplits: 1).map(String.init) ?? []
        let headSeq = headParts.count == 2 ? Int64(headParts[0]) : nil
        guard let head, let headSeq else {
            if key != nil || count > 0 {
                return bad(count > 0 ? 1 : nil, "the audit head marker is \(head == nil ? "missing" : "unreadable"): records were removed, or the marker was")
            }
            return bad(nil, nil)
        }
        if let key {
            let orphan = try db.prepare("SELECT max(seq) FROM audit_seals").rows { $0.int64(0) }.first ?? 0
            if orphan > lastSeq {
                let removed = orphan == lastSeq + 1 ? "record \(orphan) was" : "records \(lastSeq + 1)–\(orphan) were"
                return bad(lastSeq + 1, "\(removed) removed from the end (\(orphan == lastSeq + 1 ? "its seal remains" : "their seals remain"))")
            }
            guard let headSeal = try setting(db, "audit_head_seal"), sameSeal(headSeal, key.headSeal(seq: headSeq, hash: headParts[1])) else {
                return bad(min(headSeq, lastSeq + 1), "the audit head marker (record \(headSeq)) does not match its seal: it was changed without the node's audit key")
            }
        }
        switch anchor {
        case .notKept: break
        case .missing(let path):
            return bad(nil, "the audit anchor \(path) is missing: the newest records may have been cut; if no backup was restored, treat this as tampering")
        case .invalid(let reason):
            return bad(nil, "the audit anchor is not valid: \(reason)")
        case .at(let seq, let hash):
            if seq > lastSeq {
                return bad(lastSeq + 1, "the anchor names record \(seq) but the log ends at \(lastSeq): records were removed from the end (if a backup was restored, 'fedtrace audit reanchor --backup FILE'; if not, treat this as tampering)")
            }
            let stored = try db.prepare("SELECT hash FROM audit_log WHERE seq = ?").bind([.integer(seq)]).rows { $0.text(0) ?? "" }.first
            if seq > 0 ? stored != hash : hash != genesis {
                return bad(seq, "record \(seq) is not the record the anchor names: it was replaced")
            }
        }
        if headSeq > lastSeq {
            return bad(lastSeq + 1, "the newest record should be \(headSeq) but the log ends at \(lastSeq): records were removed from the end")
        }
        if headSeq < lastSeq {
            return bad(headSeq + 1, "the head marker names record \(headSeq) but the log continues to \(lastSeq): the marker was moved back, or records were added without it")
        }
        if head != "\(lastSeq):\(previous)" {
            return bad(lastSeq, "record \(lastSeq) is not the record the head marker names: it was replaced")
        }
        return bad(nil, nil)
    }

    private static func sameSeal(_ stored: String, _ expected: String) -> Bool {
        HMACSHA256.equal(Array(stored.utf8), Array(expected.utf8))
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

/// The audit anchor file: two fixed-size slots, each "seq hash seal" padded with spaces,
/// sealed under the audit key. It is made once (with the store, or by `reanchor`) and then
/// only updated in place: the newer record goes into the slot not holding the newest one,
/// under an exclusive lock. So an update needs no new disk space, never makes a new file (a
/// missing anchor stays missing), never moves the anchor back while the machine runs, and a
/// torn write spoils at most the slot being written, never the newest. Updates are not
/// synced: after a power loss the anchor may lag (allowed), never lead.
enum AnchorFile {
    static let slotBytes = 192

    static func slot(seq: Int64, hash: String, key: AuditKey) -> [UInt8] {
        var text = Array("\(seq) \(hash) \(key.anchorSeal(seq: seq, hash: hash))".utf8)
        text += [UInt8](repeating: 0x20, count: max(0, slotBytes - 1 - text.count))
        return Array(text.prefix(slotBytes - 1)) + [0x0A]
    }

    /// A new anchor file naming record `seq` (its second slot empty): made with the store,
    /// or `replacing` the old one (reanchor only).
    static func write(_ path: String, seq: Int64, hash: String, key: AuditKey, replacing: Bool) throws {
        let bytes = slot(seq: seq, hash: hash, key: key) + [UInt8](repeating: 0x20, count: slotBytes - 1) + [0x0A]
        do {
            if replacing { try SecretFile.replace(path, bytes) } else { try SecretFile.create(path, bytes) }
        } catch let error as CryptoError {
            throw StoreError(code: "store.audit.anchor", reason: error.reason)
        }
    }

    /// The newest valid slot of `bytes`, with its index.
    static func newest(_ bytes: [UInt8], key: AuditKey) -> (index: Int, seq: Int64, hash: String)? {
        var best: (index: Int, seq: Int64, hash: String)?
        for index in 0..<2 where bytes.count >= (index + 1) * slotBytes {
            let text = String(decoding: bytes[(index * slotBytes)..<((index + 1) * slotBytes)], as: UTF8.self)
            let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            guard parts.count == 3, let seq = Int64(parts[0]), seq >= 0,
                  HMACSHA256.equal(Array(parts[2].utf8), Array(key.anchorSeal(seq: seq, hash: parts[1]).utf8)) else { continue }
            if best == nil || seq > best!.seq { best = (index, seq, parts[1]) }
        }
        return best
    }

    static func read(_ path: String, key: AuditKey) -> AuditLog.Anchor {
        guard SecretFile.exists(path) else { return .missing(path) }
        let bytes: [UInt8]
        do {
            bytes = try SecretFile.read(path)
        } catch {
            return .invalid((error as? CryptoError)?.reason ?? "\(path): \(error)")
        }
        guard bytes.count == 2 * slotBytes, let newest = newest(bytes, key: key) else {
            return .invalid("\(path) does not match its seal: it was changed without the node's audit key")
        }
        return .at(seq: newest.seq, hash: newest.hash)
    }

    /// Writes record `seq` into the slot not holding the newest, if it is newer.
    static func advance(_ path: String, seq: Int64, hash: String, key: AuditKey) throws {
        func fail(_ what: String) -> StoreError {
            StoreError(code: "store.audit.anchor", reason: "\(path): \(what) (\(String(cString: strerror(errno))))")
        }
        let descriptor = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw fail("cannot open the audit anchor") }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw fail("cannot lock the audit anchor") }
        defer { flock(descriptor, LOCK_UN) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_mode & 0o077 == 0, status.st_uid == geteuid() else {
            throw StoreError(code: "store.audit.anchor", reason: "\(path) is not this user's 0600 file")
        }
        var bytes = [UInt8](repeating: 0, count: 2 * slotBytes)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count == 2 * slotBytes, let current = newest(bytes, key: key) else {
            throw StoreError(code: "store.audit.anchor", reason: "\(path) does not match its seal: it was changed without the node's audit key")
        }
        guard seq > current.seq else { return }
        let slot = slot(seq: seq, hash: hash, key: key)
        let written = slot.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t((1 - current.index) * slotBytes)) }
        guard written == slotBytes else { throw fail("cannot write the audit anchor") }
        // No fdatasync: the anchor may lag the log after a power loss (verify allows that),
        // and it cannot lead it, since it is written after the log's commit is on disk. A
        // sync here cost ~0.7 ms per audited commit (the enquiry round trip has about ten).
    }
}

