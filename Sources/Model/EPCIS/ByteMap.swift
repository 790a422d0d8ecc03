/// A set of byte strings, each with a dense index (0, 1, 2, … in insertion order), found by
/// exact byte equality: the pre-hash's symbol table, and the document context's bare-word
/// and namespace-prefix lookups.
///
/// Byte equality is what the reference (a Python program comparing `str` code points)
/// does; Swift's `String` equality is canonical equivalence ("é" equals "e\u{301}"), and its
/// `Dictionary` hashes with a seeded SipHash per lookup. Callers keep the values in their
/// own arrays, indexed by what `insert` and `find` return.
///
/// Open addressing, linear probing, at most half full. Not for untrusted sizes beyond what
/// one document holds (it grows by doubling like an array).
struct ByteMap: Sendable {
    private var slots: [Int32] = [Int32](repeating: -1, count: 16)
    private var hashes: [UInt64] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var storage: [UInt8] = []
    /// The length of the longest key: a longer one is not in the map, and is not hashed to
    /// find that out (the bare-word and prefix lookups see every value, and most values
    /// are identifiers far longer than any bare word or prefix).
    private var longest = 0
    /// The first bytes of the keys, as a 256-bit set (bit `b % 64` of word `b / 64`), and
    /// whether the empty key is in: a key whose first byte no key has is not hashed either
    /// (the namespace-prefix lookup sees `https` in nearly every value, the bare-word lookup
    /// every timestamp).
    private var firstBytes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var hasEmptyKey = false

    /// How many distinct keys the map holds.
    var count: Int { starts.count }

    /// The index of `key`, or nil.
    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        if key.count > longest { return nil }
        if let first = key.first {
            let word: UInt64
            switch first >> 6 {
            case 0: word = firstBytes.0
            case 1: word = firstBytes.1
            case 2: word = firstBytes.2
            default: word = firstBytes.3
            }
            if word & (1 << UInt64(first & 63)) == 0 { return nil }
        } else if !hasEmptyKey {
            return nil
        }
        let hash = NormalizeMemo.hash(key)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if hashes[entry] == hash && matches(entry, key) { return entry }
            slot = (slot + 1) & mask
        }
    }

    /// The index of `key`, added at the end when it is new.
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>) -> (index: Int, inserted: Bool) {
        let hash = NormalizeMemo.hash(key)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { break }
            if hashes[entry] == hash && matches(entry, key) { return (entry, false) }
            slot = (slot + 1) & mask
        }
        let index = starts.count
        hashes.append(hash)
        starts.append(Int32(storage.count))
        lengths.append(Int32(key.count))
        longest = max(longest, key.count)
        if let first = key.first {
            let bit: UInt64 = 1 << UInt64(first & 63)
            switch first >> 6 {
            case 0: firstBytes.0 |= bit
            case 1: firstBytes.1 |= bit
            case 2: firstBytes.2 |= bit
            default: firstBytes.3 |= bit
            }
        } else {
            hasEmptyKey = true
        }
        storage.append(contentsOf: key)
        slots[slot] = Int32(index)
        if starts.count * 2 > slots.count { grow() }
        return (index, true)
    }

    /// Calls `body` with the bytes of the key at `index`.
    func withKey<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        storage.withUnsafeBufferPointer { all in
            body(UnsafeBufferPointer(rebasing: all[Int(starts[index])..<Int(starts[index] + lengths[index])]))
        }
    }

    /// Appends the bytes of the key at `index` to `out`.
    func appendKey(_ index: Int, to out: inout [UInt8]) {
        out.append(contentsOf: storage[Int(starts[index])..<Int(starts[index] + lengths[index])])
    }

    private func matches(_ entry: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard Int(lengths[entry]) == key.count else { return false }
        guard key.count > 0 else { return true }
        return storage.withUnsafeBufferPointer { all in
            compareBytes(all.baseAddress! + Int(starts[entry]), key.count, key.baseAddress!, key.count) == 0
        }
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for entry in hashes.indices {
            var slot = Int(truncatingIfNeeded: hashes[entry]) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry)
        }
    }
}

extension ByteMap {
    /// `find` for a string's UTF-8 bytes.
    func find(_ key: String) -> Int? {
        var key = key
        return key.withUTF8 { find($0) }
    }

    /// `insert` for a string's UTF-8 bytes.
    mutating func insert(_ key: String) -> (index: Int, inserted: Bool) {
        var key = key
        return key.withUTF8 { insert($0) }
    }
}

/// Byte order of two byte strings as −1, 0 or 1 (for UTF-8, code point order: Python's
/// `str` order; SQLite's BINARY collation), eight bytes at a time while they agree. The one
/// byte comparison of the pre-hash, `codePointOrder` and the store's index.
/// A pointer may be nil only when its count is 0 (an empty buffer may have no address).
@inlinable @inline(__always) public func compareBytes(_ a: UnsafePointer<UInt8>?, _ aCount: Int, _ b: UnsafePointer<UInt8>?, _ bCount: Int) -> Int {
    let common = min(aCount, bCount)
    guard common > 0, let a, let b else { return aCount < bCount ? -1 : (aCount > bCount ? 1 : 0) }
    var i = 0
    while i + 8 <= common {
        let x = UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self)
        let y = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
        if x != y {
            // The first differing byte decides: big-endian words compare as the bytes do.
            return x.bigEndian < y.bigEndian ? -1 : 1
        }
        i += 8
    }
    while i < common {
        let p = a[i], q = b[i]
        if p != q { return p < q ? -1 : 1 }
        i += 1
    }
    return aCount < bCount ? -1 : (aCount > bCount ? 1 : 0)
}

/// `compareBytes` over two buffers.
@inlinable @inline(__always) public func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
    compareBytes(a.baseAddress, a.count, b.baseAddress, b.count)
}
