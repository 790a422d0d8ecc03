internal import COpenSSL
import Foundation

/// A parsed CMS ContentInfo (any content type); DER or PEM in, trailing bytes refused.
final class CMSObject {
    let cms: OpaquePointer

    init(taking cms: OpaquePointer) { self.cms = cms }

    deinit { CMS_ContentInfo_free(cms) }

    static func parse(_ bytes: [UInt8]) throws -> CMSObject {
        if looksLikePEM(bytes) {
            return try withMemoryBIO(bytes) { bio in
                guard let cms = PEM_read_bio_CMS(bio, nil, nil, nil) else {
                    throw CryptoError.openSSL("crypto.cms.malformed", "no PEM CMS object found")
                }
                return CMSObject(taking: cms)
            }
        }
        return try bytes.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            guard buffer.count > 0, let cms = d2i_CMS_ContentInfo(nil, &cursor, buffer.count) else {
                throw CryptoError.openSSL("crypto.cms.malformed", "not a DER CMS object (truncated or garbage)")
            }
            let used = buffer.baseAddress!.distance(to: cursor!)
            guard used == buffer.count else {
                CMS_ContentInfo_free(cms)
                throw CryptoError(code: "crypto.cms.malformed", reason: "\(buffer.count - used) bytes after the DER CMS object")
            }
            return CMSObject(taking: cms)
        }
    }

    var typeNID: Int32 { OBJ_obj2nid(CMS_get0_type(cms)) }

    var kind: CMSContentKind {
        switch typeNID {
        case NID_pkcs7_signed: .signed
        case NID_pkcs7_enveloped: .enveloped
        case NID_id_smime_ct_authEnvelopedData: .authEnveloped
        default: .other
        }
    }

    var typeName: String {
        var buffer = [CChar](repeating: 0, count: 128)
        let length = OBJ_obj2txt(&buffer, Int32(buffer.count), CMS_get0_type(cms), 0)
        return length > 0 ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown"
    }

    func derBytes() throws -> [UInt8] {
        let length = i2d_CMS_ContentInfo(cms, nil)
        guard length > 0 else { throw CryptoError.openSSL("crypto.cms.encode", "i2d_CMS_ContentInfo failed") }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return i2d_CMS_ContentInfo(cms, &cursor)
        }
        guard written == length else { throw CryptoError.openSSL("crypto.cms.encode", "i2d_CMS_ContentInfo failed") }
        return out
    }

    /// The length of the embedded (encrypted) content, to size output buffers; 0 when absent.
    var contentLength: Int {
        guard let content = CMS_get0_content(cms), let octets = content.pointee else { return 0 }
        return Int(ASN1_STRING_length(octets))
    }

    /// Runs CMS_final with the content written into a BIO reserved for `size` bytes (see
    /// `makeMemoryBIO`); CMS_dataFinal takes that buffer over as the embedded content.
    func finalize(_ content: [UInt8], reserving size: Int, flags: UInt32, what: String) throws {
        let sink = try makeMemoryBIO(reserving: size, secret: false)
        defer { BIO_free(sink) }
        try withMemoryBIO(content) { data in
            guard CMS_final(cms, data, sink, flags) == 1 else { throw CryptoError.openSSL(what, "CMS_final failed") }
        }
    }

    /// The SignerInfos of SignedData (empty for other types).
    var signerInfos: [OpaquePointer] {
        guard typeNID == NID_pkcs7_signed, let infos = CMS_get0_SignerInfos(cms) else { return [] }
        return (0..<fedtrace_sk_CMS_SignerInfo_num(infos)).compactMap { fedtrace_sk_CMS_SignerInfo_value(infos, $0) }
    }

    /// The certificates carried in SignedData.
    var certificates: [Certificate] {
        guard typeNID == NID_pkcs7_signed, let stack = CMS_get1_certs(cms) else { _ = drainOpenSSLErrors(); return [] }
        defer { fedtrace_sk_X509_pop_free(stack) }
        return (0..<fedtrace_sk_X509_num(stack)).compactMap { fedtrace_sk_X509_value(stack, $0).map { Certificate(sharing: $0) } }
    }

    /// The RecipientInfos of (Auth)EnvelopedData (empty for other types).
    var recipientInfos: [OpaquePointer] {
        guard kind == .enveloped || kind == .authEnveloped, let infos = CMS_get0_RecipientInfos(cms) else { return [] }
        return (0..<fedtrace_sk_CMS_RecipientInfo_num(infos)).compactMap { fedtrace_sk_CMS_RecipientInfo_value(infos, $0) }
    }

    /// Whether `certificate` is named by one of the RecipientInfos.
    func hasRecipient(_ certificate: Certificate) -> Bool {
        defer { _ = drainOpenSSLErrors() }
        for info in recipientInfos {
            switch CMS_RecipientInfo_type(info) {
            case CMS_RECIPINFO_AGREE:
                guard let keys = CMS_RecipientInfo_kari_get0_reks(info) else { continue }
                for index in 0..<fedtrace_sk_CMS_RecipientEncryptedKey_num(keys) {
                    if let key = fedtrace_sk_CMS_RecipientEncryptedKey_value(keys, index),
                       CMS_RecipientEncryptedKey_cert_cmp(key, certificate.x509) == 0 { return true }
                }
            case CMS_RECIPINFO_TRANS:
                if CMS_RecipientInfo_ktri_cert_cmp(info, certificate.x509) == 0 { return true }
            default:
                continue
            }
        }
        return false
    }
}

