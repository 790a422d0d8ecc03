internal import COpenSSL
import Foundation

/// What a federation certificate may be used for (DESIGN §4): each Party holds one of each.
public enum CertificatePurpose: String, Sendable, CaseIterable, CustomStringConvertible {
    /// TLS 1.3 client and server authentication between nodes.
    case transport
    /// CMS SignedData: deltas, receipts, agreements, directory entries.
    case signing
    /// ECDH key agreement for CMS (Auth)EnvelopedData.
    case sealing

    public var description: String { rawValue }
}

/// An X.509 certificate. Immutable; identity is read from its `urn:fctc:` SAN URI.
// @unchecked Sendable: the X509 is never mutated after init; OpenSSL 3 locks its lazy extension cache.
public final class Certificate: @unchecked Sendable, CustomStringConvertible, Hashable {
    let x509: OpaquePointer

    /// Takes ownership of one reference to `x509`.
    init(taking x509: OpaquePointer) { self.x509 = x509 }

    /// Shares `x509`, taking a new reference.
    convenience init(sharing x509: OpaquePointer) {
        X509_up_ref(x509)
        self.init(taking: x509)
    }

    deinit { X509_free(x509) }

    /// Parses one DER certificate; trailing bytes are refused.
    public convenience init(derEncoded der: [UInt8]) throws {
        let x509: OpaquePointer = try der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            guard buffer.count > 0, let parsed = d2i_X509(nil, &cursor, buffer.count) else {
                throw CryptoError.openSSL("crypto.cert.malformed", "not a DER certificate")
            }
            let used = buffer.baseAddress!.distance(to: cursor!)
            guard used == buffer.count else {
                X509_free(parsed)
                throw CryptoError(code: "crypto.cert.malformed", reason: "\(buffer.count - used) bytes after the DER certificate")
            }
            return parsed
        }
        self.init(taking: x509)
    }

    /// Parses the first certificate of PEM text.
    public convenience init(pemEncoded pem: [UInt8]) throws {
        let x509: OpaquePointer = try withMemoryBIO(pem) { bio in
            guard let parsed = PEM_read_bio_X509(bio, nil, nil, nil) else {
                throw CryptoError.openSSL("crypto.cert.malformed", "no PEM certificate found")
            }
            return parsed
        }
        self.init(taking: x509)
    }

    /// Parses PEM or DER, whichever `bytes` hold.
    public convenience init(bytes: [UInt8]) throws {
        if looksLikePEM(bytes) {
            try self.init(pemEncoded: bytes)
        } else {
            try self.init(derEncoded: bytes)
        }
    }

    /// Loads a PEM or DER certificate file; errors name the file.
    public convenience init(contentsOf path: String) throws {
        let bytes = try readFile(path)
        let x509: OpaquePointer = try naming(path) {
            let parsed = try Certificate(bytes: bytes)
            X509_up_ref(parsed.x509)
            return parsed.x509
        }
        self.init(taking: x509)
    }

    /// Every certificate in PEM text (a bundle), in order; at least one.
    public static func certificates(pemEncoded pem: [UInt8]) throws -> [Certificate] {
        try withMemoryBIO(pem) { bio in
            var found: [Certificate] = []
            while let x509 = PEM_read_bio_X509(bio, nil, nil, nil) { found.append(Certificate(taking: x509)) }
            _ = drainOpenSSLErrors()   // the loop ends on "no start line", which is not a failure
            guard !found.isEmpty else { throw CryptoError(code: "crypto.cert.malformed", reason: "no PEM certificate found") }
            return found
        }
    }

    /// The DER encoding.
    public var derBytes: [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(length))
        out.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_X509(x509, &cursor)
        }
        return out
    }

    /// The PEM encoding (`-----BEGIN CERTIFICATE-----`).
    public var pemString: String {
        let bytes = (try? collectingMemoryBIO { bio in _ = PEM_write_bio_X509(bio, x509) }) ?? []
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The subject DN in one-line form (informative; identity is the SAN URI).
    public var subject: String { oneLine(X509_get_subject_name(x509)) }

    /// The issuer DN in one-line form.
    public var issuer: String { oneLine(X509_get_issuer_name(x509)) }

    /// The serial number in uppercase hex, as `openssl x509 -serial` prints it.
    public var serialNumber: String { serialHex(X509_get0_serialNumber(x509)) }

    /// Start of the validity window.
    public var notBefore: Date { date(fromASN1Time: X509_get0_notBefore(x509)) ?? .distantFuture }

    /// End of the validity window.
    public var notAfter: Date { date(fromASN1Time: X509_get0_notAfter(x509)) ?? .distantPast }

    /// Whether `time` falls inside the validity window.
    public func isValid(at time: Date) -> Bool { notBefore <= time && time <= notAfter }

    /// Every URI in the subjectAltName extension.
    public var subjectAlternativeURIs: [String] {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var uris: [String] = []
        for index in 0..<fedtrace_sk_GENERAL_NAME_num(names) {
            guard let name = fedtrace_sk_GENERAL_NAME_value(names, index), name.pointee.type == GEN_URI else { continue }
            uris.append(String(decoding: bytes(ofASN1String: name.pointee.d.uniformResourceIdentifier), as: UTF8.self))
        }
        return uris
    }

    /// The federation identity: the single `urn:fctc:` SAN URI (e.g. `urn:fctc:party:KZ`),
    /// or nil when there is none or more than one. The Model layer parses it into a PartyID.
    public var partyURN: String? {
        let identities = subjectAlternativeURIs.filter { $0.hasPrefix("urn:fctc:") }
        return identities.count == 1 ? identities[0] : nil
    }

    /// SHA-256 of the DER encoding, lowercase hex.
    public var fingerprintSHA256: String { SHA256.hexHash(derBytes) }

    /// Whether this certificate's key usage and extended key usage fit `purpose`.
    public func isSuitable(for purpose: CertificatePurpose) -> Bool { purposeProblem(for: purpose) == nil }

    /// Why this certificate does not fit `purpose`, or nil when it does.
    ///
    /// transport: digitalSignature, EKU serverAuth+clientAuth. signing: digitalSignature +
    /// nonRepudiation, EKU emailProtection, no keyAgreement. sealing: keyAgreement, no
    /// digitalSignature, an EC key. None may be a CA.
    public func purposeProblem(for purpose: CertificatePurpose) -> String? {
        if X509_check_ca(x509) != 0 { return "\(self) is a CA certificate, not a \(purpose) certificate" }
        let usage = X509_get_key_usage(x509)          // UINT32_MAX when the extension is absent
        let extended = X509_get_extended_key_usage(x509)
        guard usage != UInt32.max else { return "\(self) has no keyUsage extension; a \(purpose) certificate needs one" }
        let has = { (bit: Int32) in usage & UInt32(bit) != 0 }
        let hasExtended = { (bit: Int32) in extended != UInt32.max && extended & UInt32(bit) != 0 }
        let actual = "keyUsage \(keyUsageNames(usage)), extendedKeyUsage \(extendedKeyUsageNames(extended))"
        switch purpose {
        case .transport:
            if has(KU_DIGITAL_SIGNATURE) && hasExtended(XKU_SSL_SERVER) && hasExtended(XKU_SSL_CLIENT) { return nil }
            return "\(self) is not a transport certificate (needs digitalSignature and serverAuth+clientAuth; has \(actual))"
        case .signing:
            if has(KU_DIGITAL_SIGNATURE) && has(KU_NON_REPUDIATION) && hasExtended(XKU_SMIME)
                && !has(KU_KEY_AGREEMENT) && !hasExtended(XKU_SSL_SERVER) { return nil }
            return "\(self) is not a signing certificate (needs digitalSignature+nonRepudiation and emailProtection; has \(actual))"
        case .sealing:
            let isEC = X509_get0_pubkey(x509).map { EVP_PKEY_get_base_id($0) == EVP_PKEY_EC } ?? false
            if has(KU_KEY_AGREEMENT) && !has(KU_DIGITAL_SIGNATURE) && isEC { return nil }
            return "\(self) is not a sealing certificate (needs keyAgreement without digitalSignature on an EC key; has \(actual))"
        }
    }

    /// The identity and serial, never key material.
    public var description: String { "certificate \(partyURN ?? subject) serial \(serialNumber)" }

    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { X509_cmp(lhs.x509, rhs.x509) == 0 }

    public func hash(into hasher: inout Hasher) { hasher.combine(derBytes) }
}

