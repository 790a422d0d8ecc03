import Foundation
import Testing
@testable import Store

/// `AgreementStore`: migration 0002, idempotent imports, signatures added later, terminations.
@Suite struct AgreementStoreTests {
    static let hash = String(repeating: "ab", count: 32)
    static let agreement = StoredAgreement(hash: hash, id: "kz-ua-2026", version: 1, supersedes: nil,
                                           parties: ["urn:fctc:party:KZ", "urn:fctc:party:UA"], body: Array(#"{"id":"kz-ua-2026"}"#.utf8))

    static func signature(_ party: String) -> StoredAgreementSignature {
        StoredAgreementSignature(agreementHash: hash, party: party, signingTime: "2026-01-01T00:00:00.000Z", cms: [0x30, 0x03, 0x02, 0x01, 0x01])
    }

    @Test func importIsIdempotentAndSignaturesAccumulate() throws {
        let directory = try TemporaryDirectory()
        let events = try EventStore(path: directory.path("store.sqlite"))
        let store = AgreementStore(events)
        let first = try store.importAgreement(Self.agreement, signatures: [Self.signature("urn:fctc:party:KZ")], actor: "test")
        #expect(first == AgreementImportResult(newAgreement: true, addedSignatures: ["urn:fctc:party:KZ"]))
        let again = try store.importAgreement(Self.agreement, signatures: [Self.signature("urn:fctc:party:KZ")], actor: "test")
        #expect(again == AgreementImportResult(newAgreement: false, addedSignatures: []))
        let later = try store.importAgreement(Self.agreement, signatures: [Self.signature("urn:fctc:party:UA")], actor: "test")
        #expect(later.addedSignatures == ["urn:fctc:party:UA"])
        let stored = try #require(try store.agreement(hash: Self.hash))
        #expect(stored.parties == Self.agreement.parties && stored.body == Self.agreement.body && stored.supersedes == nil)
        #expect(try store.signatures(of: Self.hash).map(\.party) == ["urn:fctc:party:KZ", "urn:fctc:party:UA"])
        // Two changes audited; the no-op import is not.
        #expect(try events.recentAudit(limit: 10).filter { $0.action == "agreement.import" }.count == 2)
        #expect(try events.verifyAudit().isIntact)
    }

    @Test func terminationNeedsAStoredAgreementAndHappensOncePerParty() throws {
        let directory = try TemporaryDirectory()
        let events = try EventStore(path: directory.path("store.sqlite"))
        let store = AgreementStore(events)
        let termination = StoredAgreementTermination(agreementHash: Self.hash, party: "urn:fctc:party:KZ", effective: "2026-06-01T00:00:00.000Z",
                                                     reason: "test", signingTime: "2026-06-01T00:00:00.000Z", cms: [0x30, 0x00])
        #expect(throws: StoreError.self) { try store.terminate(termination, actor: "test") }
        _ = try store.importAgreement(Self.agreement, signatures: [], actor: "test")
        try store.terminate(termination, actor: "test")
        #expect(try store.terminations(of: Self.hash) == [termination])
        #expect(throws: StoreError.self) { try store.terminate(termination, actor: "test") }
    }
}