/// The signingTime signed attribute of a SignerInfo.
func signingTime(of signerInfo: OpaquePointer) -> Date? {
    let index = CMS_signed_get_attr_by_NID(signerInfo, NID_pkcs9_signingTime, -1)
    guard index >= 0, let attribute = CMS_signed_get_attr(signerInfo, index),
          X509_ATTRIBUTE_count(attribute) == 1, let value = X509_ATTRIBUTE_get0_type(attribute, 0) else { return nil }
    guard value.pointee.type == V_ASN1_UTCTIME || value.pointee.type == V_ASN1_GENERALIZEDTIME else { return nil }
    return date(fromASN1Time: UnsafePointer(value.pointee.value.asn1_string))
}

/// What `CMS.verify` proves: the content, who signed it and when.
public struct VerifiedSignedData: Sendable {
    /// The signed content (the detached content when the signature was detached).
    public let content: [UInt8]
    /// The signer's identity, e.g. `urn:fctc:party:KZ`, from a certificate verified at `signingTime`.
    public let signerURN: String
    /// The CMS signingTime signed attribute.
    public let signingTime: Date
    /// The signing certificate that verified.
    public let signerCertificate: Certificate
}

/// CMS (RFC 5652) SignedData and AuthEnvelopedData as the federation uses them (DESIGN §7):
/// sign with the origin's signing key, then seal to each recipient's sealing certificate.
/// Every object verifies or opens with `openssl cms` alone.
public enum CMS {
    /// How far a signing time may lie ahead of the verifier's clock.
    public static let allowedClockSkew: TimeInterval = 300

    /// Signs `content` as CMS SignedData (DER) with `signer` (a signing certificate) and its
    /// key; the signingTime attribute and the signer's certificate are included.
    /// A transport or sealing certificate is refused (`crypto.cert.purpose`).
    public static func sign(_ content: [UInt8], signer: Certificate, key: PrivateKey, detached: Bool = false) throws -> [UInt8] {
        try sign(content, signer: signer, key: key, detached: detached, signingTime: nil)
    }

    /// `signingTime` overrides the clock; tests use it to make objects signed in the past.
    static func sign(_ content: [UInt8], signer: Certificate, key: PrivateKey, detached: Bool, signingTime: Date?) throws -> [UInt8] {
        if let problem = signer.purposeProblem(for: .signing) {
            throw CryptoError(code: "crypto.cert.purpose", reason: "cannot sign: \(problem)")
        }
        guard key.matches(signer) else {
            throw CryptoError(code: "crypto.key.mismatch", reason: "the private key does not belong to \(signer)")
        }
        let flags = UInt32(CMS_BINARY | CMS_NOSMIMECAP | CMS_PARTIAL | (detached ? CMS_DETACHED : 0))
        guard let raw = CMS_sign(signer.x509, key.pkey, nil, nil, flags) else {
            throw CryptoError.openSSL("crypto.cms.sign", "CMS_sign failed")
        }
        let object = CMSObject(taking: raw)
        if let signingTime {
            guard let signerInfo = object.signerInfos.first, let time = ASN1_TIME_set(nil, timeT(signingTime)) else {
                throw CryptoError.openSSL("crypto.cms.sign", "cannot set the signing time")
            }
            defer { ASN1_STRING_free(time) }
            guard CMS_signed_add1_attr_by_NID(signerInfo, NID_pkcs9_signingTime, time.pointee.type, time, -1) == 1 else {
                throw CryptoError.openSSL("crypto.cms.sign", "cannot add the signingTime attribute")
            }
        }
        if detached {
            try withMemoryBIO(content) { data in
                guard CMS_final(object.cms, data, nil, flags) == 1 else { throw CryptoError.openSSL("crypto.cms.sign", "CMS_final failed") }
            }
        } else {
            try object.finalize(content, reserving: content.count, flags: flags, what: "crypto.cms.sign")
        }
        return try object.derBytes()
    }

