internal import COpenSSL
import Foundation

/// A private key (EC P-256 in the federation; any type OpenSSL reads is accepted).
/// Its description never shows key material.
// @unchecked Sendable: the EVP_PKEY is never mutated after init; signing and key agreement only read it.
public final class PrivateKey: @unchecked Sendable, CustomStringConvertible {
    let pkey: OpaquePointer

    init(taking pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// Parses PEM (PKCS#8, encrypted PKCS#8, or traditional) or DER (PKCS#8 or traditional).
    /// An encrypted key needs `password`; a wrong one throws `crypto.key.password`.
    public convenience init(bytes: [UInt8], password: String? = nil) throws {
        let pkey: OpaquePointer
        if looksLikePEM(bytes) {
            let encrypted = bytes.starts(with: Array("-----BEGIN ENCRYPTED".utf8))
                || bytes.firstRange(of: Array("Proc-Type: 4,ENCRYPTED".utf8)) != nil
            if encrypted && password == nil {
                throw CryptoError(code: "crypto.key.password", reason: "private key is encrypted and no password was given")
            }
            pkey = try withMemoryBIO(bytes) { bio in
                // With a NULL callback OpenSSL uses `u` as the password; "" keeps it from prompting on a terminal.
                let parsed = (password ?? "").withCString { PEM_read_bio_PrivateKey(bio, nil, nil, UnsafeMutableRawPointer(mutating: $0)) }
                guard let parsed else {
                    if encrypted { throw CryptoError.openSSL("crypto.key.password", "wrong password for the encrypted private key") }
                    throw CryptoError.openSSL("crypto.key.malformed", "not a PEM private key")
                }
                return parsed
            }
        } else if let password {
            pkey = try withMemoryBIO(bytes) { bio in
                let parsed = password.withCString { d2i_PKCS8PrivateKey_bio(bio, nil, nil, UnsafeMutableRawPointer(mutating: $0)) }
                guard let parsed else { throw CryptoError.openSSL("crypto.key.password", "wrong password, or not an encrypted DER PKCS#8 private key") }
                return parsed
            }
        } else {
            pkey = try bytes.withUnsafeBufferPointer { buffer in
                var cursor = buffer.baseAddress
                guard buffer.count > 0, let parsed = d2i_AutoPrivateKey(nil, &cursor, buffer.count) else {
                    throw CryptoError.openSSL("crypto.key.malformed", "not a DER private key")
                }
                return parsed
            }
        }
        self.init(taking: pkey)
    }

    /// Loads a key file, refusing one that group or others may read (`crypto.key.permissions`).
    /// The file's bytes are zeroed once parsed. Errors name the file.
    public convenience init(contentsOf path: String, password: String? = nil) throws {
        var bytes = try readFile(path, privateKey: true)
        defer { cleanse(&bytes) }
        let pkey: OpaquePointer = try naming(path) {
            let parsed = try PrivateKey(bytes: bytes, password: password)
            EVP_PKEY_up_ref(parsed.pkey)
            return parsed.pkey
        }
        self.init(taking: pkey)
    }

    /// Whether this key is the private half of `certificate`'s public key.
    public func matches(_ certificate: Certificate) -> Bool {
        let result = X509_check_private_key(certificate.x509, pkey) == 1
        _ = drainOpenSSLErrors()
        return result
    }

    /// The key type and size only.
    public var description: String {
        let name = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
        return "private key (\(name), \(EVP_PKEY_get_bits(pkey)) bits)"
    }
}
