import Testing
import Generator
@testable import Model

/// The byte order (`compareBytes`, `codePointOrder`) and the byte-keyed map the pre-hash
/// and the store's index rely on.
@Suite struct ByteMapTests {
    /// Byte strings that agree for 0…20 bytes and then differ (or end), so both the
    /// eight-bytes-at-a-time part and the byte-at-a-time tail decide some pairs.
    static func samples() -> [[UInt8]] {
        var random = SplitMix64(seed: 42)
        var samples: [[UInt8]] = [[], [0], [0xFF], Array("https://id.gs1.org/01/".utf8)]
        let prefix = Array("https://id.gs1.org/01/04870001".utf8)
        for length in 0...24 {
            for _ in 0..<6 {
                var bytes = Array(prefix.prefix(length))
                for _ in 0..<(random.next() % 4) { bytes.append(UInt8(truncatingIfNeeded: random.next() % 3 == 0 ? 0x80 | random.next() : 0x30 + random.next() % 10)) }
                samples.append(bytes)
            }
        }
        return samples
    }

    @Test func compareBytesIsLexicographicByteOrder() {
        let samples = Self.samples()
        for a in samples {
            for b in samples {
                let expected = a == b ? 0 : (a.lexicographicallyPrecedes(b) ? -1 : 1)
                let got = a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in compareBytes(x, y) } }
                #expect(got == expected, "\(a) vs \(b)")
            }
        }
        // codePointOrder is the same order on UTF-8, not Swift's (canonical equivalence).
        #expect(codePointOrder("e\u{301}", "\u{e9}") < 0)
        #expect(codePointOrder("\u{212A}", "K") > 0)
        #expect(codePointOrder("abc", "abc") == 0)
    }

    @Test func byteMapFindsExactlyTheKeysInserted() {
        var map = ByteMap()
        let samples = Self.samples()
        var indices: [[UInt8]: Int] = [:]
        for key in samples {
            let (index, inserted) = key.withUnsafeBufferPointer { map.insert($0) }
            #expect(inserted == (indices[key] == nil), "\(key)")
            if let known = indices[key] { #expect(index == known) } else { indices[key] = index }
        }
        #expect(map.count == indices.count)
        #expect(indices.values.sorted() == Array(0..<indices.count), "dense indices in insertion order")
        for (key, index) in indices {
            #expect(key.withUnsafeBufferPointer { map.find($0) } == index)
            var copy: [UInt8] = []
            map.appendKey(index, to: &copy)
            #expect(copy == key)
        }
        #expect(map.find("not a key") == nil)
        // Keys Swift calls equal stay apart.
        var strings = ByteMap()
        #expect(strings.insert("\u{e9}").index != strings.insert("e\u{301}").index)
        #expect(strings.find("\u{e9}") == 0 && strings.find("e\u{301}") == 1)
    }

    /// `find` skips keys longer than any in the map without hashing them; the bound must
    /// follow every insert (an empty map holds no key, not even the empty one).
    @Test func keysLongerThanAnyInTheMapAreNotFoundAndTheBoundFollowsInserts() {
        var map = ByteMap()
        #expect(map.find("") == nil)
        #expect(map.insert("gs1").index == 0)
        #expect(map.find("gs1") == 0)
        #expect(map.find("gs1:") == nil && map.find("gs") == nil && map.find("") == nil)
        #expect(map.insert("").index == 1)
        #expect(map.find("") == 1)
        #expect(map.insert("https://id.gs1.org/01/").index == 2)
        #expect(map.find("https://id.gs1.org/01/") == 2)
        #expect(map.find("https://id.gs1.org/01/0") == nil)
        // Growing the table keeps every key, the long ones included.
        for n in 0..<100 { _ = map.insert(String(repeating: "x", count: n + 30)) }
        #expect(map.find(String(repeating: "x", count: 129)) == 102)
        #expect(map.find(String(repeating: "x", count: 130)) == nil)
        #expect(map.find("gs1") == 0 && map.find("https://id.gs1.org/01/") == 2)
    }

    /// `find` skips keys whose first byte no key has; every byte value, in each of the
    /// four words of the first-byte set, with and without the empty key.
    @Test func keysWithAFirstByteNoKeyHasAreNotFound() {
        for value in 0...255 {
            var map = ByteMap()
            let key: [UInt8] = [UInt8(value), 0x41]
            _ = key.withUnsafeBufferPointer { map.insert($0) }
            for other in 0...255 {
                let probe: [UInt8] = [UInt8(other), 0x41]
                #expect(probe.withUnsafeBufferPointer { map.find($0) } == (other == value ? 0 : nil), "\(value) \(other)")
            }
            #expect(map.find("") == nil)
            #expect(map.insert("").index == 1)
            #expect(map.find("") == 1)
            #expect(key.withUnsafeBufferPointer { map.find($0) } == 0)
        }
    }
}
