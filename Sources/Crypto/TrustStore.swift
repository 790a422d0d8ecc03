internal import COpenSSL
import Foundation

/// The federation root(s) and the CRLs they signed: verifies that a certificate chains to
/// the root, is valid at a given time, is not revoked and fits a purpose.
///
/// Revocation is checked by looking the certificate up in every CRL of its issuer, not by
/// OpenSSL's CRL time window: a revoked certificate is refused whatever the verification
/// time (so an old signature by a since-revoked key fails too), and a CRL past its
/// nextUpdate still counts — it can only add refusals. The federation is flat (root → leaf);
/// intermediates are accepted for chain building but must also pass the CRLs.
// @unchecked Sendable: the X509_STORE is filled in init and only read afterwards (OpenSSL locks it).
public final class TrustStore: @unchecked Sendable {
    /// The trusted roots.
    public let roots: [Certificate]
    /// CRLs, each verified to be signed by one of `roots`.
    public let crls: [CRL]
    private let store: OpaquePointer

    /// Trusts `roots`; refuses any CRL none of them signed (`crypto.crl.foreign-ca`).
    public init(roots: [Certificate], crls: [CRL] = []) throws {
        guard !roots.isEmpty else { throw CryptoError(code: "crypto.trust.empty", reason: "no trusted root certificate") }
        for crl in crls where !roots.contains(where: { crl.isSigned(by: $0) }) {
            throw CryptoError(code: "crypto.crl.foreign-ca", reason: "CRL issued by \(crl.issuer) is not signed by the federation root")
        }
        guard let store = X509_STORE_new() else { throw CryptoError.openSSL("crypto.memory", "X509_STORE_new failed") }
        for root in roots where X509_STORE_add_cert(store, root.x509) != 1 {
            X509_STORE_free(store)
            throw CryptoError.openSSL("crypto.trust.root", "cannot add \(root) to the trust store")
        }
        self.store = store
        self.roots = roots
        self.crls = crls
    }

    /// Loads `root.pem` (one or more certificates) and, when given, a CRL file. Errors name the file.
    public convenience init(rootFile: String, crlFile: String? = nil) throws {
        let rootBytes = try readFile(rootFile)
        let roots = try naming(rootFile) {
            looksLikePEM(rootBytes) ? try Certificate.certificates(pemEncoded: rootBytes) : [try Certificate(derEncoded: rootBytes)]
        }
        let crls = try crlFile.map { [try CRL(contentsOf: $0)] } ?? []
        do {
            try self.init(roots: roots, crls: crls)
        } catch let error as CryptoError where error.code == "crypto.crl.foreign-ca" {
            throw CryptoError(code: error.code, reason: "\(crlFile ?? ""): \(error.reason)")
        }
    }

    deinit { X509_STORE_free(store) }

    /// Verifies `certificate` (with optional untrusted `intermediates`) to a root at `time`,
    /// then revocation, purpose and identity. Returns the `urn:fctc:` identity.
    ///
    /// Throws `crypto.cert.foreign-ca`, `.expired`, `.not-yet-valid`, `.revoked`, `.purpose`,
    /// `.identity` or `.chain`, each with a reason that names the certificate and the cause.
    @discardableResult
    public func verify(_ certificate: Certificate, intermediates: [Certificate] = [], purpose: CertificatePurpose,
                       at time: Date = Date()) throws -> String {
        guard let context = X509_STORE_CTX_new() else { throw CryptoError.openSSL("crypto.memory", "X509_STORE_CTX_new failed") }
        defer { X509_STORE_CTX_free(context) }
        guard let untrusted = fedtrace_sk_X509_new_null() else { throw CryptoError.openSSL("crypto.memory", "sk_X509_new_null failed") }
        defer { fedtrace_sk_X509_free(untrusted) }   // the certificates stay owned by `intermediates`
        for intermediate in intermediates where fedtrace_sk_X509_push(untrusted, intermediate.x509) <= 0 {
            throw CryptoError.openSSL("crypto.memory", "sk_X509_push failed")
        }
        guard X509_STORE_CTX_init(context, store, certificate.x509, untrusted) == 1 else {
            throw CryptoError.openSSL("crypto.cert.chain", "X509_STORE_CTX_init failed")
        }
        X509_STORE_CTX_set_time(context, 0, timeT(time))
        X509_STORE_CTX_set_flags(context, UInt(X509_V_FLAG_X509_STRICT))
        let verified = X509_verify_cert(context)
        if verified != 1 {
            let code = X509_STORE_CTX_get_error(context)
            let failing = X509_STORE_CTX_get_current_cert(context).map { Certificate(sharing: $0) } ?? certificate
            _ = drainOpenSSLErrors()
            throw chainError(code: code, certificate: failing, at: time)
        }
        for member in [certificate] + intermediates {
            for crl in crls {
                if let revoked = crl.revocationDate(of: member) {
                    throw CryptoError(code: "crypto.cert.revoked",
                                      reason: "\(member) was revoked on \(utcText(revoked)) (CRL from \(crl.issuer))")
                }
            }
        }
        if let problem = certificate.purposeProblem(for: purpose) {
            throw CryptoError(code: "crypto.cert.purpose", reason: problem)
        }
        guard let identity = certificate.partyURN else {
            throw CryptoError(code: "crypto.cert.identity",
                              reason: "\(certificate) has no single urn:fctc: subjectAltName URI (has \(certificate.subjectAlternativeURIs))")
        }
        return identity
    }

    private func chainError(code: Int32, certificate: Certificate, at time: Date) -> CryptoError {
        let openSSLText = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "error \(code)"
        switch code {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return CryptoError(code: "crypto.cert.expired",
                               reason: "\(certificate) expired on \(utcText(certificate.notAfter)) (checked at \(utcText(time))): \(openSSLText)")
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return CryptoError(code: "crypto.cert.not-yet-valid",
                               reason: "\(certificate) is valid only from \(utcText(certificate.notBefore)) (checked at \(utcText(time))): \(openSSLText)")
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
             X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_CERT_SIGNATURE_FAILURE:
            return CryptoError(code: "crypto.cert.foreign-ca",
                               reason: "\(certificate) issued by \(certificate.issuer) does not chain to the federation root: \(openSSLText)")
        default:
            return CryptoError(code: "crypto.cert.chain", reason: "\(certificate) failed verification: \(openSSLText)")
        }
    }
}
