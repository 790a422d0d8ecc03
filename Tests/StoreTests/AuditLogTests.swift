import Foundation
import Testing
import Model
@testable import Store

@Suite struct AuditLogTests {
    func storeWithRecords(_ count: Int) throws -> (TemporaryDirectory, EventStore) {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        for i in 0..<count { try store.audit(actor: "test", action: "step", detail: ["n": .number(String(i))]) }
        return (directory, store)
    }

    /// Changes the database behind the store's back, as someone with the sqlite3 tool would.
    func tamper(_ path: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, sql]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func intactChainVerifies() throws {
        let (directory, store) = try storeWithRecords(5)
        defer { withExtendedLifetime(directory) {} }
        let result = try store.verifyAudit()
        #expect(result.isIntact)
        #expect(result.recordCount == 5)
    }

    @Test func sqlUpdateAndDeleteAreRefusedByTriggers() throws {
        let (directory, store) = try storeWithRecords(2)
        defer { withExtendedLifetime(directory) {} }
        #expect(throws: StoreError.self) { try store.database.write { db in try db.execute("UPDATE audit_log SET detail = '{}' WHERE seq = 1") } }
        #expect(throws: StoreError.self) { try store.database.write { db in try db.execute("DELETE FROM audit_log WHERE seq = 1") } }
    }

    @Test func editedRecordIsNamed() throws {
        let (directory, store) = try storeWithRecords(5)
        try tamper(directory.path("db.sqlite"), "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = '{\"n\":99}' WHERE seq = 3;")
        let result = try store.verifyAudit()
        #expect(result.firstBadSeq == 3)
        #expect(result.problem?.contains("altered") == true)
    }

    @Test func rehashedEditIsCaughtByTheNextLink() throws {
        let (directory, store) = try storeWithRecords(5)
        // An editor who recomputes record 3's own hash still breaks record 4's link.
        try tamper(directory.path("db.sqlite"), "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET hash = 'ff' WHERE seq = 3;")
        let result = try store.verifyAudit()
        #expect(result.firstBadSeq == 3)
    }

    @Test func deletedRecordIsNamed() throws {
        let (directory, store) = try storeWithRecords(5)
        try tamper(directory.path("db.sqlite"), "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2;")
        let result = try store.verifyAudit()
        #expect(result.firstBadSeq == 2)
        #expect(result.problem?.contains("missing") == true)
    }

    @Test func truncatedTailIsDetected() throws {
        let (directory, store) = try storeWithRecords(5)
        try tamper(directory.path("db.sqlite"), "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq >= 4;")
        let result = try store.verifyAudit()
        #expect(!result.isIntact)
        #expect(result.problem?.contains("removed from the end") == true)
    }

    @Test func chainHashSeparatesFields() {
        let a = AuditRecord.chainHash(previous: "p", seq: 1, at: "t", actor: "ab", action: "c", detail: "d")
        let b = AuditRecord.chainHash(previous: "p", seq: 1, at: "t", actor: "a", action: "bc", detail: "d")
        #expect(a != b)
    }

    // MARK: - Seals: an editor with sqlite3 but without the audit key

    /// Rewrites the log as someone with sqlite3 and this code, but not the key, would:
    /// changes record `edited`'s detail and recomputes every later hash and the head marker.
    func rechain(_ path: String, edited: Int64) throws {
        let raw = try SerialDatabase(path: path)
        try raw.write { db in
            try db.execute("DROP TRIGGER audit_log_no_update")
            let rows = try db.prepare("SELECT seq, at, actor, action, detail FROM audit_log ORDER BY seq")
                .rows { ($0.int64(0), $0.text(1) ?? "", $0.text(2) ?? "", $0.text(3) ?? "", $0.text(4) ?? "") }
            var previous = AuditLog.genesis
            for (seq, at, actor, action, detail) in rows {
                let newDetail = seq == edited ? "{\"n\":999}" : detail
                let hash = AuditRecord.chainHash(previous: previous, seq: seq, at: at, actor: actor, action: action, detail: newDetail)
                try db.prepare("UPDATE audit_log SET detail = ?, previous_hash = ?, hash = ? WHERE seq = ?")
                    .bind([.text(newDetail), .text(previous), .text(hash), .integer(seq)]).run()
                previous = hash
            }
            try db.prepare("UPDATE node_settings SET value = ? WHERE key = 'audit_head'").bind([.text("\(rows.count):\(previous)")]).run()
        }
    }

