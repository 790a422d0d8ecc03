public import Foundation
public import Crypto
public import Model

/// A signed receipt (docs/sync.md): the receiver's statement that it applied `stream` up to
/// `sequence` contiguously, the last delta having hash `deltaHash`. CMS SignedData by the
/// receiver's signing key over `{"stream","sequence","deltaHash","receiver","at"}`.
public struct Receipt: Sendable, Equatable {
    public let stream: String
    public let sequence: Int64
    public let deltaHash: String
    public let receiver: String
    public let at: String

    public init(stream: String, sequence: Int64, deltaHash: String, receiver: String, at: String) {
        self.stream = stream
        self.sequence = sequence
        self.deltaHash = deltaHash
        self.receiver = receiver
        self.at = at
    }

    var content: [UInt8] {
        JSONWriter.serialize(.object([
            "stream": .string(stream), "sequence": .number(String(sequence)), "deltaHash": .string(deltaHash),
            "receiver": .string(receiver), "at": .string(at),
        ]))
    }

    /// Signs the receipt with the receiver's signing certificate and key.
    public func sign(certificate: Certificate, key: PrivateKey) throws -> [UInt8] {
        try CMS.sign(content, signer: certificate, key: key)
    }

    /// Verifies a signed receipt: signature and certificate (to `trust`, at the signing time,
    /// CRL), signer = `expectedReceiver`, and the content's form. The caller checks the
    /// stream, sequence and hash against its outbox.
    public static func verify(_ signed: [UInt8], trust: TrustStore, expectedReceiver: String, now: Date = Date()) throws(SyncError) -> Receipt {
        let verified: VerifiedSignedData
        do {
            verified = try CMS.verify(signed, trust: trust, expectedSigner: expectedReceiver, now: now)
        } catch {
            throw SyncError(code: "receipt.signature", reason: "receipt from \(expectedReceiver) does not verify: \((error as? CryptoError)?.reason ?? "\(error)")")
        }
        guard case .object(let o)? = try? JSONParser.parse(verified.content), o.keys.count == 5,
              case .string(let stream)? = o["stream"], case .number(let n)? = o["sequence"], let sequence = Int64(n),
              case .string(let hash)? = o["deltaHash"], case .string(let receiver)? = o["receiver"], case .string(let at)? = o["at"],
              receiver == expectedReceiver else {
            throw SyncError(code: "receipt.form", reason: "receipt from \(expectedReceiver) is not {stream, sequence, deltaHash, receiver, at} for that receiver")
        }
        return Receipt(stream: stream, sequence: sequence, deltaHash: hash, receiver: receiver, at: at)
    }
}
