import Foundation
import Testing
import Crypto
import Model
@testable import Store

/// The directory tables (migration 0006-directory): only a higher version replaces an entry,
/// the same bytes are a no-op, every change and refusal is audited, own versions are kept.
@Suite struct DirectoryStoreTests {
    @Test func onlyAHigherVersionReplacesAnEntryAndEveryChangeIsAudited() throws {
        let directory = try TemporaryDirectory()
        let events = try EventStore(path: directory.path("db.sqlite"))
        #expect(try Schema.migrator.appliedNames(events.database).contains("0006-directory"))
        let store = DirectoryStore(events)
        let kz = "urn:fctc:party:KZ"
        func put(_ version: Int64, _ bytes: String) throws -> DirectoryStoreOutcome {
            try store.storeIfNewer(party: kz, version: version, issued: "2026-11-24T10:00:00.000Z", signed: Array(bytes.utf8),
                                   source: "urn:fctc:party:KZ", actor: kz, action: "directory.store")
        }
        #expect(try put(2, "v2") == .stored)
        #expect(try put(2, "v2") == .unchanged)
        #expect(try put(2, "v2 other") == .notNewer(current: 2))
        #expect(try put(1, "v1") == .notNewer(current: 2))
        #expect(try put(3, "v3") == .stored)
        let held = try #require(try store.entry(party: kz))
        #expect(held.version == 3 && held.signed == Array("v3".utf8) && held.digest == SHA256.hexHash(Array("v3".utf8)))
        #expect(try store.entries().map(\.party) == [kz])
        #expect(try store.entry(party: "urn:fctc:party:UA") == nil)
        try store.recordRefusal(actor: "urn:fctc:party:UA", action: "directory.refuse", code: "directory.identity", reason: "not yours",
                                party: kz, signed: Array("forged".utf8))
        let audit = try events.recentAudit(limit: 10).reversed().filter { $0.action.hasPrefix("directory.") }
        #expect(audit.map(\.action) == ["directory.store", "directory.store", "directory.refuse"])
        #expect(audit[1].detail.contains(#""replaces":2"#))
        #expect(audit[2].actor == "urn:fctc:party:UA" && audit[2].detail.contains(SHA256.hexHash(Array("forged".utf8))))
        #expect(!audit[2].detail.contains("forged\""), "the refused bytes are not in the audit log")
        #expect(try events.verifyAudit().isIntact)

        // Own entries: every version kept, the counter is the highest.
        #expect(try store.lastPublishedVersion() == 0)
        try store.recordPublished(version: 1, signed: Array("mine 1".utf8), hubs: ["urn:fctc:hub:gsp"])
        try store.recordPublished(version: 2, signed: Array("mine 2".utf8), hubs: ["urn:fctc:hub:gsp"])
        #expect(try store.lastPublishedVersion() == 2)
        #expect(try store.published(version: 1) == Array("mine 1".utf8))
        #expect(throws: StoreError.self) { try store.recordPublished(version: 2, signed: [], hubs: []) }
    }
}
