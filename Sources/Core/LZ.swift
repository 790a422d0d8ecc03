/// A small LZ77 byte coder with a preset dictionary: what the store uses to keep captured
/// events' raw bytes in about a third of their size (docs/performance.md, "capture", eleventh session).
///
/// **Format** (a block; its length and the dictionary are known to the reader from
/// elsewhere): a sequence of *sequences*, each
///
///     token        1 byte: high nibble L = literal count (15: more follows),
///                          low nibble M = match length − 4 (15: more follows)
///     [L ext]      when L = 15: bytes of 255 and one final byte < 255, all added to 15
///     literals     L bytes, copied to the output
///     offset       2 bytes, little-endian, 1 … 65,535: how far back the match starts in
///                  the virtual stream *dictionary ++ output so far*
///     [M ext]      when M = 15: as L ext, added to 19
///
/// The last sequence has literals only: the block ends right after them, and its M must be
/// 0. A match may overlap the bytes it produces (offset < length repeats them) and may
/// start in the dictionary and run on into the output.
///
/// The decoder checks every length and offset against its input, the expected output
/// length and the virtual stream, and returns nil for anything else: a block read from a
/// file is hostile until decoded (Fuzz/run-pack-fuzz.sh). It detects a block that does not
/// decode to exactly its length, not every change: damage that still decodes gives other
/// bytes (as a changed byte of plain text would); the event hash ID is what proves them.
public enum LZ {
    /// The longest back reference a block can express.
    public static let window = 65_535
    static let minimumMatch = 4

    /// A preset dictionary: bytes both sides know, and an index of where each of its 4-byte
    /// sequences last occurs (built once per dictionary).
    public struct Dictionary: Sendable {
        public let bytes: [UInt8]
        let table: [Int32]
        static let bits = 12

        public init(_ bytes: [UInt8]) {
            precondition(bytes.count < LZ.window, "a dictionary must fit in the window")
            self.bytes = bytes
            var table = [Int32](repeating: -1, count: 1 << Self.bits)
            bytes.withUnsafeBufferPointer { d in
                if d.count >= 4 {
                    for p in 0...(d.count - 4) { table[LZ.hash(LZ.load32(d.baseAddress! + p), bits: Self.bits)] = Int32(p) }
                }
            }
            self.table = table
        }

        /// No dictionary.
        public static let none = Dictionary([])
    }

    /// `input` coded as one block, or nil when that would not be shorter than `input`.
    public static func compress(_ input: UnsafeBufferPointer<UInt8>, dictionary: Dictionary) -> [UInt8]? {
        let block = encode(input, dictionary: dictionary)
        return block.count < input.count ? block : nil
    }

