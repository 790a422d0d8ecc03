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
        let (_, store) = try storeWithRecords(5)
        let result = try store.verifyAudit()
        #expect(result.isIntact)
        #expect(result.recordCount == 5)
    }

    @Test func sqlUpdateAndDeleteAreRefusedByTriggers() throws {
        let (_, store) = try storeWithRecords(2)
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
}
