import Foundation
import Testing
@testable import Node
import Store
import TestSupport

/// `SharedMemo`: verified views reused across services of one process, never past a change
/// of the store or their time-to-live.
@Suite struct SharedMemoTests {
    final class Counter: @unchecked Sendable { var calls = 0 }

    @Test func reusesOnlyForTheSameDirectoryFingerprintAndWithinItsSeconds() throws {
        let memo = SharedMemo<Int>(seconds: 1, capacity: 2)
        let counter = Counter()
        func value(_ directory: String, _ fingerprint: [String], _ now: Date) throws -> Int {
            try memo.value(for: directory, fingerprint: fingerprint, now: now) { counter.calls += 1; return counter.calls }
        }
        let t = Date()
        #expect(try value("/a", ["1"], t) == 1)
        #expect(try value("/a", ["1"], t.addingTimeInterval(0.5)) == 1)      // reused
        #expect(try value("/a/./", ["1"], t.addingTimeInterval(0.5)) == 1)   // the same directory, written otherwise
        #expect(try value("/a", ["2"], t.addingTimeInterval(0.5)) == 2)      // the store changed
        #expect(try value("/a", ["2"], t.addingTimeInterval(1.6)) == 3)      // too old
        #expect(try value("/a", ["2"], t.addingTimeInterval(1.0)) == 4)      // asked about an earlier time
        #expect(try value("/b", ["2"], t.addingTimeInterval(1.0)) == 5)      // another directory
        #expect(try value("/c", ["2"], t.addingTimeInterval(1.0)) == 6)      // past capacity: starts over
        #expect(try value("/a", ["2"], t.addingTimeInterval(1.0)) == 7)
        // A failure is not remembered.
        #expect(throws: NodeError.self) {
            try memo.value(for: "/d", fingerprint: [], now: t) { throw NodeError(code: "test", reason: "no") }
        }
        #expect(try value("/d", [], t) == 8)
    }

    /// The trust files are part of the fingerprints: a CRL installed (or replaced, or a root
    /// changed) makes the next read verify again, as if nothing were remembered.
    @Test func aNewCRLOrRootChangesTheFingerprint() throws {
        let directory = try makeTemporaryDirectory("memo-trust").path
        try Data("root".utf8).write(to: URL(fileURLWithPath: directory + "/root.pem"))
        let before = trustFilesFingerprint(in: directory)
        #expect(before.count == 2 && before[1] == "crl.pem:-")
        try Data("crl one".utf8).write(to: URL(fileURLWithPath: directory + "/crl.pem"))
        let withCRL = trustFilesFingerprint(in: directory)
        #expect(withCRL != before)
        // Replaced atomically (a new inode), as an operator's `mv` does: changed again.
        try Data("crl two".utf8).write(to: URL(fileURLWithPath: directory + "/crl.pem"), options: .atomic)
        #expect(trustFilesFingerprint(in: directory) != withCRL)
        #expect(trustFilesFingerprint(in: directory) == trustFilesFingerprint(in: directory))
    }

    /// A signature stored by one service (or another process) is seen at once by the
    /// others: the fingerprint changes, whatever the time-to-live.
    @Test func anAgreementStoredElsewhereIsSeenAtOnce() throws {
        let federation = try RelayTests.federation("memo-agreements")
        let reader = AgreementService(node: federation.kz)
        let before = try reader.cachedStatuses()
        #expect(before.count == 1 && before.first?.isActive == true)
        // A new agreement, stored through another service instance within the same second.
        let draft = try AgreementService.draft(party: RelayTests.kz, with: [RelayTests.ua], id: "memo-second")
        let signatures = try [federation.kz, federation.ua].map { try AgreementService(node: $0).sign(draft).signature }
        _ = try AgreementService(node: federation.kz).importAgreement(draft, signatures: signatures)
        let after = try reader.cachedStatuses()
        #expect(after.count == 2)
        #expect(after.allSatisfy { $0.isActive })
    }
}
