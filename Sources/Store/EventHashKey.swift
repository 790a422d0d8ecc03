import Crypto

/// The 64-bit key the `events` table indexes an event's hash ID by (`events.hash_key`,
/// index `events_by_hash_key`, migration 0011).
///
/// ## Contract
/// - For text that starts with `ni:///sha-256;` and 16 lowercase hex digits (every CBV 2.0
///   hash ID does) the key is those digits, the digest's first 8 bytes, big-endian, as a
///   signed 64-bit integer; for any other text (none is stored today, but received and old
///   rows are not trusted to be well formed) it is the first 8 bytes of SHA-256 of the
///   text's UTF-8. Deterministic; never fails.
/// - The key is **not unique**: two hash IDs may share one. Uniqueness of
///   `(hash_id, declares_error)` is kept by the store's one writer, which looks an event up
///   by `(hash_key, hash_id, declares_error)` before inserting it inside the same write
///   transaction (`EventInserter`); lookups by hash ID always compare the full text too.
/// - Why: the unique index on the 89-byte text was about 30% of the bytes a capture wrote
///   (random keys, so nearly every index page is rewritten at every commit); an index of
///   integers is a fifth of its size.
public enum EventHashKey {
    public static func of(_ hashID: String) -> Int64 {
        var text = hashID
        return text.withUTF8 { of(utf8: $0) }
    }

    static func of(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        let prefix: StaticString = "ni:///sha-256;"
        let n = prefix.utf8CodeUnitCount
        if bytes.count >= n + 16 {
            var matches = true
            for i in 0..<n where bytes[i] != prefix.utf8Start[i] { matches = false; break }
            var key: UInt64 = 0
            if matches {
                for i in n..<(n + 16) {
                    let c = bytes[i]
                    if c &- 0x30 < 10 {
                        key = key << 4 | UInt64(c &- 0x30)
                    } else if c &- 0x61 < 6 {
                        key = key << 4 | UInt64(c &- 0x61 + 10)
                    } else {
                        matches = false
                        break
                    }
                }
            }
            if matches { return Int64(bitPattern: key) }
        }
        let digest = SHA256.hash(bytes)
        return Int64(bitPattern: digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}
