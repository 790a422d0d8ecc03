import Testing
@testable import Model

/// `ReferenceKeys.sort` against the plain definition of the index order: UIM bytes, then
/// number, then role text, then the order added.
@Suite struct ReferenceKeysTests {
    struct Reference: Equatable {
        var uim: [UInt8]
        var number: Int64
        var role: [UInt8]
        var index: Int
    }

    static func sortedPlainly(_ references: [Reference]) -> [Reference] {
        references.sorted { a, b in
            let c = a.uim.withUnsafeBufferPointer { x in b.uim.withUnsafeBufferPointer { y in compareBytes(x, y) } }
            if c != 0 { return c < 0 }
            if a.number != b.number { return a.number < b.number }
            let r = a.role.lexicographicallyPrecedes(b.role) ? -1 : (a.role == b.role ? 0 : 1)
            if r != 0 { return r < 0 }
            return a.index < b.index
        }
    }

    static func sortedByKeys(_ references: [Reference]) -> [Reference] {
        var keys = ReferenceKeys()
        for r in references {
            keys.add(uim: String(decoding: r.uim, as: UTF8.self), number: r.number, role: String(decoding: r.role, as: UTF8.self))
        }
        keys.sort()
        // After the sort the bytes are in key order, back to back (readers in order read
        // memory in order), with the one extra byte at the end.
        var offset = 0
        for key in keys.keys {
            #expect(key.start == offset)
            offset += key.count
        }
        #expect(keys.bytes.count == offset + 1)
        return keys.keys.map { key in
            Reference(uim: Array(keys.bytes[key.start..<(key.start + key.count)]), number: key.number, role: keys.roles[key.role], index: key.index)
        }
    }

    /// UIMs that share long prefixes and differ before, inside and after the 32 bytes the
    /// sort keeps inline; that are prefixes of each other; that hold NUL and non-ASCII
    /// bytes; repeated with other numbers and roles.
    @Test func sortsAsTheIndexOrder() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        let prefixes = ["https://id.gs1.org/01/04870001000042/21/", "https://id.gs1.org/01/14870001000049/21/",
                        "https://id.gs1.org/00/", "urn:epc:id:sgtin:4870001.000042.", ""]
        let alphabet = Array("0AZaz\u{0}\u{7F}é/9".utf8)
        let roles = ["epc", "child", "parent", "input", "output", "class"]
        for round in 0..<40 {
            var references: [Reference] = []
            let commonTail = (0..<next(40)).map { _ in alphabet[next(alphabet.count)] }  // pushes differences past 32 bytes
            for i in 0..<(200 + next(300)) {
                var uim = Array(prefixes[round % 2 == 0 ? next(prefixes.count) : 0].utf8)
                if round % 3 == 0 { uim += commonTail }
                uim += (0..<next(48)).map { _ in alphabet[next(alphabet.count)] }
                // Valid UTF-8 only (a String is made of it): drop a cut-off two-byte "é".
                let text = String(decoding: uim, as: UTF8.self)
                uim = Array(text.utf8)
                if i > 0 && next(4) == 0 {  // the same UIM again, or a prefix of an earlier one
                    let earlier = references[next(references.count)].uim
                    uim = next(2) == 0 ? earlier : Array(String(decoding: earlier.prefix(next(earlier.count + 1)), as: UTF8.self).utf8)
                }
                references.append(Reference(uim: uim, number: Int64(next(5)), role: Array(roles[next(roles.count)].utf8), index: i))
            }
            let expected = Self.sortedPlainly(references)
            let actual = Self.sortedByKeys(references)
            #expect(actual == expected, "round \(round)")
        }
    }

    /// Beyond `scannedRoles` distinct roles, `add` finds roles through its dictionary: the
    /// order is the same, and a role first seen before the switch keeps its identity.
    @Test func manyRolesSortAsFew() {
        let roles = (0..<(ReferenceKeys.scannedRoles * 3)).map { "role\(($0 * 7) % 24)" }
        var references: [Reference] = []
        for i in 0..<400 {
            references.append(Reference(uim: Array("urn:x:\(i % 13)".utf8), number: Int64(i % 3), role: Array(roles[(i * 5) % roles.count].utf8), index: i))
        }
        #expect(Self.sortedByKeys(references) == Self.sortedPlainly(references))
        var keys = ReferenceKeys()
        for role in roles + roles { keys.add(uim: "u", number: 1, role: role) }
        keys.sort()
        #expect(keys.roles.count == roles.count, "each role once")
    }

    @Test func emptyAndSingle() {
        #expect(Self.sortedByKeys([]).isEmpty)
        let one = [Reference(uim: Array("x".utf8), number: 1, role: Array("epc".utf8), index: 0)]
        #expect(Self.sortedByKeys(one) == one)
        let empties = [Reference(uim: [], number: 2, role: Array("epc".utf8), index: 0),
                       Reference(uim: [], number: 1, role: Array("epc".utf8), index: 1)]
        #expect(Self.sortedByKeys(empties) == Self.sortedPlainly(empties))
    }
}
