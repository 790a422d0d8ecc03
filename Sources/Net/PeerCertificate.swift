internal import COpenSSL

/// The peer's leaf certificate after OpenSSL verified it: enough for the Node layer to bind
/// the TLS peer to a Party (SAN URIs) or to re-verify it with its own policy (DER).
public struct PeerCertificate: Sendable, Hashable {
    /// The DER encoding of the leaf certificate.
    public let derBytes: [UInt8]
    /// The subject in OpenSSL's one-line form, for logs.
    public let subject: String
    /// Subject Alternative Name URIs, e.g. `urn:fctc:party:KZ`.
    public let uris: [String]
    /// Subject Alternative Name DNS names.
    public let dnsNames: [String]

    public init(derBytes: [UInt8], subject: String, uris: [String], dnsNames: [String]) {
        self.derBytes = derBytes
        self.subject = subject
        self.uris = uris
        self.dnsNames = dnsNames
    }

    /// Reads the fields from an OpenSSL certificate (borrowed, not freed here).
    init?(x509: OpaquePointer) {
        var derPointer: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(x509, &derPointer)
        guard length > 0, let derPointer else { return nil }
        derBytes = Array(UnsafeBufferPointer(start: derPointer, count: Int(length)))
        CRYPTO_free(derPointer, #fileID, #line)

        if let name = X509_get_subject_name(x509), let line = X509_NAME_oneline(name, nil, 0) {
            subject = String(cString: line)
            CRYPTO_free(line, #fileID, #line)
        } else {
            subject = ""
        }

        var uris: [String] = [], dnsNames: [String] = []
        if let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) {
            let names = OpaquePointer(raw)
            for i in 0..<OPENSSL_sk_num(names) {
                guard let entry = OPENSSL_sk_value(names, i) else { continue }
                let name = entry.assumingMemoryBound(to: GENERAL_NAME.self)
                let kind = name.pointee.type
                guard kind == GEN_URI || kind == GEN_DNS, let string = name.pointee.d.ia5,
                      let data = ASN1_STRING_get0_data(string) else { continue }
                let text = String(decoding: UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))),
                                  as: UTF8.self)
                if kind == GEN_URI { uris.append(text) } else { dnsNames.append(text) }
            }
            GENERAL_NAMES_free(names)
        }
        self.uris = uris
        self.dnsNames = dnsNames
    }
}
