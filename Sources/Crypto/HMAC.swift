internal import COpenSSL

/// HMAC-SHA256 (RFC 2104): the keyed digest that seals the audit log (`Store.AuditLog`), so
/// that whoever can edit the database but cannot read the node's audit key cannot rewrite
/// the chain to match.
public enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`.
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        // OpenSSL wants non-null pointers even for an empty key or message (both legal HMAC).
        let keyBytes = key.isEmpty ? [0] : key, messageBytes = message.isEmpty ? [0] : message
        let done = keyBytes.withUnsafeBufferPointer { k in
            messageBytes.withUnsafeBufferPointer { m in
                HMAC(EVP_sha256(), k.baseAddress, Int32(key.count), m.baseAddress, message.count, &out, &length) != nil
            }
        }
        // HMAC() fails only when OpenSSL is broken or memory is exhausted.
        precondition(done && length == 32, "HMAC-SHA256 failed: \(drainOpenSSLErrors())")
        return out
    }

    /// Whether two codes are equal, in time that does not depend on where they differ.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }
}