    /// Verifies CMS SignedData (DER or PEM): exactly one signer, signature and content digest,
    /// then the signer's certificate to `trust` for the signing purpose **at the signing
    /// time** (so objects signed before a rotation still verify; revocation applies whatever
    /// the time), and, when given, that the signer is `expectedSigner`.
    ///
    /// `certificates` adds candidate signer certificates (e.g. archived ones) for objects made
    /// without the certificate inside. `now` bounds the signing time (at most `allowedClockSkew` ahead).
    public static func verify(_ signed: [UInt8], detachedContent: [UInt8]? = nil, trust: TrustStore,
                              expectedSigner: String? = nil, certificates: [Certificate] = [],
                              now: Date = Date()) throws -> VerifiedSignedData {
        let object = try CMSObject.parse(signed)
        guard object.kind == .signed else {
            throw CryptoError(code: "crypto.cms.type", reason: "the object is \(object.typeName), not CMS SignedData")
        }
        let signerInfos = object.signerInfos
        guard signerInfos.count == 1 else {
            throw CryptoError(code: "crypto.cms.signers", reason: "expected exactly one signer, found \(signerInfos.count)")
        }
        let isDetached = CMS_is_detached(object.cms) == 1
        if isDetached && detachedContent == nil {
            throw CryptoError(code: "crypto.cms.detached", reason: "the signature is detached and no content was given")
        }
        if !isDetached && detachedContent != nil {
            throw CryptoError(code: "crypto.cms.detached", reason: "the signature carries its own content; refusing a separate one")
        }
        guard let extra = fedtrace_sk_X509_new_null() else { throw CryptoError.openSSL("crypto.memory", "sk_X509_new_null failed") }
        defer { fedtrace_sk_X509_free(extra) }
        for certificate in certificates where fedtrace_sk_X509_push(extra, certificate.x509) <= 0 {
            throw CryptoError.openSSL("crypto.memory", "sk_X509_push failed")
        }
        let flags = UInt32(CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY)   // the chain is verified below, at the signing time
        // The content is not copied out through a BIO (out = NULL: OpenSSL digests and discards
        // it); it is read once from the parsed object below, which saves a 1 MiB copy and cleanse.
        let verified: Int32 = try {
            if let detachedContent {
                // OpenSSL 3.0's CMS_verify copies a memory-BIO content into a new BIO and leaks
                // it when CMS_dataInit fails (found by Fuzz/CryptoFuzz); a buffer BIO in
                // front makes it use ours as is.
                return try withMemoryBIO(detachedContent) { memory in
                    guard let buffer = BIO_new(BIO_f_buffer()) else { throw CryptoError.openSSL("crypto.memory", "BIO_new failed") }
                    defer { _ = BIO_pop(buffer); BIO_free(buffer) }
                    return CMS_verify(object.cms, extra, nil, BIO_push(buffer, memory), nil, flags)
                }
            }
            return CMS_verify(object.cms, extra, nil, nil, nil, flags)
        }()
        guard verified == 1 else {
            if ERR_GET_REASON(ERR_peek_last_error()) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND {
                throw CryptoError.openSSL("crypto.cms.signer-unknown", "the signer's certificate is neither in the object nor given")
            }
            throw CryptoError.openSSL("crypto.cms.signature", "the signature does not verify (content altered, or not signed by this key)")
        }
        guard let signers = CMS_get0_signers(object.cms) else {
            throw CryptoError.openSSL("crypto.cms.signer-unknown", "no signer certificate after verification")
        }
        defer { fedtrace_sk_X509_free(signers) }
        guard fedtrace_sk_X509_num(signers) == 1, let signerX509 = fedtrace_sk_X509_value(signers, 0) else {
            throw CryptoError(code: "crypto.cms.signer-unknown", reason: "no signer certificate after verification")
        }
        let signer = Certificate(sharing: signerX509)
        guard let time = signingTime(of: signerInfos[0]) else {
            throw CryptoError(code: "crypto.cms.signing-time", reason: "the signature has no readable signingTime attribute")
        }
        guard time <= now.addingTimeInterval(allowedClockSkew) else {
            throw CryptoError(code: "crypto.cms.signing-time", reason: "signing time \(utcText(time)) is in the future (now \(utcText(now)))")
        }
        let intermediates = (object.certificates + certificates).filter { $0 != signer }
        let signerURN = try trust.verify(signer, intermediates: intermediates, purpose: .signing, at: time)
        if let expectedSigner, expectedSigner != signerURN {
            throw CryptoError(code: "crypto.cms.signer", reason: "signed by \(signerURN), expected \(expectedSigner)")
        }
        let content: [UInt8]
        if let detachedContent {
            content = detachedContent
        } else {
            guard let slot = CMS_get0_content(object.cms), let octets = slot.pointee else {
                throw CryptoError(code: "crypto.cms.malformed", reason: "SignedData has no content")
            }
            content = bytes(ofASN1String: octets)
        }
        return VerifiedSignedData(content: content, signerURN: signerURN, signingTime: time, signerCertificate: signer)
    }