    @Test func aRechainedEditIsNamedByItsSeal() throws {
        let (directory, store) = try storeWithRecords(5)
        try rechain(directory.path("db.sqlite"), edited: 3)
        let result = try store.verifyAudit()
        #expect(result.firstBadSeq == 3)
        #expect(result.problem?.contains("seal") == true)
        // The chain itself is consistent again: only the seals tell.
        let unsealed = try SerialDatabase(path: directory.path("db.sqlite"))
        try unsealed.write { db in
            try db.execute("DROP TRIGGER audit_seals_no_delete; DELETE FROM audit_seals; DELETE FROM node_settings WHERE key = 'audit_head_seal'")
        }
        let reopened = try EventStore(path: directory.path("db.sqlite"))
        let again = try reopened.verifyAudit()
        #expect(again.firstBadSeq == 1, "removing every seal does not make the key forget them: record 1 is unsealed")
        #expect(again.problem?.contains("no seal") == true)
    }

    @Test func removingTheTailAndMovingTheHeadBackIsDetected() throws {
        let (directory, store) = try storeWithRecords(5)
        let path = directory.path("db.sqlite")
        try tamper(path, """
            DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_seals_no_delete;
            DELETE FROM audit_seals WHERE seq = 5; DELETE FROM audit_log WHERE seq = 5;
            UPDATE node_settings SET value = (SELECT seq || ':' || hash FROM audit_log WHERE seq = 4) WHERE key = 'audit_head';
            """)
        let moved = try store.verifyAudit()
        #expect(!moved.isIntact)
        #expect(moved.problem?.contains("head marker") == true)
        // Record 4's own seal does not pass for a head naming record 4 (separate domains).
        try tamper(path, "UPDATE node_settings SET value = (SELECT seal FROM audit_seals WHERE seq = 4) WHERE key = 'audit_head_seal';")
        #expect(!(try store.verifyAudit().isIntact))
    }

    @Test func removingTheWholeLogIsDetected() throws {
        let (directory, store) = try storeWithRecords(3)
        try tamper(directory.path("db.sqlite"), """
            DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_seals_no_delete;
            DELETE FROM audit_seals; DELETE FROM audit_log; DELETE FROM node_settings WHERE key LIKE 'audit_head%';
            """)
        let result = try store.verifyAudit()
        #expect(!result.isIntact)
        #expect(result.problem?.contains("head marker is missing") == true)
    }

