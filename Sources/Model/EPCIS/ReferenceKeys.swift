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
        public let start: Int
        public let count: Int
        public let number: Int64
        /// Before `sort`, the order the role was first seen; after, its rank in `roles`.
        public fileprivate(set) var role: Int
        /// The order in which the reference was added.
        public let index: Int
    }

    /// Every UIM added, back to back (after `sort`, one more byte, so the buffer has an address).
    public private(set) var bytes: [UInt8] = []
    public private(set) var keys: [Key] = []
    /// Role texts: in first-seen order before `sort`, in code-point order after.
    public private(set) var roles: [[UInt8]] = []
    private var roleIDs: [String: Int] = [:]
    public private(set) var isSorted = false

    public init(expectedCount: Int = 0, expectedBytes: Int = 0) {
        keys.reserveCapacity(expectedCount)
        bytes.reserveCapacity(expectedBytes + 1)
    }

    public mutating func add(uim: String, number: Int64, role: String) {
        precondition(!isSorted, "add after sort")
        let roleID: Int
        if let known = roleIDs[role] {
            roleID = known
        } else {
            roleID = roles.count
            roleIDs[role] = roleID
            roles.append(Array(role.utf8))
        }
        let start = bytes.count
        bytes.append(contentsOf: uim.utf8)
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
        bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            keys.sort { a, b in
                let c = compareBytes(base + a.start, a.count, base + b.start, b.count)
                if c != 0 { return c < 0 }
                if a.number != b.number { return a.number < b.number }
                if a.role != b.role { return a.role < b.role }
                return a.index < b.index
            }
        }
    }
}
