/// Identifier references (UIM, number, role) put in the order of the store's UIM index:
/// the UIM's UTF-8 bytes (SQLite's BINARY collation), then the number, then the role's
/// text in code-point order. The number is an event's row ID when the store sorts
/// postings, or an event's index in its document when a document sorts its references
/// before the row IDs exist (`ValidatingDocument.sortedReferences`): row IDs grow with the
/// index inside one transaction, so the order is the same.
///
/// Keys are plain (offset, length, number, role) records over one byte buffer, so sorting
/// moves no reference-counted strings (sorting the postings themselves was 11% of capture).
public struct ReferenceKeys: Sendable {
    public struct Key: Sendable {
        /// The UIM is `bytes[start ..< start + count]`.
        public fileprivate(set) var start: Int
        public let count: Int
        public let number: Int64
        /// Before `sort`, the order the role was first seen; after, its rank in `roles`.
        public fileprivate(set) var role: Int
        /// The order in which the reference was added.
        public let index: Int
    }

    /// Every UIM added, back to back: in the order added, and after `sort` in key order
    /// (plus one byte, so the buffer has an address).
    public private(set) var bytes: [UInt8] = []
    public private(set) var keys: [Key] = []
    /// Role texts: in first-seen order before `sort`, in code-point order after.
    public private(set) var roles: [[UInt8]] = []
    /// Role texts as given, in first-seen order; `roleIDs` finds them once there are many.
    private var roleNames: [String] = []
    private var roleIDs: [String: Int] = [:]
    public private(set) var isSorted = false

    /// Up to this many distinct roles, `add` finds a role by scanning them.
    static let scannedRoles = 8

    public init(expectedCount: Int = 0, expectedBytes: Int = 0) {
        keys.reserveCapacity(expectedCount)
        bytes.reserveCapacity(expectedBytes + 1)
    }

    public mutating func add(uim: String, number: Int64, role: String) {
        precondition(!isSorted, "add after sort")
        // The store has six roles: a scan of them (short strings compare in a few
        // instructions) rather than hashing the role of every reference (1.5% of capture).
        let roleID: Int
        if let known = roleNames.count <= Self.scannedRoles ? roleNames.firstIndex(of: role) : roleIDs[role] {
            roleID = known
        } else {
            roleID = roles.count
            roleIDs[role] = roleID
            roleNames.append(role)
            roles.append(Array(role.utf8))
        }
        let start = bytes.count
        // Through the string's contiguous UTF-8 (appending its `utf8` view went byte by byte).
        var uim = uim
        uim.withUTF8 { bytes.append(contentsOf: $0) }
        keys.append(Key(start: start, count: bytes.count - start, number: number, role: roleID, index: keys.count))
    }

    /// Sorts the keys into index order (stable: equal keys keep the order they were added in).
    public mutating func sort() {
        guard !isSorted else { return }
        isSorted = true
        let byText = roles.indices.sorted { a, b in
            roles[a].withUnsafeBufferPointer { x in roles[b].withUnsafeBufferPointer { y in compareBytes(x, y) < 0 } }
        }
        var rank = [Int](repeating: 0, count: roles.count)
        for (position, id) in byText.enumerated() { rank[id] = position }
        roles = byText.map { roles[$0] }
        for i in keys.indices { keys[i].role = rank[keys[i].role] }
        bytes.append(0)
        let sortedBytes = bytes.withUnsafeBufferPointer { buffer -> [UInt8] in
            let base = buffer.baseAddress!
            // The UIMs of one document share long prefixes (the host, the GTIN), so the bytes
            // that order them lie tens of bytes in, and reading them per comparison from the
            // buffer (megabytes, in add order) was a cache miss each: each key gets the 32
            // bytes after the prefix all UIMs share, inline, and only ties read the buffer.
            var shared = keys.first?.count ?? 0
            if let first = keys.first {
                for key in keys where shared > 0 {
                    shared = commonPrefixLength(base + first.start, base + key.start, min(shared, key.count))
                }
            }
            var windows = [Window](repeating: Window(), count: keys.count)
            for (i, key) in keys.enumerated() { windows[i] = Window(base + key.start + shared, key.count - shared, key: i) }
            let order = keys
            windows.sort { a, b in
                if a.w0 != b.w0 { return a.w0 < b.w0 }
                if a.w1 != b.w1 { return a.w1 < b.w1 }
                if a.w2 != b.w2 { return a.w2 < b.w2 }
                if a.w3 != b.w3 { return a.w3 < b.w3 }
                let x = order[a.key], y = order[b.key]
                let c = compareBytes(base + x.start, x.count, base + y.start, y.count)
                if c != 0 { return c < 0 }
                if x.number != y.number { return x.number < y.number }
                if x.role != y.role { return x.role < y.role }
                return x.index < y.index
            }
            for (i, window) in windows.enumerated() { keys[i] = order[window.key] }
            // The bytes again, in key order: whoever then reads the UIMs in order (the block
            // encoder, on the writer's thread) reads memory in order instead of missing the
            // cache at every key (the sort runs off the writer's thread; the encoder's
            // prefix comparison was 5% of the writer's time).
            return [UInt8](unsafeUninitializedCapacity: buffer.count) { out, count in
                var n = 0
                for i in keys.indices {
                    let key = keys[i]
                    keys[i].start = n
                    UnsafeMutableRawPointer(out.baseAddress! + n).copyMemory(from: base + key.start, byteCount: key.count)
                    n += key.count
                }
                out[n] = 0
                count = n + 1
            }
        }
        bytes = sortedBytes
    }

    /// Up to 32 bytes of a UIM as four big-endian words, zero-padded. Two windows that
    /// differ order their UIMs as the bytes do (a UIM that ends first reads zeros, and is
    /// either a prefix of the other or differs earlier); equal windows say nothing.
    private struct Window {
        var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0
        var key: Int = 0

        init() {}

        init(_ p: UnsafePointer<UInt8>, _ count: Int, key: Int) {
            self.key = key
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &words) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(start: p, count: min(count, 32)))
            }
            w0 = UInt64(bigEndian: words.0)
            w1 = UInt64(bigEndian: words.1)
            w2 = UInt64(bigEndian: words.2)
            w3 = UInt64(bigEndian: words.3)
        }
    }
}

/// How many leading bytes `a` and `b` share within their first `limit` bytes, eight at a
/// time (the sort's shared prefix here, the UIM index's block encoder in the store).
@inlinable @inline(__always) public func commonPrefixLength(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ limit: Int) -> Int {
    var i = 0
    while i + 8 <= limit {
        let x = UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self)
        let y = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
        if x != y { return i + (UInt64(littleEndian: x) ^ UInt64(littleEndian: y)).trailingZeroBitCount / 8 }
        i += 8
    }
    while i < limit && a[i] == b[i] { i += 1 }
    return i
}
