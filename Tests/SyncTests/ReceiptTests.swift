import Foundation
import Testing
import Crypto
import Model
import Policy
import Store
@testable import Sync

/// Receipts at the origin: only the recipient's signature over a delta we made counts.
@Suite("Receipts")
struct ReceiptTests {
    static let stream = RefusalTests.stream

    /// KZ has pushed two deltas to UA; UA's receipts are returned unaccepted.
    static func delivered() throws -> (kz: SyncNode, ua: SyncNode, deltas: [OutboxDelta], receipts: [[UInt8]]) {
        let (kz, ua, deltas) = try RefusalTests.pair(deltas: 2)
        var receipts: [[UInt8]] = []
        for delta in deltas { receipts.append(try #require(ua.receive(try kz.parcel(delta)).receipt)) }
        return (kz, ua, deltas, receipts)
    }

    static func refusal(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let error as SyncError { return error.code } catch { return "\(error)" }
    }

    static func sign(_ receipt: Receipt, as party: PartyCertificateFolder) throws -> [UInt8] {
        try receipt.sign(certificate: party.signingCertificate, key: party.signingKey)
    }

    @Test("A receipt signed by someone other than the recipient is refused")
    func signedBySomeoneElse() throws {
        let (kz, _, deltas, receipts) = try Self.delivered()
        let claim = Receipt(stream: Self.stream, sequence: 1, deltaHash: deltas[0].deltaHash, receiver: Parties.ua.urn, at: isoTime(Date()))
        // DE signs UA's receipt.
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(claim, as: SyncPKI.shared.de), from: Parties.ua.urn) } == "receipt.signature")
        // KZ from another root signs it.
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(claim, as: SyncPKI.shared.foreignKZ), from: Parties.ua.urn) } == "receipt.signature")
        // UA's genuine receipt presented as DE's.
        #expect(Self.refusal { try kz.engine.acceptReceipt(receipts[0], from: Parties.de.urn) } == "receipt.signature")
        // UA's receipt with one bit flipped.
        var tampered = receipts[1]
        tampered[tampered.count / 3] ^= 0x04
        #expect(Self.refusal { try kz.engine.acceptReceipt(tampered, from: Parties.ua.urn) } != nil)
        #expect(Self.refusal { try kz.engine.acceptReceipt(Array("not a receipt".utf8), from: Parties.ua.urn) } == "receipt.signature")
        #expect(try kz.sync.progress(recipient: Parties.ua.urn).first?.acknowledged == 0)
        // The genuine ones are accepted.
        try kz.engine.acceptReceipt(receipts[1], from: Parties.ua.urn)
        #expect(try kz.sync.progress(recipient: Parties.ua.urn).first?.acknowledged == 2)
    }

    @Test("A receipt naming a hash, a sequence or a stream we never made is refused")
    func unknownDelta() throws {
        let (kz, _, deltas, _) = try Self.delivered()
        let ua = SyncPKI.shared.ua
        let now = isoTime(Date())
        let wrongHash = Receipt(stream: Self.stream, sequence: 1, deltaHash: String(repeating: "ab", count: 32), receiver: Parties.ua.urn, at: now)
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(wrongHash, as: ua), from: Parties.ua.urn) } == "receipt.hash")
        let swapped = Receipt(stream: Self.stream, sequence: 1, deltaHash: deltas[1].deltaHash, receiver: Parties.ua.urn, at: now)
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(swapped, as: ua), from: Parties.ua.urn) } == "receipt.hash")
        let ahead = Receipt(stream: Self.stream, sequence: 3, deltaHash: deltas[1].deltaHash, receiver: Parties.ua.urn, at: now)
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(ahead, as: ua), from: Parties.ua.urn) } == "receipt.sequence")
        let otherFlow = StreamName(origin: Parties.kz, agreementHash: Agreements.bilateral.agreement.hash, flow: "no-such-flow").description
        let unknownStream = Receipt(stream: otherFlow, sequence: 1, deltaHash: deltas[0].deltaHash, receiver: Parties.ua.urn, at: now)
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(unknownStream, as: ua), from: Parties.ua.urn) } == "receipt.sequence")
        let notOurs = Receipt(stream: StreamName(origin: Parties.ua, agreementHash: Agreements.bilateral.agreement.hash, flow: RefusalTests.flow).description,
                              sequence: 1, deltaHash: deltas[0].deltaHash, receiver: Parties.ua.urn, at: now)
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(notOurs, as: ua), from: Parties.ua.urn) } == "receipt.stream")
        // Signed by UA but naming DE as the receiver.
        let otherReceiver = Receipt(stream: Self.stream, sequence: 1, deltaHash: deltas[0].deltaHash, receiver: Parties.de.urn, at: now)
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(otherReceiver, as: ua), from: Parties.ua.urn) } == "receipt.form")
        // Signed JSON that is not a receipt.
        let notAReceipt = try CMS.sign(Array(#"{"stream":"x"}"#.utf8), signer: ua.signingCertificate, key: ua.signingKey)
        #expect(Self.refusal { try kz.engine.acceptReceipt(notAReceipt, from: Parties.ua.urn) } == "receipt.form")
        #expect(try kz.sync.progress(recipient: Parties.ua.urn).first?.acknowledged == 0)
    }

    @Test("A receipt from a Party that is not a recipient of the stream is refused")
    func notARecipient() throws {
        let (kz, _, deltas, _) = try Self.delivered()
        // DE signs, as itself, a receipt for KZ's stream to UA with the right hash.
        let claim = Receipt(stream: Self.stream, sequence: 1, deltaHash: deltas[0].deltaHash, receiver: Parties.de.urn, at: isoTime(Date()))
        #expect(Self.refusal { try kz.engine.acceptReceipt(try Self.sign(claim, as: SyncPKI.shared.de), from: Parties.de.urn) } == "receipt.recipient")
        #expect(try kz.sync.progress().map(\.recipient) == [Parties.ua.urn])
    }

    @Test("An older receipt does not move the acknowledged position back")
    func olderReceipt() throws {
        let (kz, _, _, receipts) = try Self.delivered()
        try kz.engine.acceptReceipt(receipts[1], from: Parties.ua.urn)
        try kz.engine.acceptReceipt(receipts[0], from: Parties.ua.urn)
        let progress = try #require(try kz.sync.progress(recipient: Parties.ua.urn).first)
        #expect(progress.acknowledged == 2)
        #expect(progress.receipt == receipts[1])
    }
}
