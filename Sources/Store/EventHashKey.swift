import Crypto

/// The 64-bit key the `events` table indexes an event's hash ID by (`events.hash_key`,
/// index `events_by_hash_key`, migration 0011).
///
/// ## Contract
/// - The key is the first 8 bytes of SHA-256 of the hash ID's UTF-8, big-endian, as a
///   signed 64-bit integer: deterministic, defined for any text, never fails.
/// - Why not simply the digest's first 16 hex digits (the ID is itself a SHA-256)? Events
///   received from other Parties carry the origin's hash ID, which the receiver cannot
///   recompute from a redacted copy: a misbehaving peer could send any number of IDs with
///   the same first digits, all on one key, and make every lookup of that key read them
///   all. Hashing the whole ID makes a shared key cost about 2^64 work per extra event.
/// - The key is **not unique**: two hash IDs may share one. Uniqueness of
///   `(hash_id, declares_error)` is kept by the one code path that inserts events
///   (`EventInserter`), which looks an event up by `(hash_key, hash_id, declares_error)`
///   before inserting it inside the same `BEGIN IMMEDIATE` transaction: SQLite holds the
///   write lock from the lookup to the commit, so no other connection or process can
///   insert in between. Lookups by hash ID always compare the full text too.
/// - Why a key at all: the unique index on the 89-byte text was about 30% of the bytes a
///   capture wrote (random keys, so nearly every index page is rewritten at every commit);
///   an index of integers is a fifth of its size.
public enum EventHashKey {
    public static func of(_ hashID: String) -> Int64 {
        var text = hashID
        return text.withUTF8 { of(utf8: $0) }
    }

    static func of(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        let digest = SHA256.hash(bytes)
        return Int64(bitPattern: digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}
