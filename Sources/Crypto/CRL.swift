internal import COpenSSL
import Foundation

/// A certificate revocation list published by the federation root (`Certs/revoke.sh`).
// @unchecked Sendable: the X509_CRL is never mutated after init; lookups only read it.
public final class CRL: @unchecked Sendable, CustomStringConvertible {
    let crl: OpaquePointer

    init(taking crl: OpaquePointer) { self.crl = crl }

    deinit { X509_CRL_free(crl) }

    /// Parses PEM or DER; an empty CRL (no revoked entries) is fine.
    public convenience init(bytes: [UInt8]) throws {
        let crl: OpaquePointer
        if looksLikePEM(bytes) {
            crl = try withMemoryBIO(bytes) { bio in
                guard let parsed = PEM_read_bio_X509_CRL(bio, nil, nil, nil) else {
                    throw CryptoError.openSSL("crypto.crl.malformed", "no PEM CRL found")
                }
                return parsed
            }
        } else {
            crl = try bytes.withUnsafeBufferPointer { buffer in
                var cursor = buffer.baseAddress
                guard buffer.count > 0, let parsed = d2i_X509_CRL(nil, &cursor, buffer.count) else {
                    throw CryptoError.openSSL("crypto.crl.malformed", "not a DER CRL")
                }
                guard buffer.baseAddress!.distance(to: cursor!) == buffer.count else {
                    X509_CRL_free(parsed)
                    throw CryptoError(code: "crypto.crl.malformed", reason: "trailing bytes after the DER CRL")
                }
                return parsed
            }
        }
        self.init(taking: crl)
    }

    /// Loads a PEM or DER CRL file; errors name the file.
    public convenience init(contentsOf path: String) throws {
        let bytes = try readFile(path)
        let crl: OpaquePointer = try naming(path) {
            let parsed = try CRL(bytes: bytes)
            X509_CRL_up_ref(parsed.crl)
            return parsed.crl
        }
        self.init(taking: crl)
    }

    /// The issuer DN in one-line form.
    public var issuer: String { oneLine(X509_CRL_get_issuer(crl)) }

    /// When the CRL was signed.
    public var lastUpdate: Date? { date(fromASN1Time: X509_CRL_get0_lastUpdate(crl)) }

    /// When the next CRL is due (informative: the node does not refuse a late CRL, see TrustStore).
    public var nextUpdate: Date? { date(fromASN1Time: X509_CRL_get0_nextUpdate(crl)) }

    /// The revoked serial numbers in uppercase hex.
    public var revokedSerialNumbers: [String] {
        guard let revoked = X509_CRL_get_REVOKED(crl) else { return [] }
        return (0..<fedtrace_sk_X509_REVOKED_num(revoked)).compactMap { index in
            fedtrace_sk_X509_REVOKED_value(revoked, index).map { serialHex(X509_REVOKED_get0_serialNumber($0)) }
        }
    }

    /// Whether `issuer` signed this CRL (names match and the signature verifies).
    public func isSigned(by issuer: Certificate) -> Bool {
        defer { _ = drainOpenSSLErrors() }
        guard X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer.x509)) == 0,
              let key = X509_get0_pubkey(issuer.x509) else { return false }
        return X509_CRL_verify(crl, key) == 1
    }

    /// When `certificate` was revoked by this CRL, or nil when it is not listed.
    public func revocationDate(of certificate: Certificate) -> Date? {
        guard X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(certificate.x509)) == 0 else { return nil }
        var entry: OpaquePointer? = nil
        guard X509_CRL_get0_by_cert(crl, &entry, certificate.x509) == 1, let entry else { return nil }
        return date(fromASN1Time: X509_REVOKED_get0_revocationDate(entry)) ?? .distantPast
    }

    public var description: String { "CRL from \(issuer) with \(revokedSerialNumbers.count) revoked" }
}