private func keyUsageNames(_ usage: UInt32) -> String {
    if usage == UInt32.max { return "(none)" }
    let names: [(Int32, String)] = [(KU_DIGITAL_SIGNATURE, "digitalSignature"), (KU_NON_REPUDIATION, "nonRepudiation"),
                                    (KU_KEY_ENCIPHERMENT, "keyEncipherment"), (KU_DATA_ENCIPHERMENT, "dataEncipherment"),
                                    (KU_KEY_AGREEMENT, "keyAgreement"), (KU_KEY_CERT_SIGN, "keyCertSign"), (KU_CRL_SIGN, "cRLSign")]
    let present = names.filter { usage & UInt32($0.0) != 0 }.map(\.1)
    return present.isEmpty ? "(none)" : present.joined(separator: "+")
}

private func extendedKeyUsageNames(_ usage: UInt32) -> String {
    if usage == UInt32.max { return "(any)" }
    let names: [(Int32, String)] = [(XKU_SSL_SERVER, "serverAuth"), (XKU_SSL_CLIENT, "clientAuth"), (XKU_SMIME, "emailProtection"),
                                    (XKU_CODE_SIGN, "codeSigning"), (XKU_TIMESTAMP, "timeStamping"), (XKU_OCSP_SIGN, "OCSPSigning")]
    let present = names.filter { usage & UInt32($0.0) != 0 }.map(\.1)
    return present.isEmpty ? "(none)" : present.joined(separator: "+")
}