    @Test func anEmptyStoreIsIntactAndItsHeadSealed() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        #expect(try store.verifyAudit() == AuditVerification(recordCount: 0, firstBadSeq: nil, problem: nil))
        #expect(try store.setting("audit_head") == "0:" + AuditLog.genesis)
        #expect(try store.setting("audit_head_seal") != nil)
    }

    @Test func theKeyFileIsPrivateAndNeeded() throws {
        let (directory, store) = try storeWithRecords(2)
        let keyPath = AuditKey.path(forDatabaseAt: directory.path("db.sqlite"))
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == 32)
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".pending"))

        // Readable by others: refused, like the node's other keys.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyPath)
        #expect { _ = try EventStore(path: directory.path("db.sqlite")) } throws: { ($0 as? StoreError)?.code == "store.audit.key-permissions" }

        // Missing: the store opens (to be read), but neither verifies nor appends, and no new key replaces it.
        try FileManager.default.removeItem(atPath: keyPath)
        let reopened = try EventStore(path: directory.path("db.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: keyPath))
        let result = try reopened.verifyAudit()
        #expect(!result.isIntact)
        #expect(result.problem?.contains(keyPath) == true)
        #expect { try reopened.audit(actor: "t", action: "step", detail: [:]) } throws: { ($0 as? StoreError)?.code == "store.audit.key-missing" }
        _ = store
    }

    @Test func aWrongKeyFailsEveryRecord() throws {
        let (directory, _) = try storeWithRecords(2)
        let keyPath = AuditKey.path(forDatabaseAt: directory.path("db.sqlite"))
        try FileManager.default.removeItem(atPath: keyPath)
        FileManager.default.createFile(atPath: keyPath, contents: Data(repeating: 7, count: 32), attributes: [.posixPermissions: 0o600])
        let result = try EventStore(path: directory.path("db.sqlite")).verifyAudit()
        #expect(result.firstBadSeq == 1)
        #expect(result.problem?.contains("does not match its seal") == true)
    }

    /// A store written before the seals (migrations up to 0011, records chained but not
    /// sealed) is not sealed by opening it (whoever edits a database could make one look like
    /// that): it cannot be verified or appended to until `sealAudit`, which seals it as it
    /// is; a chain it already had broken stays broken.
    @Test func aStoreFromBeforeTheSealsIsSealedOnlyOnRequest() throws {
        for breakIt in [false, true] {
            let directory = try TemporaryDirectory()
            let path = directory.path("db.sqlite")
            let database = try SerialDatabase(path: path)
            try Migrator(Array(Schema.migrator.migrations.prefix { $0.name != "0012-audit-seals" })).migrate(database)
            try database.write { db in
                var previous = AuditLog.genesis
                for seq in Int64(1)...4 {
                    let detail = "{\"n\":\(seq)}"
                    let hash = AuditRecord.chainHash(previous: previous, seq: seq, at: "2026-01-01T00:00:00.000Z", actor: "t", action: "step", detail: detail)
                    try db.prepare("INSERT INTO audit_log(seq, at, actor, action, detail, previous_hash, hash) VALUES (?, '2026-01-01T00:00:00.000Z', 't', 'step', ?, ?, ?)")
                        .bind([.integer(seq), .text(breakIt && seq == 2 ? "{\"n\":0}" : detail), .text(previous), .text(hash)]).run()
                    previous = hash
                }
                try db.prepare("INSERT INTO node_settings(key, value) VALUES ('audit_head', ?)").bind([.text("4:\(previous)")]).run()
            }
            let store = try EventStore(path: path)
            #expect(!FileManager.default.fileExists(atPath: AuditKey.path(forDatabaseAt: path)), "opening makes no key")
            #expect(try store.auditKeyState() == .unsealed)
            let unsealed = try store.verifyAudit()
            #expect(!unsealed.isIntact && unsealed.problem?.contains("audit seal") == true)
            #expect { try store.audit(actor: "t", action: "step", detail: [:]) } throws: { ($0 as? StoreError)?.code == "store.audit.unsealed" }

            #expect(try store.sealAudit(actor: "operator") == 4)
            #expect(try store.auditKeyState() == .ready)
            let result = try store.verifyAudit()
            if breakIt {
                #expect(result.firstBadSeq == 2 && result.problem?.contains("altered") == true)
            } else {
                #expect(result == AuditVerification(recordCount: 5, firstBadSeq: nil, problem: nil))
                #expect(try store.recentAudit(limit: 1).first?.action == "audit.sealed")
                #expect { try store.sealAudit(actor: "operator") } throws: { ($0 as? StoreError)?.code == "store.audit.already-sealed" }
            }
        }
    }

    /// Removing the key file as well as every seal (directory write access is enough to
    /// unlink a file) does not get the log sealed again under a new key.
    @Test func removingTheKeyAndTheSealsMakesNoNewKey() throws {
        let (directory, _) = try storeWithRecords(3)
        let path = directory.path("db.sqlite")
        try tamper(path, """
            DROP TRIGGER audit_seals_no_delete; DELETE FROM audit_seals; DELETE FROM node_settings WHERE key = 'audit_head_seal';
            """)
        try FileManager.default.removeItem(atPath: AuditKey.path(forDatabaseAt: path))
        let reopened = try EventStore(path: path)
        #expect(!FileManager.default.fileExists(atPath: AuditKey.path(forDatabaseAt: path)))
        #expect(!(try reopened.verifyAudit().isIntact))
        #expect(throws: StoreError.self) { try reopened.audit(actor: "t", action: "step", detail: [:]) }
    }

    /// A key file another user owns is refused: nobody else may plant the key.
    @Test func aKeyOwnedByAnotherUserIsRefused() throws {
        let (directory, _) = try storeWithRecords(1)
        let keyPath = AuditKey.path(forDatabaseAt: directory.path("db.sqlite"))
        guard geteuid() == 0 else { return }   // only root can hand a file to another user
        #expect(chown(keyPath, 65534, 65534) == 0)
        #expect { _ = try EventStore(path: directory.path("db.sqlite")) } throws: { ($0 as? StoreError)?.code == "store.audit.key-permissions" }
    }

    /// A first sealing interrupted after the key was written to `.pending` is finished at
    /// the next open with that key.
    @Test func anInterruptedFirstSealingIsFinished() throws {
        let (directory, store) = try storeWithRecords(3)
        let path = directory.path("db.sqlite")
        let keyPath = AuditKey.path(forDatabaseAt: path)
        // As if the crash came after the seals' commit but before the key's rename.
        try FileManager.default.moveItem(atPath: keyPath, toPath: keyPath + ".pending")
        let reopened = try EventStore(path: path)
        #expect(FileManager.default.fileExists(atPath: keyPath) && !FileManager.default.fileExists(atPath: keyPath + ".pending"))
        #expect(try reopened.verifyAudit().recordCount == 3)
        _ = store
    }

    /// A backup is checked with the node's key but does not carry it.
    @Test func aBackupIsCheckedButDoesNotCarryTheKey() throws {
        let (directory, store) = try storeWithRecords(2)
        let copy = directory.path("copy.sqlite")
        let check = try store.backup(to: copy)
        #expect(check.isIntact && check.recordCount == 3)
        #expect(!FileManager.default.fileExists(atPath: AuditKey.path(forDatabaseAt: copy)))
        let keyless = try EventStore(path: copy)
        #expect(try keyless.verifyAudit().problem?.hasPrefix("cannot verify") == true)
        try FileManager.default.copyItem(atPath: AuditKey.path(forDatabaseAt: directory.path("db.sqlite")), toPath: AuditKey.path(forDatabaseAt: copy))
        #expect(try EventStore(path: copy).verifyAudit().recordCount == 3)
    }

    // MARK: - The anchor outside the database

    /// An older head marker with its genuine seal (the WAL keeps one per commit) put back
    /// after cutting the newest records: the anchor still names the newest record.
    @Test func anOlderSealedHeadPutBackIsCaughtByTheAnchor() throws {
        let (directory, store) = try storeWithRecords(3)
        let path = directory.path("db.sqlite")
        let oldHead = try #require(try store.setting("audit_head")), oldSeal = try #require(try store.setting("audit_head_seal"))
        for i in 0..<2 { try store.audit(actor: "test", action: "later", detail: ["n": .number(String(i))]) }
        try tamper(path, """
            DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_seals_no_delete;
            DELETE FROM audit_seals WHERE seq > 3; DELETE FROM audit_log WHERE seq > 3;
            UPDATE node_settings SET value = '\(oldHead)' WHERE key = 'audit_head';
            UPDATE node_settings SET value = '\(oldSeal)' WHERE key = 'audit_head_seal';
            """)
        let result = try store.verifyAudit()
        #expect(result.firstBadSeq == 4)
        #expect(result.problem?.contains("the anchor names record 5") == true)
        // The node does not build on the cut log (its appends would move the anchor past it).
        #expect { try store.audit(actor: "test", action: "after-cut", detail: [:]) } throws: { ($0 as? StoreError)?.code == "store.audit.cut" }
        #expect(try store.auditAnchorProblem()?.contains("record 5") == true)
        // reanchor is for restores: it moves the anchor, audited, and the cut is on record.
        #expect(try store.reanchorAudit(restoredFrom: "/backups/b.sqlite", actor: "operator") == (from: 5, to: 4))
        #expect(try store.verifyAudit().isIntact)
        #expect(try store.recentAudit(limit: 1).first?.detail.contains(#""anchorBefore":5"#) == true)
        try store.audit(actor: "test", action: "after-reanchor", detail: [:])
        #expect(try store.verifyAudit().recordCount == 5)
    }

    @Test func aMissingOrAlteredAnchorIsReported() throws {
        let (directory, store) = try storeWithRecords(2)
        let anchor = AuditKey.anchorPath(forDatabaseAt: directory.path("db.sqlite"))
        let text = try String(contentsOfFile: anchor, encoding: .utf8)
        #expect(text.utf8.count == 2 * AnchorFile.slotBytes && text.hasPrefix("2 ") && text.contains("\n1 "),
                "record 1 went into the second slot, record 2 into the first (never over the newest)")
        try FileManager.default.removeItem(atPath: anchor)
        #expect(try store.verifyAudit().problem?.contains("anchor") == true)
        #expect { try store.audit(actor: "t", action: "step", detail: [:]) } throws: { ($0 as? StoreError)?.code == "store.audit.cut" }
        #expect(!FileManager.default.fileExists(atPath: anchor), "an update never makes a new anchor")
        FileManager.default.createFile(atPath: anchor, contents: Data(("3" + text.dropFirst()).utf8), attributes: [.posixPermissions: 0o600])
        let edited = try store.verifyAudit()
        #expect(edited.isIntact, "the edited slot is ignored; the other names record 1, behind the log, which is allowed: \(edited.problem ?? "")")
        FileManager.default.createFile(atPath: anchor, contents: Data(String(repeating: " ", count: 2 * AnchorFile.slotBytes).utf8), attributes: [.posixPermissions: 0o600])
        #expect(try store.verifyAudit().problem?.contains("does not match its seal") == true)
    }

    @Test func reanchorRefusesALogThatDoesNotVerify() throws {
        let (directory, store) = try storeWithRecords(3)
        try tamper(directory.path("db.sqlite"), "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = '{}' WHERE seq = 2;")
        #expect { try store.reanchorAudit(restoredFrom: "b.sqlite", actor: "operator") } throws: { ($0 as? StoreError)?.code == "store.audit.broken" }
    }

    /// The real key renamed to `.pending` after the log was rewritten and its seals removed:
    /// opening does not seal the rewrite with it.
    @Test func aKeyRenamedToPendingSealsNothing() throws {
        let (directory, _) = try storeWithRecords(3)
        let path = directory.path("db.sqlite")
        try rechain(path, edited: 2)
        try tamper(path, "DROP TRIGGER audit_seals_no_delete; DELETE FROM audit_seals; DELETE FROM node_settings WHERE key = 'audit_head_seal';")
        let key = AuditKey.path(forDatabaseAt: path)
        try FileManager.default.moveItem(atPath: key, toPath: key + ".pending")
        #expect { _ = try EventStore(path: path) } throws: { ($0 as? StoreError)?.code == "store.audit.pending-key" }
        #expect(!FileManager.default.fileExists(atPath: key))
    }

    /// A store whose database and key were deleted is not made afresh where its anchor is.
    @Test func aDeletedStoreIsNotRecreatedBesideItsAnchor() throws {
        let (directory, _) = try storeWithRecords(2)
        let path = directory.path("db.sqlite")
        for suffix in ["", "-wal", "-shm", ".audit-key"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        #expect { _ = try EventStore(path: path) } throws: { ($0 as? StoreError)?.code == "store.audit.anchor-exists" }
    }

    /// An anchor that cannot be updated stops auditing (a stalled anchor would let a cut
    /// back to it pass).
    @Test func anAnchorThatCannotBeWrittenStopsAppends() throws {
        let (directory, store) = try storeWithRecords(1)
        let anchor = AuditKey.anchorPath(forDatabaseAt: directory.path("db.sqlite"))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: anchor)
        #expect(throws: StoreError.self) { try store.audit(actor: "t", action: "step", detail: [:]) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: anchor)
        try store.audit(actor: "t", action: "step", detail: [:])
        #expect(try store.verifyAudit().recordCount == 2)
    }

    @Test func aDirectoryOthersMayWriteIsRefused() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path(""))
        #expect { _ = try EventStore(path: directory.path("db.sqlite")) } throws: { ($0 as? StoreError)?.code == "store.directory-permissions" }
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: directory.path(""))
        _ = try EventStore(path: directory.path("db.sqlite"))
    }
}

