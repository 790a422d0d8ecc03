import Crypto

/// The 64-bit key the `events` table indexes an event's hash ID by (`events.hash_key`,
/// index `events_by_hash_key`, migration 0011).
///
/// ## Contract
/// - For a CBV 2.0 hash ID (`ni:///sha-256;` followed by 64 lowercase hex digits) the key is
///   the digest's first 8 bytes, big-endian, as a signed 64-bit integer; for any other text
///   (none is stored today, but received and old rows are not trusted to be well formed) it
///   is the first 8 bytes of SHA-256 of the text's UTF-8. Deterministic; never fails.
/// - The key is **not unique**: two hash IDs may share one. Uniqueness of
///   `(hash_id, declares_error)` is kept by the store's one writer, which looks an event up
///   by `(hash_key, hash_id, declares_error)` before inserting it inside the same write
///   transaction (`EventInserter`); lookups by hash ID always compare the full text too.
/// - Why: the unique index on the 89-byte text was about 30% of the bytes a capture wrote
///   (random keys, so nearly every index page is rewritten at every commit); an index of
///   integers is a fifth of its size.
public enum EventHashKey {
    static let prefix = Array("ni:///sha-256;".utf8)

    public static func of(_ hashID: String) -> Int64 {
        var text = hashID
        return text.withUTF8 { of(utf8: $0) }
    }

    static func of(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        if bytes.count >= prefix.count + 64, prefix.indices.allSatisfy({ bytes[$0] == prefix[$0] }) {
            var key: UInt64 = 0
            var wellFormed = true
            for i in prefix.count..<(prefix.count + 64) {
                let c = bytes[i]
                let nibble: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
                default: wellFormed = false; nibble = 0
                }
                if !wellFormed { break }
                if i < prefix.count + 16 { key = key << 4 | UInt64(nibble) }
            }
            if wellFormed { return Int64(bitPattern: key) }
        }
        let digest = SHA256.hash(bytes)
        return Int64(bitPattern: digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}