    /// `input` coded as one block, whatever its length (an empty input is one token).
    public static func encode(_ input: UnsafeBufferPointer<UInt8>, dictionary: Dictionary) -> [UInt8] {
        let n = input.count
        // Worst case (no match) is the literals plus their length bytes and one token.
        let capacity = n + n / 255 + 16
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, count in
            count = dictionary.bytes.withUnsafeBufferPointer { d in
                dictionary.table.withUnsafeBufferPointer { dt in
                    compress(input.baseAddress ?? UnsafePointer(out.baseAddress!), n, d, dt, out.baseAddress!)
                }
            }
        }
    }

    /// The most bytes a block of `blockCount` bytes can decode to: each byte of a length
    /// adds at most 255, and a token with its offset at most 15 + 19.
    public static func maximumDecodedCount(blockCount: Int) -> Int {
        blockCount.multipliedReportingOverflow(by: 255).overflow ? .max : blockCount * 255 + 34
    }

    /// Decodes a block of `count` bytes, or nil when `block` is not exactly that. A count
    /// the block cannot reach is refused before anything is allocated for it.
    public static func decompress(_ block: UnsafeBufferPointer<UInt8>, count: Int, dictionary: Dictionary) -> [UInt8]? {
        guard count >= 0, count <= maximumDecodedCount(blockCount: block.count) else { return nil }
        var ok = false
        let output = [UInt8](unsafeUninitializedCapacity: count) { out, written in
            written = 0
            guard let ip0 = block.baseAddress else { return }
            let end = ip0 + block.count
            ok = dictionary.bytes.withUnsafeBufferPointer { d -> Bool in
                var ip = ip0
                var op = 0
                /// A length's continuation bytes (255 … 255, then one below 255).
                func extended(_ base: Int) -> Int? {
                    var length = base
                    while true {
                        guard ip < end else { return nil }
                        let byte = Int(ip.pointee)
                        ip += 1
                        length += byte
                        guard length <= count else { return nil }
                        if byte != 255 { return length }
                    }
                }
                while true {
                    guard ip < end else { return false }
                    let token = Int(ip.pointee)
                    ip += 1
                    var literals = token >> 4
                    if literals == 15 { guard let l = extended(15) else { return false }; literals = l }
                    guard literals <= end - ip, literals <= count - op else { return false }
                    if literals > 0 { (out.baseAddress! + op).initialize(from: ip, count: literals) }
                    ip += literals
                    op += literals
                    if ip == end { return token & 15 == 0 && op == count }
                    guard end - ip >= 2 else { return false }
                    let offset = Int(ip[0]) | Int(ip[1]) << 8
                    ip += 2
                    var length = token & 15 + minimumMatch
                    if length == 15 + minimumMatch { guard let l = extended(length) else { return false }; length = l }
                    guard offset >= 1, offset <= op + d.count, length <= count - op else { return false }
                    var from = op - offset
                    var remaining = length
                    if from < 0 {
                        // The match starts in the dictionary (and may run on into the output).
                        let inDictionary = min(remaining, -from)
                        (out.baseAddress! + op).initialize(from: d.baseAddress! + d.count + from, count: inDictionary)
                        op += inDictionary
                        remaining -= inDictionary
                        from = 0
                    }
                    if remaining > 0 {
                        let o = out.baseAddress!
                        if op - from >= remaining {
                            (o + op).initialize(from: o + from, count: remaining)
                            op += remaining
                        } else {
                            // Overlapping: each byte may be one this match just wrote.
                            for _ in 0..<remaining { o[op] = o[from]; op += 1; from += 1 }
                        }
                    }
                }
            }
            written = ok ? count : 0
        }
        return ok ? output : nil
    }

    // MARK: - The encoder

    @inline(__always) static func load32(_ p: UnsafePointer<UInt8>) -> UInt32 {
        UnsafeRawPointer(p).loadUnaligned(as: UInt32.self)
    }

    @inline(__always) static func hash(_ v: UInt32, bits: Int) -> Int {
        Int((v &* 2_654_435_761) >> UInt32(32 - bits))
    }

    /// How many bytes from `a` and `b` agree, up to `limit`.
    @inline(__always) static func matchLength(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ limit: Int) -> Int {
        var i = 0
        while i + 8 <= limit {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) ^ UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
            if x != 0 { return i + UInt64(littleEndian: x).trailingZeroBitCount / 8 }
            i += 8
        }
        while i < limit && a[i] == b[i] { i += 1 }
        return i
    }

    /// Greedy parse: at each position the longer of the match found through the input's
    /// own index and the one found through the dictionary's. Returns the block's length.
    static func compress(_ s: UnsafePointer<UInt8>, _ n: Int, _ d: UnsafeBufferPointer<UInt8>, _ dt: UnsafeBufferPointer<Int32>,
                         _ out: UnsafeMutablePointer<UInt8>) -> Int {
        var bits = 8
        while bits < 14 && (1 << bits) < n { bits += 1 }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 1 << bits) { table -> Int in
            table.initialize(repeating: -1)
            var op = 0
            func putLength(_ value: Int) {
                var rest = value
                while rest >= 255 { out[op] = 255; op += 1; rest -= 255 }
                out[op] = UInt8(rest); op += 1
            }
            func emit(literalsFrom anchor: Int, to end: Int, offset: Int, length: Int) {
                let literals = end - anchor
                let m = length == 0 ? 0 : length - minimumMatch
                out[op] = UInt8(min(literals, 15) << 4 | min(m, 15)); op += 1
                if literals >= 15 { putLength(literals - 15) }
                (out + op).initialize(from: s + anchor, count: literals)
                op += literals
                guard length > 0 else { return }
                out[op] = UInt8(offset & 0xFF); out[op + 1] = UInt8(offset >> 8); op += 2
                if m >= 15 { putLength(m - 15) }
            }
            let dictionaryCount = d.count
            let dictionaryBits = Dictionary.bits
            var anchor = 0
            var i = 0
            while i + minimumMatch <= n {
                let v = load32(s + i)
                let h = hash(v, bits: bits)
                let candidate = Int(table[h])
                table[h] = Int32(i)
                var length = 0, offset = 0
                if candidate >= 0 && i - candidate <= window && load32(s + candidate) == v {
                    length = minimumMatch + matchLength(s + candidate + minimumMatch, s + i + minimumMatch, n - i - minimumMatch)
                    offset = i - candidate
                }
                if length < 32 && dictionaryCount >= minimumMatch {
                    let c = Int(dt[hash(v, bits: dictionaryBits)])
                    if c >= 0 && i + dictionaryCount - c <= window && load32(d.baseAddress! + c) == v {
                        let limit = min(dictionaryCount - c, n - i) - minimumMatch
                        let l = minimumMatch + matchLength(d.baseAddress! + c + minimumMatch, s + i + minimumMatch, limit)
                        if l > length { length = l; offset = i + dictionaryCount - c }
                    }
                }
                if length >= minimumMatch {
                    emit(literalsFrom: anchor, to: i, offset: offset, length: length)
                    i += length
                    anchor = i
                    // One position inside the match, so what follows the match can refer back to it.
                    if i - 2 + minimumMatch <= n { table[hash(load32(s + i - 2), bits: bits)] = Int32(i - 2) }
                } else {
                    i += 1
                }
            }
            emit(literalsFrom: anchor, to: n, offset: 0, length: 0)
            return op
        }
    }
}