    /// Seals `content` as CMS AuthEnvelopedData (DER): AES-256-GCM, the content key wrapped
    /// for each recipient by ECDH key agreement (X9.63 KDF with SHA-256, AES-256 key wrap)
    /// with the recipient's sealing certificate. A certificate that is not a sealing one is
    /// refused; with `trust`, each recipient is also verified to the root at `time`.
    public static func seal(_ content: [UInt8], to recipients: [Certificate], trust: TrustStore? = nil, at time: Date = Date()) throws -> [UInt8] {
        guard !recipients.isEmpty else { throw CryptoError(code: "crypto.cms.recipients", reason: "no recipient to seal to") }
        for recipient in recipients {
            if let problem = recipient.purposeProblem(for: .sealing) {
                throw CryptoError(code: "crypto.cert.purpose", reason: "cannot seal to it: \(problem)")
            }
            if let trust { try trust.verify(recipient, purpose: .sealing, at: time) }
        }
        guard let none = fedtrace_sk_X509_new_null() else { throw CryptoError.openSSL("crypto.memory", "sk_X509_new_null failed") }
        defer { fedtrace_sk_X509_free(none) }
        let flags = UInt32(CMS_BINARY | CMS_PARTIAL)
        // With an AEAD cipher, OpenSSL 3 makes AuthEnvelopedData (RFC 5083).
        guard let raw = CMS_encrypt(none, nil, EVP_aes_256_gcm(), flags) else {
            throw CryptoError.openSSL("crypto.cms.seal", "CMS_encrypt failed")
        }
        let object = CMSObject(taking: raw)
        for recipient in recipients {
            guard let info = CMS_add1_recipient_cert(object.cms, recipient.x509, UInt32(CMS_KEY_PARAM)) else {
                throw CryptoError.openSSL("crypto.cms.seal", "cannot add \(recipient) as a recipient")
            }
            guard let context = CMS_RecipientInfo_get0_pkey_ctx(info), EVP_PKEY_CTX_set_ecdh_kdf_md(context, EVP_sha256()) > 0 else {
                throw CryptoError.openSSL("crypto.cms.seal", "cannot set the key-agreement KDF for \(recipient)")
            }
        }
        // GCM adds nothing to the length; 32 spare bytes cover any block cipher padding.
        try object.finalize(content, reserving: content.count + 32, flags: flags, what: "crypto.cms.seal")
        return try object.derBytes()
    }

    /// Opens CMS (Auth)EnvelopedData (DER or PEM) with a sealing certificate and its key.
    /// Throws `crypto.cms.not-recipient` when the certificate is not among the recipients,
    /// `crypto.cms.decrypt` when decryption or the GCM tag check fails.
    public static func open(_ sealed: [UInt8], certificate: Certificate, key: PrivateKey) throws -> [UInt8] {
        let object = try CMSObject.parse(sealed)
        guard object.kind == .authEnveloped || object.kind == .enveloped else {
            throw CryptoError(code: "crypto.cms.type", reason: "the object is \(object.typeName), not CMS (Auth)EnvelopedData")
        }
        guard key.matches(certificate) else {
            throw CryptoError(code: "crypto.key.mismatch", reason: "the private key does not belong to \(certificate)")
        }
        guard object.hasRecipient(certificate) else {
            throw CryptoError(code: "crypto.cms.not-recipient",
                              reason: "\(certificate) is not among the \(object.recipientInfos.count) recipient(s) of this object")
        }
        return try collectingMemoryBIO(reserving: object.contentLength, secret: true) { out in
            guard CMS_decrypt(object.cms, key.pkey, certificate.x509, nil, out, UInt32(CMS_BINARY)) == 1 else {
                throw CryptoError.openSSL("crypto.cms.decrypt", "cannot decrypt (altered or truncated ciphertext, or wrong key)")
            }
        }
    }

    /// Sign, then seal (DESIGN §7): SignedData with the content attached, inside AuthEnvelopedData.
    public static func signAndSeal(_ content: [UInt8], signer: Certificate, key: PrivateKey, to recipients: [Certificate],
                                   trust: TrustStore? = nil) throws -> [UInt8] {
        var signed = try sign(content, signer: signer, key: key)
        defer { cleanse(&signed) }
        return try seal(signed, to: recipients, trust: trust)
    }

    /// Open, then verify: the inverse of `signAndSeal`.
    public static func openAndVerify(_ sealed: [UInt8], certificate: Certificate, key: PrivateKey, trust: TrustStore,
                                     expectedSigner: String? = nil, now: Date = Date()) throws -> VerifiedSignedData {
        var signed = try open(sealed, certificate: certificate, key: key)
        defer { cleanse(&signed) }
        return try verify(signed, trust: trust, expectedSigner: expectedSigner, now: now)
    }
}
