internal import COpenSSL

/// SHA-256 through OpenSSL's EVP interface. Used for event hash IDs, audit chains,
/// agreement identities and delta payload digests.
public enum SHA256 {
    /// The default provider's SHA-256, fetched once. `EVP_sha256()` is a legacy handle that
    /// OpenSSL 3 looks up again (under a lock) at every `EVP_DigestInit_ex`: 470 ns per
    /// digest of an 89-byte hash ID against 210 ns with the fetched one (measured
    /// natively), and capture takes two small digests per event on every core.
    /// nonisolated(unsafe): set once, never changed; an `EVP_MD` is safe to share between
    /// threads (OpenSSL reference-counts and never mutates it after the fetch).
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("EVP_MD_fetch(SHA256): \(drainOpenSSLErrors())") }
        return md
    }()

    /// The 32-byte digest of `bytes`.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of `bytes` as 64 lowercase hex characters.
    public static func hexHash<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        hex(hash(bytes))
    }

    /// An incremental SHA-256 computation, for input that arrives in pieces.
    public struct Hasher: ~Copyable {
        private let context: OpaquePointer

        public init() {
            // EVP_MD_CTX_new only fails when memory is exhausted; nothing sensible can continue then.
            guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
            guard EVP_DigestInit_ex2(context, SHA256.algorithm, nil) == 1 else {
                fatalError("EVP_DigestInit_ex2(sha256): \(drainOpenSSLErrors())")
            }
            self.context = context
        }

        deinit { EVP_MD_CTX_free(context) }

        /// Feeds more bytes into the digest.
        public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
            let done: Bool? = bytes.withContiguousStorageIfAvailable { buffer in
                EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1
            }
            if let done {
                precondition(done, "EVP_DigestUpdate failed")
            } else {
                let copy = Array(bytes)
                copy.withUnsafeBufferPointer { buffer in
                    precondition(EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1, "EVP_DigestUpdate failed")
                }
            }
        }

        /// Finishes the computation and returns the 32-byte digest.
        public consuming func finalize() -> [UInt8] {
            var digest = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            precondition(EVP_DigestFinal_ex(context, &digest, &length) == 1 && length == 32, "EVP_DigestFinal_ex failed")
            return digest
        }
    }
}

/// Lowercase hexadecimal text of `bytes`.
public func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}
